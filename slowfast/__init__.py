"""SlowFast video recognition: Kinetics classification and AVA action detection."""
