"""The core return procedure as a zen-engine decision graph (`zen_graph.json`), and its answers in
the hand-written function's form.

The graph is a decision table with hit policy "first" (one row per rule, the rule id as an output
column) followed by an expression node that computes R11's fraction. Both nodes pass their input
through, because the expression node needs `days_since_purchase` beside the table's `rule`.

zen-engine is a bench-only dependency (`pip install -e '.[bench]'`); importing this module without
it raises `ImportError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import zen

GRAPH = Path(__file__).resolve().with_name("zen_graph.json")
KEY = "core-return"
OUTPUTS = ("outcome", "shipping_paid_by", "refund_fraction")


def make_engine() -> zen.ZenEngine:
    """An engine whose loader holds the parsed graph.

    A static loader rather than a Python callback: a callback is called, and its JSON parsed, on
    every `evaluate` (about 8x slower here), which would time the loader instead of the engine.
    """
    graph = json.loads(GRAPH.read_text(encoding="utf-8"))
    return zen.ZenEngine({"loader": {"type": "static", "content": {KEY: graph}}})


def answer(response: dict[str, Any]) -> dict[str, Any]:
    """The outputs and deciding rule of one `evaluate` response.

    zen drops null outputs from its result and computes in decimals, so an absent output is read as
    null and a number as a float (R6's 1.0 comes back as 1): the JSON values are what is compared.
    With a trace, the deciding rule is read from the table's trace (the matched row's `_id`), so a
    trace that names another row than the `rule` column disagrees.
    """
    result = response["result"]
    fraction = result.get("refund_fraction")
    found = {name: result.get(name) for name in OUTPUTS}
    found["refund_fraction"] = float(fraction) if isinstance(fraction, (int, float)) and not isinstance(fraction, bool) else fraction
    found["rule"] = result.get("rule")
    if "trace" in response:
        row = response["trace"]["rules"]["traceData"]["rule"]["_id"]
        if row != found["rule"]:
            found["rule"] = f"{found['rule']} (trace: {row})"
    return found
