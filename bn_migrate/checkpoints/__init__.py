"""TF1 checkpoints into the migrated Keras model (``bn-migrate convert-checkpoint``).

``mapping`` pairs checkpoint variables with the model's weights (pure Python); ``sources`` reads the
checkpoint's location and the explicit mapping; ``worker`` runs each side in its own process (the migrated
model under TF2, the TF1 builder under the legacy runtime); ``convert`` runs them, compares and writes;
``report`` renders the result.
"""
