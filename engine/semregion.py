"""Where two versions decide an output differently: the dates searched first, and pieces of the region.

Two helpers of the semantic diff (engine/semdiff.py), both over z3 terms:

- `Window`: the first search for a difference looks among cases whose dates lie near the compared
  versions' first day (a year before to three years after). There a date's year, month and day are
  functions of its day number written out month by month, substituted for the variables the symbolic
  form ties to it (`Definitions.civil`), which the solver otherwise finds slowly (an EU query: unknown
  after 20 s at the default budget, sat in 0.3 s in the window). A case found there is a real case; no
  case found there proves nothing about other dates, so the caller then asks over every date.
- `Region.piece`: a description of the cases that differ around one witness, one fact changed at a
  time (research/symbolic-reasoning.md §4d, made local): the values of each few-valued fact (enum,
  bool, null or given) for which the output still differs, and for a measured quantity (a whole-number
  derived value such as `days_since_purchase`, or an int or money fact) the runs of its values for
  which it differs, found by binary search with every gap looked for. With every other fact pinned,
  each probe is a small formula, so this stays fast where the whole query is slow. What it says is
  exact for those neighbours of the witness, and only an example of the region as a whole (the
  caller says so, and blocks the piece's box to look for another).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .symbolic_ops import day_number, load_z3

#: The dates the first search looks among, around the compared versions' first day.
WINDOW_BEFORE_DAYS = 366
WINDOW_AFTER_DAYS = 3 * 366
#: Computed dates (a guarantee's end: a date plus months) may lie this many years past the window.
_COMPUTED_YEARS = 4
#: At most this many runs of a measured quantity, and candidate gaps looked at, per measure.
MAX_RUNS = 4
_MAX_GAP_PROBES = 12
#: The widest range a quantity without declared bounds is searched over (a fact's value, in its unit).
_SEARCH_BOUND = 10**9


@dataclass(frozen=True)
class Measure:
    """A quantity measured around a witness: the fact changed to move it, and the runs of its values
    (inclusive; `open_low`/`open_high` when a run reaches the edge of what was searched) for which
    the output differs. `checked` is False when some value between the runs was not looked at."""

    name: str
    varied: str
    kind: str  # int (a count, e.g. days) or money (cents)
    runs: tuple[tuple[int, int, bool, bool], ...]
    checked: bool = True

    def to_dict(self) -> dict:
        show = _money if self.kind == "money" else (lambda v: v)
        return {"name": self.name, "varied": self.varied,
                "runs": [{"from": None if lo_open else show(lo), "to": None if hi_open else show(hi)}
                         for lo, hi, lo_open, hi_open in self.runs],
                "gaps_checked": self.checked}

    def text(self) -> str:
        show = _money if self.kind == "money" else str
        parts = []
        for lo, hi, lo_open, hi_open in self.runs:
            if lo_open and hi_open:
                parts.append("any value searched")
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
    still differs, the others as in the witness; only facts where some value does not) and the
    measured quantities that matter."""

    facts: dict[str, Any]
    before: Any
    after: Any
    finite: tuple[tuple[str, tuple[str, ...]], ...]
    measures: tuple[Measure, ...]

    def description(self) -> str:
        parts = [f"{name} {' or '.join(values)}" for name, values in self.finite]
        parts += [m.text() for m in self.measures]
        return ", ".join(parts) if parts else "no single fact's change makes the versions agree"

    def to_dict(self) -> dict:
        from .model import to_json_value  # noqa: PLC0415

        return {"description": self.description(), "facts": to_json_value(self.facts),
                "before": to_json_value(self.before), "after": to_json_value(self.after),
                "finite": {name: list(values) for name, values in self.finite},
                "measures": [m.to_dict() for m in self.measures]}


class Window:
    """The dates the first search looks among, and the substitution that writes out a date's parts there.

    `restrict(term)` gives the term with every civil (year, month, day) variable of `forms` replaced by
    its value as a function of the day number; `bounds` are the constraints that keep every date fact
    and every day number split into parts inside the window (without them the substitution is wrong)."""

    def __init__(self, forms: list, anchor: dt.date):
        z3 = load_z3()
        self.first = anchor - dt.timedelta(days=WINDOW_BEFORE_DAYS)
        self.last = anchor + dt.timedelta(days=WINDOW_AFTER_DAYS)
        low, high = dt.date(self.first.year - 1, 1, 1), dt.date(self.last.year + _COMPUTED_YEARS, 12, 31)
        months = []
        year, month = low.year, low.month
        while dt.date(year, month, 1) <= high:
            months.append((year, month, day_number(dt.date(year, month, 1))))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        self.bounds: list = []
        self.pairs: list = []
        self.civil: set = set()
        seen_facts: set[str] = set()
        for form in forms:
            for name, ft in form.facts.items():
                if ft.fact.type in ("date", "datetime") and name not in seen_facts:
                    seen_facts.add(name)
                    day = ft.raw.value / 86400 if ft.fact.type == "datetime" else ft.raw.value
                    self.bounds += [day >= day_number(self.first), day <= day_number(self.last)]
            for n, y, m, d in getattr(form.definitions, "civil", ()):
                if y.get_id() in self.civil:
                    continue
                year_of, month_of, start = z3.IntVal(months[0][0]), z3.IntVal(months[0][1]), z3.IntVal(months[0][2])
                for y0, m0, s0 in months[1:]:
                    later = n >= s0
                    year_of, month_of, start = z3.If(later, y0, year_of), z3.If(later, m0, month_of), z3.If(later, s0, start)
                self.pairs += [(y, year_of), (m, month_of), (d, n - start + 1)]
                self.civil.update((y.get_id(), m.get_id(), d.get_id()))
                self.bounds += [n >= day_number(low), n <= day_number(high)]
        self.bounds = [self.restrict(b) for b in self.bounds]

    def restrict(self, term):
        z3 = load_z3()
        # A day number split into parts may itself be computed from another's parts (a date plus
        # months of a date plus months): substitute until none is left (the nesting is shallow).
        for _ in range(8):
            if not self.pairs:
                return term
            done = z3.substitute(term, *self.pairs)
            if done.eq(term):
                return term
            term = done
        return term

    def definitions(self, form) -> list:
        """The form's definitions that do not define a date's parts (those the window writes out)."""
        return [d for d in form.definitions if not (_constants(d) & self.civil)]


def _constants(term) -> set:
    """The ids of the uninterpreted constants (variables) in a term."""
    z3 = load_z3()
    found, seen, stack = set(), set(), [term]
    while stack:
        t = stack.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        if z3.is_const(t) and t.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            found.add(t.get_id())
        stack.extend(t.children())
    return found


@dataclass
class Quantity:
    """A whole-number quantity a piece may be measured in: its terms in the window (`value`, `ok`,
    `null`) and over every date (`far`: the same three), in the query's context, and the fact changed
    to move it (`varied`)."""

    name: str
    value: Any
    ok: Any
    null: Any
    far: tuple
    varied: str


class Region:
    """Probes around witnesses of one difference. `inside` and `outside` are the windowed query with
    the difference and with its negation (lists of Bool terms in the query's context); `facts` the
    union of both versions' facts (name → FactTerm-like, terms in that context)."""

    def __init__(self, ctx, inside: list, outside: list, facts: dict, quantities: list[Quantity], window: Window,
                 rlimit: int):
        z3 = load_z3()
        self.z3, self.ctx, self.rlimit = z3, ctx, rlimit
        self.inside, self.outside = z3.And(inside), z3.And(outside)
        self.facts, self.quantities = facts, quantities
        self.days = (day_number(window.first), day_number(window.last))

    # -- probes -------------------------------------------------------------------------------------

    def _pins(self, model, free: str) -> list:
        """(variable, value) pairs pinning every fact but `free` to its value in `model`."""
        z3 = self.z3
        pairs = []
        for name, ft in self.facts.items():
            if name == free:
                continue
            for var in (ft.raw.value, ft.raw.null, ft.raw.offset, ft.given):
                if var is not None and _variable(var):
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

    # -- a piece --------------------------------------------------------------------------------------

    def piece(self, model) -> tuple[tuple, tuple[Measure, ...], Any, Any]:
        """The few-valued facts and the measures that matter around the witness `model`, and the box they
        describe (the cases whose restricted facts and quantities are in those sets) as a Bool in the
        window's terms and over every date."""
        z3 = self.z3
        finite, near, far = [], [], []
        for name, ft in self.facts.items():
            held = self._finite(model, name, ft)
            if held is not None:
                finite.append((name, tuple(text for text, _ in held)))
                near.append(z3.Or([cond for _, cond in held]))
                far.append(near[-1])
        measures, used = [], set()
        for quantity in self.quantities:
            if quantity.varied in used:
                continue
            measure = self._measure(model, quantity)
            if measure is not None:
                used.add(quantity.varied)
                measures.append(measure)
                for boxes, (value, ok, null) in ((near, (quantity.value, quantity.ok, quantity.null)), (far, quantity.far)):
                    boxes.append(z3.And(ok, z3.Not(null), z3.Or([z3.And(value >= lo, value <= hi)
                                                                  for lo, hi, _, _ in measure.runs])))
        true = z3.BoolVal(True, self.ctx)
        return tuple(finite), tuple(measures), z3.And(near) if near else true, z3.And(far) if far else true

    def _finite(self, model, name: str, ft) -> list | None:
        """For a few-valued fact (bool, enum, or null or given): [(value as text, its condition)] for
        the values the output still differs with, the other facts as in the witness; None when every
        value does (the fact does not matter there), or it is no such fact."""
        z3, fact, raw = self.z3, ft.fact, ft.raw
        nullable = fact.nullable and _variable(raw.null)
        if fact.type == "bool":
            options = [("false", z3.Not(raw.value)), ("true", raw.value)]
        elif fact.type == "enum":
            options = [(v, raw.value == i) for i, v in enumerate(fact.values)]
        else:
            options = []
        if nullable:
            # A null has no value to keep, and a value given where the witness has null none to
            # start from: the fact's value is left free for these.
            options = [(text, z3.And(z3.Not(raw.null), cond)) for text, cond in options] or [("given", z3.Not(raw.null))]
            options.append(("null", raw.null))
        if len(options) < 2:
            return None
        pins = self._pins(model, name)
        inside, outside = z3.substitute(self.inside, *pins), z3.substitute(self.outside, *pins)
        held, agreed = [], False
        for text, cond in options:
            differs = self._sat(z3.And(inside, cond))
            if differs is not False:
                held.append((text, cond))
            elif self._sat(z3.And(outside, cond)) is not False:
                agreed = True
            # else no case has that value there (a constraint, a selection): it says nothing
        return held if agreed else None

    def _measure(self, model, q: Quantity) -> Measure | None:
        """The values of `q` the output differs with as `q.varied` moves, the rest as in the witness;
        None when every value it reaches differs (it does not matter there), the witness gives it no
        value, or the budget ran out."""
        z3, ctx = self.z3, self.ctx
        if not z3.is_true(model.eval(z3.And(q.ok, z3.Not(q.null)), model_completion=True)):
            return None
        ft = self.facts[q.varied]
        raw, fact = ft.raw, ft.fact
        step = z3.Int("semregion.step", ctx)
        if fact.type == "datetime":
            # The day moves; the time of day and the offset stay the witness's.
            seconds = model.eval(raw.value, model_completion=True).as_long()
            moved = step * 86400 + seconds % 86400
            edges = self.days
        elif fact.type == "date":
            moved, edges = step, self.days
        else:
            edges = (_bound(fact.minimum, fact.type, -_SEARCH_BOUND), _bound(fact.maximum, fact.type, _SEARCH_BOUND))
            moved = step
        pins = self._pins(model, q.varied) + [(raw.value, moved)]
        for var in (raw.offset, ft.given):
            if var is not None and _variable(var):
                pins.append((var, model.eval(var, model_completion=True)))
        if _variable(raw.null):
            pins.append((raw.null, z3.BoolVal(False, ctx)))
        value = z3.simplify(z3.substitute(q.value, *pins))
        defined = z3.substitute(z3.And(q.ok, z3.Not(q.null)), *pins)
        searched = z3.And(step >= edges[0], step <= edges[1])
        inside = z3.simplify(z3.And(z3.substitute(self.inside, *pins), defined, searched))
        outside = z3.simplify(z3.And(z3.substitute(self.outside, *pins), defined, searched))
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
        # A run's end is open when it lies where the search stopped (the window's first or last day, or
        # the widest range searched), not where the output stops differing.
        marked = tuple((lo, hi, self._sat(z3.And(inside, value == lo, step == edges[0])) is True and _declared(fact, 0),
                        self._sat(z3.And(inside, value == hi, step == edges[1])) is True and _declared(fact, 1))
                       for lo, hi in runs)
        kind = "money" if fact.type == "money" and q.name == q.varied else "int"
        return Measure(q.name, q.varied, kind, marked, checked)

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
        while True:  # find a value past the extreme: `best` holds, `best + direction·span` does not
            result = s.check(beyond(best + direction * span))
            if result == z3.unknown:
                return None
            if result == z3.unsat:
                break
            best = s.model().eval(value, model_completion=True).as_long()
            span *= 2
        lo, hi = 0, span  # best + direction·lo is reached; best + direction·hi is not
        while hi - lo > 1:
            middle = (lo + hi) // 2
            result = s.check(beyond(best + direction * middle))
            if result == z3.unknown:
                return None
            if result == z3.sat:
                lo = middle
            else:
                hi = middle
        return best + direction * lo


def _declared(fact, side: int) -> bool:
    """Whether an int or money fact's edge of the search on `side` (0 low, 1 high) is only the search's
    (no declared bound there); a date's edges are always the window's."""
    if fact.type in ("date", "datetime"):
        return True
    return (fact.minimum if side == 0 else fact.maximum) is None


def _variable(term) -> bool:
    """An uninterpreted constant (a fact's variable or flag), not a value."""
    z3 = load_z3()
    return term is not None and z3.is_const(term) and term.decl().kind() == z3.Z3_OP_UNINTERPRETED


def _bound(limit, kind: str, default: int) -> int:
    if limit is None:
        return default
    from decimal import Decimal  # noqa: PLC0415

    return int(Decimal(str(limit)) * 100) if kind == "money" else int(limit)
