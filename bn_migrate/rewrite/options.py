"""What a user can choose about the rewrite (``bn-migrate rewrite`` flags); imports nothing heavy."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class RewriteOptions:
    plain_keras_bn: bool = False
    """Emit plain Keras BN where TF1 used the fused kernel; the report quantifies the difference."""
    fix_missing_updates: bool = False
    """Where the original never ran a BN layer's update ops, let Keras update them (changes results)."""
    library: tuple[str, ...] = ()
    """Folders (or files) of model libraries: their public builders migrate as if a training program
    called each once (``planning.library``)."""
    reserved: frozenset[str] = frozenset()
    """Not a flag: names a program of several modules binds to its modules (``import inception_v1``),
    which the rules must not bind in its virtual module (``planning.inlined_modules``)."""

    def is_library(self, path: str) -> bool:
        """Is the module at ``path`` under one of the ``library`` paths?"""
        if not self.library:
            return False
        where = os.path.realpath(path)
        return any(
            where == root or where.startswith(root.rstrip(os.sep) + os.sep)
            for root in (os.path.realpath(given) for given in self.library)
        )
