"""The rules as a Markdown page: id, name, what each does (its module docstring) and its examples.

``python -m bn_migrate.rewrite.docs > RULES.md`` renders it; the examples are the ones the tests
run (``Rule.EXAMPLES``), so the page cannot drift from what the codemod does.
"""

from __future__ import annotations

import difflib
import sys

from bn_migrate.rewrite.analysis import modules
from bn_migrate.rewrite.context import Example, Rule
from bn_migrate.rewrite.rules import RULES


def _example(example: Example) -> str:
    if example.after is None:
        verdict = "left unchanged" + (
            f", reported by {', '.join(example.left)}" if example.left else ""
        )
        return f"Left as it is ({verdict}):\n\n```python\n{example.before}```\n"
    diff = "".join(
        difflib.unified_diff(
            example.before.splitlines(keepends=True),
            example.after.splitlines(keepends=True),
            "before",
            "after",
        )
    )
    return f"Rewritten:\n\n```diff\n{diff}```\n"


def rule_markdown(rule: Rule) -> str:
    module = sys.modules[type(rule).__module__]
    lines = [f"## {rule.id} `{rule.name}`\n", (module.__doc__ or "").strip() + "\n"]
    lines.extend(_example(example) for example in rule.EXAMPLES)
    return "\n".join(lines)


def program_markdown() -> str:
    """The program-level reasons (BN016): decided by the analysis layer before any rule runs."""
    doc = (modules.__doc__ or "").strip()
    return f"## {modules.PROGRAM_RULE} `program` (program-level analysis)\n\n{doc}\n"


def rules_markdown() -> str:
    """Every rule, by id (``RULES`` holds the order the engine runs them in), then the program-level
    reasons."""
    ordered = sorted(RULES, key=lambda rule: rule.id)
    pages = [rule_markdown(rule) for rule in ordered]
    return "# bn-migrate rewrite rules\n\n" + "\n".join([*pages, program_markdown()])


if __name__ == "__main__":
    sys.stdout.write(rules_markdown())
