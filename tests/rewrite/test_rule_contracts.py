"""The contracts between rules: what each reads and writes on the ``Context``, and the order that makes
those reads sound. Declared on each rule (``Rule.reads`` / ``writes`` / ``reads_partial``), checked here
statically (order) and dynamically (real runs over every rule example, golden input and fixture program,
with the shared fields traced per rule, must stay within the declarations)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bn_migrate.rewrite import engine
from bn_migrate.rewrite.context import SHARED_FIELDS, Context
from bn_migrate.rewrite.engine import rewrite_source
from bn_migrate.rewrite.result import Status
from bn_migrate.rewrite.rules import RULES
from tests.rewrite.test_engine_golden import CASES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tf1"


def test_declarations_name_shared_fields_only() -> None:
    for rule in RULES:
        declared = rule.reads | rule.writes | rule.reads_partial
        assert declared <= SHARED_FIELDS, (rule.id, declared - SHARED_FIELDS)
        assert not rule.reads & rule.reads_partial, rule.id


def test_every_field_a_rule_reads_is_complete_when_it_runs() -> None:
    """Every other writer of a field in ``reads`` runs before the reader (``RULES`` order)."""
    order = [rule.id for rule in RULES]
    for position, reader in enumerate(RULES):
        for field in reader.reads:
            late = [w.id for w in RULES[position + 1 :] if field in w.writes]
            assert not late, f"{reader.id} reads {field}, which {late} write after it ({order})"
            assert any(field in w.writes for w in RULES[:position]) or field in reader.writes, (
                f"{reader.id} reads {field}, which no rule writes"
            )


_WRITES = frozenset(
    {"append", "extend", "add", "update", "insert", "pop", "remove", "discard", "clear"}
    | {"__setitem__", "__delitem__", "setdefault", "__iadd__", "__ior__"}
)
_READS = frozenset(
    {"__iter__", "__contains__", "__len__", "__getitem__", "get", "keys", "values", "items"}
    | {"__bool__", "copy", "__or__", "__and__", "__sub__", "index", "count", "__eq__"}
)


class _Trace:
    def __init__(self) -> None:
        self.rule: str | None = None
        self.reads: dict[str, set[str]] = {}
        self.writes: dict[str, set[str]] = {}

    def record(self, kind: str, field: str) -> None:
        if self.rule is not None:
            (self.writes if kind == "w" else self.reads).setdefault(self.rule, set()).add(field)


def _traced_container(trace: _Trace, value: Any, field: str) -> Any:
    base = type(value)
    methods: dict[str, Any] = {}
    for name in _WRITES | _READS:
        if not hasattr(base, name):
            continue

        def method(self: Any, *args: Any, _name: str = name, **kwargs: Any) -> Any:
            trace.record("w" if _name in _WRITES else "r", field)
            return getattr(base, _name)(self, *args, **kwargs)

        methods[name] = method
    return type(f"Traced{base.__name__}", (base,), methods)(value)


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Trace]:
    trace = _Trace()

    class TracingContext(Context):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            for field in SHARED_FIELDS:
                value = object.__getattribute__(self, field)
                if isinstance(value, (list, set, dict)):
                    object.__setattr__(self, field, _traced_container(trace, value, field))

        def __getattribute__(self, name: str) -> Any:
            if name in ("graph_function", "fused_requested"):
                trace.record("r", name)
            return object.__getattribute__(self, name)

        def __setattr__(self, name: str, value: Any) -> None:
            if name in SHARED_FIELDS:
                trace.record("w", name)
            object.__setattr__(self, name, value)

    monkeypatch.setattr(engine, "Context", TracingContext)
    for rule in RULES:
        monkeypatch.setattr(rule, "plan", _traced_plan(trace, rule))
    yield trace


def _traced_plan(trace: _Trace, rule: Any) -> Any:
    original = type(rule).plan

    def plan(ctx: Context) -> None:
        before = _graph_function_state(ctx)
        edits_before = dict(ctx.edits)
        trace.rule = rule.id
        try:
            original(rule, ctx)
        finally:
            trace.rule = None
        if _graph_function_state(ctx) != before:
            trace.writes.setdefault(rule.id, set()).add("graph_function")
        _assert_earlier_edits_kept(rule.id, edits_before, ctx.edits)

    return plan


def _graph_function_state(ctx: Context) -> dict[str, Any] | None:
    plan = object.__getattribute__(ctx, "graph_function")
    return None if plan is None else {k: copy.copy(v) for k, v in vars(plan).items()}


def _assert_earlier_edits_kept(rule: str, before: dict[Any, Any], after: dict[Any, Any]) -> None:
    """A rule may compose onto an earlier edit (``Context.then``) or move a node out with its edits
    (``Context.move_out``), never drop one."""
    missing = [node for node in before if node not in after]
    assert not missing, f"{rule} dropped {len(missing)} edit(s) of earlier rules"


def _corpus() -> list[str]:
    """Each source once: golden inputs are often fixture programs too, and a second rewrite of the same
    text traces the same reads and writes (a third of the corpus, and of the test's time)."""
    sources = [path.read_text(encoding="utf-8") for path, _, _ in CASES.values()]
    sources += [example.before for rule in RULES for example in rule.EXAMPLES]
    sources += [path.read_text(encoding="utf-8") for path in sorted(FIXTURES.glob("*.py"))]
    return list(dict.fromkeys(sources))


def test_rules_touch_only_what_they_declare(traced: _Trace) -> None:
    changed = 0
    for source in _corpus():
        changed += rewrite_source(source).status is Status.CHANGED
    assert changed >= 20  # the corpus exercises the rules, it does not only leave files
    for rule in RULES:
        reads = traced.reads.get(rule.id, set())
        writes = traced.writes.get(rule.id, set())
        assert writes <= rule.writes, (rule.id, "writes undeclared", writes - rule.writes)
        allowed = rule.reads | rule.reads_partial | rule.writes
        assert reads <= allowed, (rule.id, "reads undeclared", reads - allowed)


def test_var_list_with_a_keras_layer_made_in_the_graph_is_left() -> None:
    """BN006 resolves var_list scopes before BN005 hoists Keras layers made in the graph (its partial
    read of layer_objects): such a program must be left, not trained on the wrong variables."""
    source = (FIXTURES / "lr_decay_var_list.py").read_text(encoding="utf-8")
    source = source.replace(
        'h = tf.layers.dense(h, 16, name="head_dense")',
        'h = tf.keras.layers.Dense(16, name="head_dense")(h)',
    )
    result = rewrite_source(source)
    assert result.status is Status.SKIPPED
    assert any(site.rule == "BN006" and "var_list" in site.message for site in result.left)
