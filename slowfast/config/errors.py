"""The one error type of the config layer."""


class ConfigError(ValueError):
    """A configuration file or override is invalid; the message names the source and the key."""
