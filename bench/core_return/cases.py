"""Seeded cases for the core return procedure, with the distribution the peer engines were timed on.

The bias (a third of the days in each band, 85 % bought in the store, ...) makes every rule decide
at least 200 of 20,000 cases, so no rule goes untimed or unchecked.
"""

from __future__ import annotations

import random
from typing import Any

COUNTRIES = ("US", "DE", "GB", "AU", "CN")


def generate(count: int, seed: int) -> list[dict[str, Any]]:
    """`count` cases, every field given; the same seed gives the same cases."""
    rng = random.Random(seed)
    return [_case(rng) for _ in range(count)]


def _case(rng: random.Random) -> dict[str, Any]:
    # The draws happen in a fixed order: changing it changes every case of a seed.
    band = rng.randrange(3)
    days = rng.randint(*((0, 30), (31, 365), (366, 400))[band])
    bought = rng.choice(COUNTRIES)
    same_country = rng.random() < 0.75
    return {
        "channel": "aqara_store" if rng.random() < 0.85 else "reseller",
        "days_since_purchase": days,
        "quantity": rng.randint(1, 10) if rng.random() < 0.8 else rng.randint(1, 20),
        "corporate": rng.random() < 0.12,
        "issue": "quality" if rng.random() < 0.5 else "non_quality",
        "damaged": rng.random() < 0.15,
        "accessories_complete": rng.random() < 0.85,
        "original_packaging": rng.random() < 0.85,
        "bought_country": bought,
        "claim_country": bought if same_country else rng.choice([c for c in COUNTRIES if c != bought]),
        "replaceable": rng.random() < 0.5,
        "fully_refunded_before": rng.random() < 0.1,
    }
