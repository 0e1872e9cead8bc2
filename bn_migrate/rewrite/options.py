"""What a user can ask of the rewrite (the ``rewrite`` command's flags), apart from the engine so that
the command line can build it without importing libcst."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RewriteOptions:
    plain_keras_bn: bool = False
    """Emit plain Keras BN where TF1 used the fused kernel; the report quantifies the difference."""
    fix_missing_updates: bool = False
    """Where the original never ran a BN layer's update ops, let Keras update them (changes results)."""
