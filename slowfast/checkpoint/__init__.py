"""Checkpoints: the ``.pyth`` store (save / load / resume), Caffe2 ``.pkl`` files, safe unpickling and
the comparison of a checkpoint's config with the run's."""
