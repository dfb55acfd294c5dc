"""The trace of one decision as recorded, and its expansion into events when someone reads it.

Recording is cheap: the fast path appends plain tuples to a list `T` (below), the general path
keeps one `ClauseTrace` per clause and one `DerivedTrace` per derived value. Nothing becomes an
`Event` until `Decision.events` is read; then `expand` walks the record in the order the
specification evaluates (clauses in policy order; an output read first resolves that output, which
evaluates the clauses that set it and those that override them; a derived value is computed where
it is first read), so the events come in the same order whichever path decided the case.

Layout of the fast path's entries on `T` (P is the number of condition parts of the plan):
- `(part id, value, r0, r1, ...)`: a condition part reached, with the values of its static reads
  (`Part.static_reads` names them), or `(part id, value, [(nid, value), ...])` when the part's
  reads depend on values (it holds `and`, `or` or `x if c else y`);
- `(-(i + 1), value, reads...)`: derived value i computed, reads as for parts;
- `(P + slot, value, reads...)`: a then-value computed into `V[slot]`;
- `("index", stratum, bucket)`: the index kept only the clauses of `bucket` (-1: no bucket
  applied, every clause ran). The clauses it ruled out are expanded here: their opening parts
  are evaluated again on the one fact they read, which is what they would have recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from ..trace import Event, Op, Read
from .build import DERIVED, FACT, OUTPUT, PARAMETER
from .runtime import held_clauses


class Touch(NamedTuple):
    """A name that evaluation went through without reading a value: a derived value or output
    that failed. It orders the events but is not shown as a read."""

    kind: str
    name: str


@dataclass(frozen=True)
class PartTrace:
    """What one condition part did: its result and the reads and touches it made, in order."""

    part: int
    result: str  # true, false, unknown, error
    value: Any
    missing: tuple[str, ...]
    message: str
    steps: tuple  # Read and Touch, in evaluation order


@dataclass(frozen=True)
class ClauseTrace:
    """What one clause did: its result and its parts reached, and what its `then` read."""

    clause: int
    result: str
    missing: tuple[str, ...]
    message: str
    parts: tuple[PartTrace, ...]
    value_steps: tuple


@dataclass(frozen=True)
class DerivedTrace:
    """What computing one derived value gave, and what it read."""

    index: int
    result: str  # value, unknown, error
    payload: Any  # the value, the missing facts or the message
    steps: tuple


class _Record:
    """Common to both records: events expanded once, on first use; equal when the events are."""

    def __init__(self, program, facts: dict, outputs: dict) -> None:
        self.program = program
        self.facts = facts
        self.outputs = outputs  # this policy's own results (a multi-policy decision shows merged ones)
        self._events: tuple[Event, ...] | None = None

    def events(self) -> tuple[Event, ...]:
        if self._events is None:
            clauses, derived = self.traces()
            self._events = expand(self.program, clauses, derived, self.outputs)
        return self._events

    def traces(self) -> tuple[dict[int, ClauseTrace], dict[int, DerivedTrace]]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Record) and self.events() == other.events()

    __hash__ = None  # type: ignore[assignment]


class GeneralRecord(_Record):
    def __init__(self, program, facts, clauses: dict[int, ClauseTrace], derived: dict[int, DerivedTrace], outputs) -> None:
        super().__init__(program, facts, outputs)
        self._clauses, self._derived = clauses, derived

    def traces(self):
        return self._clauses, self._derived


class FastRecord(_Record):
    def __init__(self, program, facts, held, entries: list[tuple], outputs) -> None:
        super().__init__(program, facts, outputs)
        self.held = held
        self.entries = entries

    def traces(self):
        plan = self.program.plan
        part_count = len(plan.parts)
        parts: dict[int, list[PartTrace]] = {}
        then_steps: dict[int, list] = {}
        derived: dict[int, DerivedTrace] = {}
        ruled_out: set[int] = set()
        slot_clause = {v.slot: ci for ci, values in enumerate(plan.then) for v in values if v.slot >= 0}
        for entry in self.entries:
            tag = entry[0]
            if tag == "index":
                _, stratum, bucket = entry
                if bucket != -1:
                    index = plan.indexes[stratum]
                    ruled_out |= set(index.indexed) - set(index.buckets[bucket])
            elif tag < 0:
                index = -tag - 1
                derived[index] = DerivedTrace(index, "value", entry[1], self._reads(plan.derived_reads[index], entry))
            elif tag < part_count:
                part = plan.parts[tag]
                steps = self._reads(part.static_reads, entry)
                parts.setdefault(part.clause, []).append(
                    PartTrace(part.position, "true" if entry[1] is True else "false", entry[1], (), "", steps))
            else:
                clause = slot_clause[tag - part_count]
                value = next(v for v in plan.then[clause] if v.slot == tag - part_count)
                then_steps.setdefault(clause, []).extend(self._reads(value.static_reads, entry))
        held = held_clauses(self.held, len(plan.clause_ids))
        clauses = {}
        for ci in range(len(plan.clause_ids)):
            if ci in ruled_out:
                clauses[ci] = self._ruled_out(ci)
            else:
                clauses[ci] = ClauseTrace(ci, "true" if ci in held else "false", (), "", tuple(parts.get(ci, ())),
                                          tuple(then_steps.get(ci, ())))
        return clauses, derived

    def _reads(self, static: tuple | None, entry: tuple) -> tuple[Read, ...]:
        pairs = zip(static, entry[2:]) if static is not None else entry[2]
        return tuple(self._read(nid, value) for nid, value in pairs)

    def _read(self, nid: int, value: Any) -> Read:
        name, kind = self.program.plan.names[nid]
        return Read(name, kind, value, from_default=kind == FACT and name not in self.facts)

    def _ruled_out(self, ci: int) -> ClauseTrace:
        """What a clause the index skipped would have recorded: its opening parts up to the first
        that does not hold. They read one fact and constants, so evaluating them again is exact."""
        plan, program = self.program.plan, self.program
        reader = _FactReader(self)
        traces = []
        for pid in plan.clause_parts[ci]:
            part = plan.parts[pid]
            reader.steps = []
            value = program.closure(part.node)(reader)
            traces.append(PartTrace(part.position, "true" if value is True else "false", value, (), "", tuple(reader.steps)))
            if value is not True:
                break
        return ClauseTrace(ci, "false", (), "", tuple(traces), ())


class _FactReader:
    """Reads facts and parameters for the closures of the index's atoms, recording each read."""

    recording = True

    def __init__(self, record: FastRecord) -> None:
        self.record = record
        self.steps: list = []

    def read(self, nid: int) -> Any:
        name, kind = self.record.program.plan.names[nid]
        policy = self.record.program.policy
        if kind == PARAMETER:
            value = policy.parameters[name].value
        elif name in self.record.facts:
            value = self.record.facts[name]
        else:
            value = policy.facts[name].default
        read = self.record._read(nid, value)
        self.steps.append(read)
        return value


def expand(program, clauses: dict[int, ClauseTrace], derived: dict[int, DerivedTrace], outputs: dict) -> tuple[Event, ...]:
    """The events of a decision, in the specification's evaluation order (see the module's doc)."""
    plan, policy = program.plan, program.policy
    events: list[Event] = []
    done_clauses: set[int] = set()
    done_derived: set[int] = set()
    done_outputs: set[int] = set()

    def touch(step) -> None:
        if step.kind == DERIVED:
            derived_event(plan.derived_index[step.name])
        elif step.kind == OUTPUT:
            output(plan.output_index[step.name])

    def derived_event(index: int) -> None:
        if index in done_derived:
            return
        done_derived.add(index)
        trace = derived[index]
        for step in trace.steps:
            touch(step)
        name = plan.derived[index]
        definition = policy.derived[name]
        events.append(Event(
            Op.DERIVED, name, definition.expression.text, _reads(trace.steps), result=trace.result,
            value=trace.payload if trace.result == "value" else None,
            missing=tuple(sorted(trace.payload)) if trace.result == "unknown" else (),
            message=trace.payload if trace.result == "error" else "", location=definition.location))

    def clause(ci: int) -> None:
        if ci in done_clauses:
            return
        done_clauses.add(ci)
        trace = clauses[ci]
        definition = policy.clauses[ci]
        reads: list[Read] = []
        for part_trace in trace.parts:
            for step in part_trace.steps:
                touch(step)
            part = plan.parts[plan.clause_parts[ci][part_trace.part]]
            part_reads = _reads(part_trace.steps)
            reads.extend(part_reads)
            events.append(Event(Op.PART, definition.id, part.text, part_reads, result=part_trace.result,
                                value=part_trace.value, missing=part_trace.missing, message=part_trace.message,
                                location=part.location, position=part_trace.part))
        for step in trace.value_steps:
            touch(step)
        events.append(Event(Op.CLAUSE, definition.id, definition.condition.text, tuple(reads), result=trace.result,
                            missing=trace.missing, message=trace.message, value_reads=_reads(trace.value_steps)))

    def output(index: int) -> None:
        if index in done_outputs:
            return
        done_outputs.add(index)
        setters = plan.setters[index]
        for ci in setters:
            clause(ci)
        for ci in setters:
            if clauses[ci].result != "false":
                for winner in plan.overriders[ci]:
                    clause(winner)

    for ci in range(len(plan.clause_ids)):
        clause(ci)
    for index in range(len(plan.outputs)):
        output(index)
    for ci in range(len(plan.clause_ids)):
        events.append(_effect(plan, clauses, ci))
    for name, result in outputs.items():
        events.append(Event(Op.OUTPUT, name, result=result.status, value=result.value, missing=result.missing,
                            clauses=result.clauses, settled_by=result.settled_by))
    return tuple(events)


def _reads(steps) -> tuple[Read, ...]:
    return tuple(step for step in steps if isinstance(step, Read))


def _effect(plan, clauses: dict[int, ClauseTrace], ci: int) -> Event:
    trace = clauses[ci]
    subject = plan.clause_ids[ci]
    if trace.result == "false":
        return Event(Op.EFFECT, subject, effect="not_applicable")
    if trace.result == "error":
        return Event(Op.EFFECT, subject, effect="error", message=trace.message)
    if trace.result == "unknown":
        return Event(Op.EFFECT, subject, effect="undecided", missing=trace.missing)
    winners = [clauses[w] for w in plan.overriders[ci]]
    applying = sorted(plan.clause_ids[w.clause] for w in winners if w.result == "true")
    if applying:
        return Event(Op.EFFECT, subject, effect="overridden", by=applying[0])
    maybe = [w for w in winners if w.result in ("unknown", "error")]
    if maybe:
        return Event(Op.EFFECT, subject, effect="undecided", by=min(plan.clause_ids[w.clause] for w in maybe),
                     missing=tuple(sorted(frozenset().union(*(w.missing for w in maybe)))))
    return Event(Op.EFFECT, subject, effect="applied")
