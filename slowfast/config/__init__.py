"""Configuration: `get_cfg()` gives the defaults, `load_config(path, opts)` the merged, validated config."""
from slowfast.config.defaults import get_cfg
from slowfast.config.loader import ConfigError, load_config, merge_opts, stage_depths, validate, world_size

__all__ = ["get_cfg", "load_config", "merge_opts", "validate", "ConfigError", "stage_depths", "world_size"]
