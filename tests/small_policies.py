"""Small policies written for the report and explanation tests, each with its source text.

`library`: a public library's fines and requests. Its parameters and derived values quote the
text (the "$2.00/day" row that produces a fine), and its clauses open with `request`, the fact
that says what kind of case it is, so explanations must not answer a renewal with a waiver.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

LIBRARY_SOURCE = """\
Library fines.
Books are fined $2.00/day late. DVDs are fined $1.00/day late.
Fines are counted per day late.
An item may be renewed twice if it is not late.
A first fine of up to 7 days late may be waived on request.
"""

LIBRARY_POLICY = """\
policy:
  id: library-fines
  version: 1.0.0
  effective_from: "2026-01-01"
  title: Library fines
  source: {{file: source.txt, sha256: {sha}}}
facts:
  request: {{type: enum, values: [renew, waive_fine], description: What the borrower asks for.}}
  item_kind: {{type: enum, values: [book, dvd], description: The kind of item borrowed.}}
  days_late: {{type: int, minimum: 0, description: Days between the due date and the return or the request.}}
  renewals: {{type: int, minimum: 0, description: How many times the item was renewed already.}}
  first_fine: {{type: bool, description: Whether this is the borrower's first fine.}}
  branch: {{type: string, description: The branch asked., default: main}}
parameters:
  book_daily_fine:
    value: 2.0
    unit: dollars
    description: The fine per day late for a book.
    source: {{section: Fines, quote: $2.00/day}}
  dvd_daily_fine:
    value: 1.0
    unit: dollars
    description: The fine per day late for a DVD.
    source: {{section: Fines, quote: $1.00/day}}
  max_renewals:
    value: 2
    description: How many renewals an item may have.
    source: {{section: Renewals, quote: renewed twice}}
  waive_max_days:
    value: 7
    unit: days
    description: The most days late a waived first fine may be.
    source: {{section: Waivers, quote: up to 7 days late}}
derived:
  daily_fine:
    expression: book_daily_fine if item_kind == 'book' else dvd_daily_fine
    description: The fine per day for this item.
  fine_due:
    expression: days_late * daily_fine
    description: The fine for the days late.
    source: {{section: Fines, quote: Fines are counted per day late.}}
    interpretation: Every day after the due date counts, the return day included.
outputs:
  fine:
    type: number
    default: 0
    description: The fine due.
  outcome:
    type: enum
    values: [granted, refused]
    default: refused
    preference: [granted, refused]
    description: Whether the request is granted.
clauses:
  - id: late-fine
    title: Late items are fined per day
    source:
      section: Fines
      quote: [Books are fined $2.00/day late., DVDs are fined $1.00/day late.]
    when: days_late > 0
    then: {{fine: {{expression: fine_due}}}}
  - id: renewal
    title: Items that are not late may be renewed twice
    source: {{section: Renewals, quote: An item may be renewed twice if it is not late.}}
    when: request == 'renew' and renewals < max_renewals and days_late == 0
    then: {{outcome: granted}}
  - id: first-fine-waived
    title: A first short fine may be waived
    source: {{section: Waivers, quote: A first fine of up to 7 days late may be waived on request.}}
    when: request == 'waive_fine' and first_fine and days_late <= waive_max_days
    then: {{outcome: granted, fine: 0}}
    overrides: [late-fine]
informational:
  - {{quote: Library fines., reason: the title}}
"""


def write_library(folder: Path, source: str = LIBRARY_SOURCE, policy: str = LIBRARY_POLICY) -> Path:
    """Write the library policy and its source text into `folder`; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "source.txt").write_text(source, encoding="utf-8")
    (folder / "policy.yaml").write_text(policy.format(sha=hashlib.sha256(source.encode()).hexdigest()), encoding="utf-8")
    return folder
