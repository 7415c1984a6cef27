"""Write a small synthetic dataset of real encoded videos.

    python tools/make_synthetic_data.py --dataset kinetics --out data/synthetic_kinetics
    python tools/make_synthetic_data.py --dataset ava --out data/synthetic_ava
    python tools/make_synthetic_data.py --dataset multilabel --out data/synthetic_multilabel
    python tools/make_synthetic_data.py --dataset charades --out data/synthetic_charades
    python tools/make_synthetic_data.py --dataset kinetics --help   # that dataset's options

Existing datasets are left alone.  To add a dataset, register ``(add_arguments, build)`` in
``DATASETS``; ``build(args)`` returns ``{split: number of items}``.
"""
import argparse
import os
import time

from slowfast.datasets.synthetic import ensure_kinetics_synthetic
from slowfast.datasets.synthetic_ava import ensure_ava_synthetic
from slowfast.datasets.synthetic_charades import ensure_charades_synthetic
from slowfast.datasets.synthetic_multilabel import ensure_multilabel_synthetic
from slowfast.formats import ava_boxes


def add_kinetics_arguments(group):
    group.add_argument("--num-classes", type=int, default=4, help="motion classes (default 4 directions)")
    group.add_argument("--num-train", type=int, default=192)
    group.add_argument("--num-val", type=int, default=48)
    group.add_argument("--num-test", type=int, default=48)
    group.add_argument("--size", type=int, default=64, help="frame width and height in pixels")
    group.add_argument("--num-frames", type=int, default=75, help="frames per video")
    group.add_argument("--fps", type=int, default=30)
    group.add_argument("--codec", default=None, help="encoder (default libx264, else mpeg4)")


def _set_options(args) -> dict:
    """The options the kinetics, multilabel and charades sets share."""
    return dict(num_classes=args.num_classes, num_train=args.num_train, num_val=args.num_val,
                num_test=args.num_test, size=args.size, num_frames=args.num_frames, seed=args.seed)


def _video_options(args) -> dict:
    """`_set_options` and the encoding options of the sets of encoded videos (kinetics, multilabel)."""
    return dict(_set_options(args), fps=args.fps, codec=args.codec, num_workers=args.workers)


def _line_counts(csvs: dict) -> dict:
    """{split: lines of its CSV} (one video a line)."""
    counts = {}
    for split, path in csvs.items():
        with open(path) as f:
            counts[split] = sum(1 for _ in f)
    return counts


def build_kinetics(args):
    return _line_counts(ensure_kinetics_synthetic(args.out, **_video_options(args)))


def build_multilabel(args):
    """Charades-style multi-label CSVs (`path id,id`): one or two discs, labels = their motions."""
    return _line_counts(ensure_multilabel_synthetic(args.out, **_video_options(args)))


def build_charades(args):
    """The multi-label set as PySlowFast's Charades frame lists over JPEG frames (--fps, --codec unused)."""
    ensure_charades_synthetic(args.out, **_set_options(args))
    return {"train": args.num_train, "val": args.num_val, "test": args.num_test}


def add_ava_arguments(group):
    group.add_argument("--num-train-videos", type=int, default=6)
    group.add_argument("--num-val-videos", type=int, default=2)
    group.add_argument("--people", type=int, default=3, help="persons per video")
    group.add_argument("--num-keyframes", type=int, default=5, help="annotated seconds per video, from 902")
    group.add_argument("--width", type=int, default=80)
    group.add_argument("--height", type=int, default=60)


def build_ava(args):
    """-> key frames per split."""
    ensure_ava_synthetic(args.out, num_train_videos=args.num_train_videos, num_val_videos=args.num_val_videos,
                         people=args.people, num_keyframes=args.num_keyframes, width=args.width,
                         height=args.height, seed=args.seed)
    gt = {split: os.path.join(args.out, "annotations", f"ava_{split}_v2.2.csv") for split in ("train", "val")}
    return {split: len({(r.video, r.sec) for r in ava_boxes.read_box_csv(path)}) for split, path in gt.items()}


# name -> (add dataset-specific arguments to an argparse group, build from parsed args -> {split: items})
DATASETS = {
    "kinetics": (add_kinetics_arguments, build_kinetics),
    "ava": (add_ava_arguments, build_ava),
    "multilabel": (add_kinetics_arguments, build_multilabel),
    "charades": (add_kinetics_arguments, build_charades),
}


def parse_args(argv=None):
    """Two passes: ``--dataset`` first, then that dataset's own options."""
    chooser = argparse.ArgumentParser(add_help=False)
    chooser.add_argument("--dataset", choices=sorted(DATASETS))
    chosen, _ = chooser.parse_known_args(argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(DATASETS), required=True)
    parser.add_argument("--out", required=True, help="output directory (must not exist or be empty)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="encoding processes (kinetics; default: all cores)")
    if chosen.dataset is not None:
        add_arguments, _ = DATASETS[chosen.dataset]
        add_arguments(parser.add_argument_group(f"{chosen.dataset} options"))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    _, build = DATASETS[args.dataset]
    started = time.time()
    existed = os.path.isdir(args.out) and bool(os.listdir(args.out))
    counts = build(args)
    verb = "exists" if existed else f"written in {time.time() - started:.1f}s"
    items = "key frames" if args.dataset == "ava" else "videos"
    print(f"{args.dataset} dataset {verb}: {os.path.abspath(args.out)}  {items} per split: {counts}")

