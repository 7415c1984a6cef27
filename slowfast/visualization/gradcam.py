"""Grad-CAM per pathway (Selvaraju et al. 2017) for video models, for whole clips and for single AVA boxes.

For a target class the score ``y`` (the logit: the input of the head's activation, averaged over the head's
positions) is back-propagated to the output ``A`` (``C x T' x H' x W'``) of one layer per pathway; each
channel's weight is the mean of ``dy/dA`` over ``T' x H' x W'``, and the map is ``relu(sum_c w_c A_c)``,
upsampled (trilinear) to the input frames: the ``T`` frames of the fastest pathway (so the maps of every
pathway line up with the same frames) at the input's ``H x W``, then divided by its maximum (``[0, 1]``;
an all-zero map stays zero).

Detection models (AVA): the model is called with the boxes, so a box's score comes through the RoI head
with that box only, and its map shows what that box's action score is computed from (:meth:`GradCam.maps`
with ``boxes``, one map per box and target). There the map is, by default, ``relu(sum_c dy/dA_c * A_c)`` at
each position instead (see :data:`WEIGHTINGS`): with per-channel mean weights every box would get the same map.

Layer names are module names of the model (``model.named_modules()``), written with ``.`` or with
PySlowFast's ``/`` (``s5/pathway0_res0``); :func:`resolve_layers` names the valid ones when a name is
wrong. Library code only: no config is read here (the command line is ``slowfast/apps/visualize.py``).
"""
from __future__ import annotations

import contextlib
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


# How the gradient weighs the layer's channels: "channel_mean" (Grad-CAM: one weight per channel, the gradient's
# mean over positions), "per_position" (gradient times activation at each position, summed over channels:
# HiResCAM, Draelos & Carin 2020), "auto": channel_mean for clips, per_position for boxes. Why boxes need
# per_position: the RoI head max-pools each box's RoIAlign output, so the gradient reaching a channel is the
# projection weight spread by bilinear weights that sum to one, and its mean over positions is the same for every
# box: channel-mean maps cannot tell two boxes apart (tests/test_gradcam.py shows it).
WEIGHTINGS = ("auto", "channel_mean", "per_position")


class LayerNameError(ValueError):
    """A Grad-CAM layer name that is not a module of the model (the message lists the valid names)."""


def pathway_layer_names(model: nn.Module) -> List[str]:
    """Names (slash spelling) of the modules that produce one pathway's features: ``s1/pathway0_stem``,
    ``s2/pathway0_res0``, ... in forward order."""
    return [name.replace(".", "/") for name, _ in model.named_modules()
            if name.count(".") == 1 and name.split(".")[1].startswith("pathway") and not name.startswith("head")]


def default_layers(model: nn.Module) -> List[str]:
    """The last block of the last stage of each pathway (PySlowFast's usual choice, ``s5/pathway{p}_res*``)."""
    names = pathway_layer_names(model)
    last_stage = max((n.split("/")[0] for n in names), key=lambda s: int(s[1:]), default=None)
    out: Dict[str, str] = {}
    for n in names:
        stage, block = n.split("/")
        if stage == last_stage:
            out[block.split("_")[0]] = n  # the last block of each pathway wins
    return list(out.values())


def resolve_layers(model: nn.Module, names: Sequence[str]) -> List[str]:
    """Module names (dot spelling) for ``names`` (dot or slash spelling); empty: :func:`default_layers`.

    Raises:
        LayerNameError: a name that is not a module, with the valid pathway layer names.
    """
    modules = dict(model.named_modules())
    out = []
    for name in list(names) or default_layers(model):
        dotted = name.replace("/", ".")
        if not dotted or dotted not in modules:
            valid = pathway_layer_names(model)
            raise LayerNameError(f"unknown layer {name!r} (TENSORBOARD.MODEL_VIS.GRAD_CAM.LAYER_LIST); this model's "
                                 f"pathway layers are: {', '.join(valid)}")
        out.append(dotted)
    return out


def _score_module(model: nn.Module) -> Optional[nn.Module]:
    head = getattr(model, "head", None)
    return getattr(head, "projection", None)


class GradCam:
    """Grad-CAM of ``model`` at ``layers`` (one per pathway, see :func:`resolve_layers`).

    ``autocast_dtype``: run the forward pass under ``torch.autocast`` with this dtype (``torch.bfloat16``;
    None: the model's own precision). The model is put in eval mode; its parameters get no gradients.
    """

    def __init__(self, model: nn.Module, layers: Sequence[str] = (), autocast_dtype: Optional[torch.dtype] = None,
                 weighting: str = "auto"):
        if weighting not in WEIGHTINGS:
            raise ValueError(f"GradCam: weighting {weighting!r}, choose one of {list(WEIGHTINGS)}")
        self.model = model.eval()
        self.weighting = weighting
        self.layers = resolve_layers(model, layers)
        self.autocast_dtype = autocast_dtype
        self._acts: Dict[str, torch.Tensor] = {}
        self._logits: Optional[torch.Tensor] = None

    @contextlib.contextmanager
    def _hooks(self):
        modules = dict(self.model.named_modules())
        handles = []

        def keep(name):
            def hook(_module, _inputs, output):
                if not torch.is_tensor(output) or output.dim() != 5:
                    what = f"a {output.dim()}-D tensor" if torch.is_tensor(output) else type(output).__name__
                    raise LayerNameError(f"layer {name.replace('.', '/')!r} returns {what}, not one pathway's "
                                         f"B x C x T x H x W features; this model's pathway layers are: "
                                         f"{', '.join(pathway_layer_names(self.model))}")
                self._acts[name] = output
            return hook

        for name in self.layers:
            handles.append(modules[name].register_forward_hook(keep(name)))
        score = _score_module(self.model)
        if score is not None:
            handles.append(score.register_forward_hook(lambda _m, _i, out: setattr(self, "_logits", out)))
        try:
            yield
        finally:
            for h in handles:
                h.remove()
            self._acts, self._logits = {}, None

    def _forward(self, inputs: Sequence[torch.Tensor], boxes: Optional[torch.Tensor]) -> tuple:
        """Per-sample (or per-box) logits ``N x C`` and the model's output."""
        device = inputs[0].device
        with torch.autocast(device.type, dtype=self.autocast_dtype or torch.float32,
                            enabled=self.autocast_dtype is not None):
            out = self.model(list(inputs)) if boxes is None else self.model(list(inputs), boxes)
        logits = self._logits if self._logits is not None else out
        return logits.reshape(logits.shape[0], -1, logits.shape[-1]).float().mean(dim=1), out.detach().float()

    def maps(self, inputs: Sequence[torch.Tensor], targets: Sequence[int] | torch.Tensor,
             boxes: Optional[torch.Tensor] = None) -> tuple[List[torch.Tensor], torch.Tensor]:
        """Heat maps for each layer: ``N x T x H x W`` in ``[0, 1]`` (float32, on the inputs' device), and the
        scores ``N x C`` (the model's output activation of the logits).

        ``inputs``: per-pathway ``B x C x T_p x H x W`` clips; ``targets``: one class index per row of the
        output (per clip, or per box with ``boxes`` ``N x 5`` = batch index, x1, y1, x2, y2 in input pixels).
        """
        inputs = [x.detach().float().requires_grad_(True) if x.is_floating_point() else x for x in inputs]
        frames = max(x.shape[2] for x in inputs)
        size = (frames, *inputs[0].shape[-2:])
        with torch.enable_grad(), self._hooks(), _frozen(self.model):
            logits, scores = self._forward(inputs, boxes)
            index = torch.as_tensor(list(targets) if not torch.is_tensor(targets) else targets, device=logits.device)
            if index.numel() != logits.shape[0]:
                raise ValueError(f"GradCam: {index.numel()} targets for {logits.shape[0]} outputs")
            if not all(a.requires_grad for a in self._acts.values()):
                raise ValueError("GradCam: the layers' outputs do not depend on anything that needs gradients")
            rows = torch.arange(logits.shape[0], device=logits.device)
            out = []
            acts = [self._acts[name] for name in self.layers]
            grads_per_row = []
            for r in rows.tolist():  # one backward pass per row: each box / clip gets its own gradients
                grads = torch.autograd.grad(logits[r, index[r]], acts, retain_graph=True, allow_unused=True)
                grads_per_row.append([torch.zeros_like(a) if g is None else g for a, g in zip(acts, grads)])
            per_position = self.weighting == "per_position" or (self.weighting == "auto" and boxes is not None)
            for k, act in enumerate(acts):
                cams = []
                for r in rows.tolist():
                    b = int(boxes[r, 0]) if boxes is not None else r
                    grad, a = grads_per_row[r][k][b].float(), act[b].detach().float()
                    if per_position:  # sum_c dy/dA_c(x) A_c(x)
                        cams.append(F.relu((grad * a).sum(dim=0)))
                    else:  # sum_c mean_x(dy/dA_c) A_c(x)
                        cams.append(F.relu(torch.einsum("c,cthw->thw", grad.mean(dim=(1, 2, 3)), a)))
                out.append(_upsample(torch.stack(cams), size))
        return out, scores


@contextlib.contextmanager
def _frozen(model: nn.Module):
    """No parameter gradients while inside (the flags are restored after)."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def _upsample(cams: torch.Tensor, size) -> torch.Tensor:
    """``N x T' x H' x W'`` -> ``N x T x H x W``, each divided by its maximum."""
    up = F.interpolate(cams[:, None], size=tuple(size), mode="trilinear", align_corners=False)[:, 0].clamp_min(0)
    peak = up.flatten(1).amax(dim=1).clamp_min(1e-12)
    return up / peak[:, None, None, None]


def mass_inside(cam: torch.Tensor, mask: torch.Tensor) -> float:
    """Fraction of the heat map's total mass that lies where ``mask`` is true (same shape; 0 for an empty map)."""
    total = float(cam.sum())
    return float(cam[mask.bool()].sum()) / total if total > 0 else 0.0
