"""The specification of evaluation: a small interpreter, kept simple on purpose, as the oracle.

This is the engine's evaluator as it was before the evaluation plan (Verdict 0.1): a lazy walk of
the policy, clause by clause, with every expression walked by simpleeval with Kleene logic and
every event emitted the moment it happens. It is slow and obviously faithful to the semantics
written in `engine/evaluator.py`; the differential tests (tests/test_differential.py) check the
plan against it: outputs, statuses, missing facts, `regardless_of`, errors and every event.

Its only change since 0.1 is the finer trace it must match: a PART event for each part of a
condition that evaluation reaches, and the location of parts and derived values.
"""

from __future__ import annotations

import ast
import datetime as dt
import decimal
import itertools
import math
from decimal import Decimal
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

import simpleeval

from engine.errors import Diagnostic
from engine.expressions import OPERATORS, EvaluationFailure, Unknown, conjuncts, describe_failure, out_of_range
from engine.functions import FUNCTIONS, FunctionError, cannot_hold, type_name
from engine.evaluator import in_declaration_order  # the canonical order of fact names, not semantics
from engine.model import Clause, Decision, OutputResult, Policy, to_json_value
from engine.trace import Event, Op, Read

MAX_UNCERTAIN_CLAUSES = 12
MAX_FACT_WORLDS = 64


class _KleeneEval(simpleeval.SimpleEval):
    """simpleeval with our operators and functions, list literals, and Kleene logic for `and`/`or`/`if`."""

    def __init__(self, scope: Mapping[str, Any]):
        super().__init__(operators=OPERATORS, functions=FUNCTIONS, names=scope)
        self.nodes[ast.List] = self._eval_sequence
        self.nodes[ast.Tuple] = self._eval_sequence

    def _eval_constant(self, node: ast.Constant) -> Any:
        # A number the type checker read as an amount of money carries its exact decimal.
        return getattr(node, "amount", node.value)

    def _eval_all(self, nodes: list[ast.expr]) -> list[Any]:
        values, missing = [], set()
        for node in nodes:
            try:
                values.append(self._eval(node))
            except Unknown as unknown:
                missing |= unknown.missing
        if missing:
            raise Unknown(frozenset(missing))
        return values

    def _eval_sequence(self, node: ast.List | ast.Tuple) -> list:
        return self._eval_all(node.elts)

    def _eval_binop(self, node: ast.BinOp) -> Any:
        left, right = self._eval_all([node.left, node.right])
        return self.operators[type(node.op)](left, right)

    def _eval_compare(self, node: ast.Compare) -> Any:
        values = self._eval_all([node.left, *node.comparators])
        for operation, left, right in zip(node.ops, values, values[1:]):
            if not self.operators[type(operation)](left, right):
                return False
        return True

    def _eval_call(self, node: ast.Call) -> Any:
        return self.functions[node.func.id](*self._eval_all(node.args))

    def _eval_boolop(self, node: ast.BoolOp) -> Any:
        deciding = isinstance(node.op, ast.Or)
        missing: set[str] = set()
        value: Any = not deciding
        for operand in node.values:
            try:
                value = self._eval(operand)
            except Unknown as unknown:
                missing |= unknown.missing
                continue
            if bool(value) is deciding and (not missing or isinstance(value, bool)):
                return value
        if missing:
            raise Unknown(frozenset(missing))
        return value

    def _eval_ifexp(self, node: ast.IfExp) -> Any:
        try:
            test = self._eval(node.test)
        except Unknown as unknown:
            missing = set(unknown.missing)
            branches = []
            for branch in (node.body, node.orelse):
                try:
                    branches.append(self._eval(branch))
                except Unknown as inner:
                    missing |= inner.missing
            if len(branches) == 2 and branches[0] == branches[1] and type(branches[0]) is type(branches[1]):
                return branches[0]
            raise Unknown(frozenset(missing)) from None
        return self._eval(node.body) if test else self._eval(node.orelse)


class ExpressionEvaluator:
    """Evaluates expression trees against one scope; a fresh one per case (simpleeval keeps state)."""

    def __init__(self, scope: Mapping[str, Any]):
        self._eval = _KleeneEval(scope)

    def computed(self, node: ast.expr) -> Any:
        """The value of a derived value's or a `then` value's expression: within the limits of
        computed values (every one is checked here; the engine checks only those that may exceed)."""
        value = self.evaluate(node)
        problem = out_of_range(value)
        if problem is not None:
            raise EvaluationFailure(problem)
        return value

    def evaluate(self, node: ast.expr) -> Any:
        try:
            return self._eval.eval("", previously_parsed=node)
        except Unknown:
            raise
        except (FunctionError, TypeError, ValueError, ArithmeticError, simpleeval.InvalidExpression) as exc:
            raise EvaluationFailure(describe_failure(exc)) from None


class _Events:
    """A decision's trace here: the events as they were emitted."""

    def __init__(self, events: list[Event]):
        self._events = tuple(events)

    def events(self) -> tuple[Event, ...]:
        return self._events

    def __eq__(self, other: object) -> bool:
        return hasattr(other, "events") and self._events == other.events()


@dataclass
class _ClauseState:
    clause: Clause
    result: str  # true, false, unknown, error
    missing: frozenset[str] = frozenset()
    message: str = ""
    # output name → ("value", v) | ("unknown", missing) | ("error", message)
    values: dict[str, tuple] = field(default_factory=dict)


@dataclass(frozen=True)
class _Outcome:
    kind: str  # value, unknown, error
    value: Any = None
    deciders: tuple[str, ...] = ()
    missing: frozenset[str] = frozenset()
    message: str = ""

    def same_as(self, other: "_Outcome") -> bool:
        return self.kind == other.kind == "value" and _canonical(self.value) == _canonical(other.value)


def _canonical(value: Any) -> Any:
    return repr(to_json_value(value))


def _fits(output, value: Any) -> bool:
    """Whether a computed value has the output's declared type (validation checks this statically too)."""
    if value is None:
        return output.nullable
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    # An amount of money is a Decimal in whole cents (at most two decimals once trailing zeros go).
    amount = type(value) is Decimal and value.is_finite() and value == value.quantize(Decimal("0.01"), context=_WIDE)
    return {"number": number, "money": amount, "bool": isinstance(value, bool), "string": isinstance(value, str),
            "date": isinstance(value, dt.date) and not isinstance(value, dt.datetime)}.get(output.type, False)


_WIDE = decimal.Context(prec=200)


def _finite_domain(fact) -> tuple | None:
    """Every value a fact can take, when there are few; None for numbers, text and dates."""
    if fact.type == "bool":
        values: tuple = (False, True)
    elif fact.type == "enum":
        values = fact.values
    else:
        return None
    return values + (None,) if fact.nullable else values


def evaluate(policy: Policy, facts: Mapping[str, Any], case_id: str = "", trace: bool = True,
             engine_version: str = "") -> Decision:
    """Decide a checked case, as the engine's `evaluator.evaluate` must."""
    run = _Run(policy, facts)
    results = run.decide()
    missing = in_declaration_order(policy, {m for r in results.values() if r.status == "undetermined" for m in r.missing})
    return Decision.trusted(policy.identity, case_id, dict(facts), results, tuple(missing), tuple(run.errors),
                            engine_version, _Events(run.events) if trace else None, policy)


class _Scope(Mapping):
    """Resolves names for expressions and records each read on the innermost open read list."""

    def __init__(self, run: "_Run"):
        self._run = run

    def __getitem__(self, name: str) -> Any:
        return self._run.lookup(name)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class _Run:
    def __init__(self, policy: Policy, facts: Mapping[str, Any], refine: bool = True):
        self.policy = policy
        self.refine = refine
        self.facts = facts
        self.events: list[Event] = []
        self.evaluator = ExpressionEvaluator(_Scope(self))
        self.reads: list[list[Read]] = []
        self.states: dict[str, _ClauseState] = {}
        self.derived: dict[str, tuple] = {}
        self.results: dict[str, OutputResult] = {}
        self.errors: list[Diagnostic] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    # -- names ----------------------------------------------------------------------------------

    def lookup(self, name: str) -> Any:
        policy = self.policy
        if name in policy.facts:
            if name in self.facts:
                return self._read(Read(name, "fact", self.facts[name]))
            if policy.facts[name].has_default:
                return self._read(Read(name, "fact", policy.facts[name].default, from_default=True))
            self._read(Read(name, "fact", None, (name,)))
            raise Unknown(frozenset([name]))
        if name in policy.parameters:
            return self._read(Read(name, "parameter", policy.parameters[name].value))
        if name in policy.derived:
            kind, payload = self._derived(name)
            if kind == "value":
                return self._read(Read(name, "derived", payload))
            if kind == "unknown":
                self._read(Read(name, "derived", None, tuple(sorted(payload))))
                raise Unknown(payload)
            raise EvaluationFailure(f"derived value `{name}` failed: {payload}")
        if name in policy.outputs:
            result = self.resolve(name)
            if result.status in ("decided", "default"):
                # Lists are read as lists, so that `items == ['x']` compares like with like.
                value = list(result.value) if isinstance(result.value, tuple) else result.value
                return self._read(Read(name, "output", value))
            if result.missing:
                self._read(Read(name, "output", None, result.missing))
                raise Unknown(frozenset(result.missing))
            raise EvaluationFailure(f"output `{name}` could not be decided")
        raise KeyError(name)

    def _read(self, read: Read) -> Any:
        if self.reads:
            self.reads[-1].append(read)
        return read.value

    def _derived(self, name: str) -> tuple:
        if name not in self.derived:
            definition = self.policy.derived[name]
            self.reads.append([])
            try:
                outcome: tuple = ("value", self.evaluator.computed(definition.expression.tree))
            except Unknown as unknown:
                outcome = ("unknown", unknown.missing)
            except EvaluationFailure as failure:
                outcome = ("error", str(failure))
                self._error(f"while computing derived value `{name}`: {failure}", definition.location, name)
            reads = tuple(self.reads.pop())
            self.derived[name] = outcome
            self.emit(Event(Op.DERIVED, name, definition.expression.text, reads,
                            result=outcome[0], value=outcome[1] if outcome[0] == "value" else None,
                            missing=tuple(sorted(outcome[1])) if outcome[0] == "unknown" else (),
                            message=outcome[1] if outcome[0] == "error" else "", location=definition.location))
        return self.derived[name]

    def _error(self, message: str, location, subject: str) -> None:
        self.errors.append(Diagnostic("eval_error", message, location, subject))

    # -- clauses --------------------------------------------------------------------------------

    def clause_state(self, clause: Clause) -> _ClauseState:
        if clause.id in self.states:
            return self.states[clause.id]
        self.reads.append([])
        state = _ClauseState(clause, "false")
        try:
            positions = {id(node): i for i, node in enumerate(conjuncts(clause.condition.tree))}
            holds = self._condition(clause.condition.tree, clause, positions)
            if not isinstance(holds, bool):
                raise EvaluationFailure(f"the condition gave {to_json_value(holds)!r}, not true or false")
            state.result = "true" if holds else "false"
        except Unknown as unknown:
            state.result, state.missing = "unknown", unknown.missing
        except EvaluationFailure as failure:
            state.result, state.message = "error", str(failure)
        reads = tuple(self.reads.pop())
        self.reads.append([])  # what the `then` expressions read is kept apart from the condition's reads
        if state.result in ("true", "unknown"):
            for output_name, spec in clause.sets:
                if spec.expression is None:
                    state.values[output_name] = ("value", spec.literal)
                    continue
                try:
                    value = self.evaluator.computed(spec.expression.tree)
                    if not _fits(self.policy.outputs[output_name], value):
                        raise EvaluationFailure(cannot_hold(value, output_name))
                    state.values[output_name] = ("value", value)
                except Unknown as unknown:
                    state.values[output_name] = ("unknown", unknown.missing)
                except EvaluationFailure as failure:
                    state.values[output_name] = ("error", f"computing `{output_name}`: {failure}")
                    state.message = state.message or f"computing `{output_name}`: {failure}"
        value_reads = tuple(self.reads.pop())
        if state.message:
            location = self.policy.condition_locations.get(clause.id, clause.location)
            self._error(f"while evaluating clause `{clause.id}`: {state.message}", location, clause.id)
        self.states[clause.id] = state
        self.emit(Event(Op.CLAUSE, clause.id, clause.condition.text, reads, result=state.result,
                        missing=tuple(sorted(state.missing)), message=state.message, value_reads=value_reads))
        return state

    def _condition(self, node: ast.expr, clause: Clause, positions: dict[int, int]) -> Any:
        """A condition, recording a PART event for each operand of its top-level `and`s reached.

        Nested `and`s are evaluated as written, with Kleene's rule; their operands are parts too.
        """
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
            missing: set[str] = set()
            value: Any = True
            for operand in node.values:
                try:
                    value = self._condition(operand, clause, positions)
                except Unknown as unknown:
                    missing |= unknown.missing
                    continue
                if bool(value) is False and (not missing or isinstance(value, bool)):
                    return value
            if missing:
                raise Unknown(frozenset(missing))
            return value
        position = positions[id(node)]
        self.reads.append([])
        outcome: tuple
        try:
            value = self.evaluator.evaluate(node)
            outcome = ("true" if value is True else "false", value, (), "")
        except Unknown as unknown:
            outcome = ("unknown", None, tuple(sorted(unknown.missing)), "")
            raise
        except EvaluationFailure as failure:
            outcome = ("error", None, (), str(failure))
            raise
        finally:
            reads = tuple(self.reads.pop())
            self.reads[-1].extend(reads)
            self.emit(Event(Op.PART, clause.id, ast.unparse(node), reads, result=outcome[0], value=outcome[1],
                            missing=outcome[2], message=outcome[3], location=clause.part_locations[position],
                            position=position))
        return value

    # -- outputs --------------------------------------------------------------------------------

    def resolve(self, name: str) -> OutputResult:
        if name in self.results:
            return self.results[name]
        output = self.policy.outputs[name]
        overridden_by = self.policy.overridden_by
        candidates = [s for s in (self.clause_state(self.policy.clause(cid)) for cid in self.policy.setters[name])
                      if s.result != "false"]
        winners = {w: self.clause_state(self.policy.clause(w)) for c in candidates for w in sorted(overridden_by[c.clause.id])}
        applying = {cid for cid, s in {**{c.clause.id: c for c in candidates}, **winners}.items() if s.result == "true"}

        def defeated(state: _ClauseState, applicable: set[str]) -> bool:
            # Overriding is by application: a clause whose condition holds sets aside the clauses it
            # overrides, even when it is itself set aside by another one.
            return any(w in applicable for w in overridden_by[state.clause.id])

        live = [c for c in candidates if not defeated(c, applying)]
        relevant = {c.clause.id: c for c in live}
        for c in live:
            relevant.update({w: winners[w] for w in sorted(overridden_by[c.clause.id])})
        uncertain = [s for s in relevant.values() if s.result in ("unknown", "error")]
        if len(uncertain) > MAX_UNCERTAIN_CLAUSES:
            missing = frozenset().union(*(s.missing for s in uncertain))
            result = self._result(output, _Outcome("unknown", missing=missing))
        else:
            outcomes = []
            for switches in itertools.product((False, True), repeat=len(uncertain)):
                applicable = applying | {s.clause.id for s, on in zip(uncertain, switches) if on}
                effective = [c for c in live if c.clause.id in applicable and not defeated(c, applicable)]
                outcomes.append(self._combine(output, effective))
            base = outcomes[0]  # the world where no uncertain clause applies
            if base.kind == "value" and all(base.same_as(o) for o in outcomes[1:]):
                result = self._result(output, base)
            else:
                missing = frozenset().union(*(s.missing for s in uncertain), *(o.missing for o in outcomes))
                message = next((o.message for o in outcomes if o.message), "")
                if not missing and any(o.kind == "error" for o in outcomes):
                    result = self._result(output, _Outcome("error", message=message))
                else:
                    result = self._result(output, _Outcome("unknown", missing=missing))
        if result.status == "undetermined" and self.refine:
            result = self._refine(name, result)
        self.results[name] = result
        return result

    def _refine(self, name: str, result: OutputResult) -> OutputResult:
        """Decide the output once per value of its missing facts; decided if every value agrees."""
        domains = [_finite_domain(self.policy.facts[fact]) for fact in result.missing]
        if any(domain is None for domain in domains) or math.prod(len(d) for d in domains) > MAX_FACT_WORLDS:
            return result
        outcomes = []
        for values in itertools.product(*domains):
            world = _Run(self.policy, {**self.facts, **dict(zip(result.missing, values))}, refine=False)
            outcome = world.resolve(name)
            if outcome.status not in ("decided", "default") or (
                    outcomes and _canonical(outcome.value) != _canonical(outcomes[0].value)):
                return result
            outcomes.append(outcome)
        used = {clause_id for outcome in outcomes for clause_id in outcome.clauses}
        clauses = tuple(c.id for c in self.policy.clauses if c.id in used)
        return OutputResult(outcomes[0].value, "decided" if clauses else "default", clauses, (), result.missing,
                            "enumeration")

    def _combine(self, output, effective: list[_ClauseState]) -> _Outcome:
        missing: set[str] = set()
        errors = []
        values = []
        for state in effective:
            kind, payload = state.values.get(output.name, ("error", f"clause `{state.clause.id}` failed: {state.message}"))
            if kind == "unknown":
                missing |= payload
            elif kind == "error":
                errors.append(payload)
            else:
                values.append((state.clause.id, payload))
        if missing:
            return _Outcome("unknown", missing=frozenset(missing))
        if errors:
            return _Outcome("error", message=errors[0])
        if output.collects:
            items: list = []
            for _, value in values:
                items.extend(v for v in value if v not in items)
            if not values:
                return _Outcome("value", tuple(output.default or ()))
            return _Outcome("value", tuple(items), tuple(cid for cid, _ in values))
        if not values:
            return _Outcome("value", output.default)
        distinct = {_canonical(v) for _, v in values}
        if len(distinct) > 1:
            ids = ", ".join(f"`{cid}`" for cid, _ in values)
            return _Outcome("error", message=f"conflict: clauses {ids} set `{output.name}` to different values")
        return _Outcome("value", values[0][1], tuple(cid for cid, _ in values))

    def _result(self, output, outcome: _Outcome) -> OutputResult:
        if outcome.kind == "value":
            status = "decided" if outcome.deciders else "default"
            return OutputResult(outcome.value, status, outcome.deciders)
        if outcome.kind == "error":
            self._error(f"while deciding output `{output.name}`: {outcome.message}", output.location, output.name)
        if outcome.kind == "error":
            return OutputResult(None, "error", (), ())
        return OutputResult(output.undetermined, "undetermined", (), in_declaration_order(self.policy, outcome.missing))

    # -- the whole case -------------------------------------------------------------------------

    def decide(self) -> dict[str, OutputResult]:
        for clause in self.policy.clauses:
            self.clause_state(clause)
        results = {name: self.resolve(name) for name in self.policy.outputs}
        for clause in self.policy.clauses:
            self.emit(self._effect(self.states[clause.id], results))
        for name, result in results.items():
            self.emit(Event(Op.OUTPUT, name, result=result.status, value=result.value,
                            missing=result.missing, clauses=result.clauses, settled_by=result.settled_by))
        return results

    def _effect(self, state: _ClauseState, results: dict[str, OutputResult]) -> Event:
        clause = state.clause
        if state.result == "false":
            return Event(Op.EFFECT, clause.id, effect="not_applicable")
        if state.result == "error":
            return Event(Op.EFFECT, clause.id, effect="error", message=state.message)
        if state.result == "unknown":
            return Event(Op.EFFECT, clause.id, effect="undecided", missing=tuple(sorted(state.missing)))
        winners = [self.clause_state(self.policy.clause(w)) for w in self.policy.overridden_by[clause.id]]
        applying = sorted(w.clause.id for w in winners if w.result == "true")
        if applying:
            return Event(Op.EFFECT, clause.id, effect="overridden", by=applying[0])
        maybe = [w for w in winners if w.result in ("unknown", "error")]
        if maybe:
            return Event(Op.EFFECT, clause.id, effect="undecided", by=min(w.clause.id for w in maybe),
                         missing=tuple(sorted(frozenset().union(*(w.missing for w in maybe)))))
        return Event(Op.EFFECT, clause.id, effect="applied")


def agreed_outputs(policy: Policy, completions: list[Mapping[str, Any]]) -> dict[str, tuple[bool, Any]]:
    """The missing-fact semantics, by brute force over the completions given (complete, checked cases):
    for each output, whether every completion decides it to one value (and that value). The solver's
    claim "decided" must agree with every sample; "open" must show two samples that differ."""
    outcomes: dict[str, list] = {}
    for facts in completions:
        decision = evaluate(policy, facts, trace=False)
        for name, result in decision.outputs.items():
            outcomes.setdefault(name, []).append(
                ("value", _canonical(result.value)) if result.status in ("decided", "default") else (result.status, None))
    return {name: (len(set(map(repr, seen))) == 1 and seen[0][0] == "value", seen[0][1] if seen else None)
            for name, seen in outcomes.items()}
