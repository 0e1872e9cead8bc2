"""Settings of the layered fixture program (no TensorFlow: not part of what is migrated)."""
STEPS = 6
LEARNING_RATE = 0.01
