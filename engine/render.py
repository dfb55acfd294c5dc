"""Renderers: decisions (JSON and text) and clauses (text), built from data and trace events only.

Nothing here evaluates anything; a renderer given the same decision gives the same bytes.
"""

from __future__ import annotations

import textwrap
import warnings
from typing import Any, Collection

from . import jsontext
from .model import Clause, Decision, Policy, to_json_value
from .trace import Op
from .values import show_value  # the one formatter for people; also imported from here by other modules

TRACE_LEVELS = ("full", "summary", "none")

#: The version of the decision JSON's format (schemas/decision.schema.json). Version 1 (Verdict 0.1)
#: had no `schema_version` key; 2 added it, the condition parts of each clause and locations.
DECISION_SCHEMA_VERSION = 2


def _value_json(value: Any) -> Any:
    return to_json_value(value)


def _location_json(location) -> str:
    """`policy.yaml:288:13`: only the file's name, so that the JSON does not depend on where it ran."""
    name = location.file.replace("\\", "/").rsplit("/", 1)[-1]
    return f"{name}:{location.line}:{location.column}"


def _part_json(event, policy: Policy) -> dict:
    item = {"position": event.position, "condition": event.expression, "location": _location_json(event.location),
            "reads": [_read_json(r, policy) for r in event.reads], "result": event.result}
    if event.missing:
        item["missing_facts"] = list(event.missing)
    if event.message:
        item["error"] = event.message
    return item


def _read_json(read, policy: Policy) -> dict:
    item = {"name": read.name, "kind": read.kind}
    if read.known:
        item["value"] = _value_json(read.value)
        if read.from_default:
            item["from_default"] = True
    else:
        item["missing_facts"] = list(read.missing)
    item.update(_provenance_json(policy, read.kind, read.name))
    return item


def _provenance_json(policy: Policy, kind: str, name: str) -> dict:
    """Where a parameter's or derived value's definition comes from: its quote of the source text
    (`source`), the law it cites (`legal`), or, for a number that is not in the text, its `origin`."""
    declared = policy.parameters.get(name) if kind == "parameter" else policy.derived.get(name) if kind == "derived" else None
    if declared is None:
        return {}
    item: dict = {}
    if declared.source:
        item["source"] = declared.source.to_dict()
    if kind == "parameter" and declared.legal:
        item["legal"] = declared.legal.to_dict()
    if kind == "parameter" and declared.origin and not declared.source and not declared.legal:
        item["origin"] = declared.origin
    if kind == "parameter" and declared.since is not None:  # a dated value: the day it took effect, and its text
        item["in_force_from"] = declared.since.isoformat()
        item["source_text"] = {"file": policy.identity.source_file, "sha256": policy.identity.source_sha256}
    return item


def _legacy(function: str, decision: Decision, trace: Any, explanations: Any, rest: tuple) -> tuple[Policy, str, Any]:
    """The policy, trace level and explanations of a call, in the current form `f(decision, trace,
    explanations)` or, deprecated for one release, the 0.1 form `f(decision, policy, trace, explanations)`."""
    if isinstance(trace, Policy):
        warnings.warn(f"{function}(decision, policy, ...) is deprecated: a decision knows the policy that made it; "
                      f"call {function}(decision, trace, ...)", DeprecationWarning, stacklevel=3)
        return trace, explanations if explanations is not None else "full", rest[0] if rest else None
    if decision.made_by is None:
        raise ValueError(f"{function}: the decision does not name the policy that made it; decide it with engine.evaluate")
    return decision.made_by, trace, explanations


def decision_to_dict(decision: Decision, trace: str = "full", *legacy: Any) -> dict:
    """The JSON document of a decision (see schemas/decision.schema.json), with the trace at the
    level asked (`full`, `summary` or `none`)."""
    policy, trace, _ = _legacy("decision_to_dict", decision, trace, legacy[0] if legacy else None, ())
    return _decision_dict(decision, policy, trace)


def _decision_dict(decision: Decision, policy: Policy, trace: str) -> dict:
    outputs = {name: _value_json(result.value) for name, result in decision.outputs.items()}
    decided_by = {
        name: {"status": result.status, "clauses": list(result.clauses), "missing_facts": list(result.missing),
               **({"regardless_of": list(result.regardless_of)} if result.regardless_of else {}),
               **({"settled_by": result.settled_by} if result.settled_by else {})}
        for name, result in decision.outputs.items()
    }
    # Only when the solver was asked (a case that left outputs open): older decisions read the same.
    settled = {"relevant_facts": list(decision.relevant_facts), "regardless_of": list(decision.regardless_of),
               "solver": decision.solver.to_dict()} if decision.solver is not None else {}
    return {
        "schema_version": DECISION_SCHEMA_VERSION,
        "case": {"id": decision.case_id, "facts_sha256": decision.case_digest},
        "policy": {**decision.policy.to_dict(), **({"selection": decision.selection} if decision.selection else {})},
        "engine": {"name": "verdict", "version": decision.engine_version},
        "facts": {name: _value_json(value) for name, value in sorted(decision.facts.items())},
        "outputs": outputs,
        "missing_facts": list(decision.missing_facts),
        **settled,
        "decided_by": decided_by,
        # Only the file's name: the JSON must not depend on the directory it was run from.
        "errors": [{**d.to_dict(), "file": d.location.file.replace("\\", "/").rsplit("/", 1)[-1]} for d in decision.errors],
        "trace": None if trace == "none" else _trace_dict(decision, policy, trace),
    }


def _trace_dict(decision: Decision, policy: Policy, level: str) -> dict:
    effects = {e.subject: e for e in decision.events if e.op is Op.EFFECT}
    parts: dict[str, list] = {}
    for event in decision.events:
        if event.op is Op.PART:
            parts.setdefault(event.subject, []).append(_part_json(event, policy))
    clauses = []
    for event in decision.events:
        if event.op is not Op.CLAUSE:
            continue
        effect = effects.get(event.subject)
        if level == "summary" and effect is not None and effect.effect == "not_applicable":
            continue
        clause = policy.clause(event.subject)
        entry = {
            "id": event.subject,
            "title": clause.title,
            "origin": clause.origin,
            **({"source": clause.source.to_dict()} if clause.source else {}),
            **({"legal": clause.legal.to_dict()} if clause.legal else {}),
            "condition": event.expression,
            "parts": parts.get(event.subject, []),
            "reads": [_read_json(r, policy) for r in event.reads],
            "result": event.result,
            "value_reads": [_read_json(r, policy) for r in event.value_reads],
            "missing_facts": list(event.missing),
            "effect": effect.effect if effect else "",
        }
        if clause.interpretation:
            entry["interpretation"] = clause.interpretation
        if effect and effect.by:
            entry["overridden_by" if effect.effect == "overridden" else "may_be_overridden_by"] = effect.by
            winner = policy.clause(effect.by)
            if effect.effect == "overridden" and winner.origin != clause.origin:
                entry["overridden_by_origin"] = winner.origin
                if winner.legal:
                    entry["overridden_by_legal"] = winner.legal.short()
        if effect and effect.effect == "undecided" and effect.missing:
            entry["missing_facts"] = list(effect.missing)
        if event.message:
            entry["error"] = event.message
        clauses.append(entry)
    result: dict = {}
    if level == "full":
        result["derived"] = [
            {"name": e.subject, "expression": e.expression, "location": _location_json(e.location),
             **_provenance_json(policy, "derived", e.subject),
             **({"interpretation": policy.derived[e.subject].interpretation}
                if e.subject in policy.derived and policy.derived[e.subject].interpretation else {}),
             "reads": [_read_json(r, policy) for r in e.reads], "result": e.result,
             **({"value": _value_json(e.value)} if e.result == "value" else {}),
             **({"missing_facts": list(e.missing)} if e.missing else {}),
             **({"error": e.message} if e.message else {})}
            for e in decision.events if e.op is Op.DERIVED
        ]
    result["clauses"] = clauses
    if policy.disabled:
        result["disabled"] = [{"clause": d.clause, "variant": d.variant, "reason": d.reason, "legal": d.legal.to_dict()}
                              for d in policy.disabled]
    result["outputs"] = [
        {"name": e.subject, "value": _value_json(e.value), "status": e.result, "clauses": list(e.clauses),
         "missing_facts": list(e.missing), **({"settled_by": e.settled_by} if e.settled_by else {})}
        for e in decision.events if e.op is Op.OUTPUT
    ]
    return result


def decision_to_json(decision: Decision, trace: str = "full", explanations: list | None = None, *legacy: Any) -> str:
    """Canonical JSON text, exactly what `verdict eval --format json` prints: the same decision always
    gives the same bytes. `explanations` (from `explain`) adds the `explanation` key."""
    policy, trace, explanations = _legacy("decision_to_json", decision, trace, explanations, legacy)
    document = _decision_dict(decision, policy, trace)
    if explanations is not None:
        document["explanation"] = [e.to_dict() for e in explanations]
    return jsontext.dumps(document, indent=2, ensure_ascii=False) + "\n"


def explanation_lines(explanations: list) -> list[str]:
    """`--explain`: for each ranked output, why not better, and what would have changed it."""
    lines = ["", "WHY NOT BETTER"]
    if not explanations:
        lines.append("  no output of the policy declares a `preference`, so no outcome is better than another")
    for item in explanations:
        if item.status == "undetermined":
            lines.append(f"  {item.output} is undetermined: the case must give {', '.join(item.missing)}")
            continue
        if item.status == "unranked":
            lines.append(f"  {item.output} = {show_value(item.value)}: the policy's `preference` does not rank it")
            continue
        if item.best:
            lines.append(f"  {item.output} = {show_value(item.value)}: the best outcome; nothing would grant more")
            continue
        lines.append(f"  {item.output} = {show_value(item.value)}")
        if item.kind:
            lines.extend(_wrap("(only clauses for the same kind of case, and no change to it: "
                               + "; ".join(f"{name} = {show_value(value)}" for name, value in item.kind) + ")", "    "))
        for why in item.why_not:
            head = f"    {why.clause.id} would give {show_value(why.would_give)}"
            if why.overridden_by:
                head += f", but it is overridden by {why.overridden_by}"
            lines.append(head)
            lines.extend(_quote_lines(why.clause, "      "))
            for failed in why.failed:
                values = "; ".join(_show_read(r) for r in failed.reads)
                verdict = "is unknown" if failed.result == "unknown" else "does not hold"
                lines.extend(_wrap(f"requires `{failed.condition}`, which {verdict}: {values}", "      "))
        if item.counterfactuals:
            lines.append("    it would have been different if:")
            for counterfactual in item.counterfactuals:
                change = " and ".join(f"{fact} were {show_value(to_value)} (not {show_value(from_value)})"
                                      for fact, from_value, to_value in counterfactual.changes)
                lines.extend(_wrap(f"- {change}: {item.output} = {show_value(counterfactual.value)}, "
                                   f"by {', '.join(counterfactual.clauses)}", "      "))
        elif item.why_not:
            lines.append("    no change of one or two facts would grant more")
    return lines


# -- text ----------------------------------------------------------------------------------------


def _show_read(read) -> str:
    if not read.known:
        return f"{read.name} = unknown (missing: {', '.join(read.missing)})"
    return f"{read.name} = {show_value(read.value)}" + (" (default)" if read.from_default else "")


def _wrap_items(lead: str, items: list[str], indent: str, width: int = 100) -> list[str]:
    """`lead a = 1; b = 2`, wrapped between items rather than inside one (`days = 10` stays whole)."""
    lines = [f"{indent}{lead}"]
    for position, item in enumerate(items):
        piece = item + (";" if position < len(items) - 1 else "")
        if len(lines[-1]) + 1 + len(piece) > width and lines[-1].strip():
            lines.append(indent + piece)
        else:
            lines[-1] += " " + piece
    return lines


def _wrap(text: str, indent: str, width: int = 100, subsequent: str | None = None) -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent=indent,
                         subsequent_indent=indent if subsequent is None else subsequent) or [indent]


def case_facts(decision: Decision, policy: Policy) -> list[tuple[str, str, str]]:
    """The case's facts for a report: (name, value as shown, note), every fact of the policy in its
    declared order, then any fact the case gives that this policy does not declare (another variant's).

    The note is empty for a value the case gives; otherwise it says why there is no given value:
    `absent` (shown value empty), `default` (the fact's declared default stands in), or that the
    policy does not read the fact.
    """
    rows = []
    for name, fact in policy.facts.items():
        if name in decision.facts:
            rows.append((name, show_value(decision.facts[name]), ""))
        elif fact.has_default:
            rows.append((name, show_value(fact.default), "default: the case does not give it"))
        else:
            rows.append((name, "", "absent"))
    label = policy.identity.chain_label()
    for name in sorted(set(decision.facts) - set(policy.facts)):
        rows.append((name, show_value(decision.facts[name]), f"not a fact of {label}: not read"))
    return rows


def behind(decision: Decision, policy: Policy, reads) -> list[tuple[str, str, Any, str]]:
    """The parameters and derived values behind some reads, directly or through derived values, each
    once, in the order they are first met: (kind, name, value as read, expression of a derived value).

    A derived value's value and its own reads come from its DERIVED event; an unknown value is None
    with `missing` shown by the caller from the read. Facts and outputs are not listed: the reads show them.
    """
    derived = {e.subject: e for e in decision.events if e.op is Op.DERIVED}
    found: list[tuple[str, str, Any, str]] = []
    seen: set[str] = set()
    pending = list(reads)
    while pending:
        read = pending.pop(0)
        if read.kind not in ("parameter", "derived") or read.name in seen:
            continue
        seen.add(read.name)
        value = read.value if read.known else None
        if read.kind == "derived":
            event = derived.get(read.name)
            found.append(("derived", read.name, value, policy.derived[read.name].expression.text
                          if read.name in policy.derived else (event.expression if event else "")))
            if event is not None:
                pending[0:0] = list(event.reads)  # depth first: what this value was computed from
        else:
            found.append(("parameter", read.name, value, ""))
    return found


def provenance(policy: Policy, kind: str, name: str) -> str:
    """Where a parameter or derived value comes from, in one line of words: its quote with its
    section and line, the law it cites with its quote, or the origin of a number not in the text."""
    declared = policy.parameters.get(name) if kind == "parameter" else policy.derived.get(name)
    if declared is None:
        return ""
    pieces = []
    if kind == "parameter" and declared.since is not None:
        pieces.append(f"from {declared.since}, source text {policy.identity.source_file}")
    if kind == "parameter" and declared.legal:
        pieces.append(f"{declared.legal.short()}: \u201c{declared.legal.quote}\u201d")
    if declared.source:
        pieces.append(f"§ {declared.source.section} (line {q.line}): \u201c{q.text}\u201d" for q in declared.source.quotes)
    if kind == "parameter" and declared.origin and not pieces:
        pieces.append(f"not in the source text: {declared.origin}")
    flat = []
    for piece in pieces:
        flat.extend([piece] if isinstance(piece, str) else list(piece))
    return "; ".join(flat)


def _where_lines(decision: Decision, policy: Policy, reads, indent: str) -> list[str]:
    """`where money_back_days = 30  § 2. … (line 15): “within 30 days of purchase”`: what the policy's own
    values behind a clause's reads are, and the text each comes from."""
    lines = []
    for position, (kind, name, value, expression) in enumerate(behind(decision, policy, reads)):
        head = f"{indent}where " if position == 0 else f"{indent}      "
        shown = show_value(value) if value is not None or kind == "parameter" else "unknown"
        text = f"{name} = {shown}" + (f"  <- {expression}" if expression else "")
        source = provenance(policy, kind, name)
        if source:
            text += f"  {source}"
        lines.extend(_wrap(text, head, subsequent=f"{indent}        "))
    return lines


def undetermined_reasons(decision: Decision, policy: Policy) -> list[tuple[str, tuple[str, ...], list[tuple[str, Any, tuple[str, ...]]]]]:
    """For each undetermined output: (output, the facts it needs, and each clause that sets it and
    could not be decided, with the value it would set and the facts it needs)."""
    effects = {e.subject: e for e in decision.events if e.op is Op.EFFECT}
    result = []
    for name, outcome in decision.outputs.items():
        if outcome.status != "undetermined":
            continue
        open_clauses = []
        for clause_id in policy.setters.get(name, ()):
            effect = effects.get(clause_id)
            if effect is not None and effect.effect == "undecided":
                value = policy.clause(clause_id).value_for(name)
                open_clauses.append((clause_id, value.expression.text if value.expression else value.literal,
                                     tuple(effect.missing)))
        result.append((name, tuple(outcome.missing), open_clauses))
    return result


def _head_lines(decision: Decision, brief: bool = False) -> list[str]:
    """The headline, the case and the policy, then every output with its status."""
    lines: list[str] = []
    lead = next(iter(decision.outputs))
    headline = show_value(decision.outputs[lead].value)
    if decision.outputs[lead].missing:
        headline += f"  (needs: {', '.join(decision.outputs[lead].missing)})"
    if decision.outputs[lead].status == "error":
        headline = "error (a clause failed; see below)"
    identity = decision.policy
    lines.append(f"DECISION  {lead} = {headline}")
    lines.append(f"case      {decision.case_id or '(no id)'}  facts sha256 {decision.case_digest[:16]}")
    lines.append(f"policy    {identity.id} {identity.version} (effective {identity.effective_from.isoformat()}), "
                 f"content sha256 {identity.content_sha256[:16]}, engine {decision.engine_version}")
    if brief and len(identity.variant_chain) > 1:
        lines.append(f"variant   {identity.chain_label()}")
    elif not brief and (len(identity.variant_chain) > 1 or decision.selection):
        lines.append(f"variant   {' → '.join(identity.variant_chain)}" + (f"  ({decision.selection})" if decision.selection else ""))
    lines.append("")
    width = max(len(name) for name in decision.outputs)
    # Brief: outputs that no clause set and that are null say one thing together, on one line.
    unset = [name for name, r in decision.outputs.items() if brief and r.status == "default" and r.value is None]
    for name, result in decision.outputs.items():
        if name in unset:
            continue
        note = {"undetermined": f"  (undetermined: needs {', '.join(result.missing)})", "default": "  (default)",
                "error": "  (error: see below)"}.get(result.status, "")
        if result.regardless_of:
            note += f"  (whatever {', '.join(result.regardless_of)} {'is' if len(result.regardless_of) == 1 else 'are'})"
        if result.settled_by == "solver" and result.status != "undetermined":
            note += "  (settled by the solver)"
        lines.append(f"  {name.ljust(width)}  {show_value(result.value)}{note}")
    if unset:
        lines.append(f"  {'null'.ljust(width)}  {', '.join(unset)}  (no clause set them)")
    if decision.missing_facts or not brief:
        lines.append(f"  {'missing facts'.ljust(width)}  {', '.join(decision.missing_facts) or 'none'}")
    if decision.solver is not None:
        run = decision.solver
        ended = {"complete": "exact", "budget_exhausted": "budget exhausted: outputs marked fallback keep the evaluator's answer",
                 "not_encodable": "the policy has constructs the solver cannot encode: the evaluator's answer stands"}[run.status]
        lines.append(f"  {'solver'.ljust(width)}  {run.name} {run.version}, rlimit {run.rlimit} per query, "
                     f"{run.queries} queries: {ended}")
        if decision.regardless_of:
            lines.append(f"  {'regardless of'.ljust(width)}  {', '.join(decision.regardless_of)}")
    for error in decision.errors:
        lines.append(f"  error: {error.one_line()}")
    return lines


def decision_to_brief_text(decision: Decision, *legacy: Any) -> str:
    """The decision and its reasons on one screen: every output, then each deciding clause with the
    start of its first quote, and the values that made it hold, said once for clauses that read the
    same. Quotes longer than a line are cut (with `…`); `decision_to_text` has them whole, and the
    facts and the trace."""
    policy, _, _ = _legacy("decision_to_brief_text", decision, legacy[0] if legacy else None, None, ())
    lines = _head_lines(decision, brief=True)
    lines.append("")
    lines.append("REASONS")
    applied = {e.subject for e in decision.events if e.op is Op.CLAUSE and e.result == "true"}
    reads = {e.subject: e.reads for e in decision.events if e.op is Op.CLAUSE}
    deciding: dict[str, list[str]] = {}
    for name, result in decision.outputs.items():
        for clause_id in result.clauses:
            if clause_id in applied or not decision.events:
                deciding.setdefault(clause_id, []).append(name)
    groups: list[list[Clause]] = []  # consecutive deciding clauses that read the same values
    for clause in policy.clauses:
        if clause.id in deciding:
            if groups and reads.get(groups[-1][0].id) == reads.get(clause.id):
                groups[-1].append(clause)
            else:
                groups.append([clause])
    for group in groups:
        for clause in group:
            lines.append(f"  {clause.id}  decided {', '.join(deciding[clause.id])}")
            quote = (clause.legal.quote if clause.legal else clause.source.quotes[0].text if clause.source else "")
            where = (f"{clause.legal.short()}" if clause.legal else
                     f"line {clause.source.quotes[0].line}" if clause.source else "")
            if quote:
                room = 100 - len(f"    \u201c\u201d ({where})")
                shown = quote if len(quote) <= room else quote[:room - 1].rstrip() + "\u2026"
                lines.append(f"    \u201c{shown}\u201d ({where})")
        values = reads.get(group[0].id)
        if values:
            lead = "because" if len(group) == 1 else f"these {len(group)} because"
            lines.extend(_wrap_items(lead, [_show_read(r) for r in values], "    "))
    by_missing: dict[tuple[str, ...], list[str]] = {}
    for name, missing, _ in undetermined_reasons(decision, policy):
        by_missing.setdefault(missing, []).append(name)
    for missing, names in by_missing.items():
        lines.extend(_wrap(f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} undetermined: the case does not give "
                           f"{', '.join(missing)}", "  ", subsequent="    "))
    if not deciding and not decision.missing_facts:
        lines.append("  no clause applied; every output has its default value")
    return "\n".join(lines) + "\n"


def decision_to_text(decision: Decision, trace: str = "full", explanations: list | None = None, *legacy: Any) -> str:
    """A report for people: the decision first, then the case's facts, the reasons, why not better
    (with `explanations`, from `explain`), then the trace at the level asked."""
    policy, trace, explanations = _legacy("decision_to_text", decision, trace, explanations, legacy)
    lines = _head_lines(decision)
    lines.extend(_meanings(decision, policy))
    lines.append("")
    lines.append("FACTS")
    rows = case_facts(decision, policy)
    width = max((len(name) for name, _, _ in rows), default=0)
    for name, shown, note in rows:
        lines.append(f"  {name.ljust(width)}  {shown}" + (f"  ({note})" if note and shown else note and f"({note})"))
    lines.append("")
    lines.append("REASONS")
    lines.extend(_reasons(decision, policy))
    if explanations is not None:
        lines.extend(explanation_lines(explanations))
    if trace != "none":
        lines.append("")
        lines.append("TRACE (clauses in evaluation order)" if trace == "full" else "TRACE (summary: clauses that were not inapplicable)")
        lines.extend(_trace_lines(decision, policy, trace))
    return "\n".join(lines) + "\n"


def _meanings(decision: Decision, policy: Policy) -> list[str]:
    """The plain-language meaning of each value shown, for outputs that declare `meanings`."""
    lines = []
    for name, result in decision.outputs.items():
        meanings = dict(policy.outputs[name].meanings)
        values = result.value if isinstance(result.value, (list, tuple)) else [result.value]
        explained = [(v, meanings[v]) for v in values if isinstance(v, str) and v in meanings]
        if explained:
            lines.append("")
            lines.append(f"  {name}:")
            lines.extend(f"    {i}. {meaning} [{value}]" for i, (value, meaning) in enumerate(explained, start=1))
    return lines


def reason_lines(decision: Decision, policy: Policy, clauses: Collection[str]) -> list[str]:
    """The REASONS entries of `decision_to_text` for these clauses only (those of them that decided an
    output of the decision), in clause order: what `verdict test --show-failures` explains a failure with."""
    return _reasons(decision, policy, set(clauses))


def trace_lines(decision: Decision, policy: Policy, clauses: Collection[str]) -> list[str]:
    """The TRACE entries (full level) of `decision_to_text` for these clauses only, numbered as in the full
    trace, with the line of any that a variant disabled: why a clause did or did not apply."""
    return _trace_lines(decision, policy, "full", set(clauses))


def _reasons(decision: Decision, policy: Policy, only: Collection[str] | None = None) -> list[str]:
    applied = {e.subject for e in decision.events if e.op is Op.CLAUSE and e.result == "true"}
    deciding: dict[str, list[str]] = {}
    for name, result in decision.outputs.items():
        for clause_id in result.clauses:
            if clause_id in applied or not decision.events:
                deciding.setdefault(clause_id, []).append(name)
    reads = {e.subject: e.reads for e in decision.events if e.op is Op.CLAUSE}
    value_reads = {e.subject: e.value_reads for e in decision.events if e.op is Op.CLAUSE}
    lines = []
    for clause in policy.clauses:
        if clause.id not in deciding or (only is not None and clause.id not in only):
            continue
        lines.append(f"  {clause.id}: {clause.title}")
        lines.append(f"    decided {', '.join(deciding[clause.id])}")
        lines.extend(_quote_lines(clause, "    "))
        if clause.interpretation:
            lines.extend(_wrap("interpretation: " + clause.interpretation, "    "))
        if reads.get(clause.id):
            lines.extend(_wrap("because " + "; ".join(_show_read(r) for r in reads[clause.id]), "    "))
        if value_reads.get(clause.id):
            lines.extend(_wrap("computed from " + "; ".join(_show_read(r) for r in value_reads[clause.id]), "    "))
        lines.extend(_where_lines(decision, policy, (*reads.get(clause.id, ()), *value_reads.get(clause.id, ())), "    "))
    if only is not None:  # `reason_lines`: the entries of these clauses, nothing about the whole decision
        return lines
    for name, result in decision.outputs.items():
        if result.regardless_of:
            lines.extend(_wrap(f"{name} = {show_value(result.value)} whatever {', '.join(result.regardless_of)} "
                               f"{'is' if len(result.regardless_of) == 1 else 'are'}: for each value one of "
                               f"{', '.join(result.clauses)} decides it", "  "))
    for name, missing, open_clauses in undetermined_reasons(decision, policy):
        lines.append(f"  {name} is undetermined: the case does not give {', '.join(missing)}")
        for clause_id, value, needs in open_clauses:
            lines.extend(_wrap(f"{clause_id} would set {name} = {show_value(value)} if it applies; it needs {', '.join(needs)}",
                               "    "))
    for error in decision.errors:
        lines.append(f"  error: {error.one_line()}")
    if not lines:
        lines.append("  no clause applied; every output has its default value")
    return lines


def _quote_lines(clause: Clause, indent: str) -> list[str]:
    lines = []
    if clause.legal:
        lines.extend(_wrap(f"{clause.legal.short()}: \u201c{clause.legal.quote}\u201d", indent))
    for quote in clause.source.quotes if clause.source else ():
        lines.extend(_wrap(f"§ {clause.source.section} (line {quote.line}): \u201c{quote.text}\u201d", indent))
    return lines


def _named(clause: Clause, policy: Policy) -> str:
    """`eu clause eu-withdrawal (Directive 2011/83/EU, Art. 9(1))` for a variant's clause; the id otherwise."""
    if clause.origin and clause.origin != policy.id:
        return f"{clause.origin} clause {clause.id}" + (f" ({clause.legal.short()})" if clause.legal else "")
    return clause.id


_EFFECT_WORDS = {
    "applied": "applied",
    "not_applicable": "not applicable",
    "overridden": "overridden by {by}",
    "undecided": "undecided",
    "error": "error",
}


def _trace_lines(decision: Decision, policy: Policy, level: str, only: Collection[str] | None = None) -> list[str]:
    effects = {e.subject: e for e in decision.events if e.op is Op.EFFECT}
    parts: dict[str, list] = {}
    for event in decision.events:
        if event.op is Op.PART:
            parts.setdefault(event.subject, []).append(event)
    lines = [f"  {'base' if d.origin in ('', policy.id) else d.origin} clause {d.clause} disabled by {d.variant} "
             f"({d.legal.short()}): {d.reason}" for d in policy.disabled if only is None or d.clause in only]
    if level == "full" and only is None:
        # The parameters the case read, each once with the text it comes from: constants, so not in
        # evaluation order, but in the order they were first read.
        seen: set[str] = set()
        for event in decision.events:
            for read in (*event.reads, *event.value_reads):
                if read.kind == "parameter" and read.name not in seen:
                    seen.add(read.name)
                    lines.append(f"  parameter {read.name} = {show_value(read.value)}")
                    source = provenance(policy, "parameter", read.name)
                    if source:
                        lines.extend(_wrap(source, "      "))
    number = 0
    for event in decision.events:
        if event.op is Op.DERIVED and level == "full" and only is None:
            value = show_value(event.value) if event.result == "value" else (
                f"unknown (missing: {', '.join(event.missing)})" if event.missing else f"error: {event.message}")
            lines.append(f"  derived {event.subject} = {value}    <- {event.expression}")
            source = provenance(policy, "derived", event.subject)
            if source:
                lines.extend(_wrap(source, "      "))
            continue
        if event.op is not Op.CLAUSE:
            continue
        effect = effects[event.subject]
        if level == "summary" and effect.effect == "not_applicable":
            continue
        number += 1
        if only is not None and event.subject not in only:
            continue
        clause = policy.clause(event.subject)
        words = _EFFECT_WORDS[effect.effect].format(by=_named(policy.clause(effect.by), policy) if effect.by else "")
        if effect.effect == "undecided":
            words += f" because {', '.join(effect.missing) or '?'} {'is' if len(effect.missing) == 1 else 'are'} missing"
            if effect.by:
                words += f" (may be overridden by {effect.by})"
        winner = policy.clause(effect.by) if effect.by else None
        if effect.effect == "overridden" and clause.origin == policy.id and winner.origin != policy.id:
            # The auditor's question for a variant: which law displaced which base clause.
            lines.append(f"  [{number}] base clause {clause.id} overridden by {_named(winner, policy)}")
        else:
            lines.append(f"  [{number}] {_named(clause, policy)}: {words}")
        lines.extend(_quote_lines(clause, "      "))
        lines.extend(_wrap(f"when   {event.expression}", "      "))
        for part in parts.get(event.subject, ()):
            verdict = part.result + (f": {part.message}" if part.message else "")
            lines.extend(_wrap(f"{part.position + 1}. {part.expression} → {verdict}  ({_location_json(part.location)})",
                               "        "))
            for read in part.reads:
                lines.append(f"           read {_show_read(read)}  ({read.kind})")
        result = event.result + (f": {event.message}" if event.message else "")
        lines.append(f"      result {result}")
        for read in event.value_reads:
            lines.append(f"      then   read {_show_read(read)}  ({read.kind})")
    return lines


def clause_to_text(clause: Clause, policy: Policy) -> str:
    """`verdict show`: a clause with its source text, condition, outputs and precedence."""
    winners = sorted(policy.overridden_by.get(clause.id, ()))
    losers = sorted(cid for cid, ws in policy.overridden_by.items() if clause.id in ws)
    lines = [f"{clause.id}: {clause.title}", f"  policy     {policy.identity.chain_label()}",
             f"  defined at {clause.location}", ""]
    if clause.source:
        lines.append(f"  source     § {clause.source.section}")
        for quote in clause.source.quotes:
            lines.extend(_wrap(f"\u201c{quote.text}\u201d  (source line {quote.line}, column {quote.column})", "    "))
    if clause.legal:
        lines.append(f"  law        {clause.legal.short()}  {clause.legal.url}")
        lines.extend(_wrap(f"\u201c{clause.legal.quote}\u201d", "    "))
        # What the variant left out of the same act, so that a reader of the clause sees the gaps too.
        left_out = [n for n in policy.not_modelled if n.act == clause.legal.act]
        if left_out:
            lines.append(f"  not modelled in {clause.legal.act}:")
            for entry in left_out:
                lines.extend(_wrap(f"{entry.article} ({entry.variant}): {entry.reason}", "    "))
    if clause.interpretation:
        lines.append("")
        lines.extend(_wrap("interpretation: " + clause.interpretation, "  "))
    lines.append("")
    lines.extend(_wrap(f"when   {clause.condition.text}", "  "))
    for name, value in clause.sets:
        lines.append(f"  then   {name} = {value.expression.text if value.expression else show_value(value.literal)}")
    if losers:
        lines.append(f"  overrides        {', '.join(losers)}")
    if winners:
        lines.append(f"  overridden by    {', '.join(winners)}")
    return "\n".join(lines) + "\n"
