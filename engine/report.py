"""Reports for people: one decision, or a whole policy, as Markdown or as a self-contained HTML page.

Both formats are rendered from one list of blocks, so they always carry the same content.
"""

from __future__ import annotations

import ast
import html
import re
from dataclasses import dataclass

from .model import Clause, Decision, Policy
from .render import behind, case_facts, provenance, show_value, undetermined_reasons
from .trace import Op

# -- blocks ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One block of a report (a heading, a paragraph, a quote, a list or a table), for both formats."""

    kind: str  # h1, h2, h3, p, quote, list, table
    text: str = ""
    items: tuple = ()
    headers: tuple = ()


def _h(level: int, text: str) -> Block:
    return Block(f"h{level}", text)


# What Markdown could read in a value as markup: every bracket (an inline, reference or image link, a
# link definition in a list item or a quote), a backtick (code), a pipe (a table cell's end), and the
# backslash itself, escaped first so that a value's own backslash cannot undo the escapes after it.
_MARKDOWN_ESCAPES = str.maketrans({"\\": "\\\\", "[": "\\[", "]": "\\]", "`": "\\`", "|": "\\|",
                                   "&": "&amp;", "<": "&lt;", ">": "&gt;"})


def _md(text: object) -> str:
    """Text as Markdown shows it: on one line, with no link, image, code span, raw HTML or table break
    a value (a case id, a fact, a policy's title, quote or note) could inject; a viewer shows it as written."""
    return " ".join(str(text).split()).translate(_MARKDOWN_ESCAPES)


# Text that opens a line would start a block there: a heading, a quote, a list (`-`, `1.`), a
# thematic break or a fenced code block (`~~~`) that swallows the rest of the report.
_BLOCK_START = re.compile(r"(?=[#>+*=~-])|[0-9]+(?=[.)])")  # ends where the backslash goes


def _md_line(text: object) -> str:
    """`_md` for text that opens a line (a paragraph, a quote, a list item): shown as written too."""
    escaped = _md(text)
    start = _BLOCK_START.match(escaped)
    return escaped if start is None else escaped[:start.end()] + "\\" + escaped[start.end():]


def to_markdown(blocks: list[Block]) -> str:
    out = []
    for block in blocks:
        line = _md_line if block.kind in ("p", "quote", "list") else _md
        block = Block(block.kind, line(block.text), tuple(
            tuple(_md(c) for c in item) if isinstance(item, tuple) else line(item) for item in block.items),
            tuple(_md(h) for h in block.headers))
        if block.kind.startswith("h"):  # a `#` at its end would close the heading, and vanish
            out.append("#" * int(block.kind[1]) + " " + block.text.replace("#", "\\#"))
        elif block.kind == "p":
            out.append(block.text)
        elif block.kind == "quote":
            out.append("> " + block.text)
        elif block.kind == "list":
            out.append("\n".join(f"- {item}" for item in block.items))
        elif block.kind == "table":
            out.append("| " + " | ".join(block.headers) + " |")  # cells are escaped above, pipes included
            out[-1] += "\n|" + "---|" * len(block.headers)
            out[-1] += "".join("\n| " + " | ".join(row) + " |" for row in block.items)
        out.append("")
    return "\n".join(out)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1a1a1a; }
h1 { border-bottom: 3px solid #2b5797; padding-bottom: .3rem; }
h2 { margin-top: 2rem; color: #2b5797; }
blockquote { border-left: 4px solid #aab; margin: .5rem 0; padding: .2rem .8rem; background: #f4f5f9; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; margin: .5rem 0; }
th, td { border: 1px solid #ccd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #e8ebf3; }
code { font-family: ui-monospace, monospace; font-size: .85rem; }
"""


def to_html(blocks: list[Block], title: str) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{html.escape(title)}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>"]
    for block in blocks:
        if block.kind.startswith("h"):
            out.append(f"<{block.kind}>{html.escape(block.text)}</{block.kind}>")
        elif block.kind == "p":
            out.append(f"<p>{html.escape(block.text)}</p>")
        elif block.kind == "quote":
            out.append(f"<blockquote>{html.escape(block.text)}</blockquote>")
        elif block.kind == "list":
            out.append("<ul>" + "".join(f"<li>{html.escape(str(i))}</li>" for i in block.items) + "</ul>")
        elif block.kind == "table":
            head = "".join(f"<th>{html.escape(str(h))}</th>" for h in block.headers)
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in block.items)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


# -- plain words for conditions ----------------------------------------------------------------------

_COMPARE = {ast.Eq: "is", ast.NotEq: "is not", ast.Lt: "is less than", ast.LtE: "is at most", ast.Gt: "is more than",
            ast.GtE: "is at least", ast.In: "is one of", ast.NotIn: "is none of", ast.Is: "is", ast.IsNot: "is not"}


def in_words(node: ast.expr) -> str:
    """A condition read aloud: `days_since_purchase <= money_back_days` is "days since purchase is at
    most money back days"."""
    if isinstance(node, ast.BoolOp):
        joiner = " and " if isinstance(node.op, ast.And) else " or "
        return joiner.join(_grouped(v, node) for v in node.values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return f"not {_grouped(node.operand, node)}"
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.comparators[0], ast.Constant) \
            and node.comparators[0].value is None:
        present = isinstance(node.ops[0], (ast.NotEq, ast.IsNot))
        return f"{in_words(node.left)} {'has a value' if present else 'has no value'}"
    if isinstance(node, ast.Compare):
        parts = [in_words(node.left)]
        for operation, right in zip(node.ops, node.comparators):
            parts.append(f"{_COMPARE.get(type(operation), '?')} {in_words(right)}")
        return " ".join(parts)
    if isinstance(node, ast.Name):
        return node.id.replace("_", " ")
    if isinstance(node, ast.Constant):
        return "nothing" if node.value is None else ("true" if node.value is True else "false" if node.value is False else str(node.value))
    if isinstance(node, (ast.List, ast.Tuple)):
        return ", ".join(in_words(e) for e in node.elts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return f"{node.func.id}({', '.join(in_words(a) for a in node.args)})"
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        return f"{_grouped(node.left, node)} {_ARITHMETIC[type(node.op)]} {_grouped(node.right, node)}"
    if isinstance(node, ast.IfExp):
        return f"{_grouped(node.body, node)} if {_grouped(node.test, node)}, otherwise {_grouped(node.orelse, node)}"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return f"-{_grouped(node.operand, node)}"
    return ast.unparse(node)


_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "×", ast.Div: "÷", ast.FloorDiv: "÷ (rounded down)",
               ast.Mod: "modulo"}


def _grouped(node: ast.expr, parent: ast.expr) -> str:
    """A sub-expression in words, in brackets where it would otherwise read as part of its parent."""
    text = in_words(node)
    nested = isinstance(node, (ast.BoolOp, ast.IfExp)) or (isinstance(node, ast.BinOp) and isinstance(parent, ast.BinOp))
    return f"({text})" if nested and node is not parent else text


# -- a decision ------------------------------------------------------------------------------------


def _source_blocks(clause: Clause) -> list[Block]:
    blocks = []
    if clause.legal:
        blocks.append(Block("p", f"Law: {clause.legal.short()} ({clause.legal.url})"))
        blocks.append(Block("quote", clause.legal.quote))
    if clause.source:
        for quote in clause.source.quotes:
            blocks.append(Block("quote", f"{quote.text} (§ {clause.source.section}, line {quote.line})"))
    return blocks


def decision_blocks(decision: Decision, policy: Policy, explanations: list | None = None) -> list[Block]:
    lead = next(iter(decision.outputs))
    blocks = [_h(1, f"Decision for case {decision.case_id or '(no id)'}: {lead} = {show_value(decision.outputs[lead].value)}")]
    blocks.append(_h(2, "The decision"))
    blocks.append(Block("table", headers=("output", "value", "status", "decided by"), items=tuple(
        (name, show_value(r.value), r.status + (f" (needs {', '.join(r.missing)})" if r.missing else "")
         + (f" (whatever {', '.join(r.regardless_of)})" if r.regardless_of else ""),
         ", ".join(r.clauses) or "-") for name, r in decision.outputs.items())))
    if decision.missing_facts:
        blocks.append(Block("p", "Facts needed to settle the undetermined outputs: " + ", ".join(decision.missing_facts)))
    blocks.append(_h(2, "Facts of the case"))
    blocks.append(Block("table", headers=("fact", "value", "note"), items=tuple(
        (name, shown or "-", note or "given") for name, shown, note in case_facts(decision, policy))))
    blocks.append(_h(2, "Reasons"))
    reads = {e.subject: e.reads for e in decision.events if e.op is Op.CLAUSE}
    value_reads = {e.subject: e.value_reads for e in decision.events if e.op is Op.CLAUSE}
    applied = {e.subject for e in decision.events if e.op is Op.CLAUSE and e.result == "true"}
    deciding: dict[str, list[str]] = {}
    for name, result in decision.outputs.items():
        for clause_id in result.clauses:
            if clause_id in applied:
                deciding.setdefault(clause_id, []).append(name)
        if result.regardless_of:
            blocks.append(Block("p", f"{name} = {show_value(result.value)} whatever {', '.join(result.regardless_of)} "
                                     f"{'is' if len(result.regardless_of) == 1 else 'are'}: for each value one of "
                                     f"{', '.join(result.clauses)} decides it."))
    for clause in policy.clauses:
        if clause.id not in deciding:
            continue
        blocks.append(_h(3, f"{clause.title} ({clause.id})"))
        blocks.append(Block("p", f"Decided {', '.join(deciding[clause.id])}, because {in_words(clause.condition.tree)}."))
        blocks.extend(_source_blocks(clause))
        if clause.interpretation:
            blocks.append(Block("p", f"Interpretation: {clause.interpretation}"))
        if reads.get(clause.id):
            blocks.append(Block("list", items=tuple(f"{r.name} = {_value(r)}" for r in reads[clause.id])))
        where = _where(decision, policy, (*reads.get(clause.id, ()), *value_reads.get(clause.id, ())))
        if where:
            blocks.append(Block("p", "The policy's own values behind these:"))
            blocks.append(Block("list", items=where))
    for name, missing, open_clauses in undetermined_reasons(decision, policy):
        blocks.append(_h(3, f"{name} is undetermined"))
        blocks.append(Block("p", f"The case does not give {', '.join(missing)}, so these clauses may or may not apply:"
                                 if open_clauses else f"The case does not give {', '.join(missing)}."))
        if open_clauses:
            blocks.append(Block("list", items=tuple(
                f"{clause_id} ({policy.clause(clause_id).title}) would set {name} = {show_value(value)}; "
                f"it needs {', '.join(needs)}" for clause_id, value, needs in open_clauses)))
    if explanations:
        blocks.append(_h(2, "Why not a better outcome"))
        for item in explanations:
            if item.status == "undetermined":
                blocks.append(Block("p", f"{item.output} is undetermined: the case must give {', '.join(item.missing)}."))
                continue
            if item.status == "unranked":
                blocks.append(Block("p", f"{item.output} = {show_value(item.value)} is not ranked by the policy's preference."))
                continue
            if item.best:
                blocks.append(Block("p", f"{item.output} = {show_value(item.value)} is the best outcome."))
                continue
            if item.kind:
                blocks.append(Block("p", f"{item.output} = {show_value(item.value)}. Only clauses for the same kind of case, "
                                         "and no change to it: " + "; ".join(f"{name} = {show_value(value)}"
                                                                             for name, value in item.kind) + "."))
            for why in item.why_not:
                blocks.append(_h(3, f"{why.clause.title} ({why.clause.id}) would give {show_value(why.would_give)}"))
                blocks.extend(_source_blocks(why.clause))
                if why.overridden_by:
                    blocks.append(Block("p", f"It applies, but {why.overridden_by} sets it aside."))
                blocks.append(Block("list", items=tuple(
                    f"requires {f.condition}: " + "; ".join(f"{r.name} = {_value(r)}" for r in f.reads) for f in why.failed)))
            if item.counterfactuals:
                blocks.append(Block("p", "It would have been different if:"))
                blocks.append(Block("list", items=tuple(
                    " and ".join(f"{fact} were {show_value(to)} (not {show_value(frm)})" for fact, frm, to in c.changes)
                    + f": {item.output} = {show_value(c.value)}, by {', '.join(c.clauses)}" for c in item.counterfactuals)))
    values = _values_read(decision, policy)
    if values:
        blocks.append(_h(2, "Parameters and derived values read"))
        blocks.append(Block("table", headers=("name", "kind", "value", "computed as", "from the text"), items=values))
    blocks.append(_h(2, "Trace"))
    effects = {e.subject: e for e in decision.events if e.op is Op.EFFECT}
    blocks.append(Block("table", headers=("clause", "condition", "values read", "result", "effect"), items=tuple(
        (event.subject, event.expression, "; ".join(f"{r.name} = {_value(r)}" for r in event.reads), event.result,
         effects[event.subject].effect + (f" by {effects[event.subject].by}" if effects[event.subject].by else ""))
        for event in decision.events if event.op is Op.CLAUSE)))
    identity = decision.policy
    blocks.append(_h(2, "Policy"))
    blocks.append(Block("table", headers=("field", "value"), items=(
        ("policy", identity.chain_label()), ("effective", f"{identity.effective_from} to {identity.effective_until or 'now'}"),
        ("content sha256", identity.content_sha256), ("selection", decision.selection or "-"),
        ("engine", decision.engine_version), ("case facts sha256", decision.case_digest),
        *((f"file {name}", digest) for name, digest in identity.files))))
    return blocks


def _value(read) -> str:
    return show_value(read.value) if read.known else f"unknown (needs {', '.join(read.missing)})"


def _computed_as(policy: Policy, name: str) -> str:
    return in_words(policy.derived[name].expression.tree) if name in policy.derived else ""


def _where(decision: Decision, policy: Policy, reads) -> tuple[str, ...]:
    """Each parameter and derived value behind a clause's reads, with how it is computed and its text."""
    items = []
    for kind, name, value, _ in behind(decision, policy, reads):
        text = f"{name} = {show_value(value) if value is not None or kind == 'parameter' else 'unknown'} ({kind}"
        text += f", computed as {_computed_as(policy, name)})" if kind == "derived" else ")"
        source = provenance(policy, kind, name)
        items.append(text + (f": {source}" if source else ""))
    return tuple(items)


def _values_read(decision: Decision, policy: Policy) -> tuple[tuple[str, ...], ...]:
    """Every derived value computed and every parameter read, in the order first met, with its text."""
    rows, seen = [], set()
    for event in decision.events:
        for read in (*event.reads, *event.value_reads):  # what a derived value read comes before it
            if read.kind == "parameter" and read.name not in seen:
                seen.add(read.name)
                rows.append((read.name, "parameter", show_value(read.value), "-",
                             provenance(policy, "parameter", read.name) or "-"))
        if event.op is Op.DERIVED and event.subject not in seen:
            seen.add(event.subject)
            value = show_value(event.value) if event.result == "value" else (
                f"unknown (needs {', '.join(event.missing)})" if event.missing else f"error: {event.message}")
            rows.append((event.subject, "derived", value, _computed_as(policy, event.subject),
                         provenance(policy, "derived", event.subject) or "-"))
    return tuple(rows)


# -- a policy --------------------------------------------------------------------------------------


def policy_blocks(policy: Policy) -> list[Block]:
    identity = policy.identity
    blocks = [_h(1, f"{identity.title}: {identity.chain_label()}"),
              Block("p", f"In force from {identity.effective_from} to {identity.effective_until or 'now'}; "
                         f"content sha256 {identity.content_sha256}.")]
    blocks.append(_h(2, "Facts of a case"))
    blocks.append(Block("table", headers=("fact", "type", "meaning"), items=tuple(
        (f.name, f.type + (f": {', '.join(f.values)}" if f.values else "") + (" or null" if f.nullable else ""), f.description)
        for f in policy.facts.values())))
    blocks.append(_h(2, "Parameters"))
    blocks.append(Block("table", headers=("parameter", "value", "meaning", "from the text"), items=tuple(
        (p.name, f"{show_value(p.value)} {p.unit}".strip(), p.description, provenance(policy, "parameter", p.name) or "-")
        for p in policy.parameters.values())))
    if policy.derived:
        blocks.append(_h(2, "Derived values"))
        blocks.append(Block("table", headers=("derived value", "computed as", "from the text", "interpretation"), items=tuple(
            (d.name, in_words(d.expression.tree), provenance(policy, "derived", d.name) or "-", d.interpretation or "-")
            for d in policy.derived.values())))
    if policy.constraints:
        blocks.append(_h(2, "Constraints every case satisfies"))
        blocks.append(Block("table", headers=("constraint", "holds when", "else the case is refused as", "from the text"),
                            items=tuple((c.name, in_words(c.expression.tree), c.message, "; ".join(
                                f"§ {c.source.section} (line {q.line}): \u201c{q.text}\u201d" for q in c.source.quotes)
                                if c.source else "-") for c in policy.constraints.values())))
    blocks.append(_h(2, "Clauses"))
    for clause in policy.clauses:
        origin = "" if clause.origin in ("", identity.id) else f" [{clause.origin}]"
        blocks.append(_h(3, f"{clause.title} ({clause.id}){origin}"))
        blocks.extend(_source_blocks(clause))
        blocks.append(Block("p", f"Applies when {in_words(clause.condition.tree)}."))
        blocks.append(Block("list", items=tuple(
            f"{name} = {value.expression.text if value.expression else show_value(value.literal)}" for name, value in clause.sets)))
        if clause.interpretation:
            blocks.append(Block("p", f"Interpretation: {clause.interpretation}"))
        losers = sorted(cid for cid, winners in policy.overridden_by.items() if clause.id in winners)
        if losers:
            blocks.append(Block("p", f"Overrides: {', '.join(losers)}."))
    if policy.properties or policy.dropped_properties:
        blocks.append(_h(2, "Properties"))
        blocks.append(Block("p", "Promises the policy keeps in every case it decides: verdict prove proves each, or "
                                 "shows a case where it fails."))
        if policy.properties:
            blocks.append(Block("table", headers=("property", "promise", "in the cases where", "always", "from"), items=tuple(
                (p.id, p.description, in_words(p.assume.tree) if p.assume else "every case", in_words(p.assertion.tree),
                 _promise_source(p)) for p in policy.properties)))
        if policy.dropped_properties:
            blocks.append(Block("table", headers=("property dropped", "by", "reason"), items=tuple(
                (d.property, d.variant, d.reason) for d in policy.dropped_properties)))
    if policy.disabled:
        blocks.append(_h(2, "Base clauses set aside by the variant"))
        blocks.append(Block("table", headers=("clause", "by", "law", "reason"), items=tuple(
            (d.clause, d.variant, d.legal.short(), d.reason) for d in policy.disabled)))
    if policy.not_modelled:
        blocks.append(_h(2, "Provisions not modelled"))
        blocks.append(Block("p", "Provisions of the variant's law that no clause encodes, on purpose, and why."))
        blocks.append(Block("table", headers=("provision", "variant", "reason"), items=tuple(
            (n.short(), n.variant, n.reason) for n in policy.not_modelled)))
    return blocks


def _promise_source(prop) -> str:
    """Where a property's promise comes from: its quotes, its law, the policy or variant stating it."""
    said = [f"§ {prop.source.section} (line {q.line}): \u201c{q.text}\u201d" for q in prop.source.quotes] if prop.source else []
    if prop.legal is not None:
        said.append(prop.legal.short())
    return "; ".join(said) or prop.origin or "-"


def render(blocks: list[Block], output_format: str) -> str:
    title = blocks[0].text if blocks else "Verdict report"
    return to_html(blocks, title) if output_format == "html" else to_markdown(blocks)


def plain_text(blocks: list[Block]) -> list[str]:
    """Every piece of text the report shows, in order: what both formats must carry."""
    texts = []
    for block in blocks:
        if block.kind == "table":
            texts += [str(h) for h in block.headers] + [str(c) for row in block.items for c in row]
        elif block.kind == "list":
            texts += [str(i) for i in block.items]
        else:
            texts.append(block.text)
    return [t for t in texts if t]

