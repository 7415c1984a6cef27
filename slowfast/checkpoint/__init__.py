"""Checkpoints: ``.pyth`` files in PySlowFast's layout (``model_state``, ``optimizer_state``, ``epoch``,
``cfg``), written atomically and read without running code from them.

    errors       CheckpointError / CheckpointReadError / CheckpointMissingError, the unsafe-pickle refusal
    pyth         reading a ``.pyth`` file (weights-only, then the restricted unpickler), layout checks
    safe_pickle  the restricted unpickler (numpy arrays, config nodes; nothing that runs code)
    caffe2       Caffe2 ``.pkl`` files: blob names <-> PyTorch names, reading and writing
    cfg_diff     the stored config compared with the run's
    store        save, load into a model (partial, inflated, sub-BN), auto-resume, the checkpoint folder
    choice       which checkpoint a test, demo or feature run uses (one policy)
    keep         TRAIN.CHECKPOINT_KEEP: the last N checkpoints kept, only the run's own ones deleted
"""
from slowfast.checkpoint.choice import CheckpointChoice, checkpoint_for_testing
from slowfast.checkpoint.keep import prune_checkpoints
from slowfast.checkpoint.errors import CheckpointError, CheckpointMissingError, CheckpointReadError
from slowfast.checkpoint.pyth import load_pickled, read_checkpoint
from slowfast.checkpoint.store import (CHECKPOINT_DIR, atomic_torch_save, checkpoint_dir, checkpoint_path,
                                       compare_state_dicts, format_key_report, inflate_state, iteration_checkpoint_path,
                                       last_checkpoint,
                                       list_checkpoints, load_checkpoint, load_state, read_any_checkpoint,
                                       remove_stale_temp_files, resume_latest, save_checkpoint, set_aside,
                                       strip_wrapper_prefix)

__all__ = ["CHECKPOINT_DIR", "CheckpointChoice", "CheckpointError", "CheckpointMissingError", "CheckpointReadError",
           "atomic_torch_save", "checkpoint_dir", "checkpoint_for_testing", "checkpoint_path", "compare_state_dicts",
           "format_key_report", "inflate_state", "iteration_checkpoint_path", "last_checkpoint", "list_checkpoints", "load_checkpoint",
           "load_pickled", "load_state", "prune_checkpoints", "read_any_checkpoint", "read_checkpoint", "remove_stale_temp_files",
           "resume_latest", "save_checkpoint", "set_aside", "strip_wrapper_prefix"]
