"""Combining the values of the clauses that apply to an output, and the fast path's memo of it.

`combine_known` is the rule of the specification (`engine/evaluator.py`, points 2 and 3) for an
output whose clauses are all known; the general path and the fast path both use it. `Resolver`
remembers, per set of clauses that held, what the fast path's outputs are.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..model import OutputResult, Outputs, to_json_value
from .runtime import Abort, held_clauses, held_key


def canonical(value: Any) -> Any:
    """Values compare by their JSON form: 1 and 1.0 are one value, a list and a tuple of the same
    items too, while True and 1 are not. An amount of money (a Decimal) is its own key: amounts are
    equal exactly when their JSON forms are (5.0 and 5.00 are one), and never equal to a key of
    another value (a text), so no JSON form needs computing."""
    if type(value) is Decimal:
        return value
    return repr(to_json_value(value))


class Outcome:
    __slots__ = ("kind", "value", "deciders", "missing", "message")

    def __init__(self, kind: str, value: Any = None, deciders: tuple = (), missing: frozenset = frozenset(),
                 message: str = "") -> None:
        self.kind, self.value, self.deciders, self.missing, self.message = kind, value, deciders, missing, message

    def same_as(self, other: "Outcome") -> bool:
        return self.kind == other.kind == "value" and canonical(self.value) == canonical(other.value)


def combine_known(declared, values: list[tuple[str, Any]]) -> Outcome:
    """An output's value from the (clause id, value) of the clauses that apply to it, all known."""
    if declared.collects:
        items: list = []
        for _, value in values:
            items.extend(v for v in value if v not in items)
        if not values:
            return Outcome("value", tuple(declared.default or ()))
        return Outcome("value", tuple(items), tuple(cid for cid, _ in values))
    if not values:
        return Outcome("value", declared.default)
    if len({canonical(v) for _, v in values}) > 1:
        ids = ", ".join(f"`{cid}`" for cid, _ in values)
        return Outcome("error", message=f"conflict: clauses {ids} set `{declared.name}` to different values")
    return Outcome("value", values[0][1], tuple(cid for cid, _ in values))



#: How many distinct sets of clauses that held are remembered per program (and per resolution point).
MAX_RESOLUTIONS = 4096


class Resolver:
    """Outputs resolved on the fast path, remembered by the clauses that held.

    With every read value known, which clauses set an output and which set those aside is a
    function of the set of clauses that held: that set (a bitmask, or the tuple of their indices,
    see `runtime.held_key`) is the key. A template of constants is one `Outputs` shared by every decision with that set (it cannot
    be changed); then-values computed from facts are read from `values` by slot.
    """

    def __init__(self, program) -> None:
        self.program = program
        self.plan = program.plan
        self.finals: dict[int, tuple] = {}
        self.points: dict[tuple, tuple] = {}

    def final(self, held, values) -> "Outputs":
        key = held_key(held)
        template = self.finals.get(key)
        if template is None:
            template = self._template(key, range(len(self.plan.outputs)))
            if len(self.finals) < MAX_RESOLUTIONS:
                self.finals[key] = template
        outputs, computed = template
        if not computed:
            return outputs
        changed = dict(outputs)
        for name, deciders, sources in computed:
            result = _new(OutputResult)  # OutputResult.trusted, inlined (the fast path's hot loop)
            _set(result, "__dict__", {"value": _one_value(sources, values), "status": "decided", "clauses": deciders,
                                      "missing": (), "regardless_of": ()})
            changed[name] = result
        return Outputs(changed)

    def point(self, stratum: int, held, values, read: list) -> None:
        """Resolve the outputs that later strata read, into `read` (as a clause reads them)."""
        held = held_key(held)
        key = (stratum, held)
        entries = self.points.get(key)
        if entries is None:
            constants, computed = self._template(held, self.plan.resolve_after[stratum])
            entries = tuple((self.plan.output_index[name], result.value, None) for name, result in constants.items()
                            if result is not None) + tuple((self.plan.output_index[name], None, sources)
                                                           for name, _, sources in computed)
            if len(self.points) < MAX_RESOLUTIONS:
                self.points[key] = entries
        for output, value, sources in entries:
            if sources is not None:
                value = _one_value(sources, values)
            # Lists are read as lists, so that `items == ['x']` compares like with like.
            read[output] = list(value) if isinstance(value, tuple) else value

    def _template(self, held_key, outputs) -> tuple["Outputs", tuple]:
        """For each output: its result when every literal decides it, or how to compute it."""
        plan, policy = self.plan, self.program.policy
        held = held_clauses(held_key, len(plan.clause_ids))
        constants: dict[str, OutputResult | None] = {}
        computed = []
        for output in outputs:
            name = plan.outputs[output]
            effective = [c for c in plan.setters[output]
                         if c in held and not any(w in held for w in plan.overriders[c])]
            sources = [next(v for v in plan.then[c] if v.output == output) for c in effective]
            deciders = tuple(plan.clause_ids[c] for c in effective)
            if any(v.expression is not None for v in sources):
                constants[name] = None  # keeps the declaration order of the outputs
                computed.append((name, deciders, tuple(("slot", v.slot) if v.expression is not None else ("literal", v.literal)
                                                       for v in sources)))
                continue
            outcome = combine_known(policy.outputs[name], [(plan.clause_ids[c], v.literal) for c, v in zip(effective, sources)])
            if outcome.kind != "value":
                raise Abort  # a conflict: the general path reports it
            constants[name] = OutputResult.trusted(outcome.value, "decided" if outcome.deciders else "default",
                                                   outcome.deciders)
        return Outputs(constants), tuple(computed)


_new, _set = object.__new__, object.__setattr__


def _one_value(sources: tuple, values: list) -> Any:
    """The value several clauses agree on (validation proves they cannot differ; if they do, the
    general path reports the conflict)."""
    found = [values[ref] if kind == "slot" else ref for kind, ref in sources]
    if len(found) > 1 and len({canonical(v) for v in found}) > 1:
        raise Abort
    return found[0]


