"""Semantic differences between two compiled policies (two versions, or a policy and a variant).

Compares meaning, not text: parameters by value, clauses by condition, outcome and precedence,
derived values by expression. Expressions are compared in a normal form (`ast.unparse`), so
re-wrapping a condition over two lines is no change.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .model import Clause, Policy, to_json_value
from .values import show_value

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


def diff_policies(before: Policy, after: Policy) -> PolicyDiff:
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
    return PolicyDiff(before, after, tuple(changes))


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
    "clause_removed": "clause removed", "clause_disabled": "clause disabled", "condition_changed": "condition changed",
    "outcome_changed": "outcome changed", "override_gained": "override gained", "override_lost": "override lost",
    "fact_changed": "fact changed", "output_added": "output added", "output_removed": "output removed",
    "output_changed": "output changed", "citation_changed": "citation changed", "clause_moved": "clause moved",
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
                           "fact_changed", "output_changed", "citation_changed", "clause_moved"):
            inline = change.detail.startswith(("output", "`"))
            head += f"{' ' + change.detail if inline else ''}: {_show(change, change.before)} → {_show(change, change.after)}"
            if change.detail and not inline:
                head += f"  ({change.detail})"
        elif change.kind in ("parameter_added", "derived_added", "fact_added", "output_added"):
            head += f" = {_show(change, change.after)}"
        elif change.kind in ("parameter_removed", "derived_removed", "fact_removed", "output_removed"):
            head += f" (was {_show(change, change.before)})"
        elif change.kind == "clause_added":
            head += f", {change.detail}: when {change.after}"
        elif change.detail:
            head += f": {change.detail}"
        lines.append(head)
    return "\n".join(lines) + "\n"


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
