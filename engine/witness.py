"""Witness cases: a solver's model made into a case that `verdict eval` accepts, canonical and replayed.

Every answer of the symbolic analyses that says "there is a case where …" (a property's counterexample,
a conflict between clauses, a difference between two versions, a case that would cover a condition
part) shows one. A model is an arbitrary point of its region (a request in year 2199), so `canonical`
first tightens it, fact by fact in declaration order, towards values that read well: not null, false,
the first enum value, a declared example, the version's first day, a date near the one before it.
Each preference is kept only when the query stays satisfiable, so the witness still answers it; the
same query always gives the same witness (research/symbolic-reasoning.md §4b, §5).

A witness is never shown on the solver's word alone: `replay` decides it with the engine, under the
selection `verdict eval` would make, and the callers show it only when the engine reproduces the answer.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable

from .model import Policy, PolicySet
from .symbolic import SymbolicPolicy
from .symbolic_ops import EPOCH, day_number, load_z3

#: The widest gap, in days, that `canonical` narrows a date towards its anchor (beyond it the date stays
#: where the solver put it: no answer hangs on reading well).
_DAY_STEPS = (0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 110000)
_SECOND_STEPS = (0, 60, 600, 3600, 7200, 14400, 28800, 43200, 86400)
_NUMBER_STEPS = (0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 10**4, 10**5, 10**6, 10**8, 10**10, 10**13, 10**16)


def complete(form: SymbolicPolicy) -> list:
    """Every fact given: the cases a property or a difference quantifies over are complete."""
    return [ft.given for ft in form.facts.values()]


def selecting(form: SymbolicPolicy, policy_set: PolicySet, policy: Policy, *, country: bool = True,
              date: bool = True) -> list:
    """Constraints that make `verdict eval` select `policy` for a case: its country is one the variant
    covers (for the base: one no variant covers) and its date is in the version's window.

    `country=False` leaves the country out (the caller names the variant, as `verdict eval --policy
    ID:VARIANT` does), `date=False` the date (the caller names the day whose versions apply)."""
    z3 = load_z3()
    terms = []
    chain_end = policy.identity.variant_chain[-1]
    select_by = policy_set.select_by
    if country and select_by and policy_set.variants and select_by in form.facts:
        fact = form.facts[select_by]
        mine = sorted(c for c, v in policy_set.countries.items() if v == chain_end)
        others = sorted(c for c, v in policy_set.countries.items() if v != chain_end)
        if chain_end in policy_set.variants:
            terms.append(z3.Or([form.text_is(select_by, c) for c in mine] or [False]))
        else:
            terms += [z3.Not(form.text_is(select_by, c)) for c in others]
        terms.append(z3.Not(fact.raw.null))
    version_by = policy_set.version_by
    if date and version_by and version_by in form.facts:
        fact = form.facts[version_by]
        day = _day(fact.raw)
        identity = policy.identity
        terms += [z3.Not(fact.raw.null), day >= day_number(identity.effective_from)]
        if identity.effective_until is not None:
            terms.append(day <= day_number(identity.effective_until))
    return terms


def canonical(solver, form: SymbolicPolicy, assumptions: Iterable = (), anchor: dt.date | None = None) -> list | None:
    """Tighten a satisfiable query (the solver's assertions with `assumptions`) to one canonical case:
    the list of assumptions that pins every fact, or None when the query is not satisfiable (or the
    budget ran out). `anchor` is the day the first date reads near (default: the policy's first day).

    The solver and the terms of `form` may live in a z3 context of their own (a query that must not
    depend on what the process asked before): every constant made here is made in the solver's."""
    z3 = load_z3()
    ctx = solver.ctx
    kept = list(assumptions)
    if solver.check(kept) != z3.sat:
        return None
    anchor_day = day_number(anchor or form.policy.identity.effective_from)
    dates: list = []  # the day terms pinned so far: a later date prefers to be near the one before
    times: list = []
    texts: list = []
    for name, ft in form.facts.items():
        fact, raw = ft.fact, ft.raw

        def keep(*wanted) -> bool:
            if solver.check(kept + list(wanted)) == z3.sat:
                kept.extend(wanted)
                return True
            return False

        if fact.nullable and keep(z3.Not(raw.null)) is False:
            keep(raw.null)
            continue
        value = raw.value
        if fact.type == "bool":
            keep(z3.Not(value)) or keep(value)
        elif fact.type == "enum":
            any(keep(value == code) for code in range(len(fact.values)))
        elif fact.type == "string":
            # The text of a fact before it (one with the same codes, or a string), else an example or a
            # country this version covers.
            candidates = [*(e for e in fact.examples if isinstance(e, str)), *_selected_countries(form)]
            same = [t.value for t in texts if t.codes is raw.codes]
            if not any(keep(value == t) for t in same) and not any(keep(form.text_is(name, c)) for c in candidates):
                _pin(solver, kept, value)
            texts.append(raw)
        elif fact.type in ("date", "datetime"):
            day = _day(raw)
            _closest(solver, kept, day, dates[-1] if dates else z3.IntVal(anchor_day, ctx), _DAY_STEPS)
            if fact.type == "datetime":
                keep(raw.offset == 0)
                # Ten in the morning, UTC, or the time of day of the datetime before it.
                time_of_day = raw.second if raw.second is not None else value % 86400
                keep(time_of_day == (times[-1] if times else 36000)) or _closest(
                    solver, kept, time_of_day, z3.IntVal(36000, ctx), _SECOND_STEPS)
                times.append(time_of_day)
            dates.append(day)
            for variable in ft.variables:
                _pin(solver, kept, variable)
        elif fact.type in ("int", "money", "number"):
            start = _number_anchor(fact, ctx)
            _closest(solver, kept, value, start, _NUMBER_STEPS)
            _pin(solver, kept, value)
        else:
            _pin(solver, kept, value)
    return kept if solver.check(kept) == z3.sat else None


def _day(raw):
    """The day of a date or datetime fact's variables (a datetime's UTC day)."""
    if raw.kind == "datetime":
        return raw.day if raw.day is not None else raw.value / 86400
    return raw.value


def _selected_countries(form: SymbolicPolicy) -> list[str]:
    return sorted(form.policy.countries) if form.policy.countries else []


def _number_anchor(fact, ctx=None):
    z3 = load_z3()
    if fact.type == "money":
        cents = 10000 if fact.minimum is None or fact.minimum <= 100 else int(Decimal(fact.minimum) * 100)
        return z3.IntVal(cents, ctx)
    low = fact.minimum if fact.minimum is not None else 0
    return z3.RealVal(Fraction(low), ctx) if fact.type == "number" else z3.IntVal(int(low), ctx)


def _closest(solver, kept: list, value, anchor, steps) -> bool:
    """Narrow `value` to the nearest to `anchor` the query allows (within the last step), preferring the
    side above the anchor; returns False when even the widest step leaves it where it was."""
    z3 = load_z3()
    low = None
    for step in steps:
        if solver.check(kept + [value - anchor <= step, anchor - value <= step]) == z3.sat:
            break
        low = step
    else:
        return False
    high = step
    while low is not None and high - low > 1:  # the smallest distance the query allows
        middle = (low + high) // 2
        if solver.check(kept + [value - anchor <= middle, anchor - value <= middle]) == z3.sat:
            high = middle
        else:
            low = middle
    for side in (value - anchor == high, anchor - value == high):
        if solver.check(kept + [side]) == z3.sat:
            kept.append(side)
            return True
    kept.extend([value - anchor <= high, anchor - value <= high])
    return True


def _pin(solver, kept: list, value) -> None:
    """Fix `value` to what the current model gives it, so later preferences cannot move it."""
    z3 = load_z3()
    if solver.check(kept) == z3.sat:
        kept.append(value == solver.model().eval(value, model_completion=True))


def case_facts(form: SymbolicPolicy, model) -> dict[str, Any]:
    """The facts of the case a model describes, as a case file writes them (dates and datetimes as ISO
    text, amounts as text with two decimals, enums by name), every fact in declaration order."""
    z3 = load_z3()
    facts: dict[str, Any] = {}
    for name, ft in form.facts.items():
        fact, raw = ft.fact, ft.raw
        value = lambda t: model.eval(t, model_completion=True)  # noqa: E731
        if fact.nullable and z3.is_true(value(raw.null)):
            facts[name] = None
            continue
        v = value(raw.value)
        if fact.type == "bool":
            facts[name] = z3.is_true(v)
        elif fact.type == "enum":
            facts[name] = fact.values[v.as_long()]
        elif fact.type == "int":
            facts[name] = v.as_long()
        elif fact.type == "number":
            number = Fraction(v.numerator_as_long(), v.denominator_as_long())
            facts[name] = int(number) if number.denominator == 1 else float(number)
        elif fact.type == "money":
            facts[name] = str((Decimal(v.as_long()) / 100).quantize(Decimal("0.01")))
        elif fact.type == "string":
            facts[name] = form.text_of(name, model)
        elif fact.type == "date":
            facts[name] = (EPOCH + dt.timedelta(days=v.as_long())).isoformat()
        elif fact.type == "datetime":
            facts[name] = _datetime_text(v.as_long(), value(raw.offset).as_long())
    return facts


def _datetime_text(seconds: int, offset: int) -> str:
    zone = dt.timezone(dt.timedelta(seconds=offset))
    moment = (dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=seconds)).astimezone(zone)
    text = moment.isoformat()
    return text[:-6] + "Z" if offset == 0 else text


def replay(policy_set: PolicySet, policy: Policy, facts: dict[str, Any], trace: bool = False, *,
           variant: str | None = None, as_of: dt.date | None = None):
    """The engine's decision of a witness, under the selection `verdict eval` makes for it (with the
    variant or the date the caller names, if any); None when the engine would not select `policy` for
    it or refuses it (then the witness must not be shown)."""
    from .api import evaluate  # noqa: PLC0415 - api imports the symbolic analyses lazily, not at load
    from .errors import EngineError  # noqa: PLC0415

    try:
        decision = evaluate(policy_set, facts, variant=variant, as_of=as_of, trace=trace, case_id="witness")
    except EngineError:
        return None
    made_by = decision.made_by
    if made_by is None or made_by.identity != policy.identity:
        return None
    return decision


def case_yaml(facts: dict[str, Any], case_id: str, comment: str = "") -> str:
    """A case file for a witness: `id`, then `facts` in declaration order (what `verdict eval` reads)."""
    import json  # noqa: PLC0415

    lines = [f"# {line}".rstrip() for line in comment.splitlines()] if comment else []
    lines.append(f"id: {json.dumps(case_id)}")
    lines.append("facts:")
    for name, value in facts.items():
        lines.append(f"  {name}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"
