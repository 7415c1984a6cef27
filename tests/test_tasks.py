"""The task of a run (slowfast/engine/tasks.py): Kinetics classification or AVA detection, chosen once
from the config; the training and test loops ask it for everything that differs between the two."""
import pytest
import torch
import torch.nn.functional as F

from slowfast.config import load_config
from slowfast.datasets.validation import UnreadableDataError
from slowfast.engine import ava_inference, classification_inference
from slowfast.engine.tasks import ClassificationTask, DetectionTask, build_task

KINETICS = "configs/Synthetic/SLOWFAST_TINY.yaml"
AVA = "configs/Synthetic/AVA_SLOWFAST_TINY.yaml"
CPU = torch.device("cpu")


def kinetics(*opts):
    return build_task(load_config(KINETICS, list(opts)))


def ava(*opts):
    return build_task(load_config(AVA, list(opts)))


class Recorder(torch.nn.Module):
    """A stand-in model that remembers the arguments of its forward call."""

    def forward(self, *args):
        self.args = args
        return torch.zeros(1)


def test_the_task_is_chosen_from_the_config_once():
    assert isinstance(kinetics(), ClassificationTask) and not kinetics().is_detection
    assert isinstance(ava(), DetectionTask) and ava().is_detection
    assert isinstance(kinetics("DETECTION.ENABLE", "True", "MODEL.LOSS_FUNC", "bce"), DetectionTask)
    assert (kinetics().name, ava().name) == ("classification", "detection")


def test_a_classification_model_gets_the_clips_and_a_detection_model_also_the_boxes():
    clips = [torch.zeros(2, 3, 2, 8, 8), torch.zeros(2, 3, 8, 8, 8)]
    boxes = torch.tensor([[0, 1.0, 1.0, 6.0, 6.0], [1, 0.0, 2.0, 7.0, 7.0], [1, 3.0, 3.0, 5.0, 5.0]])
    model = Recorder()
    kinetics().forward(model, clips, {}, CPU)
    assert len(model.args) == 1 and [x.shape for x in model.args[0]] == [x.shape for x in clips]
    ava().forward(model, clips, {"boxes": boxes, "metadata": torch.zeros(3, 2)}, CPU)
    assert len(model.args) == 2 and torch.equal(model.args[1], boxes)


def test_the_classification_loss_is_cross_entropy_over_clips():
    torch.manual_seed(0)
    scores, labels = torch.randn(4, 5), torch.tensor([0, 3, 1, 4])
    torch.testing.assert_close(kinetics().loss(scores, labels), F.cross_entropy(scores, labels))
    soft = F.one_hot(labels, 5).float()
    torch.testing.assert_close(kinetics("MODEL.LOSS_FUNC", "soft_cross_entropy").loss(scores, soft),
                               F.cross_entropy(scores, labels))


def test_the_detection_loss_is_a_sigmoid_cross_entropy_per_box_and_action():
    torch.manual_seed(0)
    scores = torch.randn(3, 80)  # three person boxes, AVA's 80 actions
    labels = torch.zeros(3, 80)
    labels[0, [11, 79]] = labels[2, 3] = 1  # e.g. stand and watch a person
    torch.testing.assert_close(ava().loss(scores, labels), F.binary_cross_entropy_with_logits(scores, labels))


def test_a_classification_task_trains_with_top1_and_top5_errors_of_its_clips():
    scores = torch.tensor([[9.0, 1, 2, 3, 4, 5], [1.0, 9, 2, 3, 4, 5], [9.0, 8, 7, 6, 5, 1]])
    labels = torch.tensor([0, 2, 5])  # right, in the top 5, not in the top 5
    loss, top1, top5 = kinetics().train_metrics(scores, labels, torch.tensor(0.5), CPU)
    assert loss == 0.5 and top1 == pytest.approx(200 / 3) and top5 == pytest.approx(100 / 3)


def test_a_detection_task_trains_without_topk_errors_and_names_replaced_key_frames():
    task = ava()
    assert task.train_metrics(torch.randn(3, 80), torch.zeros(3, 80), torch.tensor(0.25), CPU) == (0.25, None, None)
    stats = task.name_epoch_stats({"_type": "train_epoch", "loss": 0.25, "replaced_videos": 2, "max_rss_gib": 1.0})
    assert list(stats) == ["_type", "loss", "max_rss_gib", "replaced_keyframes"] and stats["replaced_keyframes"] == 2
    assert task.replaced_key == "replaced_keyframes" and "key frames" in task.replaced_what
    plain = kinetics().name_epoch_stats({"_type": "train_epoch", "replaced_videos": 2})
    assert plain == {"_type": "train_epoch", "replaced_videos": 2} and kinetics().replaced_what == "unreadable videos"


def test_too_many_replaced_key_frames_stop_detection_training_but_replaced_videos_never_stop_classification():
    ava("AVA.MAX_REPLACED_KEYFRAMES", "2").check_replaced(2, epoch=0)
    with pytest.raises(UnreadableDataError, match="3 AVA key frames of epoch 4"):
        ava("AVA.MAX_REPLACED_KEYFRAMES", "2").check_replaced(3, epoch=3)
    ava("AVA.MAX_REPLACED_KEYFRAMES", "-1").check_replaced(10**6, epoch=0)
    kinetics("AVA.MAX_REPLACED_KEYFRAMES", "0").check_replaced(10**6, epoch=0)


def test_only_detection_lets_distributed_training_look_for_unused_parameters():
    assert ava().find_unused_parameters and not kinetics().find_unused_parameters


def test_detection_validates_with_ava_map_on_its_own_data_and_classification_with_topk_on_the_val_loader(
        monkeypatch):
    calls = []
    monkeypatch.setattr(ava_inference, "run_ava_inference",
                        lambda cfg, model, split, write: calls.append((split, write)) or {"mAP": 0.25, "views": 1})
    monkeypatch.setattr(classification_inference, "val_topk_errors",
                        lambda cfg, model, loader: calls.append(loader) or {"top1_err": 50.0, "top5_err": 0.0})
    task = ava()
    assert task.build_val_loader() is None
    assert task.evaluate(Recorder(), None) == {"mAP": 0.25} and calls == [("val", False)]
    assert kinetics().evaluate(Recorder(), "the val loader") == {"top1_err": 50.0, "top5_err": 0.0}
    assert calls[-1] == "the val loader"


def test_the_test_is_multi_view_per_video_for_classification_and_ava_inference_for_detection(monkeypatch):
    monkeypatch.setattr(ava_inference, "run_ava_inference",
                        lambda cfg, model, split, write: {"mAP": 0.5, "split": split, "write": write})
    monkeypatch.setattr(classification_inference, "run_classification_test", lambda cfg, model: {"top1_acc": 75.0})
    assert ava().test(Recorder()) == {"mAP": 0.5, "split": "test", "write": True}
    assert kinetics().test(Recorder()) == {"top1_acc": 75.0}


def test_test_views_are_clips_times_crops_for_classification_and_scales_times_flips_for_detection():
    assert kinetics("TEST.NUM_ENSEMBLE_VIEWS", "10", "TEST.NUM_SPATIAL_CROPS", "3").num_test_views() == 30
    assert ava().num_test_views() == 1
    assert ava("AVA.TEST_SCALES", "[224, 256, 320]", "AVA.TEST_FLIP", "True").num_test_views() == 6


def test_detection_validation_on_a_process_other_than_the_master_gives_no_map_instead_of_failing(monkeypatch):
    """AVA inference scores on the master process only; the others get {} back (and log nothing)."""
    monkeypatch.setattr(ava_inference, "run_ava_inference", lambda cfg, model, split, write: {})
    assert ava().evaluate(Recorder(), None) == {"mAP": None}
