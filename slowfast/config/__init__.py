"""Configuration: `get_cfg()` gives the defaults, `load_config(path, opts)` the merged, validated config."""
from slowfast.config.defaults import get_cfg
from slowfast.config.errors import ConfigError
from slowfast.config.loader import load_config, merge_opts
from slowfast.config.validation import stage_depths, validate, world_size

__all__ = ["get_cfg", "load_config", "merge_opts", "validate", "ConfigError", "stage_depths", "world_size"]
