"""``bn-migrate rewrite`` on notebooks: code cells migrated as one program, everything else kept.

``fixtures/notebooks/layers_mlp.ipynb`` is ``fixtures/tf1/layers_mlp_placeholder.py`` split into three
code cells between markdown cells, with outputs, a top-level magic, a shell line, a help line and a
magic inside the training loop; ``layers_mlp.migrated.ipynb`` is what ``rewrite`` makes of it (reviewed).
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from bn_migrate.notebooks import cell_source, dedent_cell, ipython_lines, split_lines
from bn_migrate.rewrite import runner
from bn_migrate.rewrite.notebook import CellMappingError, join_cells
from bn_migrate.rewrite.report import EXIT_ERROR, EXIT_OK
from bn_migrate.rewrite.result import RewriteResult, Status
from bn_migrate.rewrite.runner import Mode, RunConfig, rewrite_command
from tests.conftest import REPO
from tests.rewrite.test_runner import NEW, OLD, toy_transform

NOTEBOOKS = REPO / "tests" / "fixtures" / "notebooks"
BEFORE = NOTEBOOKS / "layers_mlp.ipynb"
AFTER = NOTEBOOKS / "layers_mlp.migrated.ipynb"


def run(
    *paths: Path, mode: Mode = Mode.WRITE, transform: runner.Transform | None = None
) -> tuple[int, str, str]:
    """``bn-migrate rewrite PATHS`` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    config = RunConfig(paths=tuple(paths), mode=mode, jobs=1)
    status = rewrite_command(config, transform=transform, stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def notebook(path: Path, *sources: str, indent: int = 1) -> Path:
    cells = [
        {"cell_type": "markdown", "id": "md", "metadata": {}, "source": ["# notes"]},
        *(
            {
                "cell_type": "code",
                "execution_count": n,
                "id": f"c{n}",
                "metadata": {"tags": ["keep"]},
                "outputs": [{"name": "stdout", "output_type": "stream", "text": [f"out {n}\n"]}],
                "source": split_lines_keep(source),
            }
            for n, source in enumerate(sources, start=1)
        ),
    ]
    doc = {"cells": cells, "metadata": {"x": 1}, "nbformat": 4, "nbformat_minor": 5}
    text = json.dumps(doc, indent=indent, sort_keys=True, ensure_ascii=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def split_lines_keep(source: str) -> list[str]:
    return source.splitlines(keepends=True)


def code_cells(path: Path) -> list[str]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [cell_source(c) for c in doc["cells"] if c["cell_type"] == "code"]


def without_sources(path: Path) -> dict[str, object]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    for cell in doc["cells"]:
        if cell["cell_type"] == "code":
            cell["source"] = None
    return doc


def assert_cells_parse(path: Path) -> None:
    """Each code cell parses as Python once its IPython lines are placeholders (as IPython runs it)."""
    for source in code_cells(path):
        _, lines = dedent_cell(split_lines(source))
        python = [
            line if indent is None else f"{indent}pass"
            for line, indent in zip(lines, ipython_lines(lines))
        ]
        compile("\n".join(python) + "\n", str(path), "exec")


def test_before_after_with_magics_markdown_and_outputs(tmp_path: Path) -> None:
    nb = tmp_path / "nb.ipynb"
    shutil.copyfile(BEFORE, nb)
    status, _, err = run(nb)
    assert status == EXIT_OK, err
    assert f"rewrote {nb}" in err
    assert nb.read_bytes() == AFTER.read_bytes()
    # only code cells' sources changed: outputs, counts, ids, metadata and markdown kept
    assert without_sources(nb) == without_sources(BEFORE)
    cells = code_cells(nb)
    assert cells[0].startswith("%matplotlib inline\n")
    assert cells[1] == "tf.layers.batch_normalization?"  # the model moved into the training cell
    assert cells[2].startswith("!nvidia-smi\n")
    assert "\n    %time pass\n" in cells[2]  # re-indented with its loop (the session block is gone)
    assert "BatchNormalization(" in cells[2]
    assert_cells_parse(nb)


def test_rewriting_the_output_changes_nothing(tmp_path: Path) -> None:
    nb = tmp_path / "nb.ipynb"
    shutil.copyfile(AFTER, nb)
    before = nb.stat().st_mtime_ns
    status, _, err = run(nb)
    assert status == EXIT_OK
    assert "0 files changed, 1 unchanged" in err
    assert nb.read_bytes() == AFTER.read_bytes()
    assert nb.stat().st_mtime_ns == before


def test_unchanged_notebook_is_never_rewritten(tmp_path: Path) -> None:
    # JSON as Jupyter would not write it (indent 3, ASCII escapes): still byte for byte
    nb = notebook(tmp_path / "nb.ipynb", "import numpy as np\n%time x = 'é'\n", indent=3)
    data = nb.read_bytes()
    status, out, err = run(nb, mode=Mode.DIFF)
    assert (status, out) == (EXIT_OK, "")
    status, _, err = run(nb, transform=toy_transform)
    assert status == EXIT_OK
    assert "1 unchanged" in err
    assert nb.read_bytes() == data


def test_invalid_json_fails_in_one_line_and_the_others_go_on(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text('{"cells": [', encoding="utf-8")
    good = notebook(tmp_path / "good.ipynb", f"import tensorflow as tf\nx = {OLD}(x)\n")
    status, _, err = run(tmp_path, transform=toy_transform)
    assert status == EXIT_ERROR
    lines = err.splitlines()
    assert (
        f"{bad}: error: not a notebook: invalid JSON at line 1 column 12 (Expecting value)" in lines
    )
    assert f"rewrote {good}" in lines
    assert NEW in code_cells(good)[0]


def test_discovery_finds_notebooks_and_skips_checkpoints(tmp_path: Path) -> None:
    nb = notebook(tmp_path / "sub" / "nb.ipynb", "x = 1\n")
    notebook(tmp_path / "sub" / ".ipynb_checkpoints" / "nb-checkpoint.ipynb", "x = 1\n")
    found = runner.discover([tmp_path])
    assert [job.path for job in found.jobs] == [nb]


def test_places_diffs_and_indentation_by_cell(tmp_path: Path) -> None:
    nb = notebook(
        tmp_path / "nb.ipynb",
        "import tensorflow as tf\n!pip list",
        f"for i in range(2):\n    %time pass\n    x = {OLD}(x)",
        indent=2,
    )
    status, out, err = run(nb, mode=Mode.DIFF, transform=toy_transform)
    assert status == EXIT_OK, err
    assert out.startswith(f"--- {nb} (cell 3)\n+++ {nb} (cell 3)\n")
    assert f"-    x = {OLD}(x)\n+    x = {NEW}(x)\n" in out
    assert "(cell 2)" not in out
    status, _, err = run(nb, transform=toy_transform)
    text = nb.read_text(encoding="utf-8")
    assert text.startswith('{\n  "cells": [\n')  # the input's indentation
    assert code_cells(nb)[1] == f"for i in range(2):\n    %time pass\n    x = {NEW}(x)"
    assert_cells_parse(nb)


def test_left_sites_and_errors_name_the_cell(tmp_path: Path) -> None:
    left = notebook(tmp_path / "left.ipynb", "import tensorflow as tf\n", "%who\nx = NEEDS_HUMAN\n")
    broken = notebook(tmp_path / "broken.ipynb", "import tensorflow as tf\n", "x = (\n")
    status, _, err = run(left, broken, transform=toy_transform)
    assert status == EXIT_ERROR
    assert f"{left}:cell 3:line 2:col 5 T900 cannot migrate this" in err.splitlines()
    assert f"{broken}:cell 3:line 1:col 5: error: syntax error: '(' was never closed" in err


def test_a_cell_indented_as_a_whole_is_migrated_as_ipython_runs_it(tmp_path: Path) -> None:
    # IPython removes the first line's indentation from each line (a cell pasted indented, as
    # gsnaider/two-face-inpainting's ` print(r.status_code, r.reason)`): the cell is that program,
    # its changed lines get the indentation back, the others are kept byte for byte
    cell = f"  x = 1   \n  if x:\n      %time pass\n      y = {OLD}(x)\n  \n  z = 2\n"
    nb = notebook(tmp_path / "nb.ipynb", "import tensorflow as tf\n", cell)
    status, out, err = run(nb, mode=Mode.DIFF, transform=toy_transform)
    assert status == EXIT_OK, err
    assert f"-      y = {OLD}(x)\n+      y = {NEW}(x)\n" in out
    left = notebook(tmp_path / "left.ipynb", "import tensorflow as tf\n", "  \n  z = NEEDS_HUMAN\n")
    status, _, err = run(left, transform=toy_transform)
    assert f"{left}:cell 3:line 2:col 7 T900 cannot migrate this" in err.splitlines()
    status, _, err = run(nb, transform=toy_transform)
    assert code_cells(nb)[1] == cell.replace(OLD, NEW)
    assert_cells_parse(nb)
    broken = notebook(tmp_path / "broken.ipynb", "import tensorflow as tf\n", "  x = (\n")
    status, _, err = run(broken, transform=toy_transform)
    assert f"{broken}:cell 3:line 1:col 7: error: syntax error: '(' was never closed" in err


def test_an_indented_cell_with_lines_indented_less_is_left_when_it_changes(tmp_path: Path) -> None:
    # `text` holds a line IPython did not dedent: the new lines' indentation cannot be given back
    cell = f'  text = """\nflush left"""\n  y = {OLD}(x)\n'
    nb = notebook(tmp_path / "nb.ipynb", "import tensorflow as tf\n", cell)
    data = nb.read_bytes()
    status, _, err = run(nb, transform=toy_transform)
    assert status == EXIT_OK
    assert "cell 3 is indented as a whole" in err and "notebook left unchanged" in err
    assert nb.read_bytes() == data
    joined = join_cells([(1, cell)])
    assert joined.split(joined.text) == {}  # unchanged: never rewritten


def test_a_magic_moved_by_the_migration_leaves_the_notebook(tmp_path: Path) -> None:
    def dropping_magics(source: str, *, path: str = "<string>", options: object = None):
        lines = [line for line in source.split("\n") if "IPython line" not in line]
        return RewriteResult(Status.CHANGED, "\n".join(lines).replace(OLD, NEW))

    nb = notebook(tmp_path / "nb.ipynb", "import tensorflow as tf\n", f"%who\nx = {OLD}(x)\n")
    status, _, err = run(nb, transform=dropping_magics)
    assert "moves or removes the IPython line at cell 3, line 1 (`%who`)" in err
    assert status == EXIT_OK


def dropping_separators(
    source: str, *, path: str = "<string>", options: object = None
) -> RewriteResult:
    """Migrates, but loses the cell boundaries (as a rule moving code across cells would)."""
    lines = [line for line in source.split("\n") if "bn-migrate cell" not in line]
    return RewriteResult(Status.CHANGED, "\n".join(lines).replace(OLD, NEW))


def test_cell_boundaries_lost_leave_the_notebook_unchanged(tmp_path: Path) -> None:
    nb = notebook(tmp_path / "nb.ipynb", "import tensorflow as tf\n", f"x = {OLD}(x)\n")
    data = nb.read_bytes()
    status, _, err = run(nb, transform=dropping_separators)
    assert status == EXIT_OK
    assert (
        f"{nb}: skipped: the migration moves code across the start of cell 3 (it restructures code "
        "those cells share, e.g. into one function); notebook left unchanged: merge cells 2 to 3 "
        "into one cell and run again, or migrate them by hand"
    ) in err.splitlines()
    assert nb.read_bytes() == data


def test_the_engine_restructuring_across_cells_names_the_cells_to_merge(tmp_path: Path) -> None:
    # the model built over three cells becomes one function: cells 3 to 5 cannot be split back
    source = (REPO / "tests" / "fixtures" / "tf1" / "layers_mlp_placeholder.py").read_text()
    head, rest = source.split("h = tf.layers.dense(x, 16")
    model, loop = ("h = tf.layers.dense(x, 16" + rest).split("update_ops = ")
    first, second = model.split("h = tf.layers.dense(h, 16")
    cells = [head, first, "h = tf.layers.dense(h, 16" + second, "%who\nupdate_ops = " + loop]
    nb = notebook(tmp_path / "nb.ipynb", *cells)
    data = nb.read_bytes()
    status, _, err = run(nb)
    assert status == EXIT_OK
    assert "the migration moves code across the start of cells 3, 4" in err
    assert "merge cells 2 to 4 into one cell" in err
    assert nb.read_bytes() == data
    merged = notebook(tmp_path / "merged.ipynb", "".join(cells[:3]), cells[3])
    status, _, err = run(merged)  # the advice works
    assert f"rewrote {merged}" in err


def test_placeholders_keep_line_numbers() -> None:
    joined = join_cells([(2, "a = 1\n%time b"), (4, "if a:\n    !ls\n    c = 2\n")])
    lines = joined.text.split("\n")
    assert lines[1].startswith("# bn-migrate IPython line 0 ")
    assert lines[2].startswith("# %% bn-migrate cell 4 ")
    assert lines[4].startswith("    pass  # bn-migrate IPython line 1 ")
    assert joined.place(5) == (4, 2)
    assert joined.place(6) == (4, 3)
    assert joined.split(joined.text) == {}
    copied = joined.text + "    " + joined.separators[0] + "\n"
    with pytest.raises(CellMappingError, match="copies a cell boundary"):
        joined.split(copied)
    compile(joined.text, "<joined>", "exec")


@pytest.mark.parametrize("name", ["layers_mlp.ipynb", "layers_mlp.migrated.ipynb"])
def test_fixtures_are_valid_notebooks(name: str) -> None:
    import nbformat

    nbformat.validate(nbformat.read(NOTEBOOKS / name, as_version=4))


def test_a_notebook_and_the_tf_module_it_imports_are_one_program(tmp_path: Path) -> None:
    # the notebook trains what model.py builds: neither is migrated alone (BN016), places by cell
    model = tmp_path / "model.py"
    model.write_text(
        "import tensorflow as tf\n\n\ndef net(x, training):\n"
        "    return tf.layers.batch_normalization(x, training=training)\n",
        encoding="utf-8",
    )
    nb = notebook(
        tmp_path / "train.ipynb",
        "%matplotlib inline\nimport tensorflow as tf",
        "from model import net\nh = net(tf.placeholder(tf.float32, [None, 4]), True)",
    )
    data = nb.read_bytes()
    status, _, err = run(nb)  # the notebook alone: model.py is read from its folder
    assert status == EXIT_OK
    assert f"{nb}:cell 3:line 1:col 1 BN016 imports `model` (model.py)" in err
    assert nb.read_bytes() == data
    status, _, err = run(model)
    assert f"{model}:1:1 BN016 imported by train.ipynb:cell 3:line 1" in err


def test_a_continued_shell_line_keeps_its_lines(tmp_path: Path) -> None:
    cell = f"for i in range(2):\n    !ls \\\n      -la\n    x = {OLD}(x)\n"
    nb = notebook(tmp_path / "nb.ipynb", "import tensorflow as tf\n", cell)
    status, _, err = run(nb, transform=toy_transform)
    assert status == EXIT_OK, err
    assert code_cells(nb)[1] == cell.replace(OLD, NEW)


def test_lines_a_reason_cites_are_written_as_cell_places(tmp_path: Path) -> None:
    """The Udacity lesson notebooks' reasons cited "line 258" of the joined cells, which nobody can find
    in a notebook: every module line a reason cites is written as the site's own places are."""
    path = notebook(
        tmp_path / "lesson.ipynb",
        "import tensorflow as tf\n",
        "def train(n):\n"
        "    x = tf.placeholder(tf.float32, [None, 3])\n"
        "    loss = tf.reduce_mean(tf.layers.dense(x, 2))\n"
        "    step = tf.train.AdamOptimizer(0.1).minimize(loss)\n"
        "    with tf.Session() as sess:\n"
        "        sess.run(tf.global_variables_initializer())\n"
        "        sess.run(step, {x: [[1.0, 2.0, 3.0]] * n})\n",
        "train(2)\n",
        "train(3)\n",
    )
    status, _, err = run(path, mode=Mode.CHECK)
    assert status != EXIT_OK
    cited = [line for line in err.splitlines() if "is called 2 times" in line]
    assert cited, err
    assert "inside `def train` (cell 3:line 1)" in cited[0], cited[0]
    assert "is called 2 times (cell 4:line 1 besides the last statement)" in cited[0], cited[0]


def test_cited_lines_of_other_places_are_kept() -> None:
    joined = join_cells([(1, "a = 1\nb = 2\n"), (2, "c = 3\n")])
    last = len(joined.line_places)
    assert joined.message(f"at line {last}") == "at cell 2:line 1"
    kept = "imported by x.ipynb:cell 4:line 2 (see its line 50; model.py:23)"
    assert joined.message(kept) == kept
    assert joined.message("(lines 1, 2, ... (3 in all))") == (
        "(cell 1:line 1, cell 1:line 2, ... (3 in all))"
    )
