"""Calendar terms: a day number's year, month and day, adding days and months to them, and the bounds
of integer terms, in linear integer arithmetic that solvers decide quickly.

Exact for every date: a year is written `400·era + 100·century + 4·cycle + rest` (century 0–3, cycle
0–24, rest 0–3), so whether it is a leap year (`rest == 0` and `century == 0 or cycle >= 1`) and the
day its 1st of January falls on are sums of its parts and of comparisons of small numbers, and a
month's first day comes from a table. Hinnant's days-from-civil, which this replaces, divides by 4,
100, 400 and 5, and each division hides an unknown quotient the solver must search for: free requests
on the EU variant took 5–50 s or ran out of budget, and answer in well under a second this way.

Three rules keep the search small (`split`):

- a date a few days from one already split (`add_days(local_date(delivered_at), 14)`), or months
  from it (`add_months`), gets that date's parts moved by a formula: nothing new to search for;
- a fact's day, which lies from 1901 to 2099 (`DATE_LO`, `DATE_HI`, where every fourth year is a leap
  year), is split into four-year cycles and a day of the cycle: one unknown quotient;
- any other date gets parts that a definition ties to its day number (valid parts with that day
  number: one solution). Definitions hold whatever the facts are, and a query asserts them with the
  facts' domains (`SymbolicPolicy.domain`). Constants are split in Python, so terms over known dates
  fold to constants.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

EPOCH = dt.date(1970, 1, 1)
#: The dates a date or datetime fact holds for the solver: the cases a query speaks of, and so what a
#: proof covers, lie within (the engine's own calendar is wider, to 8999). From 1901 to 2099 every fourth
#: year is a leap year, which keeps a date's parts cheap to find (`_split_in_cycles`).
DATE_LO, DATE_HI = dt.date(1901, 1, 1), dt.date(2099, 12, 31)
#: Python's dates run from year 1 to 9999: `add_days` and `add_months` fail outside.
PY_LO, PY_HI = (dt.date(1, 1, 1) - EPOCH).days, (dt.date(9999, 12, 31) - EPOCH).days

_YEAR_ZERO = -719528  # the day number of 1 January of year 0 (proleptic Gregorian, a leap year)
_MONTH_START = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)  # days before each month, common year


def load_z3():
    import z3  # lazily: deciding a case must never load the solver
    return z3


def day_number(value: dt.date) -> int:
    return (value - EPOCH).days


@dataclass(frozen=True)
class Year:
    """A year as `400·era + 100·century + 4·cycle + rest`: terms (variables, or constants)."""

    era: Any
    century: Any
    cycle: Any
    rest: Any

    @property
    def value(self):
        return 400 * self.era + 100 * self.century + 4 * self.cycle + self.rest

    def leap(self):
        z3 = load_z3()
        return z3.And(self.rest == 0, z3.Or(self.century == 0, self.cycle >= 1))

    def first_day(self):
        """The day number of its 1st of January: whole eras, centuries (the first of an era has a
        leap year more), four-year cycles and years, less the leap year a century's year 0 lacks."""
        z3 = load_z3()
        one = lambda condition: z3.If(condition, 1, 0)  # noqa: E731
        return (_YEAR_ZERO + 146097 * self.era + 36524 * self.century + one(self.century >= 1) + 1461 * self.cycle
                + 365 * self.rest + one(self.rest >= 1) - one(z3.And(self.century >= 1, z3.Or(self.cycle >= 1, self.rest >= 1))))

    def bounds(self) -> list:
        return [self.century >= 0, self.century <= 3, self.cycle >= 0, self.cycle <= 24, self.rest >= 0, self.rest <= 3]

    def simplified(self) -> Year:
        z3 = load_z3()
        return Year(*(z3.simplify(part) for part in (self.era, self.century, self.cycle, self.rest)))


@dataclass(frozen=True)
class Civil:
    """A date as its year's parts, month and day; `number()` is its day number."""

    year: Year
    month: Any
    day: Any

    def days_in_month(self):
        return days_in_month(self.month, self.year.leap())

    def number(self):
        return day_of(self.year, self.month, self.day)


def days_in_month(month, leap):
    z3 = load_z3()
    return z3.If(month == 2, z3.If(leap, 29, 28), z3.If(z3.Or(month == 4, month == 6, month == 9, month == 11), 30, 31))


def _month_start(month):
    z3 = load_z3()
    term = z3.IntVal(_MONTH_START[11])
    for m in range(11, 0, -1):
        term = z3.If(month == m, _MONTH_START[m - 1], term)
    return term


def day_of(year: Year, month, day):
    """The day number of a date given by its parts (valid parts: month 1–12, day within the month)."""
    z3 = load_z3()
    return year.first_day() + _month_start(month) + z3.If(z3.And(month >= 3, year.leap()), 1, 0) + day - 1


class Definitions(list):
    """Constraints defining the calendar's auxiliary variables (they hold in every case), and the terms
    they split, in order, as `(term, parts)`: once a case fixes a term, its parts are computed in
    Python rather than searched for (`SymbolicPolicy.fix`)."""

    def __init__(self) -> None:
        super().__init__()
        self.civil: list[tuple] = []  # (day number, Civil) or (year, Year), in the order they were made
        self.ranges: dict[str, tuple[int, int]] = {}  # a variable's name → the least and greatest value it holds
        self._made: dict[str, Any] = {}
        self._bounds: dict[int, Any] = {}  # `bounds` of terms already seen, by their id


def _name(kind: str, term) -> str:
    key = term.sexpr()
    return f"{kind}[{key if len(key) <= 60 else hashlib.sha256(key.encode()).hexdigest()[:16]}]"


def _constant_year(y: int) -> Year:
    z3 = load_z3()
    era, rest = divmod(y, 400)
    century, rest = divmod(rest, 100)
    cycle, rest = divmod(rest, 4)
    return Year(*(z3.IntVal(v) for v in (era, century, cycle, rest)))


def _year_variables(name: str) -> Year:
    z3 = load_z3()
    return Year(*(z3.Int(f"{name}.{part}") for part in ("era", "century", "cycle", "rest")))


_PART_RANGES = {".century": (0, 3), ".cycle": (0, 24), ".rest": (0, 3), ".m": (1, 12), ".d": (1, 31)}


def _part_ranges(definitions, name: str, parts: tuple) -> None:
    if isinstance(definitions, Definitions):
        definitions.ranges.update({name + part: _PART_RANGES[part] for part in parts})


def _made(definitions, name: str):
    return getattr(definitions, "_made", {}).get(name)


def _define(definitions, name: str, term, parts, definition) -> None:
    """Record the definition of the parts of `term` (a query asserts it with the facts' domains)."""
    if definitions is None:
        raise ValueError(f"`{term}` is not a constant: its calendar parts need a list of definitions")
    definitions.append(definition)
    if isinstance(definitions, Definitions):
        definitions.civil.append((term, parts))
        definitions._made[name] = parts


def split_year(y, definitions: Definitions | list | None) -> Year:
    """The parts of year `y` (an Int term): constants for a constant, else variables defined by `y`."""
    z3 = load_z3()
    y = z3.simplify(y)
    if z3.is_int_value(y):
        return _constant_year(y.as_long())
    name = _name("year", y)
    year = _made(definitions, name)
    if year is None:
        year = _year_variables(name)
        _part_ranges(definitions, name, (".century", ".cycle", ".rest"))
        _define(definitions, name, y, year, z3.And(*year.bounds(), year.value == y))
    return year


def split(n, definitions: Definitions | list | None) -> Civil:
    """The parts of day number `n` (an Int term): constants for a constant; for a date a few days from
    one already split (or from a variable, split first), that date's parts moved by those days; else
    variables that a definition (valid parts whose day number is `n`: one solution) ties to `n`.

    Moving parts is what keeps the solver fast: two dates split apart, each by its own definition,
    leave it to find two sets of parts whose day numbers differ by 14, a search over integers that
    took 30 s for the EU variant's dates; parts moved by a formula leave nothing to search."""
    z3 = load_z3()
    n = z3.simplify(n)
    if z3.is_int_value(n) and PY_LO <= n.as_long() <= PY_HI:
        date = EPOCH + dt.timedelta(days=n.as_long())
        return Civil(_constant_year(date.year), z3.IntVal(date.month), z3.IntVal(date.day))
    name = _name("civil", n)
    civil = _made(definitions, name)
    if civil is not None:
        return civil
    base, offset, low, high = _near(n)
    if base is not None and (low, high) != (0, 0) and -28 <= low and high <= 28:
        civil = _shift_days(split(base, definitions), offset, low, high)
        if isinstance(definitions, Definitions):
            definitions._made[name] = civil
        return civil
    known = getattr(definitions, "ranges", {}).get(n.decl().name()) if z3.is_const(n) else None
    if known is not None and _CYCLES_FROM <= known[0] and known[1] <= _CYCLES_TO:
        return _split_in_cycles(n, name, definitions)
    civil = Civil(_year_variables(name), z3.Int(name + ".m"), z3.Int(name + ".d"))
    _part_ranges(definitions, name, (".century", ".cycle", ".rest", ".m", ".d"))
    _define(definitions, name, n, civil, z3.And(*civil.year.bounds(), civil.month >= 1, civil.month <= 12, civil.day >= 1,
                                                civil.day <= civil.days_in_month(), civil.number() == n))
    return civil


#: From 1901 to 2099 every fourth year is a leap year: four-year cycles of three common years and a leap year.
_CYCLES_FROM, _CYCLES_TO = day_number(dt.date(1901, 1, 1)), day_number(dt.date(2099, 12, 31))


@dataclass(frozen=True)
class Cycles:
    """A day from 1901 to 2099 as whole four-year cycles since 1901 and the day within its cycle."""

    cycles: Any
    day: Any


def _split_in_cycles(n, name: str, definitions) -> Civil:
    """The parts of a variable that holds days from 1901 to 2099 only: `n` is the first day of 1901,
    plus 1461 days per cycle, plus a day of the cycle (0-1460) whose year, month and day are read off
    by comparisons with constants. One unknown quotient (the cycles) instead of six parts to search."""
    z3 = load_z3()
    parts = Cycles(z3.Int(name + ".cycles"), z3.Int(name + ".day_of_cycle"))
    low, high = definitions.ranges[n.decl().name()]
    definitions.ranges[name + ".cycles"] = ((low - _CYCLES_FROM) // 1461, (high - _CYCLES_FROM) // 1461)
    definitions.ranges[name + ".day_of_cycle"] = (0, 1460)
    _define(definitions, name, n, parts, z3.And(parts.day >= 0, parts.day <= 1460, n == _CYCLES_FROM + 1461 * parts.cycles + parts.day))
    u = parts.day
    rest = z3.If(u < 365, 0, z3.If(u < 730, 1, z3.If(u < 1095, 2, 3)))  # the fourth year is the leap year
    leap = rest == 3
    of_year = u - 365 * rest
    month, day = z3.IntVal(1), of_year + 1
    for m in range(2, 13):  # the last month whose first day is on or before the day of the year
        first = _MONTH_START[m - 1] + (z3.If(leap, 1, 0) if m >= 3 else 0)
        month, day = z3.If(of_year >= first, m, month), z3.If(of_year >= first, of_year - first + 1, day)
    # The year 1901 + 4·cycles + rest as 400·era + 100·century + 4·cycle + rest (2000 is the first of era 5).
    y = 1901 + 4 * parts.cycles + rest
    modern = y >= 2000
    year = Year(z3.If(modern, 5, 4), z3.If(modern, 0, 3), parts.cycles + z3.If(leap, 1, 0) - z3.If(modern, 25, 0),
                z3.If(leap, 0, rest + 1))
    civil = Civil(year.simplified(), z3.simplify(month), z3.simplify(day))
    definitions._made[name] = civil
    return civil


def bounds(term, definitions=None) -> tuple[int, int] | None:
    """The least and greatest values an Int term can take, or None when unknown: from constants, the
    ranges of the variables in `definitions.ranges` (a fact's days, a datetime's seconds, a date's
    parts), sums, products by constants, floor divisions by positive constants and `If`s (whose
    conditions may read anything). A check that the bounds already imply can be left out of a term."""
    z3 = load_z3()
    ranges = getattr(definitions, "ranges", {})
    memo = getattr(definitions, "_bounds", {})

    def walk(t):
        key = t.get_id()
        if key in memo:
            return memo[key][1]
        found = None
        if z3.is_int_value(t):
            found = (t.as_long(), t.as_long())
        elif z3.is_const(t):
            found = ranges.get(t.decl().name())
        elif z3.is_app_of(t, z3.Z3_OP_ITE):
            a, b = walk(t.arg(1)), walk(t.arg(2))
            found = None if a is None or b is None else (min(a[0], b[0]), max(a[1], b[1]))
        elif z3.is_add(t) or z3.is_sub(t):
            parts = [walk(t.arg(i)) for i in range(t.num_args())]
            if all(p is not None for p in parts):
                first, *rest = parts
                if z3.is_add(t):
                    found = (first[0] + sum(p[0] for p in rest), first[1] + sum(p[1] for p in rest))
                else:
                    found = (first[0] - sum(p[1] for p in rest), first[1] - sum(p[0] for p in rest))
        elif z3.is_app_of(t, z3.Z3_OP_UMINUS):
            a = walk(t.arg(0))
            found = None if a is None else (-a[1], -a[0])
        elif z3.is_mul(t):
            found = (1, 1)
            for i in range(t.num_args()):
                a = walk(t.arg(i))
                if a is None:
                    found = None
                    break
                corners = [x * y for x in found for y in a]
                found = (min(corners), max(corners))
        elif z3.is_idiv(t):
            a, b = walk(t.arg(0)), walk(t.arg(1))
            if a is not None and b is not None and b[0] == b[1] and b[0] > 0:
                found = (a[0] // b[0], a[1] // b[0])
        memo[key] = (t, found)  # the term is kept, so that its id is not reused by another
        return found

    return walk(term)


def _range(term) -> tuple[int, int] | None:
    """The bounds of a term of constants, sums and `If`s alone (no variable's range counts)."""
    return bounds(term)


def _near(n):
    """`n` as `base + offset`, where `base` is a variable or a date already split, and `offset` has a
    known range: (base, offset, least offset, greatest offset), or Nones."""
    z3 = load_z3()
    terms = [n.arg(i) for i in range(n.num_args())] if z3.is_add(n) else [n]
    near = [t for t in terms if _range(t) is not None]
    rest = [t for t in terms if _range(t) is None]
    if len(rest) != 1:
        return None, None, 0, 0
    low = sum(_range(t)[0] for t in near)
    high = sum(_range(t)[1] for t in near)
    offset = z3.simplify(z3.Sum(near)) if near else z3.IntVal(0)
    return rest[0], offset, low, high


def _pick(condition, a, b):
    """`a` where `condition` holds, else `b`: for parts (a `Civil` or a `Year`), part by part."""
    z3 = load_z3()
    if isinstance(a, Year):
        return Year(*(z3.If(condition, x, y) for x, y in zip((a.era, a.century, a.cycle, a.rest), (b.era, b.century, b.cycle, b.rest))))
    return z3.If(condition, a, b)


def _next_year(year: Year, step: int) -> Year:
    """The year after (`step` 1) or before (-1) `year`, by carrying through its parts."""
    z3 = load_z3()
    if step > 0:
        last_rest, last_cycle, last_century = year.rest == 3, year.cycle == 24, year.century == 3
        rest = z3.If(last_rest, 0, year.rest + 1)
        cycle = z3.If(last_rest, z3.If(last_cycle, 0, year.cycle + 1), year.cycle)
        century = z3.If(z3.And(last_rest, last_cycle), z3.If(last_century, 0, year.century + 1), year.century)
        era = z3.If(z3.And(last_rest, last_cycle, last_century), year.era + 1, year.era)
    else:
        first_rest, first_cycle, first_century = year.rest == 0, year.cycle == 0, year.century == 0
        rest = z3.If(first_rest, 3, year.rest - 1)
        cycle = z3.If(first_rest, z3.If(first_cycle, 24, year.cycle - 1), year.cycle)
        century = z3.If(z3.And(first_rest, first_cycle), z3.If(first_century, 3, year.century - 1), year.century)
        era = z3.If(z3.And(first_rest, first_cycle, first_century), year.era - 1, year.era)
    return Year(era, century, cycle, rest).simplified()


def _add_years(year: Year, years: int, definitions) -> Year:
    """The year `years` after `year`: carried a year at a time, or beyond four years, parts defined anew
    (a search, but no policy moves a date that far yet)."""
    if abs(years) > 4:
        return split_year(year.value + years, definitions)
    for _ in range(abs(years)):
        year = _next_year(year, 1 if years > 0 else -1)
    return year


def _shift_days(start: Civil, offset, low: int, high: int) -> Civil:
    """The parts of the date `offset` days after `start`, for an offset from -28 to 28: at most one
    month away, so the day moves, and past the month's end (or before its first) so does the month,
    and in December (or January) the year."""
    z3 = load_z3()
    year, month, day = start.year, start.month, start.day
    moved = day + offset
    result = Civil(year, month, moved)
    if high > 0:
        length = start.days_in_month()
        after = moved > length
        december = month == 12
        result = Civil(_pick(z3.And(after, december), _next_year(year, 1), result.year),
                       z3.If(after, z3.If(december, 1, month + 1), result.month),
                       z3.If(after, moved - length, result.day))
    if low < 0:
        before = moved < 1
        january = month == 1
        previous_length = z3.If(january, 31, days_in_month(month - 1, year.leap()))
        result = Civil(_pick(z3.And(before, january), _next_year(year, -1), result.year),
                       z3.If(before, z3.If(january, 12, month - 1), result.month),
                       z3.If(before, moved + previous_length, result.day))
    return Civil(result.year.simplified(), z3.simplify(result.month), z3.simplify(result.day))


def pin(parts, value: int) -> list:
    """Constraints giving the parts of a split term (a `Civil`, a `Year`, `Months`) their values once
    the term is known to be `value`; none where it has no parts (a day outside Python's calendar)."""
    if isinstance(parts, Cycles):
        cycles, day = divmod(value - _CYCLES_FROM, 1461)
        return [parts.cycles == cycles, parts.day == day]
    if isinstance(parts, Months):
        year, month = divmod(value, 12)
        return pin(parts.year, year) + [parts.month == month + 1]
    if isinstance(parts, Year):
        known = _constant_year(value)
        return [a == b for a, b in zip((parts.era, parts.century, parts.cycle, parts.rest),
                                       (known.era, known.century, known.cycle, known.rest))]
    if not PY_LO <= value <= PY_HI:
        return []
    date = EPOCH + dt.timedelta(days=value)
    return pin(parts.year, date.year) + [parts.month == date.month, parts.day == date.day]


@dataclass(frozen=True)
class Months:
    """A count of months from year 0 split into a year and a month (`add_months` by a variable)."""

    year: Year
    month: Any


def add_months(n, months, definitions: Definitions | list | None):
    """`add_months` of day number `n` by the Int term `months`: the same day of the month that many
    months later, clamped to the end of a shorter month; returns (day number, the new year)."""
    z3 = load_z3()
    start = split(n, definitions)
    months = z3.simplify(months)
    if z3.is_int_value(months):
        # A constant shift: the month moves by `shift`, the year by `whole` or one more when it wraps.
        whole, shift = divmod(months.as_long(), 12)
        year = _add_years(start.year, whole, definitions)
        month = start.month + shift
        if shift:
            wraps = start.month > 12 - shift
            year = _pick(wraps, _add_years(start.year, whole + 1, definitions), year)
            month = z3.If(wraps, start.month + shift - 12, month)
        year, month = year.simplified(), z3.simplify(month)
    else:
        index = z3.simplify(12 * start.year.value + start.month - 1 + months)  # months since January of year 0
        split_months = _made(definitions, _name("months", index))
        if split_months is None:
            name = _name("months", index)
            split_months = Months(_year_variables(name), z3.Int(name + ".m"))
            _define(definitions, name, index, split_months,
                    z3.And(*split_months.year.bounds(), split_months.month >= 1, split_months.month <= 12,
                           12 * split_months.year.value + split_months.month - 1 == index))
        year, month = split_months.year, split_months.month
    last = days_in_month(month, year.leap())
    civil = Civil(year, month, z3.simplify(z3.If(start.day <= last, start.day, last)))
    number = z3.simplify(civil.number())
    if isinstance(definitions, Definitions):  # its parts are known: splitting it again reuses them
        definitions._made.setdefault(_name("civil", number), civil)
    return number, year.value
