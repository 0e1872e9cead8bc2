"""Where a string's text can go (``analysis.string_uses``): a string only written out (a file mode, a
printed message, what a file or ``json.dump`` gets, a flag's help) selects no variable, so it no longer
refuses a dense or convolution helper whose TF1 weight name it holds (DCGAN's ``open(path, "w")``
refused its ``conv2d``, weight ``w``); a string that reaches a name match, or a use this analysis
cannot follow, still does."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst
import pytest

from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.string_uses import StringUses
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.rewrite.test_conv_helpers import PROGRAM
from tests.rewrite.test_flat_dcgan import migrate_and_check

if TYPE_CHECKING:
    from bn_migrate.check.old_runs import OldRunCache

WRITTEN_OUT = {
    "file-mode": 'with open("log.txt", "w") as log:\n    pass\n',
    "file-mode-keyword": 'open("log.txt", mode="w").close()\n',
    "print": 'print("saved the w")\n',
    "print-format": 'print("{} w".format(3))\n',
    "print-percent": 'print("w=%d" % 3)\n',
    "statement": '"w"\n',
    "flag-help": ('import tensorflow as tf\ntf.app.flags.DEFINE_integer("size", 3, "the width")\n'),
    # hwalsuklee/tensorflow-generative-model-collections' main.py: `desc` then description=desc
    "argparse-description": (
        "import argparse\n"
        "def parse_args():\n"
        '    desc = "the width"\n'
        "    parser = argparse.ArgumentParser(description=desc)\n"
        "    return parser.parse_args()\n"
    ),
    "argparse-positional-usage": 'import argparse\nargparse.ArgumentParser("prog", "the width")\n',
    "local-mode": (
        'def save(path):\n    mode = "w"\n    with open(path, mode) as f:\n        pass\n'
    ),
    "dict-key-json-dump": (
        "import json\n"
        "def save(path, values):\n"
        "    with open(path) as f:\n"
        '        json.dump({"w": values}, f)\n'
    ),
    "dict-key-written-as-text": (
        "def save(path, layers):\n"
        '    with open(path, "w") as out:\n'
        '        lines = ""\n'
        "        for layer in layers:\n"
        "            fs = []\n"
        "            for x in layer:\n"
        '                fs.append({"w": ["%.2f" % e for e in list(x)]})\n'
        '            lines += "var %s;" % (fs,)\n'
        '        out.write(" ".join(lines.replace("\'", "").split()))\n'
    ),
    "beside-an-eval-method": (
        "def save(path, t):\n"
        '    mode = "w"\n'
        "    print(t.eval())\n"
        "    with open(path, mode) as f:\n"
        "        pass\n"
    ),
    "printed-to-a-file": 'def f(p):\n    with open(p, "a") as log:\n        print("w", file=log)\n',
}

MAY_MATCH = {
    "compared-with-a-name": (
        "def kernels(variables):\n"
        '    suffix = "w"\n'
        "    found = []\n"
        "    for v in variables:\n"
        "        if suffix in v.name:\n"
        "            found.append(v)\n"
        "    print(found)\n"
    ),
    "unknown-function": 'log("w")\n',
    "module-level-name": 'mode = "w"\nprint(mode)\n',
    "returned": 'def mode():\n    return "w"\n',
    "index": 'settings = {}\nprint(settings["w"])\n',
    "regex": 'import re\nprint(re.match("w", "x"))\n',
    "saver-keys": ('import tensorflow as tf\ndef saver(v):\n    return tf.train.Saver({"w": v})\n'),
    "open-rebound": 'def open(path, mode):\n    pass\nopen("log.txt", "w")\n',
    "star-import": 'from helpers import *\nopen("log.txt", "w")\n',
    "write-to-a-file-rebound": (
        "def save(path, other):\n"
        "    with open(path) as f:\n"
        "        f = other\n"
        '        f.write("w")\n'
    ),
    "added-to-an-unknown-value": 'def f(x):\n    print("w" + x)\n',
    "flag-name": 'import tensorflow as tf\ntf.app.flags.DEFINE_string("w", "", "help")\n',
    "argparse-argument-default": 'import argparse\nargparse.ArgumentParser(argument_default="w")\n',
    "argparse-prefix-chars": 'import argparse\nargparse.ArgumentParser(prefix_chars="w")\n',
    "flag-default": 'import tensorflow as tf\ntf.app.flags.DEFINE_string("mode", "w", "help")\n',
    "local-read-by-locals": ('def save(path):\n    mode = "w"\n    print(locals())\n'),
    "local-read-by-eval": 'def save(path):\n    mode = "w"\n    print(eval("mo" + "de"))\n',
    "printed-to-an-object": 'def f(obj):\n    print("w", file=obj)\n',
    "json-dump-to-an-object": 'import json\ndef f(obj):\n    json.dump({"w": 1}, obj)\n',
    "json-dump-custom-encoder": (
        "import json\n"
        "def f(path, encoder):\n"
        "    with open(path) as fp:\n"
        '        json.dump({"w": 1}, fp, cls=encoder)\n'
    ),
    "sorted-by-a-key": 'def f(g):\n    print(sorted(["w"], key=g))\n',
    "flag-help-in-other-flag-values": (
        "import tensorflow as tf\n"
        "def f(values):\n"
        '    tf.app.flags.DEFINE_string("mode", "", "the width", flag_values=values)\n'
    ),
    "class-attribute": (
        "def f(variables):\n"
        "    class Settings:\n"
        '        pattern = "w"\n'
        "    print([v for v in variables if Settings.pattern in v.name])\n"
    ),
    "augmented-by-an-unknown-value": 'def f(x):\n    mode = "w"\n    mode -= x\n',
    "unpacked": 'def f(g):\n    for mode, x in [("w", 1)]:\n        g(mode)\n',
}


def _the_w(source: str) -> bool:
    """Whether the last string holding a `w` in ``source`` is only written out."""
    module = cst.parse_module(source)
    strings: list[cst.SimpleString] = []

    class Strings(cst.CSTVisitor):
        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            if node.evaluated_value in ("w", "{} w", "w=%d", "saved the w", "the width"):
                strings.append(node)

    module.visit(Strings())
    assert strings, source
    return StringUses(module, AliasTable.build(module)).only_written_out(strings[-1])


@pytest.mark.parametrize("source", list(WRITTEN_OUT.values()), ids=list(WRITTEN_OUT))
def test_a_string_only_written_out_selects_no_variable(source: str) -> None:
    assert _the_w(source) is True


@pytest.mark.parametrize("source", list(MAY_MATCH.values()), ids=list(MAY_MATCH))
def test_a_string_reaching_a_match_or_an_unknown_use_may_select(source: str) -> None:
    assert _the_w(source) is False


def _with(code: str) -> str:
    return (
        textwrap.dedent(PROGRAM)
        .removeprefix("\n")
        .replace("update_ops = ", code + "update_ops = ", 1)
    )


@pytest.mark.parametrize(
    "code",
    [
        'with open("log.txt", "w") as log:\n    log.write("the kernels")\n',
        WRITTEN_OUT["dict-key-written-as-text"],
        'print("w")\n',
    ],
    ids=["file-mode", "dict-keys-written-to-a-file", "printed"],
)
def test_a_w_only_written_out_no_longer_refuses_the_conv_helper(code: str) -> None:
    """Before: left at the string ("this string may select variables by name (it overlaps `w`)")."""
    source = _with(code)
    result = rewrite_source(source)
    assert result.status is Status.CHANGED and not result.left, result.left
    assert "def conv2d" not in result.code and code.splitlines()[0] in result.code
    assert rewrite_source(result.code).status is Status.UNCHANGED


@pytest.mark.parametrize(
    ("code", "at", "clash"),
    [
        (
            'suffix = "w"\nkernels = [v for v in tf.trainable_variables() if suffix in v.name]\n',
            'suffix = "w"',
            "w",
        ),
        (MAY_MATCH["compared-with-a-name"], '    suffix = "w"', "w"),
        ('log_mode = str.lower("w")\n', "log_mode = ", "w"),
        ('names = {"kernel": 1}\n', "names = ", "kernel"),
        (
            'with open("log.txt", "w") as log:\n    log.write(tf.__name__ + "biases")\n',
            "    log",
            "biases",
        ),
    ],
    ids=["module-name-matched", "local-name-matched", "unknown-function", "module-dict", "added"],
)
def test_a_w_reaching_a_match_or_an_unknown_use_still_refuses(
    code: str, at: str, clash: str
) -> None:
    source = _with(code)
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source
    line = source[: source.index(at)].count("\n") + 1 + at.count("\n")
    reason = f"this string may select variables by name (it overlaps `{clash}`)"
    found = [s for s in result.left if s.rule == "BN014" and s.line == line and reason in s.message]
    assert found, (line, sorted((s.line, s.rule, s.message) for s in result.left))


SHOW = "def show(variables):\n    for v in variables:\n        if TEXT in v.name:\n            print(v.name)\n"


@pytest.mark.parametrize(
    ("text", "clash"),
    [('"lin/"', None), ('"c1/w"', "w"), ('"_w"', "w"), ('"c1/ker"', "kernel"), ('"w.*"', "w")],
)
def test_a_name_filter_keeps_the_conv_helper_unless_it_covers_part_of_a_weights_name(
    text: str, clash: str | None
) -> None:
    """DCGAN's ``"lin/" in w.name``: no variable's name has ``kernel`` then ``in/`` (``:`` or ``/``
        follows the weight's name), so it selects alike among TF1's and Keras's names; before, it was
        said to overlap ``kernel`` (its ``l``). ``"c1/w"`` selects TF1's kernel only, and a regular
        expression may match anything: those still refuse, and so does any string holding a weight's name
    (``"_w"``: this test does not tell how a string is cut before it is matched)."""
    source = _with(SHOW.replace("TEXT", text))
    result = rewrite_source(source)
    if clash is None:
        assert result.status is Status.CHANGED and not result.left, result.left
        return
    assert result.status is Status.SKIPPED and result.code == source
    reason = f"this string may select variables by name (it overlaps `{clash}`)"
    assert [s for s in result.left if s.rule == "BN014" and reason in s.message], result.left


SAVED = """

def save(path, values):
    with open(path, "w") as out:
        out.write("%s" % ({"w": [float(v) for v in values]},))


save(os.devnull, [value])
"""


@pytest.mark.slow
def test_a_program_writing_its_w_to_a_file_migrates_equivalent(
    tmp_path: Path, old_cache: OldRunCache
) -> None:
    """The conv helpers' program that then writes its loss under the key "w" to a file (file mode "w",
    DCGAN's ``to_json`` shape): migrated (before: left at the mode), the migration runs on TF 2.21 and is
    EQUIVALENT, and a planted momentum in it is found DIFFERENT."""
    source = textwrap.dedent(PROGRAM).removeprefix("\n")
    source = source.replace("import numpy as np\n", "import os\n\nimport numpy as np\n", 1) + SAVED
    text = "BatchNormalization(momentum=0.99"
    code, _, _ = migrate_and_check(source, tmp_path, old_cache, (text, text.replace("0.99", "0.5")))
    assert SAVED in code and "def conv2d" not in code
