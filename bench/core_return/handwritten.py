"""The core return procedure written by hand: nested `if`s returning a dict, the floor of the benchmark.

It is written from the rules table of the shared benchmark, not from `policy.yaml`, so that the
agreement check compares two independent readings. `rule` is the procedure's rule id (R1..R11).
"""

from __future__ import annotations

from typing import Any


def decide(facts: dict[str, Any]) -> dict[str, Any]:
    """The outcome, who pays shipping, the refunded share and the deciding rule of one case."""
    if facts["channel"] != "aqara_store":
        return _answer("R1", "contact_retailer")
    days = facts["days_since_purchase"]
    if facts["issue"] == "non_quality":
        if days > 30:
            return _answer("R2", "rejected_window_expired")
        if facts["quantity"] > 10 or facts["corporate"]:
            return _answer("R3", "bulk_not_refundable")
        if facts["damaged"]:
            return _answer("R4", "rejected_damaged")
        if not facts["accessories_complete"] or not facts["original_packaging"]:
            return _answer("R5", "rejected_incomplete")
        return _answer("R6", "refund_product_cost", "buyer", 1.0)
    if facts["fully_refunded_before"]:
        return _answer("R7", "warranty_void_refunded")
    if facts["claim_country"] != facts["bought_country"]:
        return _answer("R8", "warranty_void_abroad")
    if days > 365:
        return _answer("R9", "warranty_expired")
    if facts["replaceable"]:
        return _answer("R10", "warranty_remedy", "aqara")
    return _answer("R11", "partial_refund_usage", "aqara", round(1 - days / 365, 2))


def _answer(rule: str, outcome: str, shipping: str | None = None, fraction: float | None = None) -> dict[str, Any]:
    return {"outcome": outcome, "shipping_paid_by": shipping, "refund_fraction": fraction, "rule": rule}
