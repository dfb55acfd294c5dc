"""Whether implementations of the core return procedure give the same answers, case by case.

An answer is the hand-written function's dict: the three outputs and the deciding rule. Values
are compared with their types (1 and 1.0, or 0 and False, differ), so a baseline cannot agree by
accident of Python's numeric equality.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import engine
from engine.model import to_json_value

OUTPUTS = ("outcome", "shipping_paid_by", "refund_fraction")
KEYS = OUTPUTS + ("rule",)


@dataclass(frozen=True)
class Unsettled:
    """An output Verdict did not decide (undetermined or error): equal to no answer of another implementation."""

    status: str
    missing: tuple[str, ...] = ()


def verdict_answer(decision: engine.Decision) -> dict[str, Any]:
    """The outputs of a decision, and the rule that decided `outcome` (its clause id, r1 → R1)."""
    found: dict[str, Any] = {}
    for name in OUTPUTS:
        result = decision.outputs[name]
        found[name] = (to_json_value(result.value) if result.status in ("decided", "default")
                       else Unsettled(result.status, result.missing))
    deciders = decision.outputs["outcome"].clauses
    # Exactly one clause decides under first match wins; two would mean a missing `overrides`.
    found["rule"] = deciders[0].upper() if len(deciders) == 1 else "+".join(deciders).upper() or None
    if decision.errors:
        found["errors"] = [d.message for d in decision.errors]
    return found


def same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


@dataclass(frozen=True)
class Disagreement:
    case: int
    implementation: str
    key: str
    expected: Any
    found: Any
    facts: dict[str, Any]


def disagreements(facts: Sequence[dict[str, Any]], reference: Sequence[dict[str, Any]],
                  others: dict[str, Sequence[dict[str, Any]]]) -> list[Disagreement]:
    """Every (case, implementation, key) where an implementation differs from the reference.

    Each sequence holds one answer per case, in the order of `facts`; an answer with `errors`
    disagrees even when its outputs match.
    """
    problems = []
    for name, answers in others.items():
        if len(answers) != len(reference):
            raise ValueError(f"{name} answered {len(answers)} cases, the reference {len(reference)}")
        for index, (expected, found) in enumerate(zip(reference, answers)):
            for key in KEYS:
                if not same(expected[key], found.get(key)):
                    problems.append(Disagreement(index, name, key, expected[key], found.get(key), facts[index]))
            if found.get("errors"):
                problems.append(Disagreement(index, name, "errors", [], found["errors"], facts[index]))
    return problems
