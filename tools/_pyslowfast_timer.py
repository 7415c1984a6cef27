"""Times PySlowFast's own code on this machine; run by tools/benchmark_vs_pyslowfast.py in a process whose
PYTHONPATH puts a PySlowFast checkout first (its package is also called `slowfast`, so this file imports
nothing from this project). Prints one JSON line.

    python tools/_pyslowfast_timer.py {infer|train|clip|ava} CONFIG_YAML ITERS [MEDIA...] [--opts KEY VALUE ...]

- infer / train: its `build_model(cfg)` (NUM_GPUS 0), batch 2 of random 224^2 clips, eval + no_grad
  forward, or forward + CrossEntropy + backward + its `construct_optimizer` step; median seconds of ITERS.
- clip: its Kinetics training item as its dataset builds it with the PyAV backend: `decoder.pyav_decode`
  (random window, clip_idx -1), `decoder.temporal_sampling`, /255, `utils.tensor_normalize`,
  `utils.spatial_sampling` (jitter, crop, flip), `utils.pack_pathway_output`. (Its `decode` wrapper at
  HEAD passes per-clip lists to `pyav_decode`, which takes scalars; the calls here use the scalars.)
- ava: its AVA training / test clip loading with the cv2 backend: `utils.retry_load_images(..., "cv2")`
  then its dataset's `_images_and_boxes_preprocessing_cv2` on an instance with only the preprocessing
  attributes set (from the config, as its `__init__` sets them).
"""
import json
import sys
import time

import torch


def median_s(fn, n):
    fn()
    times = []
    for _ in range(max(1, n)):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def model_rate(cfg, what, iters, threads):
    from slowfast.models import build_model
    from slowfast.models import optimizer as optim

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build_model(cfg)
    batch = 2
    xs = [torch.randn(batch, 3, cfg.DATA.NUM_FRAMES // cfg.SLOWFAST.ALPHA, 224, 224),
          torch.randn(batch, 3, cfg.DATA.NUM_FRAMES, 224, 224)]
    if what == "infer":
        model.eval()

        def step():
            with torch.no_grad():
                model(list(xs))
    else:
        model.train()
        opt = optim.construct_optimizer(model, cfg)
        loss_fn = torch.nn.CrossEntropyLoss()
        labels = torch.arange(batch) % cfg.MODEL.NUM_CLASSES

        def step():
            loss = loss_fn(model(list(xs)), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return batch / median_s(step, iters)


def kinetics_clip_rate(cfg, iters, video):
    import av
    from slowfast.datasets import decoder, utils

    torch.set_num_threads(1)
    rate, frames_wanted, fps_target = cfg.DATA.SAMPLING_RATE, cfg.DATA.NUM_FRAMES, cfg.DATA.TARGET_FPS

    def clip():
        container = av.open(video)
        frames, fps, _ = decoder.pyav_decode(container, rate, frames_wanted, -1, cfg.TEST.NUM_ENSEMBLE_VIEWS,
                                             fps_target)
        start, end, _ = decoder.get_start_end_idx(frames.shape[0], rate * frames_wanted / fps_target * fps, 0, 1)
        frames = decoder.temporal_sampling(frames, start, end, frames_wanted)
        frames = utils.tensor_normalize(frames.float() / 255.0, cfg.DATA.MEAN, cfg.DATA.STD).permute(3, 0, 1, 2)
        frames = utils.spatial_sampling(frames, -1, cfg.DATA.TRAIN_JITTER_SCALES[0], cfg.DATA.TRAIN_JITTER_SCALES[1],
                                        cfg.DATA.TRAIN_CROP_SIZE, cfg.DATA.RANDOM_FLIP)
        return utils.pack_pathway_output(cfg, frames)

    return 1.0 / median_s(clip, iters)


def ava_clip_rates(cfg, iters, paths):
    import numpy as np
    from slowfast.datasets import utils
    from slowfast.datasets.ava_dataset import Ava

    torch.set_num_threads(1)
    center = len(paths) // 2
    index = utils.get_sequence(center, cfg.DATA.NUM_FRAMES * cfg.DATA.SAMPLING_RATE // 2, cfg.DATA.SAMPLING_RATE,
                               len(paths))
    clip_paths = [paths[i] for i in index]
    boxes = np.array([[0.1, 0.2, 0.45, 0.95], [0.5, 0.1, 0.8, 0.9]], dtype=np.float32)
    out = {}
    for split in ("train", "test"):
        ds = Ava.__new__(Ava)
        ds._split = split
        ds._data_mean, ds._data_std, ds._use_bgr = cfg.DATA.MEAN, cfg.DATA.STD, cfg.AVA.BGR
        ds.random_horizontal_flip = cfg.DATA.RANDOM_FLIP
        ds._jitter_min_scale, ds._jitter_max_scale = cfg.DATA.TRAIN_JITTER_SCALES
        ds._crop_size = cfg.DATA.TRAIN_CROP_SIZE if split == "train" else cfg.DATA.TEST_CROP_SIZE
        ds._use_color_augmentation = cfg.AVA.TRAIN_USE_COLOR_AUGMENTATION
        ds._pca_jitter_only = cfg.AVA.TRAIN_PCA_JITTER_ONLY
        ds._pca_eigval, ds._pca_eigvec = cfg.DATA.TRAIN_PCA_EIGVAL, cfg.DATA.TRAIN_PCA_EIGVEC
        ds._test_force_flip = cfg.AVA.TEST_FORCE_FLIP

        def load(ds=ds):
            imgs = utils.retry_load_images(clip_paths, backend="cv2")
            return ds._images_and_boxes_preprocessing_cv2(imgs, boxes.copy())

        out[split] = 1.0 / median_s(load, iters)
    return out


def main():
    argv = sys.argv[1:]
    opts = argv[argv.index("--opts") + 1:] if "--opts" in argv else []
    argv = argv[:argv.index("--opts")] if "--opts" in argv else argv
    what, cfg_path, iters, media = argv[0], argv[1], int(argv[2]), argv[3:]
    from slowfast.config.defaults import get_cfg

    cfg = get_cfg()
    cfg.merge_from_file(cfg_path)
    cfg.merge_from_list(opts)
    cfg.NUM_GPUS = 0
    if what in ("infer", "train"):
        res = {"clips_per_s": model_rate(cfg, what, iters, torch.get_num_threads())}
    elif what == "clip":
        res = {"clips_per_s": kinetics_clip_rate(cfg, iters, media[0])}
    elif what == "ava":
        res = {f"{k}_clips_per_s": v for k, v in ava_clip_rates(cfg, iters, media).items()}
    else:
        raise SystemExit(f"unknown measurement {what!r}")
    print(json.dumps({"what": what, "config": cfg_path, "torch_threads": torch.get_num_threads(), **res}))


if __name__ == "__main__":
    main()
