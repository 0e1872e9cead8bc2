"""The shared before/after helper (tests/rewrite/helpers.py) fails when it should.

Each case injects a small transform with a known defect and checks the helper catches it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bn_migrate.rewrite.result import RewriteResult, Site, Status
from tests.rewrite.helpers import UPDATE_GOLDEN_ENV, assert_program_rewrite, assert_rewrite
from tests.rewrite.test_runner import NEW, OLD, toy_transform

BEFORE = f"""
    import tensorflow as tf
    x = {OLD}(x)
"""
AFTER = f"""
    import tensorflow as tf
    x = {NEW}(x)
"""


def non_idempotent(source: str, *, path: str, options: object) -> RewriteResult:
    return RewriteResult(Status.CHANGED, source + "# migrated\n")


def unparsable(source: str, *, path: str, options: object) -> RewriteResult:
    return RewriteResult(
        Status.CHANGED, source.replace(OLD, "tf.keras.layers.BatchNormalization((")
    )


def keeps_status_changed(source: str, *, path: str, options: object) -> RewriteResult:
    result = toy_transform(source, path=path)
    return RewriteResult(Status.CHANGED, result.code, applied=result.applied)


def test_a_correct_case_passes_and_returns_the_result() -> None:
    result = assert_rewrite(BEFORE, AFTER, applied_rules=["T001"], transform=toy_transform)
    assert [site.line for site in result.applied] == [2]


def test_unchanged_and_left_for_a_human_cases_pass() -> None:
    assert_rewrite("import tensorflow as tf\n", None, transform=toy_transform)
    assert_rewrite(
        """
        import tensorflow as tf
        NEEDS_HUMAN = 1
        y = NEEDS_HUMAN
        """,
        None,
        left=[("T900", 2), ("T900", 3)],
        transform=toy_transform,
    )


def test_wrong_output_fails_with_a_diff() -> None:
    with pytest.raises(AssertionError, match=r"(?s)unexpected output.*\+x = tf\.keras"):
        assert_rewrite(BEFORE, BEFORE.replace("x =", "y ="), transform=toy_transform)


def test_non_idempotent_transform_fails() -> None:
    with pytest.raises(AssertionError, match="rewriting the output again changed it"):
        assert_rewrite(BEFORE, BEFORE + "    # migrated\n", transform=non_idempotent)


def test_status_changed_on_the_second_run_fails() -> None:
    with pytest.raises(AssertionError, match="reported CHANGED"):
        assert_rewrite(BEFORE, AFTER, transform=keeps_status_changed)


def test_unparsable_output_fails() -> None:
    after = BEFORE.replace(OLD, "tf.keras.layers.BatchNormalization((")
    with pytest.raises(AssertionError, match="does not parse"):
        assert_rewrite(BEFORE, after, transform=unparsable)


def test_wrong_warnings_fail() -> None:
    case = "import tensorflow as tf\nNEEDS_HUMAN = 1\n"
    with pytest.raises(AssertionError, match="sites left for a human"):
        assert_rewrite(case, None, left=[("T900", 1)], transform=toy_transform)
    with pytest.raises(AssertionError, match="sites left for a human"):
        assert_rewrite(case, None, transform=toy_transform)  # default: none expected
    with pytest.raises(AssertionError, match="sites left for a human"):
        assert_rewrite(case, None, left=[("T900", 2), ("T900", 2)], transform=toy_transform)


def test_wrong_rules_fail() -> None:
    with pytest.raises(AssertionError, match="rules applied"):
        assert_rewrite(BEFORE, AFTER, applied_rules=["T002"], transform=toy_transform)

    def unchanged_but_claims_a_rule(source: str, *, path: str, options: object) -> RewriteResult:
        return RewriteResult(Status.UNCHANGED, source, applied=[Site("T001", 1, 1, "claimed")])

    with pytest.raises(AssertionError, match="rules applied"):
        assert_rewrite("import tensorflow\n", None, transform=unchanged_but_claims_a_rule)


def test_expecting_no_change_fails_when_the_code_changes() -> None:
    with pytest.raises(AssertionError, match="expected no change"):
        assert_rewrite(BEFORE, None, transform=toy_transform)


def test_a_skipped_file_must_say_why() -> None:
    def silent_skip(source: str, *, path: str, options: object) -> RewriteResult:
        return RewriteResult(Status.SKIPPED, source)

    with pytest.raises(AssertionError, match="expected unchanged, got skipped"):
        assert_rewrite("import tensorflow\n", None, transform=silent_skip)


def test_a_failed_rewrite_fails() -> None:
    with pytest.raises(AssertionError, match="the rewrite failed: syntax error"):
        assert_rewrite("import tensorflow\ndef (:\n", None, transform=toy_transform)


def test_program_golden_passes_and_keeps_line_endings(tmp_path: Path) -> None:
    before = tmp_path / "prog.py"
    expected = tmp_path / "prog.expected.py"
    before.write_bytes(f"import tensorflow as tf\r\nx = {OLD}(x)\r\n".encode())
    expected.write_bytes(f"import tensorflow as tf\r\nx = {NEW}(x)\r\n".encode())
    assert_program_rewrite(before, expected, transform=toy_transform)
    expected.write_bytes(f"import tensorflow as tf\nx = {NEW}(x)\n".encode())
    with pytest.raises(AssertionError, match=UPDATE_GOLDEN_ENV):
        assert_program_rewrite(before, expected, transform=toy_transform)


def test_program_golden_update_rewrites_the_expected_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tmp_path / "prog.py"
    expected = tmp_path / "prog.expected.py"
    before.write_text(f"import tensorflow as tf\nx = {OLD}(x)\n")
    expected.write_text("stale\n")
    monkeypatch.setenv(UPDATE_GOLDEN_ENV, "1")
    assert_program_rewrite(before, expected, transform=toy_transform)
    assert expected.read_text() == f"import tensorflow as tf\nx = {NEW}(x)\n"
    monkeypatch.delenv(UPDATE_GOLDEN_ENV)
    assert_program_rewrite(before, expected, transform=toy_transform)


def test_program_golden_still_checks_idempotence(tmp_path: Path) -> None:
    before = tmp_path / "prog.py"
    expected = tmp_path / "prog.expected.py"
    before.write_text("import tensorflow\n")
    expected.write_text("import tensorflow\n# migrated\n")
    with pytest.raises(AssertionError, match="again changed it"):
        assert_program_rewrite(before, expected, transform=non_idempotent)


def test_sites_outside_the_source_fail() -> None:
    def far_away(source: str, *, path: str, options: object) -> RewriteResult:
        return RewriteResult(Status.SKIPPED, source, left=[Site("T900", 40, 1, "nowhere")])

    def zero_based(source: str, *, path: str, options: object) -> RewriteResult:
        return RewriteResult(Status.SKIPPED, source, left=[Site("T900", 1, 0, "column 0")])

    with pytest.raises(AssertionError, match="site outside the source"):
        assert_rewrite("import tensorflow\n", None, left=[("T900", 40)], transform=far_away)
    with pytest.raises(AssertionError, match="column outside its line"):
        assert_rewrite("import tensorflow\n", None, left=[("T900", 1)], transform=zero_based)
