"""The rules as a Markdown page: id, name, what each does (its module docstring) and its examples.

``python -m bn_migrate.rewrite.docs > RULES.md`` renders it; the examples are the ones the tests
run (``Rule.EXAMPLES``), so the page cannot drift from what the codemod does.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass

from bn_migrate.rewrite.analysis import modules, per_call
from bn_migrate.rewrite.analysis import several_programs as program_segments
from bn_migrate.rewrite.context import Example, Rule
from bn_migrate.rewrite.planning import estimator, model_class, several_programs
from bn_migrate.rewrite.rules import ENGINE_RULE, RULES

ENGINE_SUMMARY = (
    "TF1 code no rule migrates, a shadowed TensorFlow name, or an internal error: "
    "the file is left unchanged."
)
"""What a BN000 (the engine's own) reason means; the engine has no rule module to document it."""


@dataclass(frozen=True)
class RuleDoc:
    """A rule as machine-readable output names it (SARIF's ``rules``)."""

    id: str
    name: str
    summary: str  # the first line of the rule's docstring, without the id


def _summary(doc: str | None, rule_id: str) -> str:
    first = (doc or "").strip().split("\n\n", 1)[0]
    text = " ".join(first.split())
    return text.removeprefix(f"{rule_id}:").strip().replace("``", "`")


def rule_docs() -> dict[str, RuleDoc]:
    """Every rule id a left site can carry, with its name and one-line summary."""
    docs = {ENGINE_RULE: RuleDoc(ENGINE_RULE, "engine", ENGINE_SUMMARY)}
    for rule in RULES:
        module = sys.modules[type(rule).__module__]
        docs[rule.id] = RuleDoc(rule.id, rule.name, _summary(module.__doc__, rule.id))
    docs[modules.PROGRAM_RULE] = RuleDoc(
        modules.PROGRAM_RULE, "program", _summary(modules.__doc__, modules.PROGRAM_RULE)
    )
    docs[per_call.PER_CALL_RULE] = RuleDoc(
        per_call.PER_CALL_RULE,
        "per-call-layers",
        _summary(per_call.__doc__, per_call.PER_CALL_RULE),
    )
    return dict(sorted(docs.items()))


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


def model_class_markdown() -> str:
    """Model classes read as the program they run (``planning.model_class``): before the rules, which
    migrate the class's script as any other."""
    doc = (model_class.__doc__ or "").strip()
    return f"## Model classes (planning, before the rules)\n\n{doc}\n"


def estimator_markdown() -> str:
    """Estimator programs read as the session script they run (``planning.estimator``)."""
    doc = (estimator.__doc__ or "").strip()
    return f"## Estimator programs (planning, before the rules; left under {estimator.RULE})\n\n{doc}\n"


def several_programs_markdown() -> str:
    """Modules of several programs (``analysis.several_programs``, ``planning.several_programs``): split
    before anything else, each program migrated as a module of its own."""
    found = (program_segments.__doc__ or "").strip()
    merged = (several_programs.__doc__ or "").strip()
    return (
        "## Modules of several programs (analysis and planning, before everything else; left under "
        f"{several_programs.RULE})\n\n{found}\n\n{merged}\n"
    )


def per_call_markdown() -> str:
    """The BN019 warnings: found by the analysis layer, whatever the rules decide."""
    doc = (per_call.__doc__ or "").strip()
    examples = "\n".join(_warning_example(example) for example in per_call.EXAMPLES)
    return (
        f"## {per_call.PER_CALL_RULE} `per-call-layers` (a warning, from the analysis layer)\n\n"
        f"{doc}\n\n{examples}"
    )


def _warning_example(example: per_call.Example) -> str:
    verdict = (
        "Reported at line " + ", ".join(str(line) for line in example.lines)
        if example.lines
        else "Not reported"
    )
    return f"{verdict}:\n\n```python\n{example.source}```\n"


def rules_markdown() -> str:
    """Every rule, by id (``RULES`` holds the order the engine runs them in), then the program-level
    reasons, the model classes read as programs, the modules of several programs and the BN019
    warnings."""
    ordered = sorted(RULES, key=lambda rule: rule.id)
    pages = [rule_markdown(rule) for rule in ordered]
    return "# bn-migrate rewrite rules\n\n" + "\n".join(
        [
            *pages,
            program_markdown(),
            model_class_markdown(),
            estimator_markdown(),
            several_programs_markdown(),
            per_call_markdown(),
        ]
    )


if __name__ == "__main__":
    sys.stdout.write(rules_markdown())
