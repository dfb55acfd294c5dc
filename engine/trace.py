"""Trace events: what evaluation observed, as plain data for renderers to format.

The evaluator records events through a `Tracer`; it never formats text. Events come in the order
things happened: DERIVED and CLAUSE events while conditions are evaluated (a clause that reads an
output first triggers the clauses that decide that output), then one EFFECT event per clause and
one OUTPUT event per output once every output is resolved.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol


class Op(str, enum.Enum):
    DERIVED = "derived"  #: a derived value was computed (once per case)
    CLAUSE = "clause"  #: a clause's condition was evaluated: its reads and its result
    EFFECT = "effect"  #: what a clause did: applied, overridden (by), not_applicable, undecided, error
    OUTPUT = "output"  #: an output's value, its status and the clauses that decided it


@dataclass(frozen=True)
class Read:
    """One name an expression read, with its value; `missing` is set when the value was unknown."""

    name: str
    kind: str  # fact, parameter, derived, output
    value: Any = None
    missing: tuple[str, ...] = ()
    from_default: bool = False  # a fact the case did not give, read from its declared default

    @property
    def known(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class Event:
    """One step of an evaluation. Which fields are set depends on `op` (see `Op`)."""

    op: Op
    subject: str  # the clause id, output name or derived value name
    expression: str = ""
    reads: tuple[Read, ...] = ()
    result: str = ""  # CLAUSE: true/false/unknown/error; OUTPUT: decided/default/undetermined/error
    value: Any = None
    missing: tuple[str, ...] = ()
    effect: str = ""  # EFFECT: applied, overridden, not_applicable, undecided, error
    by: str = ""  # EFFECT: the clause that overrides (or, if undecided, may override) this one
    clauses: tuple[str, ...] = ()  # OUTPUT: the deciding clauses
    message: str = ""
    value_reads: tuple[Read, ...] = ()  # CLAUSE: what the `then` expressions read


class Tracer(Protocol):
    def record(self, event: Event) -> None: ...


class BufferTracer:
    """Keeps every event, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def record(self, event: Event) -> None:
        self.events.append(event)


class NullTracer:
    """Drops every event: the same evaluation path, for callers that want only the outputs."""

    events: tuple = ()

    def record(self, event: Event) -> None:
        pass
