"""``slim = tf.contrib.slim``: a TF1 module bound by assignment is read as the import it means
(``planning.module_aliases``): the program migrates exactly as with ``import tensorflow.contrib.slim as
slim``, the line dropped with the import. It was left ("`tf.contrib.slim` in the graph: no rule of this
version migrates it")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bn_migrate.rewrite import early_left, prefilter
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from tests.conftest import REPO

FIXTURE = REPO / "tests" / "fixtures" / "tf1" / "slim_nested_scopes.py"
IMPORT = "import tensorflow.contrib.slim as slim\n"


def _aliased(line: str) -> str:
    return FIXTURE.read_text(encoding="utf-8").replace(IMPORT, line)


@pytest.mark.parametrize(
    "line",
    ["slim = tf.contrib.slim  # as TF1 scripts write it\n", "slim = tf.contrib.layers\n"],
)
def test_a_module_bound_by_assignment_migrates_as_its_import(line: str) -> None:
    source = _aliased(line)
    imported = rewrite_source(FIXTURE.read_text(encoding="utf-8"))
    result = rewrite_source(source)
    assert result.status is Status.CHANGED, result.left
    assert result.code == imported.code  # the line goes as the import went
    assert early_left.left_sites(source, ast.parse(source)) is None
    assert prefilter.assigns_tf1_module(ast.parse(source))


@pytest.mark.parametrize(
    ("line", "extra"),
    [
        ("slim = tf.contrib.slim\n", "slim = None\n"),  # bound twice: not one module
        # through another import than ``import tensorflow as tf``: its path is not written out
        ("import tensorflow.contrib as tfc\nslim = tfc.slim\n", ""),
    ],
)
def test_other_assignments_are_not_read_as_imports(line: str, extra: str) -> None:
    source = _aliased(line) + extra
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED and result.code == source


@pytest.mark.slow
def test_the_migration_of_the_aliased_program_is_equivalent(tmp_path: Path) -> None:
    from bn_migrate.check import CheckOptions, check_programs

    original = tmp_path / "aliased.py"
    original.write_text(_aliased("slim = tf.contrib.slim\n"), encoding="utf-8")
    migrated = tmp_path / "migrated.py"
    migrated.write_text(rewrite_source(original.read_text(encoding="utf-8")).code, encoding="utf-8")
    result = check_programs(original, migrated, CheckOptions(timeout=240, old_repeats=1))
    assert result.verdict == "equivalent", result.render_text()
