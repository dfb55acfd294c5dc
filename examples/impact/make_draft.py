"""Make examples/impact/draft-thresholds/: a HYPOTHETICAL draft of the Aqara policy, for the impact example.

It copies policies/aqara-returns (without its tests) and changes two thresholds: a 45-day money-back
window and bulk orders above 20 units. Run from the repository root after changing the real policy:
`.venv/bin/python examples/impact/make_draft.py` (a test checks the committed draft is up to date).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SOURCE = ROOT / "policies" / "aqara-returns"
DRAFT = Path(__file__).resolve().parent / "draft-thresholds"

BANNER = """\
#
# ============================================================================================
# EXAMPLE ONLY: a hypothetical draft, not Aqara's policy. It shows `verdict diff` and
# `verdict impact`: what if the money-back window grew to 45 days and a bulk order started
# above 20 units? Everything else is a copy of policies/aqara-returns (examples/impact/make_draft.py).
# ============================================================================================
"""

CHANGES = [
    ("# yaml-language-server: $schema=../../schemas/policy.schema.json\n",
     "# yaml-language-server: $schema=../../../schemas/policy.schema.json\n" + BANNER),
    ("  version: 1.2.3\n", "  version: 1.3.0\n"),
    ("  title: Aqara Return & Refund Policy\n", "  title: Aqara Return & Refund Policy (hypothetical draft, example only)\n"),
    ("""    value: 30
    unit: days
    description: Length of the money-back guarantee, counted from the purchase.
    source:
      section: 2. Return & Refund Policy
      quote: within 30 days of purchase""",
     """    value: 45
    unit: days
    description: Length of the money-back guarantee, counted from the purchase.
    origin: "EXAMPLE ONLY: a proposed 45-day window, not in the published text (which says 30 days)\""""),
    ("""    value: 10
    unit: units
    description: Ordering more than this many units of one product makes a bulk order.
    source:
      section: 2. Return & Refund Policy
      quote: Ordering more than 10 units of a product will be considered a bulk order.""",
     """    value: 20
    unit: units
    description: Ordering more than this many units of one product makes a bulk order.
    origin: "EXAMPLE ONLY: a proposed threshold of 20 units, not in the published text (which says 10)\""""),
]


def main() -> None:
    make(Path(sys.argv[1]) if len(sys.argv) > 1 else DRAFT)


def make(draft: Path) -> None:
    """Write the draft into `draft` (replacing it)."""
    global DRAFT
    DRAFT = draft
    if DRAFT.exists():
        shutil.rmtree(DRAFT)
    # The draft is unreleased: the released versions of the real policy and their lock stay with it.
    shutil.copytree(SOURCE, DRAFT, ignore=shutil.ignore_patterns("tests", "released", "policy.lock"))
    policy = DRAFT / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    for old, new in CHANGES:
        if old not in text:
            raise SystemExit(f"make_draft: the policy changed; update CHANGES for: {old.splitlines()[0]!r}")
        text = text.replace(old, new, 1)
    policy.write_text(text, encoding="utf-8")
    for variant in (DRAFT / "variants").glob("*.yaml"):
        variant.write_text(variant.read_text(encoding="utf-8").replace("$schema=../../../schemas/", "$schema=../../../../schemas/"),
                           encoding="utf-8")


if __name__ == "__main__":
    main()
