"""Generated cases for the Aqara benchmark, and the check that `handwritten.py` agrees with the engine.

`bench.py` times on these cases; `tests/test_bench_agreement.py` runs the same check under pytest.
Both need this folder on `sys.path` (for `handwritten`) and the engine importable.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import engine
import handwritten
from engine.model import to_json_value

OUTPUTS = ("eligibility", "remedies", "refund_amount", "return_shipping_paid_by", "fees_customer_may_bear",
           "return_requirements", "required_information", "warranty_ends_on", "refund_due_by", "next_steps")

# -- case generation -------------------------------------------------------------------------------

COUNTRIES = ["US", "DE", "FR", "GB", "CN", "JP", "AU"]
# Offsets for request_at: a request late in the evening at UTC-8 falls on the next UTC date, which
# is what `days_between` counts, so offsets exercise the calendar-day boundaries.
OFFSETS = [dt.timedelta(hours=h, minutes=m) for h, m in ((1, 0), (2, 0), (-5, 0), (-8, 0), (9, 0), (5, 30))]
FIRST_ORDER = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)  # 2024 is a leap year: 29 Feb + 12 months
ORDER_SPAN_DAYS = 3 * 365


def _iso(moment: dt.datetime) -> str:
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _order_time(rng: random.Random) -> dt.datetime:
    """When the order was placed; one in ten on the 28th-31st, where adding months clamps."""
    if rng.random() < 0.1:
        year, month = rng.randint(2024, 2026), rng.randint(1, 12)
        day = rng.randint(28, 31)
        while True:  # the last valid day of the month at most
            try:
                start = dt.datetime(year, month, day, tzinfo=dt.timezone.utc)
                break
            except ValueError:
                day -= 1
        return start + dt.timedelta(seconds=rng.randrange(86400))
    return FIRST_ORDER + dt.timedelta(seconds=rng.randrange(ORDER_SPAN_DAYS * 86400))


def _elapsed(rng: random.Random) -> dt.timedelta:
    """Time from the order to the request, 0-400 days, with a good share near the boundaries."""
    band = rng.random()
    if band < 0.2:  # the 12-hour cancellation window, exactly 12 h included
        return rng.choice([dt.timedelta(hours=12), dt.timedelta(hours=12, seconds=1),
                           dt.timedelta(seconds=rng.randint(10 * 3600, 14 * 3600))])
    if band < 0.45:  # the 30-day money-back window and 30 days after shipping
        return dt.timedelta(days=rng.randint(27, 37), seconds=rng.randrange(86400))
    if band < 0.55:  # the end of the 12-month warranty
        return dt.timedelta(days=rng.randint(360, 372), seconds=rng.randrange(86400))
    return dt.timedelta(seconds=rng.randrange(401 * 86400))


def generate_facts(rng: random.Random) -> dict[str, Any]:
    """One case with every fact given, as a case file would hold it (datetimes as ISO text)."""
    order = _order_time(rng)
    request = order + _elapsed(rng)
    if rng.random() < 0.3:  # the customer writes from their own time zone
        request = request.astimezone(dt.timezone(rng.choice(OFFSETS)))

    # Shipping and delivery: null when they had not happened yet at the time of the request.
    shipped = order + dt.timedelta(seconds=rng.randint(2 * 3600, 5 * 86400))
    if shipped > request or rng.random() < 0.1:
        shipped = None
    delivered = shipped + dt.timedelta(seconds=rng.randint(86400, 7 * 86400)) if shipped else None
    if delivered is not None and delivered > request:
        delivered = None

    purchase_country = rng.choice(COUNTRIES)
    location = purchase_country
    if rng.random() < 0.15:  # the product was taken abroad
        location = rng.choice([c for c in COUNTRIES if c != purchase_country])
    # replaced_at is a fact of every case; it matters only for replacement units, and a late
    # replacement (more than 9 months after the order) extends the warranty.
    replaced_at = order.date() + dt.timedelta(days=rng.randint(0, max(0, (request - order).days)))

    return {
        "request": rng.choice(["return", "warranty_claim", "cancel_order", "modify_order"]),
        "sales_channel": "aqara_online_store" if rng.random() < 0.85 else "other_retailer",
        "country_of_purchase": purchase_country,
        "product_location_country": location,
        "order_placed_at": _iso(order),
        "request_at": _iso(request),
        "shipped_at": _iso(shipped) if shipped else None,
        "delivered_at": _iso(delivered) if delivered else None,
        "tracking_number_issued": rng.random() < (0.9 if shipped else 0.2),
        "units_of_product": 1 if rng.random() < 0.4 else rng.randint(1, 20),
        "corporate_purchase": rng.random() < 0.15,
        "reason_category": rng.choice(["quality", "non_quality"]),
        "product_damaged": rng.random() < 0.2,
        "all_accessories_included": rng.random() < 0.85,
        "promotional_gifts_included": rng.random() < 0.85,
        "original_packaging_included": rng.random() < 0.85,
        "product_price": rng.randint(100, 60000) / 100,  # cents, e.g. 59.99
        "shipping_paid": rng.randint(0, 2000) / 100,
        "replaceable": rng.random() < 0.75,
        "previously_fully_refunded": rng.random() < 0.1,
        "is_replacement_unit": rng.random() < 0.2,
        "replaced_at": replaced_at.isoformat(),
        "courier_refusal": rng.choices(["not_attempted", "succeeded", "failed"], weights=[6, 2, 2])[0],
    }


def generate_cases(policy: engine.Policy, count: int, seed: int) -> list[engine.Case]:
    rng = random.Random(seed)
    return [engine.case_from_facts(policy, generate_facts(rng), f"case-{i}") for i in range(count)]


# -- agreement check -------------------------------------------------------------------------------

def check_agreement(policy: engine.Policy, cases: list[engine.Case]) -> list[dict]:
    """Compare the engine (trace on and off) and the hand-written function on every output.

    Doubles as the warm-up run before timing. Returns one entry per disagreement.
    """
    problems = []
    for case in cases:
        traced = engine.decide(policy, case, trace=True)
        untraced = engine.decide(policy, case, trace=False)
        mine = handwritten.decide(case.facts)
        for name in OUTPUTS:
            result = untraced.outputs[name]
            value = to_json_value(result.value)
            if result.status not in ("decided", "default"):
                # Every fact is given, so nothing may be undetermined: the generator is wrong.
                problems.append(_problem(case, name, f"{result.status} ({', '.join(result.missing)})", mine[name]))
            elif to_json_value(traced.outputs[name].value) != value:
                problems.append(_problem(case, name, f"trace off {value!r}, trace on "
                                                     f"{to_json_value(traced.outputs[name].value)!r}", mine[name]))
            elif mine[name] != value or type(mine[name]) is not type(value):
                problems.append(_problem(case, name, value, mine[name]))
        if untraced.errors:
            problems.append(_problem(case, "(errors)", [d.message for d in untraced.errors], None))
    return problems


def _problem(case: engine.Case, output: str, engine_value: Any, handwritten_value: Any) -> dict:
    return {"case": case.id, "facts": to_json_value(case.facts), "output": output,
            "engine": engine_value, "handwritten": handwritten_value}
