"""``--select`` / ``--ignore``: which rules' left sites (and BN019 warnings) a run shows, reports and
counts for ``--check``.

A selection only filters what is *reported*. It is applied in the parent process to each file's outcome
after the file was decided, and the engine never sees it, so it cannot change what is written: a file
left for a human because of an ignored rule is still left byte-identical (a file is migrated
completely or not at all); only its reasons are hidden, and ``--check`` no longer fails on it.

Ids match by prefix, as in ruff: ``BN01`` means BN010 to BN019, ``BN`` every rule. A rule is shown when
it matches a ``--select`` prefix (every rule when none is given) and no ``--ignore`` prefix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from bn_migrate.errors import BnMigrateError
from bn_migrate.rewrite.result import FileOutcome

RULE_IDS: tuple[str, ...] = tuple(f"BN{number:03d}" for number in range(22))
"""Every rule id a site can carry: BN000 (the engine), BN001-BN015, BN017, BN018, BN020 and BN021 (``rules.RULES``),
BN016 (``analysis.modules.PROGRAM_RULE``) and the BN019 warnings (``analysis.per_call.PER_CALL_RULE``).
Spelled out here so that parsing options needs no libcst; tests/rewrite/test_formats.py checks it
against the rules."""


@dataclass(frozen=True)
class RuleSelection:
    select: tuple[str, ...] = ()  # prefixes; empty: every rule
    ignore: tuple[str, ...] = ()

    @property
    def filters(self) -> bool:
        return bool(self.select or self.ignore)

    def shows(self, rule: str) -> bool:
        selected = not self.select or rule.startswith(self.select)
        return selected and not (self.ignore and rule.startswith(self.ignore))

    def apply(self, outcome: FileOutcome) -> FileOutcome:
        """``outcome`` with the left sites of rules not shown moved out of ``left`` (counted in
        ``hidden``) and the warnings of rules not shown dropped. Status, applied sites and errors are
        kept: a selection never changes a decision."""
        if not self.filters or not (outcome.left or outcome.warnings):
            return outcome
        shown = [site for site in outcome.left if self.shows(site.rule)]
        warnings = [site for site in outcome.warnings if self.shows(site.rule)]
        if len(shown) == len(outcome.left) and len(warnings) == len(outcome.warnings):
            return outcome
        hidden = len(outcome.left) - len(shown)
        return replace(outcome, left=shown, hidden=hidden, warnings=warnings)


def parse_rule_prefixes(values: Iterable[str], option: str) -> tuple[str, ...]:
    """The comma-separated prefixes of every ``option`` value, upper-cased; a prefix that matches no
    rule id is a usage error naming the valid ids."""
    prefixes: list[str] = []
    for value in values:
        pieces = [piece.strip().upper() for piece in value.split(",")]
        if not any(pieces):
            raise BnMigrateError(f"{option} needs rule ids, e.g. {option} BN004,BN016")
        for piece in pieces:
            if not piece:
                continue
            if not any(rule.startswith(piece) for rule in RULE_IDS):
                raise BnMigrateError(
                    f"{option} {piece}: no such rule id or prefix; the rule ids are "
                    f"{', '.join(RULE_IDS)} (a prefix such as BN01 names several)"
                )
            if piece not in prefixes:
                prefixes.append(piece)
    return tuple(prefixes)
