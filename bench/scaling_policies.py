"""Generated policies of any number of clauses, for `scaling.py`: two families, with seeded cases and
the answer each case must get, computed here in plain Python.

thresholds
    One int fact `x`; clause i is `x >= 10*i and x < 10*(i+1)` and sets the number output `band`
    to i. The intervals are disjoint, so validation needs no `overrides`; a case outside them all
    leaves `band` at its default, null. A case reaches every clause whose interval it could fall
    in, which is one: the work an index over the thresholds would do.

mixed
    Several facts (enum `segment` and `tier`, bool `member` and `express`, number `amount`, int
    `items`). Each clause tests its segment and one to three other atoms, sometimes two of them
    joined by `or`, and adds its own item to the list output `labels`: list outputs collect from
    every clause that applies, so no two clauses conflict and none needs `overrides`. There are
    about size / 10 segments, each clause in one of them at random, so a case *reaches* (shares its
    segment with) about ten clauses at every size: the work an index over the segment would do,
    against the whole policy that a per-case interpreter walks.

Every clause quotes its own sentence of a generated source text, so the policies pass the same
checks as a written one (every sentence quoted, every quote found once).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

Predicate = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class Generated:
    family: str
    size: int
    document: dict[str, Any]  # the policy.yaml content
    source: str  # the text its clauses quote
    output: str  # the output whose value each case must get
    expected: Callable[[dict[str, Any]], Any]  # that value, as JSON, for the facts of a case
    reached: Callable[[dict[str, Any]], int]  # how many clauses the case reaches (see the module doc)
    case: Callable[[random.Random], dict[str, Any]]  # one case's facts, every fact given

    def write(self, folder: Path) -> Path:
        """The policy folder (policy.yaml and its source text) under `folder`."""
        target = folder / f"{self.family}-{self.size}"
        target.mkdir(parents=True, exist_ok=True)
        (target / "source.txt").write_text(self.source, encoding="utf-8")
        (target / "policy.yaml").write_text(yaml.safe_dump(self.document, sort_keys=False, width=10_000), encoding="utf-8")
        return target


def _document(family: str, size: int, source: str, facts: dict, outputs: dict, clauses: list) -> dict[str, Any]:
    return {
        "policy": {"id": f"scaling-{family}-{size}", "version": "1.0.0", "effective_from": "2024-01-01",
                   "title": f"Generated {family} policy of {size} clauses",
                   "source": {"file": "source.txt", "sha256": hashlib.sha256(source.encode()).hexdigest()}},
        "facts": facts,
        "outputs": outputs,
        "clauses": clauses,
    }


def _clause(clause_id: str, sentence: str, when: str, then: dict) -> dict[str, Any]:
    return {"id": clause_id, "title": f"Generated clause {clause_id}",
            "source": {"section": "generated", "quote": sentence}, "when": when, "then": then}


def thresholds(size: int, seed: int) -> Generated:
    del seed  # the policy is fixed by its size; only its cases are random
    width = 10
    sentences, clauses = [], []
    for i in range(size):
        lo, hi = i * width, (i + 1) * width
        # Fixed-width ids keep each sentence from occurring inside another (`c1` in `c10`).
        sentence = f"Clause c{i:04d} sets band {i} for x from {lo} to {hi - 1}."
        sentences.append(sentence)
        clauses.append(_clause(f"c{i:04d}", sentence, f"x >= {lo} and x < {hi}", {"band": i}))
    source = "\n".join(sentences) + "\n"
    document = _document("thresholds", size, source,
                         {"x": {"type": "int", "minimum": 0, "description": "The value the bands divide."}},
                         {"band": {"type": "number", "nullable": True, "default": None,
                                   "description": "The band x falls in, or null above the last one."}},
                         clauses)
    top = size * width

    def case(rng: random.Random) -> dict[str, Any]:
        return {"x": rng.randrange(top + top // 10)}  # one case in eleven above every band

    return Generated("thresholds", size, document, source, "band",
                     expected=lambda f: f["x"] // width if f["x"] < top else None,
                     reached=lambda f: 1 if f["x"] < top else 0, case=case)


TIERS = ("bronze", "silver", "gold")


def _atoms(rng: random.Random) -> list[tuple[str, Predicate]]:
    """The atoms a mixed clause draws from, with fresh thresholds each time."""
    amount, items = rng.randint(0, 1000), rng.randint(1, 19)
    return [
        ("tier == 'gold'", lambda f: f["tier"] == "gold"),
        ("tier != 'bronze'", lambda f: f["tier"] != "bronze"),
        ("tier in ['silver', 'gold']", lambda f: f["tier"] in ("silver", "gold")),
        ("member", lambda f: f["member"]),
        ("not member", lambda f: not f["member"]),
        ("express", lambda f: f["express"]),
        ("not express", lambda f: not f["express"]),
        (f"amount >= {amount}", lambda f: f["amount"] >= amount),
        (f"amount < {amount}", lambda f: f["amount"] < amount),
        (f"items > {items}", lambda f: f["items"] > items),
    ]


def mixed(size: int, seed: int) -> Generated:
    rng = random.Random(seed)
    segments = [f"s{j:03d}" for j in range(max(1, size // 10))]
    sentences, clauses, tests = [], [], []
    for i in range(size):
        segment = rng.choice(segments)
        picked = rng.sample(_atoms(rng), rng.randint(1, 3))
        parts: list[tuple[str, Predicate]] = [(f"segment == '{segment}'", lambda f, s=segment: f["segment"] == s)]
        if len(picked) >= 2 and rng.random() < 0.3:
            (text_a, a), (text_b, b) = picked[:2]
            parts.append((f"({text_a} or {text_b})", lambda f, a=a, b=b: a(f) or b(f)))
            picked = picked[2:]
        parts += picked
        clause_id = f"c{i:04d}"
        sentence = f"Clause {clause_id} adds label {clause_id}."
        sentences.append(sentence)
        clauses.append(_clause(clause_id, sentence, " and ".join(text for text, _ in parts), {"labels": [clause_id]}))
        tests.append((clause_id, segment, [test for _, test in parts]))
    source = "\n".join(sentences) + "\n"
    facts = {
        "segment": {"type": "enum", "values": segments, "description": "The customer segment."},
        "tier": {"type": "enum", "values": list(TIERS), "description": "The customer tier."},
        "member": {"type": "bool", "description": "Whether the customer is a member."},
        "express": {"type": "bool", "description": "Whether express delivery was asked for."},
        "amount": {"type": "number", "minimum": 0, "description": "The order amount."},
        "items": {"type": "int", "minimum": 1, "description": "Items in the order."},
    }
    outputs = {"labels": {"type": "list", "values": [c["id"] for c in clauses],
                          "description": "The label of every clause that applies, in clause order."}}
    document = _document("mixed", size, source, facts, outputs, clauses)

    def case(rng: random.Random) -> dict[str, Any]:
        return {"segment": rng.choice(segments), "tier": rng.choice(TIERS), "member": rng.random() < 0.5,
                "express": rng.random() < 0.3, "amount": rng.randint(0, 100_000) / 100, "items": rng.randint(1, 20)}

    return Generated("mixed", size, document, source, "labels",
                     expected=lambda f: [cid for cid, _, checks in tests if all(check(f) for check in checks)],
                     reached=lambda f: sum(1 for _, segment, _ in tests if segment == f["segment"]), case=case)


FAMILIES: dict[str, Callable[[int, int], Generated]] = {"thresholds": thresholds, "mixed": mixed}
