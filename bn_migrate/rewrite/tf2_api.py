"""Which ``tf.*`` names TensorFlow 2 has: the public API of the pinned TensorFlow (2.21), as data.

A migrated file must run on TensorFlow 2, so a reference the rules leave as it is must name something TF2
has. ``api_tables.TF1_ONLY`` lists what TF1 programs commonly use that TF2 dropped or changed; this table
answers for every other name: ``tf.sub``, ``tf.image_summary`` (removed before TF 1.0) or
``tf.image.resize_bilinear`` are in neither list's TF2 side, so a file keeping them is left with its
reason instead of being called migrated.

The data (``tf2_api_data.MODULES``) is each public module's path, then its members on indented lines, generated
from the installed TensorFlow by ``python -m bn_migrate.rewrite.tf2_api --write`` (a test compares it with
the installed version when that is the pinned one). Loading it needs no TensorFlow: the codemod runs from
a plain install. Only the public namespace is judged: ``tensorflow.python.*`` and other private packages
are not (they may or may not still exist; nothing is claimed).
"""

from __future__ import annotations

import sys
import types
from functools import cache
from pathlib import Path

PRIVATE_PACKAGES = frozenset({"python", "core", "compiler", "tsl", "include", "lite"})
"""``tensorflow.<name>`` packages outside the public API (``tensorflow.lite`` is public but also a
package of private modules under the same path): references there are not judged."""

_SKIPPED = ("tensorflow.compat",)  # TF1's namespace (``api_tables.TF1_ONLY``)


@cache
def _modules() -> dict[str, frozenset[str]]:
    from bn_migrate.rewrite.tf2_api_data import MODULES

    table: dict[str, frozenset[str]] = {}
    path = ""
    members: list[str] = []
    for line in [*MODULES.splitlines(), "end"]:
        if not line.strip():
            continue
        if line[0].isspace():  # the members continue
            members.extend(line.split())
            continue
        if path:
            table[path] = frozenset(members)
        path, *members = line.split()
    return table


def in_tf2(qualified: str) -> bool | None:
    """Whether the canonical name ``qualified`` (``tensorflow.image.resize``) is in TF2's public API:
    every module on its path has the next name as a member, until a member that is no module (a
    function, a class, a dtype: what lies below it is not judged). None when not judged: not under
    ``tensorflow``, under a private package, or under ``tensorflow.compat``."""
    parts = qualified.split(".")
    if parts[0] != "tensorflow" or len(parts) < 2:
        return None
    if parts[1] in PRIVATE_PACKAGES or parts[1].startswith("_"):
        return None
    if any(qualified == s or qualified.startswith(s + ".") for s in _SKIPPED):
        return None
    modules = _modules()
    path = parts[0]
    for part in parts[1:]:
        members = modules.get(path)
        if members is None:
            return True  # ``path`` is a member that is no module
        if part not in members:
            return False
        path = f"{path}.{part}"
    return True


def is_module(canonical: str) -> bool:
    """Whether TensorFlow 2's public API has a module of the canonical name ``canonical``."""
    return canonical in _modules()


def public_members(module: types.ModuleType) -> dict[str, object]:
    """The public names of a TensorFlow API module and their values (what ``dir`` lists and loads)."""
    found = {}
    for name in dir(module):
        if name.startswith("_"):
            continue
        try:
            found[name] = getattr(module, name)
        except Exception:  # noqa: BLE001 (a lazy attribute that fails to load is not API)
            continue
    return found


def generate() -> str:
    """The table from the installed TensorFlow (needs it): its public modules, each with its members."""
    import tensorflow as tf

    lines: list[str] = []

    def walk(module: types.ModuleType, path: str, above: tuple[int, ...]) -> None:
        members = public_members(module)
        lines.append(" ".join([path, *sorted(members)]))
        for name, value in sorted(members.items()):
            child = f"{path}.{name}"
            if not isinstance(value, types.ModuleType) or child in _SKIPPED or id(value) in above:
                continue
            origin = getattr(value, "__name__", "")
            if origin.startswith(("tensorflow._api.", "keras")):  # every path a module has
                walk(value, child, (*above, id(module)))

    walk(tf, "tensorflow", ())
    return "\n".join(sorted(lines)) + "\n"


def _write() -> None:
    import textwrap

    import tensorflow as tf

    body = []
    for line in generate().splitlines():
        path, *members = line.split()
        body.append(path)
        body.extend(
            textwrap.wrap(" ".join(members), 96, initial_indent="    ", subsequent_indent="    ")
        )
    target = Path(__file__).with_name("tf2_api_data.py")
    target.write_text(
        f'"""TensorFlow {tf.__version__}\'s public API: each module\'s path, then its public members '
        "(indented).\n\nGenerated by ``python -m bn_migrate.rewrite.tf2_api --write``; see "
        '``tf2_api``."""\n\n'
        f'VERSION = "{tf.__version__}"\n\n'
        'MODULES = """\n' + "\n".join(body) + '\n"""\n',
        encoding="utf-8",
    )


if __name__ == "__main__":  # pragma: no cover (a maintainer's command)
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python -m bn_migrate.rewrite.tf2_api --write")
    _write()
