"""Where two versions decide an output differently: pieces of the region, described around witnesses.

A helper of the semantic diff (engine/semdiff.py). The region of cases that differ is a formula nobody
reads (z3's quantifier elimination gave 171 lines for one slice of a toy policy: research/
symbolic-reasoning.md §4d), so it is described piece by piece, each piece around one witness and made
of what one changed fact shows (§4d's slices and intervals, made local):

- for each few-valued fact (enum, bool, or null or given): the values for which the output still
  differs, the other facts as in the witness; a fact is named only where some value makes the two
  versions agree (a value no case may take there, by a constraint or the selection, says nothing);
- for each measured quantity (a whole-number derived value such as `days_since_purchase`, moved by the
  last date or number it reads, then each int and money fact): the runs of its values for which the
  output differs as that fact moves, found by binary search, each gap confirmed (a value where some
  case agrees and none differs), at most `MAX_RUNS`.

With every other fact pinned, each probe is a small formula: z3 answers it in milliseconds where the
whole query takes a second. What a piece says is exact for those neighbours of its witness and only an
example of the region as a whole; its box (the named facts' values and the quantities' runs, every other
fact free) is what the caller blocks to look for another piece, and what it proves the pieces cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .symbolic_ops import load_z3

#: At most this many runs of one measured quantity, and this many values looked at as possible gaps.
MAX_RUNS = 4
_MAX_GAP_PROBES = 12


@dataclass(frozen=True)
class Measure:
    """A quantity measured around a witness: the fact moved to move it, and the runs of its values
    (inclusive; `open_low`/`open_high` when a run reaches the edge of what a case may hold there, the
    encoding's dates 1901–2099 or a number's engine limits, rather than where the output stops
    differing) for which the output differs. `checked` is False when some value between the runs was
    not looked at (more than `MAX_RUNS` runs, or gaps not all confirmed)."""

    name: str
    varied: str
    kind: str  # int (a count, such as days) or money (cents)
    runs: tuple[tuple[int, int, bool, bool], ...]
    checked: bool = True

    def to_dict(self) -> dict:
        show = _money if self.kind == "money" else (lambda v: v)  # noqa: E731
        return {"name": self.name, "varied": self.varied,
                "runs": [{"from": None if lo_open else show(lo), "to": None if hi_open else show(hi)}
                         for lo, hi, lo_open, hi_open in self.runs],
                "gaps_checked": self.checked}

    def text(self) -> str:
        show = _money if self.kind == "money" else str
        parts = []
        for lo, hi, lo_open, hi_open in self.runs:
            if lo_open and hi_open:
                parts.append("any value")
            elif lo_open:
                parts.append(f"≤ {show(hi)}")
            elif hi_open:
                parts.append(f"≥ {show(lo)}")
            else:
                parts.append(show(lo) if lo == hi else f"{show(lo)}–{show(hi)}")
        return f"{self.name} {' or '.join(parts)}" + ("" if self.checked else " (gaps not all checked)")


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


@dataclass(frozen=True)
class Piece:
    """One part of the region: a witness case (its facts as a case file writes them, and the output's
    value under each version), the few-valued facts it needs (fact → the values for which the output
    still differs, the others as in the witness) and the measured quantities that matter."""

    facts: dict[str, Any]
    before: Any
    after: Any
    finite: tuple[tuple[str, tuple[str, ...]], ...] = ()
    measures: tuple[Measure, ...] = ()

    def description(self) -> str:
        parts = [f"{name} {' or '.join(values)}" for name, values in self.finite]
        parts += [m.text() for m in self.measures]
        return ", ".join(parts) if parts else "no one fact's change makes the versions agree"

    def to_dict(self) -> dict:
        from .model import to_json_value  # noqa: PLC0415

        return {"description": self.description(), "facts": to_json_value(self.facts),
                "before": to_json_value(self.before), "after": to_json_value(self.after),
                "finite": {name: list(values) for name, values in self.finite},
                "measures": [m.to_dict() for m in self.measures]}


@dataclass
class Quantity:
    """A whole-number quantity a piece may be measured in: its terms, the fact moved to move it
    (`varied`), the variable that moves (a datetime's day; the time of day and the offset stay the
    witness's) and the least and greatest value that variable may take (`edges`), with whether each is
    only the encoding's or the engine's limit (`open`), not one the policy declares."""

    name: str
    value: Any
    ok: Any
    null: Any
    varied: str
    variable: Any
    edges: tuple[int, int]
    open: tuple[bool, bool]
    money: bool = False


class Region:
    """Probes around witnesses of one difference. `inside` and `outside` are the query with the
    difference and with its negation (Bool terms); `facts` both versions' facts (name → FactTerm-like:
    `fact`, `raw`, `given`, `variables`); every term in one z3 context, `ctx`."""

    def __init__(self, ctx, inside: list, outside: list, facts: dict, quantities: list[Quantity], rlimit: int):
        z3 = load_z3()
        self.z3, self.ctx, self.rlimit = z3, ctx, rlimit
        self.inside, self.outside = z3.And(inside), z3.And(outside)
        self.facts, self.quantities = facts, quantities

    def _pins(self, model, free: set) -> list:
        """(variable, value) pairs pinning every fact's variables, null and given flags to their values
        in `model`, but those in `free` (by id)."""
        pairs = []
        for ft in self.facts.values():
            for var in (*ft.variables, ft.raw.null, ft.given):
                if _variable(var) and var.get_id() not in free:
                    pairs.append((var, model.eval(var, model_completion=True)))
        return pairs

    def _solver(self, formula):
        s = self.z3.Solver(ctx=self.ctx)
        s.set("rlimit", self.rlimit)
        s.add(formula)
        return s

    def _sat(self, formula) -> bool | None:
        """True or False, or None when the budget ran out."""
        z3 = self.z3
        formula = z3.simplify(formula)
        if z3.is_true(formula) or z3.is_false(formula):
            return z3.is_true(formula)
        result = self._solver(formula).check()
        return None if result == z3.unknown else result == z3.sat

    def piece(self, model) -> tuple[tuple, tuple[Measure, ...], Any]:
        """The few-valued facts and the measures that matter around the witness `model`, and the box
        they describe (as a Bool): cases whose named facts and quantities are in those sets."""
        z3 = self.z3
        finite, box = [], []
        for name, ft in self.facts.items():
            held = self._finite(model, ft)
            if held is not None:
                finite.append((name, tuple(text for text, _ in held)))
                box.append(z3.Or([cond for _, cond in held]))
        measures, moved = [], set()
        for quantity in self.quantities:
            if quantity.varied in moved:
                continue  # one measure per moving fact: days since the order, not also days since shipping
            measure = self._measure(model, quantity)
            if measure is not None:
                moved.add(quantity.varied)
                measures.append(measure)
                box.append(z3.And(quantity.ok, z3.Not(quantity.null), z3.Or(
                    [z3.And(quantity.value >= lo, quantity.value <= hi) for lo, hi, _, _ in measure.runs])))
        return tuple(finite), tuple(measures), z3.And(box) if box else z3.BoolVal(True, self.ctx)

    def _finite(self, model, ft) -> list | None:
        """For a few-valued fact: [(value as text, its condition)] for the values the output still
        differs with, the other facts as in the witness; None when no value makes the versions agree
        there (the fact does not matter), or it is no such fact."""
        z3, fact, raw = self.z3, ft.fact, ft.raw
        nullable = fact.nullable and _variable(raw.null)
        if fact.type == "bool":
            options = [("false", z3.Not(raw.value)), ("true", raw.value)]
        elif fact.type == "enum":
            options = [(v, raw.value == i) for i, v in enumerate(fact.values)]
        else:
            options = []
        if nullable:
            # A null has no value to keep, and a value given where the witness has null none to start
            # from: the fact's own variables are left free for these.
            options = [(text, z3.And(z3.Not(raw.null), cond)) for text, cond in options] or [("given", z3.Not(raw.null))]
            options.append(("null", raw.null))
        if len(options) < 2:
            return None
        free = {v.get_id() for v in (*ft.variables, raw.null) if _variable(v)}
        pins = self._pins(model, free)
        inside, outside = z3.substitute(self.inside, *pins), z3.substitute(self.outside, *pins)
        held, agreed = [], False
        for text, cond in options:
            if self._sat(z3.And(inside, cond)) is not False:
                held.append((text, cond))
            elif self._sat(z3.And(outside, cond)) is not False:
                agreed = True
            # else no case may have that value there (a constraint, the selection): it says nothing
        return held if agreed else None

    def _measure(self, model, q: Quantity) -> Measure | None:
        """The runs of `q` for which the output differs as its variable moves, the rest as in the
        witness; None when every value it reaches differs (it does not matter there), the witness gives
        it no value, or the budget ran out."""
        z3 = self.z3
        if not z3.is_true(model.eval(z3.And(q.ok, z3.Not(q.null)), model_completion=True)):
            return None
        pins = self._pins(model, {q.variable.get_id()})
        step = q.variable
        value = z3.simplify(z3.substitute(q.value, *pins))
        defined = z3.substitute(z3.And(q.ok, z3.Not(q.null)), *pins)
        inside = z3.simplify(z3.And(z3.substitute(self.inside, *pins), defined))
        outside = z3.simplify(z3.And(z3.substitute(self.outside, *pins), defined))
        if self._sat(outside) is not True:
            return None  # no value of it makes the versions agree (or the budget ran out)
        low, high = self._extreme(inside, value, -1), self._extreme(inside, value, 1)
        if low is None or high is None:
            return None
        runs, checked, start, probes = [], True, low, 0
        while start is not None:
            if len(runs) == MAX_RUNS:
                checked = False
                break
            # The run from `start` ends before the first value above it that no differing case has.
            end, after = None, start
            while end is None:
                probes += 1
                if probes > _MAX_GAP_PROBES:
                    checked = False
                    break
                gap = self._extreme(z3.And(outside, value > after, value <= high), value, -1)
                if gap is None:
                    break
                if self._sat(z3.And(inside, value == gap)) is False:
                    end = gap - 1
                else:
                    after = gap  # some cases with this value differ and some do not: no gap
            if end is None:
                runs.append((start, high))
                break
            runs.append((start, end))
            start = self._extreme(z3.And(inside, value > end), value, -1)
        # A run's end is open where it lies at the edge of what the moving variable may hold and that
        # edge is only the encoding's or the engine's, not where the output stops differing.
        marked = tuple((lo, hi,
                        q.open[0] and self._sat(z3.And(inside, value == lo, step == q.edges[0])) is True,
                        q.open[1] and self._sat(z3.And(inside, value == hi, step == q.edges[1])) is True)
                       for lo, hi in runs)
        return Measure(q.name, q.varied, "money" if q.money else "int", marked, checked)

    def _extreme(self, formula, value, direction: int) -> int | None:
        """The least (`direction` -1) or greatest (+1) value of `value` under `formula`: gallop from a
        model's value, then halve; None when there is none or the budget ran out."""
        z3 = self.z3
        s = self._solver(formula)
        if s.check() != z3.sat:
            return None
        best = s.model().eval(value, model_completion=True).as_long()
        beyond = (lambda v: value >= v) if direction > 0 else (lambda v: value <= v)  # noqa: E731
        span = 1
        while True:  # `best` is reached; is `best + direction·span`?
            result = s.check(beyond(best + direction * span))
            if result == z3.unknown:
                return None
            if result == z3.unsat:
                break
            best = s.model().eval(value, model_completion=True).as_long()
            span *= 2
        lo, hi = 0, span  # best + direction·lo is reached, best + direction·hi is not
        while hi - lo > 1:
            middle = (lo + hi) // 2
            result = s.check(beyond(best + direction * middle))
            if result == z3.unknown:
                return None
            lo, hi = (middle, hi) if result == z3.sat else (lo, middle)
        return best + direction * lo


def _variable(term) -> bool:
    """An uninterpreted constant (a fact's variable or flag), not a value."""
    z3 = load_z3()
    return term is not None and z3.is_const(term) and term.decl().kind() == z3.Z3_OP_UNINTERPRETED
