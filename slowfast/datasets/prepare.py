"""Generate the built-in synthetic datasets when the config asks for them (DATA.GENERATE_SYNTHETIC)
and DATA.PATH_TO_DATA_DIR holds none. Runs once, before any worker process starts."""
from __future__ import annotations

import logging
import os

from slowfast.datasets.shards import uses_shards

logger = logging.getLogger(__name__)


def prepare_data(cfg) -> None:
    if not cfg.DATA.GENERATE_SYNTHETIC:
        return
    root = cfg.DATA.PATH_TO_DATA_DIR
    name = (cfg.TRAIN.DATASET if cfg.TRAIN.ENABLE else cfg.TEST.DATASET).lower()
    if name == "kinetics" and uses_shards(cfg, "train" if cfg.TRAIN.ENABLE else "test"):
        return  # shards (tools/make_shards.py) are made from a prepared dataset, never generated in place
    if name == "kinetics" and cfg.DATA.MULTI_LABEL:  # one or two moving discs, labels = their motions
        from slowfast.datasets.synthetic_multilabel import ensure_multilabel_synthetic

        s = cfg.SYNTHETIC
        ensure_multilabel_synthetic(root, num_classes=cfg.MODEL.NUM_CLASSES, num_train=s.NUM_TRAIN, num_val=s.NUM_VAL,
                                    num_test=s.NUM_TEST, size=s.SIZE, num_frames=s.NUM_FRAMES, seed=cfg.RNG_SEED)
    elif name == "kinetics":
        from slowfast.datasets.synthetic import ensure_kinetics_synthetic

        if not os.path.isfile(os.path.join(root, "train.csv")):
            logger.info("generating the synthetic Kinetics-format dataset in %s", root)
        s = cfg.SYNTHETIC
        ensure_kinetics_synthetic(root, num_classes=cfg.MODEL.NUM_CLASSES, num_train=s.NUM_TRAIN, num_val=s.NUM_VAL,
                                  num_test=s.NUM_TEST, size=s.SIZE, num_frames=s.NUM_FRAMES, seed=cfg.RNG_SEED)
    elif name == "charades":  # the multi-label set as PySlowFast's Charades frame lists + JPEG frames
        from slowfast.datasets.synthetic_charades import ensure_charades_synthetic

        s = cfg.SYNTHETIC
        ensure_charades_synthetic(root, num_classes=cfg.MODEL.NUM_CLASSES, num_train=s.NUM_TRAIN, num_val=s.NUM_VAL,
                                  num_test=s.NUM_TEST, size=s.SIZE, num_frames=s.NUM_FRAMES, seed=cfg.RNG_SEED)
    elif name == "ava":
        from slowfast.datasets.synthetic_ava import ensure_ava_synthetic

        s = cfg.SYNTHETIC
        ensure_ava_synthetic(root, num_train_videos=s.AVA_TRAIN_VIDEOS, num_val_videos=s.AVA_VAL_VIDEOS,
                             num_keyframes=s.AVA_KEYFRAMES, seed=cfg.RNG_SEED)
    else:
        raise ValueError(f"DATA.GENERATE_SYNTHETIC: no synthetic generator for dataset {name!r}")
