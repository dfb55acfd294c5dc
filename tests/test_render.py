"""Renderers, on a tiny policy: golden text, and JSON that follows the decision schema."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import pytest

import engine
from engine.report import decision_blocks, to_markdown

SOURCE = "Shipping.\nMembers ship free. Orders over 50 ship free. Others pay 5.\n"

POLICY = """\
policy:
  id: tiny-shipping
  version: 1.2.3
  effective_from: "2026-01-01"
  title: Tiny shipping policy
  source: {{file: source.txt, sha256: {sha}}}
facts:
  member: {{type: bool, description: The customer is a member.}}
  total: {{type: number, minimum: 0, description: Order total.}}
parameters:
  free_over: {{value: 50, description: Free shipping above this total., source: {{section: all, quote: over 50}}}}
outputs:
  fee:
    type: number
    default: 5
    description: The shipping fee.
  reason:
    type: list
    values: [member, large_order]
    description: Why shipping is free.
clauses:
  - id: members-free
    title: Members ship free
    source: {{section: all, quote: Members ship free.}}
    when: member
    then: {{fee: 0, reason: [member]}}
  - id: large-orders-free
    title: Large orders ship free
    source: {{section: all, quote: Orders over 50 ship free.}}
    when: total > free_over
    then: {{fee: 0, reason: [large_order]}}
  - id: others-pay
    title: Others pay
    source: {{section: all, quote: Others pay 5.}}
    when: not member and total <= free_over
    then: {{fee: 5}}
informational:
  - {{quote: Shipping., reason: title}}
"""


@pytest.fixture
def tiny(tmp_path) -> engine.Policy:
    (tmp_path / "source.txt").write_text(SOURCE, encoding="utf-8")
    sha = hashlib.sha256(SOURCE.encode()).hexdigest()
    (tmp_path / "policy.yaml").write_text(POLICY.format(sha=sha), encoding="utf-8")
    return engine.require_policy(tmp_path)


def decide(policy, **facts):
    return engine.decide(policy, engine.case_from_facts(policy, facts, "c1"))


GOLDEN_TRACE = """\
TRACE (clauses in evaluation order)
  [1] members-free: applied
      § all (line 2): “Members ship free.”
      when   member
        1. member → true  (policy.yaml:25:11)
           read member = true  (fact)
      result true
  [2] large-orders-free: undecided because total is missing
      § all (line 2): “Orders over 50 ship free.”
      when   total > free_over
        1. total > free_over → unknown  (policy.yaml:30:11)
           read total = unknown (missing: total)  (fact)
           read free_over = 50  (parameter)
      result unknown
  [3] others-pay: not applicable
      § all (line 2): “Others pay 5.”
      when   not member and total <= free_over
        1. not member → false  (policy.yaml:35:11)
           read member = true  (fact)
      result false
"""


def test_golden_text_trace(tiny):
    text = engine.decision_to_text(decide(tiny, member=True), tiny)
    assert text.startswith("DECISION  fee = 0\ncase      c1  facts sha256 ")
    assert "  fee     0\n  reason  (undetermined: needs total)" in text.replace("null  (undetermined", "(undetermined")
    assert text.endswith(GOLDEN_TRACE)


def decision_to_markdown(decision, policy) -> str:
    return to_markdown(decision_blocks(decision, policy))


def test_values_read_the_same_in_every_renderer(tiny):
    both = decide(tiny, member=True, total=60)
    neither = decide(tiny, member=False, total=10)
    assert "  reason  [member, large_order]\n" in engine.decision_to_text(both, tiny)
    assert "  reason  []  (default)\n" in engine.decision_to_text(neither, tiny)
    assert "because member = false; total = 10; free_over = 50" in engine.decision_to_text(neither, tiny)
    assert "| reason | [member, large_order] | decided |" in decision_to_markdown(both, tiny)
    assert "| reason | [] | default |" in decision_to_markdown(neither, tiny)
    assert "then   reason = [member]" in engine.clause_to_text(tiny.clause("members-free"), tiny)


def test_known_clauses_decide_even_when_another_is_unknown(tiny):
    decision = decide(tiny, member=True)
    assert decision.outputs["fee"].value == 0  # both free-shipping clauses give 0: the unknown one cannot change it
    assert decision.outputs["reason"].status == "undetermined"
    assert decision.missing_facts == ("total",)


def test_json_follows_the_decision_schema(tiny):
    schema = json.loads((Path(engine.BUNDLED_POLICIES).parent / "schemas" / "decision.schema.json").read_text(encoding="utf-8"))
    for facts in ({"member": True}, {"member": False, "total": 10}, {}):
        document = engine.decision_to_dict(decide(tiny, **facts), tiny)
        jsonschema.Draft202012Validator(schema).validate(document)
    document = engine.decision_to_dict(decide(tiny, member=False, total=10), tiny)
    assert document["outputs"] == {"fee": 5, "reason": []}
    assert document["decided_by"]["fee"] == {"status": "decided", "clauses": ["others-pay"], "missing_facts": []}
    assert document["policy"]["version"] == "1.2.3"
    [others] = [c for c in document["trace"]["clauses"] if c["id"] == "others-pay"]
    assert others["reads"] == [{"name": "member", "kind": "fact", "value": False},
                               {"name": "total", "kind": "fact", "value": 10},
                               {"name": "free_over", "kind": "parameter", "value": 50}]
    assert others["source"]["quotes"] == [{"text": "Others pay 5.", "line": 2, "column": 46}]


def test_default_when_nothing_applies(tiny):
    document = engine.decision_to_dict(decide(tiny), tiny)
    assert document["outputs"]["fee"] is None
    assert document["missing_facts"] == ["member", "total"]


def test_show_clause_text(tiny):
    text = engine.clause_to_text(tiny.clause("others-pay"), tiny)
    assert text.splitlines()[0] == "others-pay: Others pay"
    assert "when   not member and total <= free_over" in text and "then   fee = 5" in text
