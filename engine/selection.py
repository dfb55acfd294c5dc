"""Which policy of a set decides a case: the variant its country selects (or the caller names), the
version in force on its date (or on the date the caller gives), and why. The one place that knows.

When a selecting fact is missing, the case is decided under every policy it could fall under: an
output they all agree on stands, any other is undetermined and the selecting fact joins its missing
facts. Messages speak of what the caller gave, never of a command-line flag: the CLI, the Python API
and the YAML tests all select through here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Callable

from .cases import Case
from .constraints import shared as shared_constraints
from .errors import CaseError, Diagnostic, EngineError, SourceLocation, did_you_mean
from .evaluator import evaluate, in_declaration_order, shared_budget
from .model import Decision, OutputResult, Outputs, Policy, PolicySet, to_json_value
from .version import ENGINE_VERSION


class SelectionError(EngineError):
    """The caller named a variant the set does not have, or a date no version covers."""

    code = "invalid_selection"


@dataclass(frozen=True)
class Selection:
    """The policies that may decide a case, why, and the selecting facts the case lacks."""

    pool: tuple[Policy, ...]
    why: str
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Reference:
    """`ID_OR_PATH[:VARIANT][@DATE]` cut into its parts: the policy, the variant (None: the one each
    case's country selects) and the date whose versions apply (None: each case's own date)."""

    policy: str
    variant: str | None = None
    as_of: dt.date | None = None


def parse_reference(text: str, exists: Callable[[str], bool]) -> Reference:
    """Cut a reference into its parts; `exists(text)` says whether the whole text names a file or
    folder (then it is all policy, colons and @ included). Raises `SelectionError` for a date that
    is not a real one."""
    as_of = None
    dated = re.fullmatch(r"(.+)@(\d{4}-\d{2}-\d{2})", text)
    if dated and not exists(text):
        text = dated.group(1)
        try:
            as_of = dt.date.fromisoformat(dated.group(2))
        except ValueError:
            raise SelectionError([Diagnostic("bad_date", f"`{dated.group(2)}` is not a real date",
                                             SourceLocation(dated.group(0)))]) from None
    name, sep, variant = text.rpartition(":")
    if not sep or exists(text):
        return Reference(text, None, as_of)
    return Reference(name, variant, as_of)


def unknown_variant(policy_set: PolicySet, variant: str | None, where: SourceLocation | None = None) -> Diagnostic | None:
    """The problem with naming `variant` for this set (its own id names the base), or None."""
    if variant is None or variant == policy_set.id or variant in policy_set.variants:
        return None
    known = [policy_set.id, *sorted(policy_set.variants)]
    return Diagnostic("unknown_variant", f"`{variant}` is not a variant of `{policy_set.id}`",
                      where or SourceLocation(variant), variant, did_you_mean(variant, known) or f"known: {', '.join(known)}")


def check_variant(policy_set: PolicySet, variant: str | None) -> None:
    problem = unknown_variant(policy_set, variant)
    if problem is not None:
        raise SelectionError([problem])


def select(policy_set: PolicySet, facts: dict[str, Any], variant: str | None = None,
           as_of: dt.date | None = None) -> Selection:
    """The policies that may apply to a case with these facts.

    One policy when the case gives its country and date (or the caller names the variant and the
    date); several when it lacks them; none when no version is in force on its date.
    """
    reasons: list[str] = []
    missing: list[str] = []
    if variant is not None:
        ends = {variant}
        reasons.append(f"variant `{variant}` chosen by the caller")
    elif not policy_set.variants:
        ends = {policy_set.base.id}
    elif policy_set.select_by not in facts:
        ends = {policy_set.base.id, *policy_set.variants}
        missing.append(policy_set.select_by)
        reasons.append(f"`{policy_set.select_by}` is missing, and it selects the variant")
    else:
        country = facts[policy_set.select_by]
        chosen = policy_set.countries.get(country)
        ends = {chosen or policy_set.base.id}
        reasons.append(f"{policy_set.select_by} `{country}` is covered by variant `{chosen}`" if chosen else
                       f"{policy_set.select_by} `{country}` is covered by no variant: the base policy applies")
    day = as_of
    if as_of is not None:
        reasons.append(f"the version in force on {as_of}, the date given")
    elif policy_set.version_by:
        moment = facts.get(policy_set.version_by)
        if moment is None:
            missing.append(policy_set.version_by)
            reasons.append(f"`{policy_set.version_by}` is missing, and it selects the version")
        else:
            day = _utc_day(moment)
            reasons.append(f"the version in force on {day}, the UTC date of {policy_set.version_by}")
    pool = tuple(p for p in _every_policy(policy_set)
                 if p.identity.variant_chain[-1] in ends and (day is None or p.identity.in_force(day)))
    if len(pool) == 1 and policy_set.version_by:
        identity = pool[0].identity
        until = f" until {identity.effective_until}" if identity.effective_until else ""
        reasons.append(f"{identity.chain_label()}, in force from {identity.effective_from}{until}")
    return Selection(pool, "; ".join(reasons) or "the policy has no variants", tuple(missing))


def decide(policy_set: PolicySet, case: Case, variant: str | None = None, trace: bool = True,
           as_of: dt.date | None = None) -> Decision:
    """Select the policy for the case, decide, and record why (`Decision.selection`); the decision's
    `made_by` is the policy whose trace it carries. A case dated when no version is in force, or whose
    facts break a constraint, is refused (`CaseError`); a variant the set does not have raises `SelectionError`."""
    check_variant(policy_set, variant)
    selection = select(policy_set, case.facts, variant, as_of)
    if not selection.pool:
        raise CaseError([_no_version(policy_set, case, variant, as_of)])
    # The evaluator refuses a case that breaks a constraint it is given (its fast path tests them all
    # at the cost of a few comparisons). One policy: all of its constraints. Several candidates: only
    # those they all share hold whichever decides, judged once, with the first (as constraints.check).
    if len(selection.pool) == 1:
        policy = selection.pool[0]
        decision = evaluate(policy, case.facts, case.id, trace, ENGINE_VERSION, policy.constraints)
        return dataclasses.replace(decision, selection=selection.why)
    judged = shared_constraints(selection.pool) if selection.pool[0].constraints else ()
    budget = shared_budget()  # the decision's, spent by the candidates in order
    decisions = [evaluate(p, case.facts, case.id, trace, ENGINE_VERSION, judged if i == 0 else (), budget=budget)
                 for i, p in enumerate(selection.pool)]
    first = decisions[0]
    outputs = {}
    for name, result in first.outputs.items():
        values = {repr(to_json_value(d.outputs[name].value)) for d in decisions}
        statuses = {d.outputs[name].status for d in decisions}
        if len(values) == 1 and statuses <= {"decided", "default"}:
            outputs[name] = result
        else:
            missing = in_declaration_order(policy_set.base, {*selection.missing, *(m for d in decisions for m in d.outputs[name].missing)})
            outputs[name] = OutputResult(policy_set.base.outputs[name].undetermined, "undetermined", (), missing)
    missing_facts = in_declaration_order(policy_set.base, {m for r in outputs.values() if r.status == "undetermined" for m in r.missing})
    why = (f"{selection.why}; the outputs shown are those all {len(selection.pool)} candidate policies agree on "
           "(the trace is the first's)")
    combined = dataclasses.replace(first, outputs=Outputs(outputs), missing_facts=missing_facts, selection=why)
    runs = [d.solver for d in decisions if d.solver is not None]
    if runs:  # each candidate was settled on its own: what can change an output under any of them
        relevant = {f for d in decisions for f in d.relevant_facts} | set(missing_facts)
        absent = {f for d in decisions for f in (*d.relevant_facts, *d.regardless_of)} - relevant
        status = next((r.status for r in runs if r.status != "complete"), "complete")
        combined.__dict__.update(relevant_facts=in_declaration_order(policy_set.base, relevant),
                                 regardless_of=in_declaration_order(policy_set.base, absent),
                                 solver=dataclasses.replace(runs[0], status=status, queries=sum(r.queries for r in runs)))
    return combined


def in_force(policy_set: PolicySet, variant: str | None = None, as_of: dt.date | None = None) -> Policy:
    """The one policy a reference names: its variant (or the base) in force on `as_of`; without a
    date, the base or the variant's latest version. Raises `SelectionError`."""
    check_variant(policy_set, variant)
    chain_end = variant or policy_set.id
    if as_of is None:
        return policy_set.variants.get(chain_end, policy_set.base) if variant else policy_set.base
    pool = [p for p in _every_policy(policy_set) if p.identity.variant_chain[-1] == chain_end and p.identity.in_force(as_of)]
    if not pool:
        raise SelectionError([Diagnostic("no_version", f"no version of `{chain_end}` is in force on {as_of}",
                                         SourceLocation(f"{chain_end}@{as_of}"), chain_end,
                                         _first_and_last(policy_set, chain_end))])
    return pool[0]


def check_date(policy_set: PolicySet, variant: str | None, as_of: dt.date | None) -> None:
    """Refuse a date on which neither the named variant nor (without one) any policy of the set is in force."""
    if as_of is None:
        return
    chain_end = variant or policy_set.id
    current = [p for p in _every_policy(policy_set) if p.identity.in_force(as_of)]
    if not any(p.identity.variant_chain[-1] == chain_end for p in current) and (variant or not current):
        raise SelectionError([Diagnostic("no_version", f"no version of `{chain_end}` is in force on {as_of}",
                                         SourceLocation(f"{chain_end}@{as_of}"), chain_end,
                                         _first_and_last(policy_set, chain_end))])


def _every_policy(policy_set: PolicySet) -> tuple[Policy, ...]:
    return policy_set.compiled or (policy_set.base, *policy_set.variants.values())


def _utc_day(moment: Any) -> dt.date:
    return moment.astimezone(dt.timezone.utc).date() if isinstance(moment, dt.datetime) else moment


def _first_and_last(policy_set: PolicySet, chain_end: str) -> str:
    windows = [p.identity for p in _every_policy(policy_set) if p.identity.variant_chain[-1] == chain_end]
    if not windows:
        return ""
    start = min(i.effective_from for i in windows)
    ends = [i.effective_until for i in windows]
    end = "on" if None in ends else f"to {max(e for e in ends if e is not None)}"
    return f"`{chain_end}` is in force from {start} {end}"


def _no_version(policy_set: PolicySet, case: Case, variant: str | None, as_of: dt.date | None) -> Diagnostic:
    moment = as_of or case.facts.get(policy_set.version_by)
    day = _utc_day(moment) if moment is not None else None
    first = min(p.identity.effective_from for p in _every_policy(policy_set))
    what = f"the date given ({as_of})" if as_of else f"{policy_set.version_by} ({day})"
    if day is not None and day < first:
        message = f"the case is dated before every version of `{policy_set.id}`: {what} is before {first}"
    else:
        country = case.facts.get(policy_set.select_by)
        chain_end = variant or policy_set.countries.get(country) or policy_set.id
        message = f"no version of `{chain_end}` is in force on {day}"
    return Diagnostic("no_version", message, SourceLocation(case.id or "case"), policy_set.version_by,
                      "check the date, or decide as of a date a version covers")
