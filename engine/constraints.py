"""Checking a case against its policy's constraints: rules over facts that every case satisfies.

A constraint is read like a clause's `when`, with three values: it is broken only when the facts the
case gives make it false. One that reads a fact the case does not give is not judged (unknown), and
neither is one that fails to evaluate (the type checker rules out all but runtime failures, such as
a date too far for `add_months`): refusing a case needs a certain answer.

This is the simple, obviously correct reading, and the oracle the tests hold the plan to. Deciding a
case does not start here: the plan's generated fast path tests every constraint two-valued first
(`plan/codegen.py`), and only a case it cannot clear (a constraint false, a fact missing, a failure)
reaches `refuse`, from the evaluator's general path.
"""

from __future__ import annotations

from typing import Any, Iterable

from .errors import CaseError, Diagnostic
from .expressions import OPERATORS, CompiledExpression, Unknown
from .model import Constraint, Policy
from .plan.kleene import Closure, compile_closure
from .values import show_value


class _Facts:
    """What a closure reads names from: the case's facts, a missing one raising `Unknown`."""

    __slots__ = ("facts", "names")

    def __init__(self, facts: dict[str, Any], names: tuple[str, ...]):
        self.facts, self.names = facts, names

    def read(self, index: int) -> Any:
        name = self.names[index]
        if name not in self.facts:
            raise Unknown(frozenset((name,)))
        return self.facts[name]


#: Each constraint's closure, compiled on first use in this process (closures do not travel to workers
#: or the plan cache; the expression does), by its text and the numbers in it read as amounts.
MAX_CACHED_CLOSURES = 4096
_CLOSURES: dict[tuple[str, frozenset[int]], tuple[Closure, tuple[str, ...]]] = {}


def _closure(expression: CompiledExpression) -> tuple[Closure, tuple[str, ...]]:
    key = (expression.text, expression.amounts)
    if key not in _CLOSURES:
        if len(_CLOSURES) >= MAX_CACHED_CLOSURES:  # a process that loads policy after policy
            _CLOSURES.clear()
        names = tuple(sorted(expression.names))
        _CLOSURES[key] = compile_closure(expression.tree, {name: i for i, name in enumerate(names)}, OPERATORS), names
    return _CLOSURES[key]


def holds(constraint: Constraint, facts: dict[str, Any]) -> bool | None:
    """True or False as the case's facts decide the constraint; None when they do not."""
    closure, names = _closure(constraint.expression)
    try:
        value = closure(_Facts(facts, names))
    except Unknown:
        return None
    except Exception:  # noqa: BLE001 - a runtime failure is no certain answer; the decision reports it if it matters
        return None
    return value if isinstance(value, bool) else None


def broken(policy: Policy, facts: dict[str, Any], only: Iterable[str] | None = None) -> list[Diagnostic]:
    """A diagnostic for each constraint of `policy` (of those named in `only`) that the facts break,
    naming the facts it reads and their values; placed at the constraint in the policy file."""
    problems = []
    for name, constraint in policy.constraints.items():
        if only is not None and name not in only:
            continue
        if holds(constraint, facts) is False:
            given = ", ".join(f"{fact} = {show_value(facts[fact])}" for fact in sorted(constraint.expression.names)
                              if fact in facts)
            problems.append(Diagnostic("constraint_broken", f"the case breaks constraint `{name}`: {constraint.message} "
                                       f"({given})", constraint.location, name,
                                       f"check the case's facts against `{constraint.expression.text}`"))
    return problems


def refuse(policy: Policy, facts: dict[str, Any], only: Iterable[str] | None = None) -> None:
    """Raise `CaseError` with `broken`'s diagnostics when there are any."""
    problems = broken(policy, facts, only)
    if problems:
        raise CaseError(problems)


def shared(policies: list[Policy] | tuple[Policy, ...]) -> set[str]:
    """The names of the constraints that every one of `policies` has, alike (by the first's)."""
    if not policies:
        return set()
    names = set(policies[0].constraints)
    for policy in policies[1:]:
        names &= {name for name, c in policy.constraints.items() if c == policies[0].constraints.get(name)}
    return names


def check(policies: list[Policy] | tuple[Policy, ...], facts: dict[str, Any]) -> None:
    """Raise `CaseError` when the facts break a constraint that every one of `policies` (the
    candidates that may decide the case) has: one they all share holds whichever decides."""
    if policies and policies[0].constraints:
        refuse(policies[0], facts, shared(policies))


def contradiction(policy: Policy, facts: dict[str, Any], names: list[str]) -> None:
    """Refuse a case whose facts, though no constraint alone is broken by what they give, leave no
    completion that keeps `names` all at once (the solver found them: engine/settle.py)."""
    read = sorted({fact for name in names for fact in policy.constraints[name].expression.names if fact in facts})
    given = ", ".join(f"{fact} = {show_value(facts[fact])}" for fact in read)
    listed = ", ".join(f"`{name}`" for name in names)
    first = policy.constraints[names[0]] if names else None
    raise CaseError([Diagnostic(
        "constraints_contradicted", f"no value of the missing facts lets the case keep constraints {listed} together "
        f"({given})", first.location if first else None, names[0] if names else "",
        "check the case's facts: " + "; ".join(f"{policy.constraints[n].message}" for n in names))])
