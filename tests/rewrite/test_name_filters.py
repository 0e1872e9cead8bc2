"""``analysis.name_filters``: the full TF1 names of the trainable variables, and the var_lists filtering
them by a substring of those names, read from the program; the names are TF1's own (run on TF1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest

from bn_migrate.rewrite.analysis.name_filters import trainable_names
from bn_migrate.rewrite.analysis.names import AliasTable
from bn_migrate.rewrite.analysis.program import Program
from bn_migrate.rewrite.planning import bn_wrappers
from bn_migrate.rewrite.rule_examples import GAN_BEFORE
from tests.conftest import REPO
from tests.rewrite.test_flat_dcgan import NAME_VAR_LISTS, _without

_SCOPED = (
    'd_vars = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="disc")\n'
    'g_vars = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="gen")\n'
)


def _program(source: str) -> Program:
    """The program as the engine reads it (a batch-norm wrapper class's calls expanded first)."""
    module = cst.parse_module(source)
    aliases = AliasTable.build(module)
    expanded = bn_wrappers.expand(module, aliases)
    if expanded.rewritten:
        module = expanded.module
        aliases = AliasTable.build(module)
    return Program.read(module, aliases)


def _names(program: Program) -> dict[str, set[str]]:
    found = trainable_names(
        program.aliases,
        program.builders,
        program.layer_making_calls(),
        program.inner_scopes,
        lambda call, target: program.scopes.defaults(call, target) != {},
    )
    assert isinstance(found, dict), found
    return found


def test_each_filter_is_resolved_to_the_network_whose_trainable_variables_it_selects() -> None:
    source = GAN_BEFORE.replace(
        _SCOPED,
        "t_vars = tf.trainable_variables()\n"
        'd_vars = [v for v in t_vars if "d_" in v.name]\n'
        'g_vars = [v for v in t_vars if v.name.startswith("gen/")]\n',
    )
    program = _program(source)
    found = {name: (f.builder, f.reason, f.test) for name, f in program.name_filters.items()}
    assert found == {
        "d_vars": ("discriminator", None, '"d_" in v.name'),
        "g_vars": ("generator", None, 'v.name.startswith("gen/")'),
    }
    assert _names(program) == {
        "discriminator": {
            f"disc/{layer}/{weight}:0"
            for layer, weights in (
                ("d_fc", ("kernel", "bias")),
                ("d_bn", ("gamma", "beta")),
                ("d_out", ("kernel", "bias")),
            )
            for weight in weights
        },
        "generator": {
            "gen/g_fc/kernel:0",
            "gen/g_fc/bias:0",
            "gen/g_bn/gamma:0",
            "gen/g_bn/beta:0",
        },
    }


def test_keywords_dropping_weights_or_trainability_are_read() -> None:
    """``use_bias=False`` makes no bias, ``center=False`` no beta, ``trainable=False`` nothing trainable;
    contrib's batch norm makes no gamma unless ``scale=True``."""
    source = (
        GAN_BEFORE.replace('name="g_fc")', 'name="g_fc", use_bias=False)')
        .replace('name="g_bn")', 'name="g_bn", center=False)')
        .replace('name="d_out")', 'name="d_out", trainable=False)')
        .replace(
            'tf.layers.batch_normalization(h, training=is_training, name="d_bn")',
            'tf.contrib.layers.batch_norm(h, is_training=is_training, scope="d_bn")',
        )
    )
    names = _names(_program(source))
    assert names == {
        "discriminator": {"disc/d_fc/kernel:0", "disc/d_fc/bias:0", "disc/d_bn/beta:0"},
        "generator": {"gen/g_fc/kernel:0", "gen/g_bn/gamma:0"},
    }


@pytest.mark.slow
def test_the_names_read_are_tf1_s_own(tmp_path: Path) -> None:
    """On TF1 (``bn-migrate run-tf1``): the flattened DCGAN's trainable variables are the names
    the analysis reads, and each var_list by substring selects exactly the network it is resolved to."""
    source = _without("var_lists")
    assert NAME_VAR_LISTS in source
    graph = source.rsplit("\nwith tf.Session()", 1)[0]
    script = tmp_path / "names.py"
    script.write_text(
        graph
        + "\nimport json\n"
        + "print(json.dumps({'all': [v.name for v in tf.trainable_variables()],"
        + " 'd_vars': [v.name for v in d_vars], 'g_vars': [v.name for v in g_vars]}))\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bn_migrate", "run-tf1", str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    tf1 = json.loads(done.stdout.strip().splitlines()[-1])
    program = _program(source)
    names = _names(program)
    assert set(tf1["all"]) == set().union(*names.values())
    filters = program.name_filters
    for var_list in ("d_vars", "g_vars"):
        builder = filters[var_list].builder
        assert builder is not None, filters[var_list].reason
        assert set(tf1[var_list]) == names[builder], var_list
