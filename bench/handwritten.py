"""The Aqara return policy (`policies/aqara-returns/policy.yaml`) written by hand in plain Python.

This is the benchmark's baseline: what the same decision costs without an engine, a trace or
any data-driven machinery. `bench.py` checks on every generated case that it gives exactly the
engine's outputs, so it doubles as an independent reading of the policy.

Scope: `facts` holds every fact of the policy as engine values (the checked `Case.facts`:
timezone-aware `datetime`s, a `date` for `replaced_at`, `None` for a null `shipped_at`). Missing
facts are not handled; the engine would answer `undetermined` where this would raise `KeyError`.

The date and money helpers are the engine's own (`engine.functions`), so calendar-day counting,
month clamping and exact half-up prorating cannot drift from the policy's semantics. Clause ids
from the policy are named in comments so each branch can be checked against its clause.

When the policy changes, this file must change with it: `bench.py` reports every disagreement.
"""

from __future__ import annotations

from typing import Any

from engine.functions import add_months, days_between, hours_between, prorate, utc_date

# Parameters of the policy.
CANCELLATION_WINDOW_HOURS = 12
NO_CHANGE_AFTER_SHIPPING_DAYS = 30
MONEY_BACK_DAYS = 30
BULK_ORDER_UNITS = 10
WARRANTY_MONTHS = 12
REPLACEMENT_WARRANTY_MONTHS = 3

# The three steps every eligible or discretionary return/warranty request gets (procedure-*).
_PROCEDURE_INFORMATION = ["order_number", "reason", "photo_or_video_evidence", "return_tracking_number"]
_PROCEDURE_STEPS = ["contact_support", "await_return_address", "ship_with_tracking_number"]


def decide(facts: dict[str, Any]) -> dict[str, Any]:
    """Every output of the policy for a case with all facts, as JSON-like values (dates as text)."""
    out: dict[str, Any] = {
        "eligibility": "not_eligible",
        "remedies": [],
        "refund_amount": None,
        "return_shipping_paid_by": None,
        "fees_customer_may_bear": [],
        "return_requirements": [],
        "required_information": [],
        "warranty_ends_on": None,
        "refund_due_by": None,  # only the regional variants set a legal refund deadline
        "next_steps": [],
    }

    # retailer-referral overrides every other clause.
    if facts["sales_channel"] == "other_retailer":
        out["eligibility"] = "refer_to_retailer"
        out["next_steps"] = ["contact_retailer"]
        return out

    request = facts["request"]
    if request in ("cancel_order", "modify_order"):
        _cancel_or_modify(facts, request, out)
    else:
        _return_or_warranty(facts, out)
    return out


def _cancel_or_modify(facts: dict[str, Any], request: str, out: dict[str, Any]) -> None:
    """Section 1: no money-back, warranty or procedure clause applies to these requests."""
    # no-change-30-days-after-shipping overrides every section-1 clause and sets only eligibility.
    shipped_at = facts["shipped_at"]
    if shipped_at is not None and days_between(shipped_at, facts["request_at"]) > NO_CHANGE_AFTER_SHIPPING_DAYS:
        out["eligibility"] = "not_eligible"
        return

    late = hours_between(facts["order_placed_at"], facts["request_at"]) > CANCELLATION_WINDOW_HOURS
    remedy = "cancel_order" if request == "cancel_order" else "modify_order"
    out["remedies"] = [remedy]
    if not late:  # cancel-within-12h / modify-within-12h
        out["eligibility"] = "eligible"
        out["next_steps"] = ["email_support", "await_confirmation_email"]
        return

    out["fees_customer_may_bear"] = ["return_shipping", "order_processing"]
    if request == "modify_order":  # modify-after-12h, courier-address-change-advice
        out["eligibility"] = "discretionary"
        out["next_steps"] = ["email_support"]
        if facts["tracking_number_issued"]:
            out["next_steps"].append("contact_courier_to_change_address")
        return

    # The courier clauses need a tracking number: without one, only cancel-after-12h applies.
    refusal = facts["courier_refusal"] if facts["tracking_number_issued"] else None
    if refusal == "succeeded":  # courier-refusal-succeeded overrides cancel-after-12h
        out["eligibility"] = "eligible"
        out["next_steps"] = ["contact_support_after_refusal"]
        return
    # cancel-after-12h, then courier-refusal-advice or courier-refusal-failed (clause order).
    out["eligibility"] = "discretionary"
    out["next_steps"] = ["email_support"]
    if refusal == "not_attempted":
        out["next_steps"].append("contact_courier_to_refuse")
    elif refusal == "failed":
        out["next_steps"].append("request_return_address")


def _return_or_warranty(facts: dict[str, Any], out: dict[str, Any]) -> None:
    """Section 2 (money-back guarantee, non-quality returns, warranty) and section 3 (procedure)."""
    in_window = days_between(facts["order_placed_at"], facts["request_at"]) <= MONEY_BACK_DAYS
    damaged = facts["product_damaged"]

    if facts["reason_category"] == "non_quality":
        # A non-quality return or warranty claim is a money-back request (`money_back_request`).
        if in_window and not damaged:
            # money-back-guarantee, set aside by bulk-or-corporate-may-refuse and by
            # non-quality-incomplete-may-reject, which give the same values but `discretionary`.
            bulk_or_corporate = facts["corporate_purchase"] or facts["units_of_product"] > BULK_ORDER_UNITS
            complete = (facts["all_accessories_included"] and facts["promotional_gifts_included"]
                        and facts["original_packaging_included"])
            out["eligibility"] = "discretionary" if bulk_or_corporate or not complete else "eligible"
            out["remedies"] = ["full_refund"]
            out["refund_amount"] = facts["product_price"]  # also non-quality-refund-product-cost
            # non-quality-accessories-and-gifts, non-quality-original-packaging
            out["return_requirements"] = ["all_accessories", "promotional_gifts", "original_packaging"]
            # non-quality-buyer-pays-shipping
            out["return_shipping_paid_by"] = "customer"
            out["fees_customer_may_bear"] = ["return_shipping"]
        # Otherwise no-refund-after-30-days, non-quality-window-expired or damaged-non-quality-return:
        # not_eligible, which is the default.
    else:
        # A quality claim, filed as a return or a warranty claim. quality-return-in-window sets aside
        # quality-partial-refund and the three void/expired clauses, but not quality-warranty-service.
        in_window_refund = (in_window and not damaged and not facts["corporate_purchase"]
                            and not facts["units_of_product"] > BULK_ORDER_UNITS)
        warranty_end = _warranty_end(facts)
        covered = (utc_date(facts["request_at"]) <= warranty_end
                   and facts["product_location_country"] == facts["country_of_purchase"]
                   and not facts["previously_fully_refunded"])
        replaceable = facts["replaceable"]
        # quality-warranty-service and quality-partial-refund override no-refund-after-30-days;
        # without them (or quality-return-in-window) the answer is the default not_eligible.
        if in_window_refund or covered:
            out["eligibility"] = "eligible"
            out["return_shipping_paid_by"] = "aqara"
        if in_window_refund:
            out["remedies"].append("full_refund")
            out["refund_amount"] = facts["product_price"]
        if covered and replaceable:  # quality-warranty-service
            out["remedies"].append("warranty_service")
            out["warranty_ends_on"] = warranty_end.isoformat()
        elif covered and not in_window_refund:  # quality-partial-refund
            out["remedies"].append("partial_refund")
            out["refund_amount"] = _usage_partial_refund(facts, warranty_end)
            out["warranty_ends_on"] = warranty_end.isoformat()

    # procedure-contact-support, -return-address, -tracking-number, -refund-after-inspection.
    if out["eligibility"] in ("eligible", "discretionary"):
        out["required_information"] = list(_PROCEDURE_INFORMATION)
        out["next_steps"] = list(_PROCEDURE_STEPS)
        if out["refund_amount"] is not None:
            out["next_steps"].append("await_refund_after_inspection")


def _warranty_end(facts: dict[str, Any]):
    """`warranty_end`: 12 months from the order, or 3 months from the replacement if that is later."""
    end = add_months(facts["order_placed_at"], WARRANTY_MONTHS)
    if facts["is_replacement_unit"]:
        end = max(end, add_months(facts["replaced_at"], REPLACEMENT_WARRANTY_MONTHS))
    return end


def _usage_partial_refund(facts: dict[str, Any], warranty_end) -> float:
    """`usage_partial_refund`: the price times the share of the warranty left, half-up to cents."""
    days_total = days_between(facts["order_placed_at"], warranty_end)
    days_left = days_between(facts["request_at"], warranty_end)
    # `prorate` multiplies and divides exactly before rounding, so no binary rounding error can
    # tip a half cent the wrong way (plain float `price * left / total` would).
    return prorate(facts["product_price"], days_left, days_total)
