"""TF1 names TensorFlow 2 dropped whose object TF2 still has under another name, as data.

``tf.read_file`` is not in TF2's ``tf``, but ``tf.compat.v1.read_file is tf.io.read_file``: the very
same Python object, so ``tf.io.read_file(...)`` means what ``tf.read_file(...)`` meant for any call,
any arguments, any use (rule BN015 renames every spelling). The table is found by walking TF 2.21's
public API (``tf``, not ``tf.compat``) for every function or class of ``tf.compat.v1`` that TF2 lacks
under its own name:

- ``same_objects()``: TF1 name -> TF2 spelling of the same object. The spelling is
  ``tf_upgrade_v2``'s target when it names that object, else the shortest dotted name. A TF2 name
  whose TF1 reading takes other parameters is never a target (``tf.compat.v1.nn.avg_pool_v2`` is
  TF2's ``tf.nn.avg_pool``, but TF1's ``tf.nn.avg_pool`` takes ``value`` first, and the migration reads
  ``tf.nn.avg_pool`` in its input as TF1's, ``api_tables.POSITIONAL_ORDER_CHANGED``): the output
  must be read the same way when migrated again. Values that are not functions or classes (strings,
  integers) are not judged: equal values prove nothing.
- ``nearest_names()``: TF1 name -> ``tf_upgrade_v2``'s TF2 target when that target exists in TF2 but
  is another object (``tf.image.resize_images`` -> ``tf.image.resize``): never renamed, named in the
  reason the file is left.

The data (``tf2_renames_data``) is generated from the installed TensorFlow by ``python -m
bn_migrate.rewrite.tf2_renames --write``; ``tests/rewrite/test_tf2_renames.py`` recomputes it. Loading
it needs no TensorFlow.
"""

from __future__ import annotations

import inspect
import sys
import types
from functools import cache
from pathlib import Path

from bn_migrate.rewrite.tf2_api import in_tf2, public_members

_PREFIX = "tensorflow."


def _read(block: str) -> dict[str, str]:
    """The data's lines ``read_file io.read_file`` (paths below ``tf``): ``tensorflow.read_file`` ->
    ``tf.io.read_file``."""
    pairs = (line.split() for line in block.splitlines() if line.strip())
    return {_PREFIX + name: f"tf.{target}" for name, target in pairs}


@cache
def same_objects() -> dict[str, str]:
    """``tensorflow.read_file`` -> ``tf.io.read_file``: TF1 names of objects TF2 has under another name."""
    from bn_migrate.rewrite.tf2_renames_data import SAME_OBJECTS

    return _read(SAME_OBJECTS)


@cache
def nearest_names() -> dict[str, str]:
    """``tensorflow.image.resize_images`` -> ``tf.image.resize``: tf_upgrade_v2's TF2 name for a TF1
    name TF2 lacks, when it is another object (never a rename)."""
    from bn_migrate.rewrite.tf2_renames_data import NEAREST_NAMES

    return _read(NEAREST_NAMES)


# --- generation (needs TensorFlow) ---------------------------------------------------------------


def _api_members(
    root: types.ModuleType, skipped: tuple[str, ...], *, modules: bool = False
) -> list[tuple[str, object]]:
    """(dotted path below ``root``, value) of every public member of ``root``'s API modules
    (``tensorflow._api.*``; Keras, whose identity depends on ``TF_USE_LEGACY_KERAS``, is not walked),
    modules themselves too with ``modules``."""
    found: list[tuple[str, object]] = []

    def walk(module: types.ModuleType, path: str, above: tuple[int, ...]) -> None:
        try:
            members = public_members(module)
        except Exception:  # noqa: BLE001 (a lazy module that fails to load is not API)
            return
        for name, value in sorted(members.items()):
            child = f"{path}.{name}" if path else name
            if not isinstance(value, types.ModuleType) or modules:
                found.append((child, value))
            if isinstance(value, types.ModuleType) and (
                child not in skipped
                and id(value) not in above
                and getattr(value, "__name__", "").startswith("tensorflow._api.")
            ):
                walk(value, child, (*above, id(module)))

    walk(root, "", ())
    return found


def _resolve(root: object, path: str) -> object | None:
    for part in path.split("."):
        root = getattr(root, part, None)
        if root is None:
            return None
    return root


def _parameters(value: object) -> tuple[tuple[str, object], ...] | None:
    try:
        signature = inspect.signature(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return tuple((p.name, p.kind) for p in signature.parameters.values())


def _read_alike(tf1: object | None, value: object) -> bool:
    """A TF2 name is a target only when TF1 code with that name passed its arguments the same way:
    TF1 has no such name, the same object, or an object with the same parameters (``tf.math.log``,
    a dispatching wrapper of TF1's op). ``tf.nn.avg_pool`` is no target: TF1's takes ``value`` first."""
    if tf1 is None or tf1 is value:
        return True
    own = _parameters(value)
    return own is not None and own == _parameters(tf1)


def _target(names: list[str], suggested: str | None) -> str:
    """tf_upgrade_v2's spelling when it is one of ``names``, else the shortest (fewest parts, then
    fewest characters, then alphabetical)."""
    if suggested in names:
        return str(suggested)
    return min(names, key=lambda name: (name.count("."), len(name), name))


@cache
def tf1_names() -> frozenset[str]:
    """Every public name of TF 2.21's ``tf.compat.v1`` that TF2's ``tf`` lacks (``tensorflow.read_file``,
    ``tensorflow.enable_eager_execution``, ``tensorflow.spectral``): the words a cheap text test
    (``prefilter``) must see as maybe TF1."""
    from bn_migrate.rewrite.tf2_renames_data import TF1_NAMES

    return frozenset(_PREFIX + name for name in TF1_NAMES.split())


def generate() -> tuple[dict[str, str], dict[str, str], frozenset[str]]:
    """``same_objects()``, ``nearest_names()`` and ``tf1_names()`` from the installed TensorFlow."""
    import tensorflow as tf
    from tensorflow.tools.compatibility import all_renames_v2

    v1 = tf.compat.v1
    by_object: dict[int, list[str]] = {}
    for path, value in _api_members(tf, ("compat", "keras")):
        by_object.setdefault(id(value), []).append(f"tf.{path}")
    upgrade: dict[str, str] = all_renames_v2.symbol_renames
    same: dict[str, str] = {}
    nearest: dict[str, str] = {}
    for path, value in _api_members(v1, ("keras",)):
        name = _PREFIX + path
        if in_tf2(name) is not False:
            continue
        suggested = upgrade.get(f"tf.{path}")
        if inspect.isroutine(value) or inspect.isclass(value):
            names = [
                tf2
                for tf2 in by_object.get(id(value), [])
                if _read_alike(_resolve(v1, tf2.removeprefix("tf.")), value)
            ]
            if names:
                same[name] = _target(names, suggested)
                continue
        if (
            suggested is not None
            and not suggested.startswith("tf.compat.")
            and in_tf2(_PREFIX + suggested.removeprefix("tf.")) is True
        ):
            nearest[name] = suggested
    lacking = frozenset(
        _PREFIX + path
        for path, _ in _api_members(v1, ("keras",), modules=True)
        if in_tf2(_PREFIX + path) is False
    )
    return same, nearest, lacking


def _write() -> None:
    import textwrap

    import tensorflow as tf

    same, nearest, lacking = generate()

    def block(table: dict[str, str]) -> str:
        return "".join(
            f"{name.removeprefix(_PREFIX)} {target.removeprefix('tf.')}\n"
            for name, target in sorted(table.items())
        )

    target = Path(__file__).with_name("tf2_renames_data.py")
    target.write_text(
        f'"""TensorFlow {tf.__version__}: TF1 names TF2 lacks, with the TF2 name of the same object '
        "(``SAME_OBJECTS``) or\ntf_upgrade_v2's TF2 name of another object (``NEAREST_NAMES``), and all of them "
        "(``TF1_NAMES``).\n\n"
        "Lines ``TF1 TF2``, both paths below ``tf``.\nGenerated by ``python -m "
        'bn_migrate.rewrite.tf2_renames --write``; see ``tf2_renames``."""\n\n'
        f'VERSION = "{tf.__version__}"\n\n'
        f'SAME_OBJECTS = """\n{block(same)}"""\n\n'
        f'NEAREST_NAMES = """\n{block(nearest)}"""\n\n'
        'TF1_NAMES = """\n'
        + textwrap.fill(" ".join(sorted(n.removeprefix(_PREFIX) for n in lacking)), 100)
        + '\n"""\n',
        encoding="utf-8",
    )


if __name__ == "__main__":  # pragma: no cover (a maintainer's command)
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python -m bn_migrate.rewrite.tf2_renames --write")
    _write()
