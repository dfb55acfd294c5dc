"""Evaluation of one case against a compiled policy's plan.

Semantics, in the order they apply (the reference interpreter in tests/reference.py is their
executable specification, and the tests check this module against it):

1. Every clause's `when` is evaluated with three values: true, false or unknown (it needs a fact
   the case lacks). A clause whose condition fails for another reason (a type error) is `error`.
2. For each output, the clauses that set it and did not evaluate to false are its candidates. A
   candidate is set aside when a clause that declares `overrides` on it applies. Overriding is
   direct (not transitive) and whole-clause: the overridden clause contributes to no output.
3. The output's value combines the candidates left: a list output collects the items of all of
   them in clause order; any other output takes their one value (two different values are a
   conflict: the output is an error, never a silent winner; `verdict validate` finds such pairs
   beforehand). With no candidate it takes its declared default.
4. Where some candidates are unknown, every combination of them applying or not is tried (up to
   `MAX_UNCERTAIN_CLAUSES`). If all give the same value the output is decided; otherwise it is
   undetermined and `missing_facts` lists the facts those clauses need.
5. That test is sound but coarse: it also tries combinations no case can produce (a clause for
   `replaceable` and one for `not replaceable` both off). So when every fact an undetermined output
   needs has a finite domain (bool, enum, nullable), the output is decided again for each value of
   those facts (up to `MAX_FACT_WORLDS` combinations); if every value gives the same result, the
   output is decided, and `regardless_of` names the facts it did not depend on.

Before all of that, a case that breaks one of the policy's constraints the caller names is refused
(`CaseError`, `constraint_broken`; see `engine/constraints.py`), not decided.

How: a case whose every read fact is known, where nothing fails and every constraint holds is
decided by the plan's generated fast path (`plan/codegen.py`); any other case starts again on the
general path here, which judges the constraints three-valued (`constraints.refuse`) and evaluates
lazily, as the specification reads, through three-valued closures (`plan/kleene.py`). Both record
the trace compactly, and only when asked (`plan/record.py`).

The evaluator does no I/O, formats no text and never reads the clock.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any, Collection, Mapping

from .constraints import refuse
from .errors import Diagnostic
from .expressions import FAILURES, EvaluationFailure, Unknown, conjuncts, describe_failure
from .functions import cannot_hold
from .model import Decision, OutputResult, Outputs, Policy, to_json_value
from .plan import Program, program_for
from .plan.resolve import Outcome, canonical, combine_known
from .plan.build import DERIVED, FACT, OUTPUT, PARAMETER
from .plan.record import ClauseTrace, DerivedTrace, FastRecord, GeneralRecord, PartTrace, Touch
from .trace import Op, Read

if TYPE_CHECKING:
    from .settle import Budget

#: Above this many undecided candidates for one output, the output is undetermined without trying
#: every combination (2**12 = 4096 combinations is the most one output may cost).
MAX_UNCERTAIN_CLAUSES = 12

#: The most combinations of missing-fact values tried to settle one undetermined output.
MAX_FACT_WORLDS = 64


def evaluate(policy: Policy, facts: Mapping[str, Any], case_id: str = "", trace: bool = True,
             engine_version: str = "", constraints: Collection[str] = (), settle: bool = True,
             budget: Budget | None = None) -> Decision:
    """Decide a case whose facts were already checked against `policy` (see `cases.check_facts`).

    The decision always has every output. Short of a refusal (`constraints`, below), it is never an
    exception: an output that needs absent facts is undetermined, and a clause that fails is recorded in `errors` and makes the outputs
    it could change undetermined rather than silently skipped. With `trace=False` nothing of the
    trace is recorded.

    :param constraints: the names of the policy's constraints a case is refused for breaking: then,
        and only then, `CaseError` is raised (`policy.constraints` for all of them; the default, none).
    :param settle: with False the solver is never asked: an output the evaluator leaves undetermined
        stays so (the semantics of tests/reference.py, which the plan is tested against).
    :param budget: the solver's budget left for the decision (`settle.Budget`), when several candidate
        policies decide one case and share it; by default a decision's own.
    """
    program = policy.__dict__.get("_program") or program_for(policy)
    if type(facts) is not dict:
        facts = dict(facts)
    try:
        if trace:
            outputs, held, entries = program.traced(facts)
        else:
            outputs = program.fast(facts)
    except Exception:  # noqa: BLE001 - anything the fast path cannot decide exactly starts again below
        # The fast path clears a case only when every constraint holds; any other is judged here.
        if constraints:
            refuse(policy, facts, constraints)
        return _general(program, facts, case_id, trace, engine_version, settle, budget)
    # Decision.trusted, inlined: on the fast path the decision object is a third of the cost. The
    # fields left out keep their class defaults (no missing facts, no errors, no selection, no trace).
    decision = _new(Decision)
    if trace:
        _set(decision, "__dict__", {"policy": policy.identity, "case_id": case_id, "facts": facts, "outputs": outputs,
                                    "engine_version": engine_version, "made_by": policy,
                                    "trace": FastRecord(program, facts, held, entries, outputs)})
    else:
        _set(decision, "__dict__", {"policy": policy.identity, "case_id": case_id, "facts": facts, "outputs": outputs,
                                    "engine_version": engine_version, "made_by": policy})
    return decision


_new, _set = object.__new__, object.__setattr__


def shared_budget() -> Budget:
    """One decision's solver budget, for the candidate policies of one case to settle on in turn
    (`evaluate(..., budget=)`). Loads engine/settle.py, which does not load the solver."""
    from .settle import Budget  # noqa: PLC0415 - only cases with several candidates need it

    return Budget()


def _general(program: Program, facts: dict, case_id: str, trace: bool, engine_version: str,
             settle: bool = True, budget: Budget | None = None) -> Decision:
    run = _Run(program, facts, recording=trace)
    decided = run.decide()
    settled = None
    if settle and any(r.status == "undetermined" for r in decided.values()):
        # Only here is the solver loaded: a case that lacks facts its outputs need (engine/settle.py).
        from .settle import settle as settle_open  # noqa: PLC0415

        settled = settle_open(program.policy, facts, decided, budget=budget)
        decided = settled.outputs
    results = Outputs(decided)
    if settled is not None:
        missing = settled.missing_facts
    else:
        missing = in_declaration_order(program.policy, {m for r in results.values() if r.status == "undetermined" for m in r.missing})
    record = GeneralRecord(program, facts, run.clause_traces, run.derived_traces, results) if trace else None
    decision = Decision.trusted(program.policy.identity, case_id, facts, results, missing, tuple(run.errors),
                                engine_version, record, program.policy)
    if settled is not None:
        decision.__dict__.update(relevant_facts=settled.relevant_facts, regardless_of=settled.regardless_of,
                                 solver=settled.solver)
    return decision


def in_declaration_order(policy: Policy, names) -> tuple[str, ...]:
    """Fact names in the order the policy declares its facts (the canonical order of missing facts)."""
    order = policy.__dict__.get("_fact_order")
    if order is None:
        order = policy.__dict__["_fact_order"] = {name: i for i, name in enumerate(policy.facts)}
    return tuple(sorted(names, key=lambda n: (order.get(n, len(order)), n)))


def probe(policy: Policy, facts: Mapping[str, Any], node) -> tuple[str, Any, tuple[Read, ...], frozenset[str]]:
    """Evaluate one expression tree (a part of a condition, say) against a case, outside any decision.

    The probe mode of the plan: three-valued, outputs it reads resolved without trying the values of
    missing facts (as a condition's own evaluation would before refinement). Returns (result, value,
    reads, missing): result is `value`, `unknown` or `error` (then `value` is the message).
    """
    program = program_for(policy)
    run = _Run(program, dict(facts), recording=True, refine=False)
    run.stack.append([])
    try:
        outcome: tuple = ("value", program.closure(node)(run), frozenset())
    except Unknown as unknown:
        outcome = ("unknown", None, unknown.missing)
    except FAILURES as failure:
        outcome = ("error", describe_failure(failure), frozenset())
    reads = tuple(step for step in run.stack.pop() if isinstance(step, Read))
    return outcome[0], outcome[1], reads, outcome[2]


class _ClauseState:
    __slots__ = ("index", "result", "missing", "message", "values")

    def __init__(self, index: int) -> None:
        self.index = index
        self.result = "false"  # true, false, unknown, error
        self.missing: frozenset[str] = frozenset()
        self.message = ""
        self.values: dict[int, tuple] = {}  # output -> ("value", v) | ("unknown", missing) | ("error", message)


def _finite_domain(fact) -> tuple | None:
    """Every value a fact can take, when there are few; None for numbers, text and dates."""
    if fact.type == "bool":
        values: tuple = (False, True)
    elif fact.type == "enum":
        values = fact.values
    else:
        return None
    return values + (None,) if fact.nullable else values


class _Run:
    """The general path: one case, evaluated lazily, with three-valued logic."""

    def __init__(self, program: Program, facts: dict, recording: bool, refine: bool = True) -> None:
        self.program = program
        self.plan = program.plan
        self.policy = program.policy
        self.facts = facts
        self.recording = recording
        self.refine = refine
        self.stack: list[list] = []  # open lists of steps (reads and touches), innermost last
        self.states: dict[int, _ClauseState] = {}
        self.derived: dict[int, tuple] = {}
        self.results: dict[int, OutputResult] = {}
        self.errors: list[Diagnostic] = []
        self.clause_traces: dict[int, ClauseTrace] = {}
        self.derived_traces: dict[int, DerivedTrace] = {}
        self.parts: dict[int, list[PartTrace]] = {}

    # -- names ----------------------------------------------------------------------------------

    def step(self, step) -> None:
        if self.stack:
            self.stack[-1].append(step)

    def read(self, nid: int) -> Any:
        name, kind = self.plan.names[nid]
        if kind == FACT:
            if name in self.facts:
                value = self.facts[name]
                if self.stack:
                    self.stack[-1].append(Read(name, FACT, value))
                return value
            fact = self.policy.facts[name]
            if fact.has_default:
                if self.stack:
                    self.stack[-1].append(Read(name, FACT, fact.default, from_default=True))
                return fact.default
            self.step(Read(name, FACT, None, (name,)))
            raise Unknown(frozenset([name]))
        if kind == PARAMETER:
            value = self.policy.parameters[name].value
            self.step(Read(name, PARAMETER, value))
            return value
        if kind == DERIVED:
            outcome, payload = self.derived_value(self.plan.derived_index[name])
            if outcome == "value":
                self.step(Read(name, DERIVED, payload))
                return payload
            if outcome == "unknown":
                self.step(Read(name, DERIVED, None, tuple(sorted(payload))))
                raise Unknown(payload)
            self.step(Touch(DERIVED, name))
            raise EvaluationFailure(f"derived value `{name}` failed: {payload}")
        result = self.resolve(self.plan.output_index[name])
        if result.status in ("decided", "default"):
            # Lists are read as lists, so that `items == ['x']` compares like with like.
            value = list(result.value) if isinstance(result.value, tuple) else result.value
            self.step(Read(name, OUTPUT, value))
            return value
        if result.missing:
            self.step(Read(name, OUTPUT, None, result.missing))
            raise Unknown(frozenset(result.missing))
        self.step(Touch(OUTPUT, name))
        raise EvaluationFailure(f"output `{name}` could not be decided")

    def _evaluate(self, closure) -> tuple:
        """("value", v) | ("unknown", missing) | ("error", message) of one closure."""
        try:
            return "value", closure(self)
        except Unknown as unknown:
            return "unknown", unknown.missing
        except FAILURES as failure:
            return "error", describe_failure(failure)

    def derived_value(self, index: int) -> tuple:
        if index not in self.derived:
            name = self.plan.derived[index]
            definition = self.policy.derived[name]
            if self.recording:
                self.stack.append([])
            outcome = self._evaluate(self.program.derived_closure(index))
            steps = self.stack.pop() if self.recording else []
            self.derived[index] = outcome
            if outcome[0] == "error":
                self._error(f"while computing derived value `{name}`: {outcome[1]}", definition.location, name)
            if self.recording:
                self.derived_traces[index] = DerivedTrace(index, *outcome, steps)
        return self.derived[index]

    def _error(self, message: str, location, subject: str) -> None:
        self.errors.append(Diagnostic("eval_error", message, location, subject))

    # -- clauses --------------------------------------------------------------------------------

    def record_part(self, clause: int, part: int, steps: list, outcome: tuple) -> None:
        self.parts.setdefault(clause, []).append(PartTrace(part, *outcome, steps))

    def clause_state(self, index: int) -> _ClauseState:
        if index in self.states:
            return self.states[index]
        state = _ClauseState(index)
        self.parts[index] = []
        try:
            holds = self.program.condition_closure(index)(self)
            if not isinstance(holds, bool):
                raise EvaluationFailure(f"the condition gave {to_json_value(holds)!r}, not true or false")
            state.result = "true" if holds else "false"
        except Unknown as unknown:
            state.result, state.missing = "unknown", unknown.missing
        except FAILURES as failure:
            state.result, state.message = "error", describe_failure(failure)
        if self.recording:  # what the `then` expressions read is kept apart from the condition's reads
            self.stack.append([])
        if state.result in ("true", "unknown"):
            for value in self.plan.then[index]:
                output_name = self.plan.outputs[value.output]
                if value.expression is None:
                    state.values[value.output] = ("value", value.literal)
                    continue
                kind, payload = self._evaluate(self.program.then_closure(index, value.slot))
                if kind == "value" and not self.program.fits[value.output](payload):
                    kind, payload = "error", cannot_hold(payload, output_name)
                if kind == "error":
                    payload = f"computing `{output_name}`: {payload}"
                    state.message = state.message or payload
                state.values[value.output] = (kind, payload)
        value_steps = self.stack.pop() if self.recording else []
        if state.message:
            clause = self.policy.clauses[index]
            location = self.policy.condition_locations.get(clause.id, clause.location)
            self._error(f"while evaluating clause `{clause.id}`: {state.message}", location, clause.id)
        self.states[index] = state
        if self.recording:
            self.clause_traces[index] = ClauseTrace(index, state.result, tuple(sorted(state.missing)), state.message,
                                                    tuple(self.parts[index]), value_steps)
        return state

    # -- outputs --------------------------------------------------------------------------------

    def resolve(self, output: int) -> OutputResult:
        if output in self.results:
            return self.results[output]
        plan = self.plan
        overriders = plan.overriders
        candidates = [s for s in (self.clause_state(c) for c in plan.setters[output]) if s.result != "false"]
        winners = {w: self.clause_state(w) for c in candidates for w in overriders[c.index]}
        applying = {i for i, s in {**{c.index: c for c in candidates}, **winners}.items() if s.result == "true"}

        def defeated(state: _ClauseState, applicable: set[int]) -> bool:
            # Overriding is by application: a clause whose condition holds sets aside the clauses it
            # overrides, even when it is itself set aside by another one.
            return any(w in applicable for w in overriders[state.index])

        live = [c for c in candidates if not defeated(c, applying)]
        relevant = {c.index: c for c in live}
        for c in live:
            relevant.update({w: winners[w] for w in overriders[c.index]})
        uncertain = [s for s in relevant.values() if s.result in ("unknown", "error")]
        declared = self.policy.outputs[plan.outputs[output]]
        if len(uncertain) > MAX_UNCERTAIN_CLAUSES:
            missing = frozenset().union(*(s.missing for s in uncertain))
            result = self._result(declared, Outcome("unknown", missing=missing))
        else:
            outcomes = []
            for switches in itertools.product((False, True), repeat=len(uncertain)):
                applicable = applying | {s.index for s, on in zip(uncertain, switches) if on}
                effective = [c for c in live if c.index in applicable and not defeated(c, applicable)]
                outcomes.append(self._combine(declared, output, effective))
            base = outcomes[0]  # the world where no uncertain clause applies
            if base.kind == "value" and all(base.same_as(o) for o in outcomes[1:]):
                result = self._result(declared, base)
            else:
                missing = frozenset().union(*(s.missing for s in uncertain), *(o.missing for o in outcomes))
                message = next((o.message for o in outcomes if o.message), "")
                if not missing and any(o.kind == "error" for o in outcomes):
                    result = self._result(declared, Outcome("error", message=message))
                else:
                    result = self._result(declared, Outcome("unknown", missing=missing))
        if result.status == "undetermined" and self.refine:
            result = self._refine(output, result)
        self.results[output] = result
        return result

    def _refine(self, output: int, result: OutputResult) -> OutputResult:
        """Decide the output once per value of its missing facts; decided if every value agrees."""
        domains = [_finite_domain(self.policy.facts[fact]) for fact in result.missing]
        if any(domain is None for domain in domains) or math.prod(len(d) for d in domains) > MAX_FACT_WORLDS:
            return result
        outcomes = []
        for values in itertools.product(*domains):
            outcome = _resolve_in_world(self.program, {**self.facts, **dict(zip(result.missing, values))}, output)
            if outcome.status not in ("decided", "default") or (
                    outcomes and canonical(outcome.value) != canonical(outcomes[0].value)):
                return result
            outcomes.append(outcome)
        used = {clause_id for outcome in outcomes for clause_id in outcome.clauses}
        clauses = tuple(cid for cid in self.plan.clause_ids if cid in used)
        return OutputResult(outcomes[0].value, "decided" if clauses else "default", clauses, (), result.missing,
                            "enumeration")

    def _combine(self, declared, output: int, effective: list[_ClauseState]) -> Outcome:
        missing: set[str] = set()
        errors = []
        values = []
        for state in effective:
            kind, payload = state.values.get(
                output, ("error", f"clause `{self.plan.clause_ids[state.index]}` failed: {state.message}"))
            if kind == "unknown":
                missing |= payload
            elif kind == "error":
                errors.append(payload)
            else:
                values.append((self.plan.clause_ids[state.index], payload))
        if missing:
            return Outcome("unknown", missing=frozenset(missing))
        if errors:
            return Outcome("error", message=errors[0])
        return combine_known(declared, values)

    def _result(self, declared, outcome: Outcome) -> OutputResult:
        if outcome.kind == "value":
            return OutputResult(outcome.value, "decided" if outcome.deciders else "default", outcome.deciders)
        if outcome.kind == "error":
            self._error(f"while deciding output `{declared.name}`: {outcome.message}", declared.location, declared.name)
            return OutputResult(None, "error", (), ())
        return OutputResult(declared.undetermined, "undetermined", (), in_declaration_order(self.policy, outcome.missing))

    # -- the whole case -------------------------------------------------------------------------

    def decide(self) -> dict[str, OutputResult]:
        for index in range(len(self.plan.clause_ids)):
            self.clause_state(index)
        return {name: self.resolve(i) for i, name in enumerate(self.plan.outputs)}




def _resolve_in_world(program: Program, facts: dict, output: int) -> OutputResult:
    """One output for facts that fill in some missing ones, untraced and without refinement."""
    try:
        return program.fast(facts)[program.plan.outputs[output]]
    except Exception:  # noqa: BLE001 - as in `evaluate`: the general path decides what the fast one cannot
        return _Run(program, facts, recording=False, refine=False).resolve(output)


def part_outcomes(policy: Policy, decision: Decision, clause) -> list[tuple[Any, str, Any, tuple[Read, ...]]]:
    """Every part of a clause's condition with (node, result, value, reads), result being `true`,
    `false`, `unknown` or `error`: from the decision's trace where evaluation reached the part,
    otherwise from the probe mode (the part evaluated on its own against the decision's facts).

    Explanations and coverage want every part, while evaluation stops at the first part that
    decides: the parts after it are probed.
    """
    reached = {e.position: e for e in decision.events if e.op is Op.PART and e.subject == clause.id}
    outcomes = []
    for position, node in enumerate(conjuncts(clause.condition.tree)):
        event = reached.get(position)
        if event is not None:
            outcomes.append((node, event.result, event.value, event.reads))
            continue
        result, value, reads, _ = probe(policy, decision.facts, node)
        if result == "value":
            result = "true" if value is True else "false"
        outcomes.append((node, result, value, reads))
    return outcomes
