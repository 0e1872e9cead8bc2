"""docs/rules.md is rendered from the rules' own docstrings and examples: it must never go stale."""

from __future__ import annotations

from bn_migrate.rewrite.docs import rules_markdown
from tests.conftest import REPO


def test_committed_rules_doc_matches_the_rules() -> None:
    committed = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == rules_markdown(), (
        "docs/rules.md is stale: regenerate with "
        "'.venv/bin/python -m bn_migrate.rewrite.docs > docs/rules.md'"
    )
