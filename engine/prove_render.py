"""The outcomes of `verdict prove` (engine/prove.py) as text for people and as a JSON document.

Both are functions of the outcomes alone (no clock, no timing), so the same proof prints the same
bytes. `files` maps an outcome's index to the path its counterexample was written to, if it was.
"""

from __future__ import annotations

from typing import Any

from .jsontext import dumps
from .prove import STATUSES, Outcome
from .values import show_value, to_json_value

_LABELS = {"proved": "proved", "refuted": "REFUTED", "unknown": "UNKNOWN", "not_encodable": "NOT ENCODABLE",
           "encoding_mismatch": "INTERNAL ERROR"}


def totals(outcomes: list[Outcome]) -> dict[str, int]:
    """How many outcomes have each status, every status named."""
    return {status: sum(1 for o in outcomes if o.status == status) for status in STATUSES}


def summary(outcomes: list[Outcome]) -> str:
    """`5 proved, 1 refuted, 0 unknown` (and the rarer statuses when they occur)."""
    counts = totals(outcomes)
    parts = [f"{counts['proved']} proved", f"{counts['refuted']} refuted", f"{counts['unknown']} unknown"]
    if counts["not_encodable"]:
        parts.append(f"{counts['not_encodable']} not encodable")
    if counts["encoding_mismatch"]:
        parts.append(f"{counts['encoding_mismatch']} internal error(s)")
    return ", ".join(parts)


def outcomes_to_text(outcomes: list[Outcome], files: dict[int, str] | None = None, verbose: bool = True,
                     with_summary: bool = True) -> str:
    """Policy by policy, a line per property; under a refuted one, its counterexample (the values the
    assertion read, the file it was written to, or the case's facts); under the others, why.

    :param verbose: list the proved properties too (else only those not proved).
    :param with_summary: end with the totals and the budget."""
    files = files or {}
    lines: list[str] = []
    current = None
    width = max((len(_LABELS[o.status]) for o in outcomes), default=0)
    indent = " " * (width + 4)
    for index, outcome in enumerate(outcomes):
        if not verbose and outcome.status == "proved":
            continue
        label = outcome.policy.identity.chain_label()
        if label != current:
            current = label
            identity = outcome.policy.identity
            until = f" until {identity.effective_until}" if identity.effective_until else ""
            lines.append(f"{label}  (in force from {identity.effective_from}{until})")
        prop = outcome.property
        lines.append(f"  {_LABELS[outcome.status]:<{width}}  {prop.id}: {prop.description}")
        example = outcome.counterexample
        if example is not None:
            reads = ", ".join(f"{name} = {show_value(value)}" for name, value in example.reads)
            said = "is false" if example.verdict == "false" else example.verdict
            lines.append(f"{indent}assert `{prop.assertion.text}` {said}" + (f": {reads}" if reads else ""))
            if index in files:
                lines.append(f"{indent}counterexample: {files[index]} (decide it with `verdict eval`)")
            else:
                lines.append(f"{indent}counterexample: " + ", ".join(f"{n} = {show_value(v)}" for n, v in example.facts.items()))
        elif outcome.detail:
            lines.append(f"{indent}{outcome.detail}")
    if with_summary:
        lines.append(summary(outcomes) + (f" (budget: {outcomes[0].rlimit} resource units per solver check)" if outcomes else ""))
    return "".join(line + "\n" for line in lines)


def outcome_to_dict(outcome: Outcome, file: str | None = None) -> dict[str, Any]:
    identity = outcome.policy.identity
    example = outcome.counterexample
    return {
        "property": outcome.property.id,
        "description": outcome.property.description,
        "origin": outcome.property.origin,
        "policy": identity.chain_label(),
        "variant": outcome.variant,
        "effective_from": identity.effective_from.isoformat(),
        "effective_until": identity.effective_until.isoformat() if identity.effective_until else None,
        "status": outcome.status,
        "rlimit": outcome.rlimit,
        "rlimit_used": outcome.used,
        "detail": outcome.detail or None,
        "counterexample": None if example is None else {
            "facts": example.facts,
            "reads": {name: to_json_value(value) for name, value in example.reads},
            "assert": example.verdict,
            "file": file,
        },
    }


def outcomes_to_dict(outcomes: list[Outcome], files: dict[int, str] | None = None) -> dict[str, Any]:
    files = files or {}
    return {"results": [outcome_to_dict(o, files.get(i)) for i, o in enumerate(outcomes)], "totals": totals(outcomes)}


def outcomes_to_json(outcomes: list[Outcome], reference: str, policy_id: str, rlimit: int,
                     files: dict[int, str] | None = None) -> str:
    """`verdict prove --format json`: the reference proved, the budget, every outcome and the totals."""
    document = {"policy": policy_id, "reference": reference, "rlimit": rlimit, **outcomes_to_dict(outcomes, files)}
    return dumps(document, indent=2, ensure_ascii=False) + "\n"
