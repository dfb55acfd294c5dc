"""Trace events: what evaluation observed, as plain data for renderers to format.

Events come in the order the specification evaluates: DERIVED, PART and CLAUSE events while
conditions are evaluated (a derived value where it is first read; a clause that reads an output
first triggers the clauses that decide that output; each PART event before its clause's CLAUSE
event), then one EFFECT event per clause and one OUTPUT event per output. The evaluator records a
compact trace and `Decision.events` expands it into these on first use (`plan/record.py`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Op(str, enum.Enum):
    DERIVED = "derived"  #: a derived value was computed (once per case)
    PART = "part"  #: a part of a clause's condition was reached: its reads and its result
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
    result: str = ""  # PART, CLAUSE: true/false/unknown/error; OUTPUT: decided/default/undetermined/error
    value: Any = None
    missing: tuple[str, ...] = ()
    effect: str = ""  # EFFECT: applied, overridden, not_applicable, undecided, error
    by: str = ""  # EFFECT: the clause that overrides (or, if undecided, may override) this one
    clauses: tuple[str, ...] = ()  # OUTPUT: the deciding clauses
    message: str = ""
    value_reads: tuple[Read, ...] = ()  # CLAUSE: what the `then` expressions read
    location: Any = None  # PART, DERIVED: where the expression is written (a SourceLocation)
    position: int = 0  # PART: 0-based position of the part in its clause's condition
    settled_by: str = ""  # OUTPUT: how a case that lacks facts settled it (see `OutputResult.settled_by`)
