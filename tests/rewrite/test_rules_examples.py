"""Every rule's own examples (``Rule.EXAMPLES``), run through the engine (Fixit-style VALID/INVALID)."""

from __future__ import annotations

import pytest

from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from bn_migrate.rewrite.rules import RULES
from tests.rewrite.helpers import assert_rewrite

CASES = [(rule, index, example) for rule in RULES for index, example in enumerate(rule.EXAMPLES)]


def test_rules_have_ids_docs_and_examples() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        module_doc = __import__(type(rule).__module__, fromlist=["_"]).__doc__
        assert module_doc and module_doc.startswith(rule.id + ":"), rule.id
        assert type(rule).__doc__


@pytest.mark.parametrize(
    ("rule", "index", "example"), CASES, ids=[f"{r.id}-{i}" for r, i, _ in CASES]
)
def test_rule_example(rule, index, example) -> None:  # type: ignore[no-untyped-def]
    if example.after is not None:
        result = assert_rewrite(example.before, example.after)
        assert rule.id in {site.rule for site in result.applied}
        return
    if not example.left:
        assert_rewrite(example.before, None)
    result = rewrite_source(example.before)
    assert result.code == example.before
    if not example.left:  # a VALID case: nothing to do, nothing to report
        assert result.status is Status.UNCHANGED and not result.left and not result.applied
        return
    assert result.status is Status.SKIPPED
    assert set(example.left) <= {site.rule for site in result.left}


def test_rules_render_into_docs() -> None:
    from bn_migrate.rewrite.docs import rules_markdown

    page = rules_markdown()
    for rule in RULES:
        assert f"## {rule.id} `{rule.name}`" in page
    assert page.count("```diff") == sum(1 for r in RULES for e in r.EXAMPLES if e.after is not None)
