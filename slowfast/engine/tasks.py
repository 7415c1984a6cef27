"""The task of a run, chosen once from the config: Kinetics-style classification (one label per clip) or
AVA-style detection (action labels per person box of a key frame).

`build_task(cfg)` is the one place in the engine (and above) that reads DETECTION.ENABLE. The training
and test loops, the benchmarks, the demo and the data checks ask the task object for what differs:

- what a batch holds: `model_inputs` / `forward` (the clips; detection also passes the batch's boxes);
- the training batch's augmentation (`augment_batch`: classification's MIXUP.*, on the device);
- the loss (`loss`, MODEL.LOSS_FUNC) and the per-iteration training metrics (`train_metrics`:
  classification also top-1 / top-5 errors of the training clips, detection the loss alone);
- the data replaced during an epoch: its stats key and words (`replaced_key`, `replaced_what`: unreadable
  videos vs key frames with unreadable frame files) and the AVA.MAX_REPLACED_KEYFRAMES stop
  (`check_replaced`);
- evaluation during training (`build_val_loader`, `evaluate`: single-view top-k errors on the val split
  vs AVA frame mAP through `engine.ava_inference`) and the test (`test`: the multi-view classification
  test vs AVA inference on the test split; `num_test_views`);
- whether DistributedDataParallel must look for unused parameters (`find_unused_parameters`: the
  detection head's context branch may leave some without gradients).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from slowfast.datasets.build import build_loader
from slowfast.datasets.mixup import Mixup
from slowfast.datasets.validation import UnreadableDataError
from slowfast.engine import ava_inference, classification_inference
from slowfast.engine.common import to_device
from slowfast.utils import distributed as du
from slowfast.utils.meters import topk_errors


def compute_loss(cfg, preds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """MODEL.LOSS_FUNC of `preds` against `labels`: class indices (cross_entropy), multi-hot or soft
    targets (bce, soft_cross_entropy). Computed in float32 (also on mixed-precision scores)."""
    preds = preds.float()
    if cfg.MODEL.LOSS_FUNC == "cross_entropy":
        return F.cross_entropy(preds, labels)
    if cfg.MODEL.LOSS_FUNC == "bce":
        return F.binary_cross_entropy_with_logits(preds, labels.to(preds.dtype))
    if cfg.MODEL.LOSS_FUNC == "soft_cross_entropy":
        return torch.sum(-labels * F.log_softmax(preds, dim=-1), dim=-1).mean()
    raise ValueError(f"unknown MODEL.LOSS_FUNC {cfg.MODEL.LOSS_FUNC!r}")


class Task:
    """What the loops need to know about the task; subclasses fill in what differs."""

    name = ""
    is_detection = False
    replaced_key = "replaced_videos"  # the epoch stats key of the items that were replaced by others
    replaced_what = "unreadable videos"  # ... and how the epoch's warning names them
    find_unused_parameters = False  # DistributedDataParallel

    def __init__(self, cfg):
        self.cfg = cfg

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def model_inputs(self, inputs, extra: dict, device: torch.device) -> tuple:
        """The arguments of the model's forward call for a batch `(inputs, labels, index, extra)`."""
        return (to_device(inputs, device),)

    def forward(self, model, inputs, extra: dict, device: torch.device) -> torch.Tensor:
        """Move a batch to `device` and run `model` on it."""
        return model(*self.model_inputs(inputs, extra, device))

    def augment_batch(self, inputs, labels: torch.Tensor, device: torch.device) -> tuple:
        """A training batch `(inputs, labels)` after the task's batch augmentation (none here)."""
        return inputs, labels

    def loss(self, preds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return compute_loss(self.cfg, preds, labels)

    def train_metrics(self, preds: torch.Tensor, labels: torch.Tensor, loss: torch.Tensor,
                      device: torch.device) -> tuple:
        """(loss, top-1 error, top-5 error) of a training iteration, averaged over processes; the errors
        are None where the task has none."""
        raise NotImplementedError

    def check_replaced(self, replaced: int, epoch: int) -> None:
        """Stop training when too many items of this epoch were replaced (`replaced` so far)."""

    def name_epoch_stats(self, stats: dict) -> dict:
        """The epoch's stats with the replaced items under `replaced_key`."""
        return stats

    def build_val_loader(self):
        """The loader that `evaluate` reads, or None when evaluation reads its data itself."""
        return None

    def evaluate(self, model, loader) -> dict:
        """Validation metrics of `model` during training (all processes take part; JSON-able values)."""
        raise NotImplementedError

    def test(self, model) -> dict:
        """Test `model` on the test split; the results (master process; other processes: {})."""
        raise NotImplementedError

    def num_test_views(self) -> int:
        """Views per test video (classification) or per key frame (detection)."""
        raise NotImplementedError


class ClassificationTask(Task):
    """One label per clip: cross-entropy over clips, top-k errors, multi-view test per video."""

    name = "classification"

    def __init__(self, cfg):
        super().__init__(cfg)
        self.mixup = Mixup.from_cfg(cfg)  # MIXUP.ENABLE: mixup / CutMix / label smoothing of training batches
        self.multi_label = cfg.DATA.MULTI_LABEL  # multi-hot labels, BCE, mAP

    def augment_batch(self, inputs, labels, device) -> tuple:
        """MIXUP.*: the batch on `device`, mixed, with B x C soft targets (`datasets.mixup`)."""
        return (inputs, labels) if self.mixup is None else self.mixup(to_device(inputs, device), labels)

    def train_metrics(self, preds, labels, loss, device) -> tuple:
        if self.multi_label:  # no top-k error for label sets: the loss only (mAP at validation and test)
            loss_v, = du.all_reduce_mean([loss.item()], device)
            return loss_v, None, None
        if labels.dim() > 1:  # mixed / smoothed targets: the errors count the argmax class as the label
            labels = labels.argmax(dim=1)
        top1, top5 = topk_errors(preds.detach().float(), labels)
        loss_v, top1, top5 = du.all_reduce_mean([loss.item(), top1, top5], device)
        return loss_v, top1, top5

    def build_val_loader(self):
        return build_loader(self.cfg, "val")

    def evaluate(self, model, loader) -> dict:
        if self.multi_label:
            return classification_inference.val_mean_ap(self.cfg, model, loader)
        return classification_inference.val_topk_errors(self.cfg, model, loader)

    def test(self, model) -> dict:
        return classification_inference.run_classification_test(self.cfg, model)

    def num_test_views(self) -> int:
        return self.cfg.TEST.NUM_ENSEMBLE_VIEWS * self.cfg.TEST.NUM_SPATIAL_CROPS


class DetectionTask(Task):
    """Action labels per person box of a key frame: the model also takes the boxes, the loss is per box,
    training reports the loss only, evaluation is AVA frame mAP."""

    name = "detection"
    is_detection = True
    replaced_key = "replaced_keyframes"  # AVA: key frames with a missing or unreadable frame file
    replaced_what = "key frames with unreadable frame files"
    find_unused_parameters = True

    def model_inputs(self, inputs, extra, device) -> tuple:
        return ava_inference.model_inputs(inputs, extra, device)

    def train_metrics(self, preds, labels, loss, device) -> tuple:
        loss_v, = du.all_reduce_mean([loss.item()], device)
        return loss_v, None, None

    def check_replaced(self, replaced: int, epoch: int) -> None:
        """Stop once more AVA key frames than AVA.MAX_REPLACED_KEYFRAMES (-1: no limit) were replaced."""
        limit = self.cfg.AVA.MAX_REPLACED_KEYFRAMES
        if 0 <= limit < replaced:
            raise UnreadableDataError(f"{replaced} AVA key frames of epoch {epoch + 1} had missing or unreadable "
                                      f"frame files (more than AVA.MAX_REPLACED_KEYFRAMES = {limit}); check the "
                                      "frames folder")

    def name_epoch_stats(self, stats: dict) -> dict:
        stats[self.replaced_key] = stats.pop("replaced_videos")  # TrainMeter's name
        return stats

    def evaluate(self, model, loader) -> dict:
        """AVA frame mAP of the val split (None on the processes other than the master, which scores)."""
        return {"mAP": ava_inference.run_ava_inference(self.cfg, model, split="val", write=False).get("mAP")}

    def test(self, model) -> dict:
        return ava_inference.run_ava_inference(self.cfg, model, split="test", write=True)

    def num_test_views(self) -> int:
        return len(ava_inference.test_views(self.cfg))


def build_task(cfg) -> Task:
    """The task of `cfg` (DETECTION.ENABLE): the one place the engine and the layers above read it."""
    return DetectionTask(cfg) if cfg.DETECTION.ENABLE else ClassificationTask(cfg)
