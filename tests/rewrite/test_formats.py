"""``bn-migrate rewrite --format json|sarif|github`` and ``--select``/``--ignore``.

Most tests drive ``rewrite_command`` with a stand-in transform that leaves a file for each ``LEAVE BNxxx``
marker; the ones marked as such run the real engine through the command line, to show that an ignored
reason never gets a left file rewritten.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import jsonschema
import pytest

from bn_migrate.cli import main
from bn_migrate.errors import BnMigrateError
from bn_migrate.rewrite.formats import OutputFormat, escape_data, escape_property
from bn_migrate.rewrite.report import Mode
from bn_migrate.rewrite.result import RewriteResult, Site, Status
from bn_migrate.rewrite.selection import RULE_IDS, RuleSelection, parse_rule_prefixes
from tests.rewrite.test_runner import run as run_command

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "sarif-2.1.0.json"
OLD = "tf.layers.batch_normalization"
NEW = "tf.keras.layers.BatchNormalization()"


def marker_transform(
    source: str, *, path: str = "<string>", options: object = None
) -> RewriteResult:
    """Each ``LEAVE BNxxx`` line leaves the file with a BNxxx site there; else OLD becomes NEW (BN001)."""
    try:
        ast.parse(source)
    except SyntaxError as exc:
        return RewriteResult(Status.FAILED, source, error=f"syntax error: {exc.msg}")
    lines = source.split("\n")
    left = [
        Site(line.split("LEAVE ")[1].split()[0], n, line.index("LEAVE") + 1, f"left: 100% {n},\nok")
        for n, line in enumerate(lines, 1)
        if "LEAVE " in line
    ]
    if left:
        return RewriteResult(Status.SKIPPED, source, left=left)
    applied = [Site("BN001", n, 1, "batch norm") for n, line in enumerate(lines, 1) if OLD in line]
    if not applied:
        return RewriteResult(Status.UNCHANGED, source)
    return RewriteResult(Status.CHANGED, source.replace(OLD, NEW), applied=applied)


TF1 = f"import tensorflow as tf\nx = {OLD}(x)\n"
LEFT_4 = f"import tensorflow as tf\nx = {OLD}(x)\ny = 1  # LEAVE BN004\n"
LEFT_4_16 = f"import tensorflow as tf\n# LEAVE BN016\nx = {OLD}(x)  # LEAVE BN004\n"
BROKEN = "import tensorflow as tf\n(\n"


def run(
    *paths: Path,
    output_format: OutputFormat = OutputFormat.TEXT,
    report: Path | None = None,
    **config: object,
) -> tuple[int, str, str]:
    return run_command(
        *paths,
        transform=marker_transform,
        report=report,
        command={"output_format": output_format},
        **config,
    )


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


# --- rule ids, prefixes -----------------------------------------------------------------------------


def test_rule_ids_are_every_id_a_site_can_carry() -> None:
    from bn_migrate.rewrite.analysis.modules import PROGRAM_RULE
    from bn_migrate.rewrite.analysis.per_call import PER_CALL_RULE
    from bn_migrate.rewrite.docs import rule_docs
    from bn_migrate.rewrite.rules import ENGINE_RULE, RULES

    expected = sorted({ENGINE_RULE, PROGRAM_RULE, PER_CALL_RULE, *(rule.id for rule in RULES)})
    assert list(RULE_IDS) == expected
    docs = rule_docs()
    assert list(docs) == expected
    assert docs["BN004"].name == "update-plumbing"
    assert docs["BN004"].summary.startswith("update plumbing removed")
    assert all(doc.summary and "\n" not in doc.summary for doc in docs.values())


def test_prefixes_match_like_ruff() -> None:
    assert parse_rule_prefixes(["BN01", "bn004,BN01"], "--select") == ("BN01", "BN004")
    selection = RuleSelection(select=("BN01",))
    assert [rule for rule in RULE_IDS if selection.shows(rule)] == [f"BN01{n}" for n in range(10)]
    selection = RuleSelection(select=("BN",), ignore=("BN00", "BN016"))
    assert [rule for rule in RULE_IDS if selection.shows(rule)] == [
        *(f"BN01{n}" for n in range(6)),
        "BN017",
        "BN018",
        "BN019",
        "BN020",
        "BN021",
    ]
    assert all(RuleSelection().shows(rule) for rule in RULE_IDS)


@pytest.mark.parametrize("value", ["BN99", "BN0001", "E501", "BN004,XYZ"])
def test_unknown_rule_ids_are_usage_errors_listing_the_valid_ones(value: str) -> None:
    with pytest.raises(BnMigrateError, match="no such rule id") as info:
        parse_rule_prefixes([value], "--ignore")
    assert "BN000, BN001" in str(info.value) and "BN016" in str(info.value)


def test_command_line_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {"a.py": TF1})
    a = str(tmp_path / "a.py")
    assert main(["rewrite", "--select", "BN99", a]) == 2
    assert "--select BN99: no such rule id" in capsys.readouterr().err
    assert main(["rewrite", "--ignore", ",", a]) == 2
    assert "--ignore needs rule ids" in capsys.readouterr().err
    for fmt in ("json", "sarif", "github"):
        assert main(["rewrite", "--diff", "--format", fmt, a]) == 2
        assert "--diff writes diffs to stdout" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["rewrite", "--format", "xml", a])
    assert info.value.code == 2
    assert (tmp_path / "a.py").read_text() == TF1  # nothing was rewritten by a refused command


# --- select / ignore ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.WRITE, Mode.CHECK])
def test_ignore_hides_reasons_but_never_rewrites_a_left_file(tmp_path: Path, mode: Mode) -> None:
    write(tmp_path, {"left.py": LEFT_4})
    report = tmp_path / "report.json"
    status, _, err = run(
        tmp_path / "left.py", mode=mode, report=report, selection=RuleSelection(ignore=("BN004",))
    )
    assert (tmp_path / "left.py").read_text() == LEFT_4  # still left, byte for byte
    assert status == 0  # --check: the only reason is ignored
    assert "BN004" not in err
    assert "1 skipped" in err and "1 left site hidden by --select/--ignore" in err
    document = json.loads(report.read_text())
    (entry,) = document["files"]
    assert entry["status"] == "skipped" and entry["left"] == [] and entry["hidden"] == 1
    assert document["ignore"] == ["BN004"] and document["exit_code"] == 0


def test_check_still_fails_on_a_reason_that_is_shown(tmp_path: Path) -> None:
    write(tmp_path, {"left.py": LEFT_4_16})
    selection = RuleSelection(ignore=("BN004",))
    status, _, err = run(tmp_path / "left.py", mode=Mode.CHECK, selection=selection)
    assert status == 1
    assert ":2:3 BN016" in err and "BN004" not in err
    status, _, err = run(tmp_path / "left.py", mode=Mode.CHECK, selection=RuleSelection(("BN00",)))
    assert status == 1 and "BN004" in err and "BN016" not in err


def test_selection_never_hides_changes_or_failures(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": TF1, "b.py": BROKEN})
    selection = RuleSelection(ignore=("BN",))
    status, _, err = run(tmp_path, mode=Mode.CHECK, selection=selection)
    assert status == 2 and "would rewrite" in err and "b.py:2:1: error" in err
    write(tmp_path, {"b.py": "x = 1\n"})
    assert run(tmp_path, mode=Mode.CHECK, selection=selection)[0] == 1  # a.py would change


LEFT_REAL = (
    "import tensorflow as tf\n"
    "x = tf.placeholder(tf.float32, [None, 4])\n"
    "h = tf.layers.batch_normalization(x, training=True)\n"
    "update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
    "with tf.control_dependencies(update_ops):\n"
    "    y = tf.identity(h)\n"
)


def test_real_engine_ignoring_every_rule_leaves_the_file_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "left.py"
    path.write_text(LEFT_REAL)
    assert main(["rewrite", "-j1", "--check", str(path)]) == 1
    shown = capsys.readouterr().err
    assert " BN000 " in shown and " BN001 " in shown
    assert main(["rewrite", "-j1", "--ignore", "BN00", "--ignore", "BN0", str(path)]) == 0
    err = capsys.readouterr().err
    assert path.read_text() == LEFT_REAL
    assert "rewrote" not in err and "3 left sites hidden" in err
    assert main(["rewrite", "-j1", "--check", "--select", "BN001", str(path)]) == 1
    err = capsys.readouterr().err
    assert " BN001 " in err and " BN000 " not in err


# --- formats ------------------------------------------------------------------------------------------


def test_json_format_is_the_report_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"a.py": TF1, "left.py": LEFT_4_16})
    status, out, err = run(
        Path("."),
        mode=Mode.CHECK,
        output_format=OutputFormat.JSON,
        report=tmp_path / "r.json",
        selection=RuleSelection(ignore=("BN016",)),
    )
    assert status == 1
    assert json.loads(out) == json.loads((tmp_path / "r.json").read_text())
    document = json.loads(out)
    assert document["exit_code"] == 1 and document["summary"]["skipped"] == 1
    assert [site["rule"] for site in document["files"][1]["left"]] == ["BN004"]
    assert err.strip().splitlines() == [
        "1 file would change, 0 unchanged, 1 skipped, 0 failed; "
        "1 left site hidden by --select/--ignore"
    ]


def sarif_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **config: object) -> dict:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"src/a.py": TF1, "src/left.py": LEFT_4_16, "src/broken.py": BROKEN})
    status, out, _ = run(Path("src"), output_format=OutputFormat.SARIF, **config)
    log = json.loads(out)
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(log)
    assert log["runs"][0]["invocations"][0]["exitCode"] == status
    return log


def uri_of(result: dict) -> str:
    return result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]


def test_sarif_validates_and_holds_one_result_per_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = sarif_of(tmp_path, monkeypatch, mode=Mode.CHECK)
    assert log["version"] == "2.1.0"
    (run_,) = log["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "bn-migrate" and driver["version"]
    rules = {rule["id"]: rule for rule in driver["rules"]}
    assert list(rules) == ["BN-ERROR", "BN-REWRITE", "BN004", "BN016"]  # only the ids used
    assert rules["BN004"]["name"] == "update-plumbing"
    assert rules["BN004"]["shortDescription"]["text"].startswith("update plumbing removed")
    results = {(r["ruleId"], uri_of(r)): r for r in run_["results"]}
    assert sorted(results) == [
        ("BN-ERROR", "src/broken.py"),
        ("BN-REWRITE", "src/a.py"),
        ("BN004", "src/left.py"),
        ("BN016", "src/left.py"),
    ]
    left = results[("BN004", "src/left.py")]
    assert left["level"] == "warning"
    assert left["message"]["text"] == "left: 100% 3,\nok"
    location = left["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uriBaseId"] == "SRCROOT"
    assert location["region"] == {"startLine": 3, "startColumn": 41}
    error = results[("BN-ERROR", "src/broken.py")]
    assert error["level"] == "error"
    assert error["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert run_["originalUriBaseIds"]["SRCROOT"]["uri"] == tmp_path.resolve().as_uri() + "/"


def test_sarif_without_check_reports_no_rewrites_and_follows_the_selection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = sarif_of(tmp_path, monkeypatch, mode=Mode.WRITE, selection=RuleSelection(("BN016",)))
    (run_,) = log["runs"]
    assert [r["ruleId"] for r in run_["results"]] == ["BN-ERROR", "BN016"]
    assert [rule["id"] for rule in run_["tool"]["driver"]["rules"]] == ["BN-ERROR", "BN016"]


def test_sarif_of_a_clean_run_is_valid_and_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"ok.py": "x = 1\n"})
    status, out, _ = run(Path("ok.py"), mode=Mode.CHECK, output_format=OutputFormat.SARIF)
    log = json.loads(out)
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(log)
    assert status == 0 and log["runs"][0]["results"] == []
    assert log["runs"][0]["tool"]["driver"]["rules"] == []


def test_escaping_follows_githubs_toolkit() -> None:
    assert escape_data("50% a\r\nb: c, d") == "50%25 a%0D%0Ab: c, d"
    assert escape_property("dir:x/a,b%.py") == "dir%3Ax/a%2Cb%25.py"


def test_github_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"a.py": TF1, "odd: a,b.py": LEFT_4, "broken.py": BROKEN})
    outside = tmp_path.parent / f"{tmp_path.name}-outside.py"
    outside.write_text(LEFT_4)
    try:
        status, out, err = run(
            Path("."), outside, mode=Mode.CHECK, output_format=OutputFormat.GITHUB
        )
    finally:
        outside.unlink()
    assert status == 2
    assert out.splitlines() == [
        f"::warning file={escape_property(outside.as_posix())},line=3,col=10,title=BN004::"
        "left: 100%25 3,%0Aok",
        "::warning file=a.py,line=1,col=1,title=BN-REWRITE::TF1 batch-norm code that bn-migrate "
        "rewrite migrates (BN001); run 'bn-migrate rewrite' on this file",
        "::error file=broken.py,line=2,col=1,title=BN-ERROR::syntax error: '(' was never closed",
        "::warning file=odd%3A a%2Cb.py,line=3,col=10,title=BN004::left: 100%25 3,%0Aok",
    ]
    assert err.count("\n") == 1 and "would change" in err  # the summary only


def test_selection_applies_to_outcomes_from_worker_processes(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": LEFT_4, "b.py": LEFT_4_16, "c.py": TF1})
    selection = RuleSelection(ignore=("BN004",))
    status, _, err = run(tmp_path, mode=Mode.WRITE, jobs=2, selection=selection)
    assert status == 0
    assert (tmp_path / "a.py").read_text() == LEFT_4 and (
        tmp_path / "b.py"
    ).read_text() == LEFT_4_16
    assert (tmp_path / "c.py").read_text() == TF1.replace(OLD, NEW)
    assert "BN004" not in err and "BN016" in err and "2 left sites hidden" in err


def test_files_outside_the_working_folder_and_unread_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    write(tmp_path, {"elsewhere/left.py": LEFT_4})
    os.mkfifo(work / "pipe.py")
    paths = (tmp_path / "elsewhere", work / "pipe.py")
    status, out, _ = run(*paths, mode=Mode.CHECK, output_format=OutputFormat.SARIF)
    assert status == 1
    log = json.loads(out)
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(log)
    (result,) = log["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": (tmp_path / "elsewhere" / "left.py").as_uri()}
    (note,) = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["message"]["text"] == "skipped: not a regular file"
    _, out, _ = run(*paths, mode=Mode.CHECK, output_format=OutputFormat.GITHUB)
    assert (
        out.splitlines()[-1]
        == "::notice file=pipe.py,title=bn-migrate::skipped: not a regular file"
    )
