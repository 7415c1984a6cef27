"""Bootstrap confidence intervals over test videos and the paired comparison of two runs
(slowfast/evaluation/bootstrap.py, evaluation/ava/resample.py, tools/compare_runs.py, tools/eval_ava.py)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from slowfast.apps.compare_runs import main as compare_main
from slowfast.evaluation import bootstrap
from slowfast.evaluation.ava import evaluate
from slowfast.evaluation.ensemble import VideoScores, write_video_scores

REPO = Path(__file__).resolve().parents[1]
LABELS = {1: "sway", 2: "flash", 4: "stripe"}


# ------------------------------------------------------------------------------------- pure bootstrap
def _correct(n, share, seed=0):
    """bool [n], exactly round(share * n) true, in random order."""
    x = np.zeros(n, bool)
    x[: int(round(share * n))] = True
    return np.random.default_rng(seed).permutation(x)


def test_top1_interval_shrinks_as_the_test_set_grows_and_covers_the_accuracy():
    small = bootstrap.mean_interval(_correct(50, 0.7), 100.0)
    large = bootstrap.mean_interval(_correct(800, 0.7), 100.0)
    assert small[0] < 70 < small[1] and large[0] < 70 < large[1]
    # The width goes as 1/sqrt(n): 4x narrower for 16x the videos (allow for resampling noise).
    assert (large[1] - large[0]) < 0.35 * (small[1] - small[0])


def test_intervals_are_reproducible_with_the_seed_whatever_the_batch_size():
    x = _correct(200, 0.6)
    first = bootstrap.mean_interval(x, 100.0, samples=300, seed=7)
    assert bootstrap.mean_interval(x, 100.0, samples=300, seed=7) == first
    assert bootstrap.mean_interval(x, 100.0, samples=300, seed=8) != first
    a = np.concatenate(list(bootstrap.resample_weights(200, 300, seed=7)))
    b = np.concatenate(list(bootstrap.resample_weights(200, 300, seed=7, batch=7)))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (300, 200) and (a.sum(1) == 200).all()


def test_paired_bootstrap_finds_a_planted_difference_and_none_between_a_run_and_itself():
    a = _correct(300, 0.6, seed=1)
    b = a.copy()
    b[np.flatnonzero(~a)[:36]] = True  # B fixes 36 of A's errors: +12 points
    planted = bootstrap.paired_bootstrap(bootstrap.mean_statistic(a, 100), bootstrap.mean_statistic(b, 100), 300)
    assert planted["difference"] == pytest.approx(12.0)
    assert 0 < planted["ci"][0] < 12 < planted["ci"][1] and planted["p_value"] < 0.01
    same = bootstrap.paired_bootstrap(bootstrap.mean_statistic(a, 100), bootstrap.mean_statistic(a, 100), 300)
    assert same["difference"] == 0 and same["ci"] == [0.0, 0.0] and same["p_value"] == 1.0
    # An unrelated run of the same accuracy: no evidence of a difference.
    other = bootstrap.paired_bootstrap(bootstrap.mean_statistic(a, 100),
                                       bootstrap.mean_statistic(_correct(300, 0.6, seed=2), 100), 300)
    assert other["ci"][0] < 0 < other["ci"][1] and other["p_value"] > 0.5


# ---------------------------------------------------------------------------------- compare_runs
def _scores_file(path, videos, labels, right, num_classes=4):
    """Per-video scores whose top-1 is the label where `right`, else the next class."""
    pred = np.where(right, labels, (labels + 1) % num_classes)
    scores = np.full((len(videos), num_classes), 0.1, np.float32)
    scores[np.arange(len(videos)), pred] = 0.7
    write_video_scores(str(path), VideoScores(np.asarray(videos, str), np.asarray(labels, np.int64), scores,
                                              np.full(len(videos), 6, np.int64)))
    return str(path)


def _compare_json(capsys, *argv):
    assert compare_main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_compare_runs_on_score_files_paired_by_video(tmp_path, capsys):
    videos = [f"v{i:03d}.mp4" for i in range(240)]
    labels = np.arange(240) % 4
    a_right = _correct(240, 0.5, seed=3)
    b_right = a_right.copy()
    b_right[np.flatnonzero(~a_right)[:48]] = True  # +20 points
    a = _scores_file(tmp_path / "a.npz", videos, labels, a_right)
    order = np.random.default_rng(0).permutation(240)  # B lists the videos in another order
    b = _scores_file(tmp_path / "b.npz", np.asarray(videos)[order], labels[order], b_right[order])
    r = _compare_json(capsys, a, b)
    assert r["metric"] == "top1" and r["a"] == pytest.approx(50) and r["b"] == pytest.approx(70)
    assert r["difference"] == pytest.approx(20) and r["ci"][0] > 10 and r["p_value"] < 0.01
    same = _compare_json(capsys, a, a)
    assert same["difference"] == 0 and same["p_value"] == 1.0
    assert _compare_json(capsys, a, b) == r  # the fixed seed: the same answer every time
    assert compare_main([a, b]) == 0
    assert "B - A: +20.00 points" in capsys.readouterr().out


def test_compare_runs_refuses_different_test_sets_in_one_line(tmp_path, capsys):
    labels = np.arange(8) % 4
    a = _scores_file(tmp_path / "a.npz", [f"v{i}" for i in range(8)], labels, np.ones(8, bool))
    b = _scores_file(tmp_path / "b.npz", [f"v{i}" for i in range(7)] + ["w7"], labels, np.ones(8, bool))
    assert compare_main([a, b]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "different test sets" in err and "'v7' is only in A" in err
    c = _scores_file(tmp_path / "c.npz", [f"v{i}" for i in range(8)], (labels + 1) % 4, np.ones(8, bool))
    assert compare_main([a, c]) == 2
    assert "different labels: video 'v0'" in capsys.readouterr().err
    assert compare_main([a, str(tmp_path / "missing")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- AVA
def _ava_case(tmp_path, num_videos=6, frames=4, seed=0, noise=0.5, name="det.csv"):
    """Label map, ground truth (1-2 persons per key frame, 1-2 actions each) and detections (every person
    with a jittered box, every class scored; true actions score higher by a margin that `noise` blurs)."""
    rng = np.random.default_rng(seed)
    lm = tmp_path / "lm.pbtxt"
    lm.write_text("".join('item {\n  name: "%s"\n  id: %d\n}\n' % (n, i) for i, n in LABELS.items()))
    gt_rows, det_rows = [], []
    det_rng = np.random.default_rng(seed + 100)
    for v in range(num_videos):
        for f in range(frames):
            for p in range(1 + (rng.random() < 0.5)):
                x1, y1 = rng.uniform(0, 0.5, 2)
                box = np.array([x1, y1, x1 + 0.3, y1 + 0.4])
                acts = rng.choice(list(LABELS), 1 + (rng.random() < 0.3), replace=False)
                gt_rows += ["vid%02d,%04d,%.4f,%.4f,%.4f,%.4f,%d,%d" % (v, 902 + f, *box, a, p) for a in acts]
                jitter = box + det_rng.normal(0, 0.02, 4)
                for a in LABELS:
                    score = det_rng.random() * noise + (0.5 if a in acts else 0.0)
                    det_rows.append("vid%02d,%04d,%.4f,%.4f,%.4f,%.4f,%d,%r" % (v, 902 + f, *jitter, a, score))
    gt = tmp_path / "gt.csv"
    gt.write_text("\n".join(gt_rows) + "\n")
    det = tmp_path / name
    det.write_text("\n".join(det_rows) + "\n")
    return str(lm), str(gt), str(det)


def test_resampled_ava_map_equals_scoring_the_concatenated_resample(tmp_path):
    lm, gt, det = _ava_case(tmp_path, num_videos=5, noise=1.2)
    full = evaluate(lm, gt, det, keep_matches=True)
    m = full.matches
    ap = m.average_precision(np.ones((1, m.num_videos)))[0]
    np.testing.assert_allclose(ap, [full.per_class_id[i] for i in m.class_ids.tolist()], rtol=0, atol=1e-12)
    # A resample drawing vid00 twice, vid03 once, vid04 twice: write it out with renamed copies and score it.
    counts = {"vid00": 2, "vid03": 1, "vid04": 2}
    out = {}
    for name in ("gt", "det"):
        rows = Path(gt if name == "gt" else det).read_text().splitlines()
        out[name] = tmp_path / f"resample_{name}.csv"
        out[name].write_text("".join(r.replace(v, f"{v}copy{k}", 1) + "\n" for r in rows for v, n in counts.items()
                                     for k in range(n) if r.startswith(v + ",")))
    resampled = evaluate(lm, str(out["gt"]), str(out["det"]))
    w = np.array([[counts.get(v, 0) for v in m.videos]], float)
    assert m.mean_ap(w)[0] == pytest.approx(resampled.mAP, abs=1e-12)


def test_ava_map_interval_shrinks_with_more_videos_and_compare_runs_pairs_them(tmp_path, capsys):
    widths = []
    for n in (6, 48):
        d = tmp_path / f"n{n}"
        d.mkdir()
        m = evaluate(*_ava_case(d, num_videos=n, noise=1.0), keep_matches=True).matches
        low, high = bootstrap.bootstrap_interval(m.mean_ap, m.num_videos, samples=300)
        widths.append(high - low)
    assert widths[1] < 0.6 * widths[0]
    lm, gt, worse = _ava_case(tmp_path, num_videos=24, noise=1.5, name="worse.csv")
    _, _, better = _ava_case(tmp_path, num_videos=24, noise=0.6, name="better.csv")
    r = _compare_json(capsys, worse, better, "--labelmap", lm, "--groundtruth", gt)
    assert r["metric"] == "mAP" and r["difference"] > 0.05 and r["ci"][0] > 0 and r["p_value"] < 0.01
    same = _compare_json(capsys, worse, worse, "--labelmap", lm, "--groundtruth", gt)
    assert same["difference"] == 0 and same["p_value"] == 1.0
    fewer = tmp_path / "fewer.csv"
    fewer.write_text("".join(r + "\n" for r in Path(better).read_text().splitlines() if not r.startswith("vid23")))
    assert compare_main([worse, str(fewer), "--labelmap", lm, "--groundtruth", gt]) == 2
    assert "'vid23' is only in A" in capsys.readouterr().err


def test_eval_ava_prints_the_interval_and_writes_a_precision_recall_png_per_class(tmp_path):
    import cv2

    lm, gt, det = _ava_case(tmp_path, num_videos=6)
    out = subprocess.run([sys.executable, str(REPO / "tools/eval_ava.py"), "-l", lm, "-g", gt, "-d", det,
                          "--bootstrap", "200", "--pr-curves", str(tmp_path / "pr"), "-o", str(tmp_path / "r.json")],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "mAP 95% bootstrap interval [" in out.stdout and "(200 resamples of 6 videos" in out.stdout
    low, high = json.loads((tmp_path / "r.json").read_text())["mAP_ci"]
    assert low <= evaluate(lm, gt, det).mAP <= high
    pngs = sorted(p.name for p in (tmp_path / "pr").iterdir())
    assert pngs == ["pr_001_sway.png", "pr_002_flash.png", "pr_004_stripe.png"]
    image = cv2.imread(str(tmp_path / "pr" / pngs[0]))
    assert image is not None and image.shape[0] > 100 and image.std() > 10


def test_the_ava_test_results_gain_a_map_interval_unless_bootstrap_samples_is_0(tmp_path):
    from slowfast.config import get_cfg
    from slowfast.engine.test_analysis import add_map_interval

    lm, gt, det = _ava_case(tmp_path, num_videos=8)
    result = evaluate(lm, gt, det, keep_matches=True)
    cfg = get_cfg()
    cfg.TEST.BOOTSTRAP_SAMPLES = 200
    r = add_map_interval(cfg, {"mAP": result.mAP}, result.matches)
    assert r["mAP_ci"][0] <= result.mAP <= r["mAP_ci"][1] and r["bootstrap"]["num_videos"] == 8
    assert r["mAP_ci"] == bootstrap.bootstrap_interval(result.matches.mean_ap, 8, 200)  # the same resamples
    assert sorted(r["per_class_ci"]) == sorted(n for n, g in result.num_groundtruth.items() if g)
    for name, (low, high) in r["per_class_ci"].items():
        assert 0 <= low <= high <= 1 and low <= result.per_class[name] + 0.05 and result.per_class[name] - 0.05 <= high
    assert add_map_interval(cfg, {"mAP": result.mAP}, result.matches) == r  # the fixed seed
    cfg.TEST.BOOTSTRAP_SAMPLES = 0
    assert "mAP_ci" not in add_map_interval(cfg, {"mAP": result.mAP}, result.matches)


def test_compare_runs_pairs_the_same_videos_read_from_another_folder(tmp_path, capsys):
    labels = np.arange(8) % 4
    a = _scores_file(tmp_path / "a.npz", [f"/data/x/v{i}.mp4" for i in range(8)], labels, np.ones(8, bool))
    b = _scores_file(tmp_path / "b.npz", [f"/mnt/y/v{i}.mp4" for i in range(8)], labels, np.arange(8) < 6)
    r = _compare_json(capsys, a, b)
    assert r["num_videos"] == 8 and r["difference"] == pytest.approx(-25.0)


@pytest.mark.parametrize("case", ["garbage_npz", "garbage_csv", "empty_folder", "mixed_kinds", "no_ground_truth"])
def test_compare_runs_bad_input_is_one_line_naming_the_culprit(tmp_path, capsys, case):
    garbage = bytes(range(256)) * 4
    (tmp_path / "g.npz").write_bytes(garbage)
    (tmp_path / "g.csv").write_bytes(garbage)
    (tmp_path / "run").mkdir()
    lm, gt, det = _ava_case(tmp_path, num_videos=2)
    good = _scores_file(tmp_path / "a.npz", ["v0", "v1"], np.array([0, 1]), np.ones(2, bool))
    argv, culprit = {
        "garbage_npz": ([good, str(tmp_path / "g.npz")], "g.npz"),
        "garbage_csv": ([det, str(tmp_path / "g.csv"), "--labelmap", lm, "--groundtruth", gt], "g.csv"),
        "empty_folder": ([good, str(tmp_path / "run")], "run"),
        "mixed_kinds": ([good, det], "not the same kind"),
        "no_ground_truth": ([det, det], "--groundtruth"),
    }[case]
    assert compare_main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and culprit in err, err


def test_compare_runs_takes_the_ava_ground_truth_from_a_config(tmp_path, capsys):
    lm, gt, det = _ava_case(tmp_path, num_videos=4)
    cfg = tmp_path / "ava.yaml"
    cfg.write_text(f"_BASE_: {REPO / 'configs/Synthetic/AVA_SLOWFAST_TINY.yaml'}\nAVA:\n  LABEL_MAP_FILE: {lm}\n"
                   f"  GROUNDTRUTH_FILE: {gt}\n  EVAL_VERSION: '2020'\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "detections.csv").write_text(Path(det).read_text())
    r = _compare_json(capsys, str(run), det, "--cfg", str(cfg))
    assert r["a_file"].endswith("detections.csv") and r["metric"] == "mAP" and r["p_value"] == 1.0
    assert r["a"] == pytest.approx(evaluate(lm, gt, det, version="2020").mAP)
