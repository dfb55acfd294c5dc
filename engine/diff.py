"""Semantic differences between two compiled policies (two versions, or a policy and a variant).

Compares meaning, not layout: parameters by value, clauses by condition, outcome and precedence,
derived values by expression. Expressions are compared in a normal form (`ast.unparse`), so
re-wrapping a condition over two lines is no change. The text behind the meaning is compared too:
what each clause, parameter and derived value quotes (or cites, or gives as its origin), and the
source document, by its sha256 and, when the caller has both texts, sentence by sentence.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .loader import inside, read_bytes
from .model import Clause, Parameter, Policy, to_json_value
from .sourcetext import SourceText
from .values import show_value

#: Two sentences at least this alike (difflib's ratio) in the same place are one changed sentence;
#: below it, one was removed and another added.
SIMILAR_SENTENCE = 0.5
_AMOUNT = re.compile(r"-?[0-9]+\.[0-9]{2,}")  # a literal amount of money as `_literal` writes it


@dataclass(frozen=True)
class Change:
    """One difference: what kind, about which name, and the values before and after (None when absent)."""

    kind: str  # parameter_changed, clause_added, clause_removed, clause_changed, override_gained, ...
    subject: str
    before: Any = None
    after: Any = None
    detail: str = ""

    def to_dict(self) -> dict:
        item = {"kind": self.kind, "subject": self.subject, "before": to_json_value(self.before),
                "after": to_json_value(self.after)}
        if self.detail:
            item["detail"] = self.detail
        return item


@dataclass(frozen=True)
class PolicyDiff:
    """The differences between two policies, by kind."""

    before: Policy
    after: Policy
    changes: tuple[Change, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        def who(policy: Policy) -> dict:
            identity = policy.identity
            return {"id": identity.id, "version": identity.version, "variant_chain": list(identity.variant_chain),
                    "chain_versions": list(identity.versions or (identity.version,)),
                    "effective_from": identity.effective_from.isoformat(), "content_sha256": identity.content_sha256}

        counts: dict[str, int] = {}
        for change in self.changes:
            counts[change.kind] = counts.get(change.kind, 0) + 1
        return {"before": who(self.before), "after": who(self.after), "summary": counts,
                "changes": [c.to_dict() for c in self.changes]}


def _normal(text: str) -> str:
    try:
        return ast.unparse(ast.parse(text, mode="eval"))
    except SyntaxError:
        return " ".join(text.split())


def _outcome(clause: Clause) -> dict[str, str]:
    return {name: _normal(value.expression.text) if value.expression else _literal(value.literal)
            for name, value in clause.sets}


def _literal(value: Any) -> str:
    """A literal outcome as compared and shown: as Python writes it, an amount of money as written (`10.00`)."""
    json_value = to_json_value(value)
    return show_value(json_value) if isinstance(json_value, Decimal) else repr(json_value)


def _winners(policy: Policy, clause_id: str) -> set[str]:
    return set(policy.overridden_by.get(clause_id, ()))


def _text_behind(item: Any) -> dict | None:
    """What a clause, parameter or derived value says it encodes: its section and quotes, the law it
    cites and that law's words, or (a parameter) the origin of a number not in the text. Positions are
    left out: a quote that moved because the text above it changed is the same quote."""
    text: dict = {}
    if getattr(item, "legal", None):
        text["legal"] = item.legal.short()
        text["legal_quote"] = item.legal.quote
    if item.source:
        text["section"] = item.source.section
        text["quotes"] = [q.text for q in item.source.quotes]
    if not text and isinstance(item, Parameter) and item.origin:  # a clause's `origin` is its policy's id
        text["origin"] = item.origin
    return text or None


def _quote_change(what: str, name: str, old: Any, new: Any) -> list[Change]:
    """A `quote_changed` when the words behind a name changed. The act and article a quote belongs to
    are shown with it but compared by `citation_changed`, so a renumbered article is one change."""
    before, after = _text_behind(old), _text_behind(new)

    def words(text: dict | None) -> dict | None:
        return None if text is None else {k: v for k, v in text.items() if k != "legal"}

    return [] if words(before) == words(after) else [Change("quote_changed", name, before, after, what)]


def diff_policies(before: Policy, after: Policy, before_text: str | None = None, after_text: str | None = None) -> PolicyDiff:
    """The differences from `before` to `after`. `before_text` and `after_text` are their source
    documents, when the caller could read them (the sha256 of each must be its policy's): with both,
    a changed source is compared sentence by sentence; without, only its sha256 is."""
    changes: list[Change] = []
    for name in sorted(set(before.parameters) | set(after.parameters)):
        old, new = before.parameters.get(name), after.parameters.get(name)
        if old is None:
            changes.append(Change("parameter_added", name, None, new.value))
        elif new is None:
            changes.append(Change("parameter_removed", name, old.value, None))
        elif old.value != new.value or type(old.value) is not type(new.value):
            changes.append(Change("parameter_changed", name, old.value, new.value,
                                  new.legal.short() if new.legal and new.legal != old.legal else ""))
        if old is not None and new is not None:
            if (old.legal.short() if old.legal else "") != (new.legal.short() if new.legal else ""):
                changes.append(Change("citation_changed", name, old.legal.short() if old.legal else None,
                                      new.legal.short() if new.legal else None))
            changes += _quote_change("parameter", name, old, new)
    changes += _declaration_changes("fact", before.facts, after.facts, _FACT_FIELDS)
    changes += _declaration_changes("output", before.outputs, after.outputs, _OUTPUT_FIELDS)
    for name in sorted(set(before.derived) | set(after.derived)):
        old, new = before.derived.get(name), after.derived.get(name)
        if old is None:
            changes.append(Change("derived_added", name, None, new.expression.text))
        elif new is None:
            changes.append(Change("derived_removed", name, old.expression.text, None))
        elif _normal(old.expression.text) != _normal(new.expression.text):
            changes.append(Change("derived_changed", name, old.expression.text, new.expression.text))
        if old is not None and new is not None:
            changes += _quote_change("derived value", name, old, new)
    for name in sorted(set(before.constraints) | set(after.constraints)):
        old, new = before.constraints.get(name), after.constraints.get(name)
        if old is None:
            changes.append(Change("constraint_added", name, None, new.expression.text))
        elif new is None:
            changes.append(Change("constraint_removed", name, old.expression.text, None))
        elif _normal(old.expression.text) != _normal(new.expression.text):
            changes.append(Change("constraint_changed", name, old.expression.text, new.expression.text))
        elif old.message != new.message:
            changes.append(Change("constraint_changed", name, old.message, new.message, "message"))
    changes += _property_changes(before, after)
    old_ids = {c.id for c in before.clauses}
    new_ids = {c.id for c in after.clauses}
    for clause in after.clauses:
        if clause.id not in old_ids:
            where = f"from {clause.origin}" + (f" ({clause.legal.short()})" if clause.legal else "")
            changes.append(Change("clause_added", clause.id, None, clause.condition.text, where))
    for clause in before.clauses:
        if clause.id not in new_ids:
            why = next((f"disabled by {d.variant} ({d.legal.short()}): {d.reason}" for d in after.disabled
                        if d.clause == clause.id), "")
            changes.append(Change("clause_disabled" if why else "clause_removed", clause.id, clause.condition.text, None, why))
    for clause in after.clauses:
        old = before.clause(clause.id)
        if old is None:
            continue
        if _normal(old.condition.text) != _normal(clause.condition.text):
            changes.append(Change("condition_changed", clause.id, old.condition.text, clause.condition.text))
        old_outcome, new_outcome = _outcome(old), _outcome(clause)
        for output in sorted(set(old_outcome) | set(new_outcome)):
            if old_outcome.get(output) != new_outcome.get(output):
                changes.append(Change("outcome_changed", clause.id, old_outcome.get(output), new_outcome.get(output),
                                      f"output `{output}`"))
        if (old.legal.short() if old.legal else "") != (clause.legal.short() if clause.legal else ""):
            changes.append(Change("citation_changed", clause.id, old.legal.short() if old.legal else None,
                                  clause.legal.short() if clause.legal else None))
        changes += _quote_change("clause", clause.id, old, clause)
        gained = sorted(_winners(after, clause.id) - _winners(before, clause.id))
        lost = sorted(_winners(before, clause.id) - _winners(after, clause.id))
        for winner in gained:
            changes.append(Change("override_gained", clause.id, None, winner, f"now overridden by `{winner}`"))
        for winner in lost:
            if winner in new_ids:
                changes.append(Change("override_lost", clause.id, winner, None, f"no longer overridden by `{winner}`"))
    # Order matters where list outputs collect items in clause order (next_steps): report moves.
    old_order = [c.id for c in before.clauses if c.id in new_ids]
    new_order = [c.id for c in after.clauses if c.id in old_ids]
    if old_order != new_order:
        for position, clause_id in enumerate(new_order):
            if old_order.index(clause_id) != position:
                changes.append(Change("clause_moved", clause_id, old_order.index(clause_id) + 1, position + 1,
                                      "list outputs collect items in clause order"))
    changes += source_changes(before, after, before_text, after_text)
    return PolicyDiff(before, after, tuple(changes))


def source_changes(before: Policy, after: Policy, before_text: str | None, after_text: str | None) -> list[Change]:
    """The source document's change: its sha256 (`source_changed`), then, with both texts, each
    sentence added, removed or changed, in the order of the texts."""
    old, new = before.identity, after.identity
    if old.source_sha256 == new.source_sha256:
        return []
    compared = before_text is not None and after_text is not None
    name = new.source_file if new.source_file == old.source_file else f"{old.source_file} → {new.source_file}"
    changes = [Change("source_changed", name, old.source_sha256, new.source_sha256,
                      "" if compared else "the two texts were not both available: sentences not compared")]
    if not compared:
        return changes
    old_sentences, new_sentences = SourceText(before_text).sentences(), SourceText(after_text).sentences()
    matcher = difflib.SequenceMatcher(None, [x.text for x in old_sentences], [x.text for x in new_sentences], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed, added = old_sentences[i1:i2], new_sentences[j1:j2]
        for position in range(max(len(removed), len(added))):
            a = removed[position] if position < len(removed) else None
            b = added[position] if position < len(added) else None
            if a is not None and b is not None and difflib.SequenceMatcher(None, a.text, b.text).ratio() >= SIMILAR_SENTENCE:
                changes.append(Change("sentence_changed", f"line {b.line}", a.text, b.text, f"line {a.line} → line {b.line}"))
                continue
            if a is not None:
                changes.append(Change("sentence_removed", f"line {a.line}", a.text, None, f"line {a.line} of the old text"))
            if b is not None:
                changes.append(Change("sentence_added", f"line {b.line}", None, b.text, f"line {b.line} of the new text"))
    return changes


_FACT_FIELDS = ("type", "values", "nullable", "minimum", "maximum", "pattern", "default")
_OUTPUT_FIELDS = ("type", "values", "nullable", "default", "undetermined")


def _declaration_changes(kind: str, before: dict, after: dict, fields: tuple[str, ...]) -> list[Change]:
    """Facts or outputs added, removed, or changed in one of `fields`."""
    changes = []
    for name in sorted(set(before) | set(after)):
        if name not in before:
            changes.append(Change(f"{kind}_added", name, None, after[name].type))
        elif name not in after:
            changes.append(Change(f"{kind}_removed", name, before[name].type, None))
        else:
            for key, old_value, new_value in _field_changes(before[name], after[name], fields):
                changes.append(Change(f"{kind}_changed", name, old_value, new_value, f"`{key}`"))
    return changes


def _property_changes(before: Policy, after: Policy) -> list[Change]:
    """Properties added, removed (or dropped by a variant, with its reason) and changed, in the order
    of `after`'s properties then the removed ones: a promise as `assert` (`when` its `assume`)."""
    def promise(p) -> str:
        return p.assertion.text + (f" when {p.assume.text}" if p.assume is not None else "")

    old_by_id = {p.id: p for p in before.properties}
    new_by_id = {p.id: p for p in after.properties}
    changes = []
    for prop in after.properties:
        old = old_by_id.get(prop.id)
        if old is None:
            changes.append(Change("property_added", prop.id, None, promise(prop)))
        elif _normal(promise(old)) != _normal(promise(prop)):
            changes.append(Change("property_changed", prop.id, promise(old), promise(prop)))
    for prop in before.properties:
        if prop.id not in new_by_id:
            why = next((f"dropped by {d.variant}: {d.reason}" for d in after.dropped_properties if d.property == prop.id), "")
            changes.append(Change("property_removed", prop.id, promise(prop), None, why))
    return changes


def _field_changes(old: Any, new: Any, fields: tuple[str, ...]) -> list[tuple[str, Any, Any]]:
    result = []
    for key in fields:
        old_value, new_value = getattr(old, key), getattr(new, key)
        if repr(to_json_value(old_value)) != repr(to_json_value(new_value)):
            result.append((key, old_value, new_value))
    return result


_WORDS = {
    "parameter_added": "parameter added", "parameter_removed": "parameter removed", "parameter_changed": "parameter changed",
    "fact_added": "fact added", "fact_removed": "fact removed", "derived_added": "derived value added",
    "derived_removed": "derived value removed", "derived_changed": "derived value changed", "clause_added": "clause added",
    "constraint_added": "constraint added", "constraint_removed": "constraint removed",
    "constraint_changed": "constraint changed",
    "property_added": "property added", "property_removed": "property removed", "property_changed": "property changed",
    "clause_removed": "clause removed", "clause_disabled": "clause disabled", "condition_changed": "condition changed",
    "outcome_changed": "outcome changed", "override_gained": "override gained", "override_lost": "override lost",
    "fact_changed": "fact changed", "output_added": "output added", "output_removed": "output removed",
    "output_changed": "output changed", "citation_changed": "citation changed", "clause_moved": "clause moved",
    "quote_changed": "quote changed", "source_changed": "source text changed", "sentence_added": "sentence added",
    "sentence_removed": "sentence removed", "sentence_changed": "sentence changed",
}


def diff_to_text(result: PolicyDiff) -> str:
    def who(policy: Policy) -> str:
        return f"{policy.identity.chain_label()} (content sha256 {policy.identity.content_sha256[:16]})"

    lines = [f"--- {who(result.before)}", f"+++ {who(result.after)}"]
    if not result.changes:
        lines.append("no semantic difference")
    for change in result.changes:
        head = f"{_WORDS[change.kind]}: {change.subject}"
        if change.kind in ("parameter_changed", "derived_changed", "condition_changed", "outcome_changed",
                           "fact_changed", "output_changed", "citation_changed", "clause_moved", "constraint_changed",
                           "property_changed"):
            inline = change.detail.startswith(("output", "`"))
            head += f"{' ' + change.detail if inline else ''}: {_show(change, change.before)} → {_show(change, change.after)}"
            if change.detail and not inline:
                head += f"  ({change.detail})"
        elif change.kind in ("parameter_added", "derived_added", "fact_added", "output_added", "constraint_added",
                             "property_added"):
            head += f" = {_show(change, change.after)}"
        elif change.kind in ("parameter_removed", "derived_removed", "fact_removed", "output_removed", "constraint_removed",
                             "property_removed"):
            head += f" (was {_show(change, change.before)})" + (f": {change.detail}" if change.detail else "")
        elif change.kind == "clause_added":
            head += f", {change.detail}: when {change.after}"
        elif change.kind == "quote_changed":
            before, after = _differing(change.before, change.after)
            head = f"quote changed: {change.detail} {change.subject}: {_words_of(before)} → {_words_of(after)}"
        elif change.kind == "source_changed":
            head += f": sha256 {change.before[:16]} → {change.after[:16]}" + (f"  ({change.detail})" if change.detail else "")
        elif change.kind in ("sentence_added", "sentence_removed", "sentence_changed"):
            # Indented under the `source text changed` line they belong to.
            head = f"  {_WORDS[change.kind]} ({change.detail}): " + (
                f"\u201c{change.before}\u201d → \u201c{change.after}\u201d" if change.kind == "sentence_changed"
                else f"\u201c{change.after if change.after is not None else change.before}\u201d")
        elif change.detail:
            head += f": {change.detail}"
        lines.append(head)
    return "\n".join(lines) + "\n"


def _differing(before: dict | None, after: dict | None) -> tuple[dict | None, dict | None]:
    """Of two texts behind a name, only what differs: when only some of the quotes of one section
    changed, those quotes (a clause may quote five sentences and change one)."""
    if not before or not after or set(before) != {"section", "quotes"} or set(after) != set(before) \
            or before["section"] != after["section"]:
        return before, after
    old = [q for q in before["quotes"] if q not in after["quotes"]]
    new = [q for q in after["quotes"] if q not in before["quotes"]]
    if not old and not new:  # the same quotes in another order
        return before, after
    return ({"section": before["section"], "quotes": old} if old else None,
            {"section": after["section"], "quotes": new} if new else None)


def _words_of(text: dict | None) -> str:
    """What `_text_behind` found, as a line: `§ 2. Return & Refund Policy: “within 30 days of purchase”`."""
    if text is None:
        return "nothing"
    pieces = []
    if "legal" in text:
        pieces.append(f"{text['legal']}: \u201c{text['legal_quote']}\u201d")
    if "section" in text:
        pieces.append(f"§ {text['section']}: " + " ".join(f"\u201c{q}\u201d" for q in text["quotes"]))
    if "origin" in text:
        pieces.append(f"origin: {text['origin']}")
    return "; ".join(pieces)


def _show(change: Change, value: Any) -> str:
    if change.kind == "outcome_changed" and value is not None:
        # An outcome is compared as expression text, with a literal written as Python (`['full_refund']`,
        # kept so in JSON); show a literal as the value it is, like every other value.
        if _AMOUNT.fullmatch(value):
            return value  # an amount, already written with its cents
        try:
            return show_value(ast.literal_eval(value))
        except (ValueError, SyntaxError):
            return value
    return show_value(value)


def source_text(folder: Path, policy: Policy) -> str | None:
    """The source document a policy was compiled against, read from its policy's folder; None when it
    cannot be read or its sha256 is no longer the one the policy recorded (then only hashes are compared)."""
    if not inside(folder, policy.identity.source_file):
        return None
    raw, _ = read_bytes(folder / policy.identity.source_file)
    if raw is None or hashlib.sha256(raw).hexdigest() != policy.identity.source_sha256:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
