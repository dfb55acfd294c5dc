"""Synthetic policies of any size, for the load-scaling profile and the conflict-check tests.

Every clause quotes the one sentence of a one-sentence source text, so a policy of any size is
valid apart from whatever its conditions make of it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

SOURCE = "Rule one applies.\n"


def threshold_clauses(n: int, *, by_kind: bool = False, output: str = "enum") -> list[dict]:
    """N clauses `x >= 10*i and x < 10*(i+1)`, disjoint, each setting `out` to its own value.

    :param by_kind: also separate them by an enum fact: `kind == 'k_i' and ...`.
    :param output: "enum" (values v0, v1, ...) or "number" (values 0, 1, ...).
    """
    clauses = []
    for i in range(n):
        when = f"x >= {10 * i} and x < {10 * (i + 1)}"
        if by_kind:
            when = f"kind == 'k{i}' and {when}"
        clauses.append({"id": f"c{i}", "when": when, "then": {"out": f"v{i}" if output == "enum" else i}})
    return clauses


def threshold_policy(n: int, *, by_kind: bool = False, output: str = "enum") -> str:
    """The text of a policy with the clauses of `threshold_clauses`."""
    values = [f"v{i}" for i in range(n)] + ["none"]
    out = ({"type": "enum", "values": values, "default": "none"} if output == "enum"
           else {"type": "number", "default": -1})
    facts = {"x": {"type": "number", "description": "A number."},
             "kind": {"type": "enum", "values": [f"k{i}" for i in range(max(n, 1))], "description": "A kind."}}
    return policy_text(facts, {"out": {**out, "description": "The outcome."}}, threshold_clauses(n, by_kind=by_kind, output=output))


def policy_text(facts: dict, outputs: dict, clauses: list[dict], parameters: dict | None = None,
                derived: dict | None = None, source: str = SOURCE) -> str:
    """A policy document in block YAML, as people write them, from its sections; clauses need only id, when, then
    and optionally overrides (and a `source` of their own, when `source` is not the one-sentence text)."""
    sha = hashlib.sha256(source.encode()).hexdigest()
    document = {
        "policy": {"id": "synthetic", "version": "0.0.1", "effective_from": "2026-01-01", "title": "Synthetic",
                   "source": {"file": "source.txt", "sha256": sha}},
        "facts": facts,
    }
    if parameters:
        document["parameters"] = {name: {"value": value, "description": f"The parameter {name}.",
                                         "source": {"section": "s", "quote": "Rule one applies."}}
                                  for name, value in parameters.items()}
    if derived:
        document["derived"] = {name: {"expression": expression, "description": f"The derived value {name}."}
                               for name, expression in derived.items()}
    document["outputs"] = outputs
    document["clauses"] = [{"id": c["id"], "title": f"Clause {c['id']}", "source": {"section": "s", "quote": "Rule one applies."}, **c}
                           for c in clauses]
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1000)


def write_policy(folder: Path, text: str, source: str = SOURCE) -> Path:
    """Write a policy and its source text into `folder`; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "source.txt").write_text(source, encoding="utf-8")
    (folder / "policy.yaml").write_text(text, encoding="utf-8")
    return folder
