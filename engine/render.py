"""Renderers: decisions (JSON and text) and clauses (text), built from data and trace events only.

Nothing here evaluates anything; a renderer given the same decision gives the same bytes.
"""

from __future__ import annotations

import textwrap
from typing import Any

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


def _part_json(event) -> dict:
    item = {"position": event.position, "condition": event.expression, "location": _location_json(event.location),
            "reads": [_read_json(r) for r in event.reads], "result": event.result}
    if event.missing:
        item["missing_facts"] = list(event.missing)
    if event.message:
        item["error"] = event.message
    return item


def _read_json(read) -> dict:
    item = {"name": read.name, "kind": read.kind}
    if read.known:
        item["value"] = _value_json(read.value)
        if read.from_default:
            item["from_default"] = True
    else:
        item["missing_facts"] = list(read.missing)
    return item


def decision_to_dict(decision: Decision, policy: Policy, trace: str = "full") -> dict:
    """The JSON document of a decision (see schemas/decision.schema.json)."""
    outputs = {name: _value_json(result.value) for name, result in decision.outputs.items()}
    decided_by = {
        name: {"status": result.status, "clauses": list(result.clauses), "missing_facts": list(result.missing),
               **({"regardless_of": list(result.regardless_of)} if result.regardless_of else {})}
        for name, result in decision.outputs.items()
    }
    return {
        "schema_version": DECISION_SCHEMA_VERSION,
        "case": {"id": decision.case_id, "facts_sha256": decision.case_digest},
        "policy": {**decision.policy.to_dict(), **({"selection": decision.selection} if decision.selection else {})},
        "engine": {"name": "verdict", "version": decision.engine_version},
        "facts": {name: _value_json(value) for name, value in sorted(decision.facts.items())},
        "outputs": outputs,
        "missing_facts": list(decision.missing_facts),
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
            parts.setdefault(event.subject, []).append(_part_json(event))
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
            "reads": [_read_json(r) for r in event.reads],
            "result": event.result,
            "value_reads": [_read_json(r) for r in event.value_reads],
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
             "reads": [_read_json(r) for r in e.reads], "result": e.result,
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
         "missing_facts": list(e.missing)}
        for e in decision.events if e.op is Op.OUTPUT
    ]
    return result


def decision_to_json(decision: Decision, policy: Policy, trace: str = "full", explanations: list | None = None) -> str:
    """Canonical JSON text: the same decision always gives the same bytes."""
    document = decision_to_dict(decision, policy, trace)
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


def _wrap(text: str, indent: str, width: int = 100) -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent) or [indent]


def decision_to_text(decision: Decision, policy: Policy, trace: str = "full") -> str:
    """A report for people: the decision first, then the reasons, then the trace."""
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
    if len(identity.variant_chain) > 1 or decision.selection:
        lines.append(f"variant   {' → '.join(identity.variant_chain)}" + (f"  ({decision.selection})" if decision.selection else ""))
    lines.append("")
    width = max(len(name) for name in decision.outputs)
    for name, result in decision.outputs.items():
        note = {"undetermined": f"  (undetermined: needs {', '.join(result.missing)})", "default": "  (default)",
                "error": "  (error: see below)"}.get(result.status, "")
        if result.regardless_of:
            note += f"  (whatever {', '.join(result.regardless_of)} {'is' if len(result.regardless_of) == 1 else 'are'})"
        lines.append(f"  {name.ljust(width)}  {show_value(result.value)}{note}")
    lines.append(f"  {'missing facts'.ljust(width)}  {', '.join(decision.missing_facts) or 'none'}")
    for error in decision.errors:
        lines.append(f"  error: {error.one_line()}")
    lines.extend(_meanings(decision, policy))
    lines.append("")
    lines.append("REASONS")
    lines.extend(_reasons(decision, policy))
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


def _reasons(decision: Decision, policy: Policy) -> list[str]:
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
        if clause.id not in deciding:
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
    for name, result in decision.outputs.items():
        if result.regardless_of:
            lines.extend(_wrap(f"{name} = {show_value(result.value)} whatever {', '.join(result.regardless_of)} "
                               f"{'is' if len(result.regardless_of) == 1 else 'are'}: for each value one of "
                               f"{', '.join(result.clauses)} decides it", "  "))
    undetermined = [(n, r) for n, r in decision.outputs.items() if r.status == "undetermined"]
    for name, result in undetermined:
        lines.append(f"  {name} is undetermined: the case does not give {', '.join(result.missing)}")
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


def _trace_lines(decision: Decision, policy: Policy, level: str) -> list[str]:
    effects = {e.subject: e for e in decision.events if e.op is Op.EFFECT}
    parts: dict[str, list] = {}
    for event in decision.events:
        if event.op is Op.PART:
            parts.setdefault(event.subject, []).append(event)
    lines = [f"  {'base' if d.origin in ('', policy.id) else d.origin} clause {d.clause} disabled by {d.variant} "
             f"({d.legal.short()}): {d.reason}" for d in policy.disabled]
    number = 0
    for event in decision.events:
        if event.op is Op.DERIVED and level == "full":
            value = show_value(event.value) if event.result == "value" else (
                f"unknown (missing: {', '.join(event.missing)})" if event.missing else f"error: {event.message}")
            lines.append(f"  derived {event.subject} = {value}    <- {event.expression}")
            continue
        if event.op is not Op.CLAUSE:
            continue
        effect = effects[event.subject]
        if level == "summary" and effect.effect == "not_applicable":
            continue
        number += 1
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
