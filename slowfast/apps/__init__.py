"""Applications over the engine: the run_net command line, demo, feature extraction, shared CLI pieces."""
