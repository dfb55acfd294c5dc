"""Dated content: "45 days for orders from 2027-01-01" written as a dated parameter value and a new
source-text version, without copying the policy; 2024 to 2026 orders keep their decisions."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import AQARA, AQARA_VERSION, BASE_FACTS, REPO

import cli
import engine
from engine.render import decision_to_dict

TEXT_2027 = "aqara-return-refund-policy-2027.txt"
# The sentences the 2027 text rewords: (as in force until 2026, as from 2027).
REWORDED = [
    ("30-Day Money-Back Guarantee for Any Reason", "45-Day Money-Back Guarantee for Any Reason"),
    ("Undamaged products can be returned for a full refund, regardless of the reason, within 30 days of purchase, "
     "excluding Corporate purchases/bulk orders, which may not be refundable.",
     "Undamaged products can be returned for a full refund, regardless of the reason, within 45 days of purchase, "
     "excluding Corporate purchases/bulk orders, which may not be refundable."),
    ("If 30 days have passed since your purchase, we cannot offer a refund or exchange.",
     "If 45 days have passed since your purchase, we cannot offer a refund or exchange."),
    ("It is not possible to process a request for a refund for non-quality issues for items that have expired this "
     "30-day window.",
     "It is not possible to process a request for a refund for non-quality issues for items that have expired this "
     "45-day window."),
]


def run(*args):
    return CliRunner().invoke(cli.cli, [str(a) for a in args], catch_exceptions=False)


def edit(file: Path, old: str, new: str, count: int = 1) -> None:
    text = file.read_text(encoding="utf-8")
    assert text.count(old) == count, (old, text.count(old))
    file.write_text(text.replace(old, new), encoding="utf-8")


def write_2027_change(folder: Path) -> None:
    """What a policy owner writes for the 2027 change: the new text, its date, the dated value, the
    rewordings of the quotes. Nothing else of the policy is copied or touched."""
    text = (folder / "aqara-return-refund-policy.txt").read_text(encoding="utf-8")
    for old, new in REWORDED:
        text = text.replace(old, new)
    (folder / TEXT_2027).write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()
    policy = folder / "policy.yaml"
    edit(policy, f"  version: {AQARA_VERSION}\n", "  version: 1.3.0\n")
    edit(policy, "    sha256: 6980e777617e64b3829bd894f55d8dd3cd0373219c3fac57b49689e33aa7b7c7\n",
         "    sha256: 6980e777617e64b3829bd894f55d8dd3cd0373219c3fac57b49689e33aa7b7c7\n"
         "    versions:\n"
         f"      - {{effective_from: '2027-01-01', file: {TEXT_2027}, sha256: {digest}}}\n")
    edit(policy, "  money_back_days:\n    value: 30\n    unit: days\n"
                 "    description: Length of the money-back guarantee, counted from the purchase.\n"
                 "    source:\n      section: 2. Return & Refund Policy\n      quote: within 30 days of purchase\n",
         "  money_back_days:\n    unit: days\n"
         "    description: Length of the money-back guarantee, counted from the purchase.\n"
         "    values:\n"
         "      '2024-01-01': {value: 30, source: {section: 2. Return & Refund Policy, quote: within 30 days of purchase}}\n"
         "      '2027-01-01': {value: 45, source: {section: 2. Return & Refund Policy, quote: within 45 days of purchase}}\n")
    for old, new in REWORDED[1:]:
        occurrences = policy.read_text(encoding="utf-8").count(f"      quote: {old}\n")
        edit(policy, f"      quote: {old}\n", f"      quote: {old}\n      revised: {{'2027-01-01': '{new}'}}\n", occurrences)
    edit(policy, f"  - quote: {REWORDED[0][0]}\n", f"  - quote: {REWORDED[0][0]}\n    revised: {{'2027-01-01': {REWORDED[0][1]}}}\n")


@pytest.fixture
def changed(tmp_path) -> Path:
    folder = tmp_path / "aqara-returns"
    shutil.copytree(AQARA, folder, ignore=shutil.ignore_patterns("tests", "released", "policy.lock"))
    write_2027_change(folder)
    return folder


def decide(policy_set, **changes):
    facts = {**BASE_FACTS, **changes}
    for name in [n for n, v in changes.items() if v is None]:
        facts.pop(name)
    decision, policy = engine.decide_in_set(policy_set, engine.case_from_facts(policy_set, facts, "case"))
    return decision, policy


def test_the_change_is_valid_and_makes_two_windows(changed):
    result = run("validate", changed)
    assert result.exit_code == 0, result.output
    policy_set = engine.require_policy_set(changed)
    base_windows = [p.identity for p in policy_set.compiled if p.identity.variant_chain == ("aqara-returns",)]
    assert [(str(i.effective_from), str(i.effective_until), i.source_file) for i in base_windows] == [
        ("2024-01-01", "2026-12-31", "aqara-return-refund-policy.txt"), ("2027-01-01", "None", TEXT_2027)]
    assert len({i.content_sha256 for i in base_windows}) == 2  # each window is content of its own
    # Every variant is compiled over both windows (the EU one over its own two dated files, too).
    labels = sorted((p.identity.chain_label(), str(p.identity.effective_from)) for p in policy_set.compiled)
    assert ("aqara-returns 1.3.0 → uk 2.0.2", "2027-01-01") in labels and ("aqara-returns 1.3.0 → eu 2.1.2", "2027-01-01") in labels


def test_orders_of_2027_get_45_days_with_the_new_quote_and_text(changed):
    policy_set = engine.require_policy_set(changed)
    decision, policy = decide(policy_set, order_placed_at="2027-03-01T10:00:00Z", request_at="2027-04-10T09:30:00Z",
                              shipped_at="2027-03-02T08:00:00Z", delivered_at="2027-03-05T15:00:00Z")
    assert decision.outputs["eligibility"].value == "eligible"
    assert decision.outputs["eligibility"].clauses == ("money-back-guarantee",)
    document = decision_to_dict(decision)
    assert document["policy"]["source"] == {"file": TEXT_2027,
                                            "sha256": hashlib.sha256((changed / TEXT_2027).read_bytes()).hexdigest()}
    [read] = [r for e in document["trace"]["clauses"] if e["id"] == "money-back-guarantee"
              for r in e.get("reads", []) if r["name"] == "money_back_days"] or [None]
    assert read is not None and read["value"] == 45
    assert read["source"]["quotes"][0]["text"] == "within 45 days of purchase"
    assert read["in_force_from"] == "2027-01-01"
    # The same request on day 40 of a 2026 order: the 30 days of 2026.
    before, _ = decide(policy_set, order_placed_at="2026-11-01T10:00:00Z", request_at="2026-12-11T09:30:00Z",
                       shipped_at="2026-11-02T08:00:00Z", delivered_at="2026-11-05T15:00:00Z")
    assert before.outputs["eligibility"].value == "not_eligible"


def test_the_text_trace_shows_the_dated_value_its_quote_and_its_text(changed, monkeypatch):
    monkeypatch.chdir(changed)
    case = changed / "case.json"
    case.write_text(json.dumps({"facts": {**BASE_FACTS, "order_placed_at": "2027-03-01T10:00:00Z",
                                          "request_at": "2027-04-10T09:30:00Z", "shipped_at": "2027-03-02T08:00:00Z",
                                          "delivered_at": "2027-03-05T15:00:00Z"}}), encoding="utf-8")
    result = run("eval", case, "--policy", changed)
    assert result.exit_code == 0, result.output
    assert ("money_back_days = 45 from 2027-01-01, source text aqara-return-refund-policy-2027.txt; "
            "§ 2. Return & Refund Policy (line 15): “within 45 days of purchase”") in " ".join(result.output.split())


def cases_before_2027() -> list[tuple[str, dict, str | None]]:
    """Every case of the shipped YAML tests dated before 2027: (name, facts, variant)."""
    found = []
    for file in sorted((AQARA / "tests").glob("*.yaml")):
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
        for test in document["tests"]:
            if "expect_refused" in test:  # refused by a constraint: nothing decided, before or after
                continue
            facts = {**(document.get("base_facts") or {}), **(test.get("facts") or {})}
            for name in test.get("without", ()):
                facts.pop(name, None)
            found.append((f"{file.name}::{test['name']}", facts, test.get("variant", document.get("variant"))))
    return [case for case in found if str(case[1].get("order_placed_at", "2026"))[:4] < "2027"]


def test_past_orders_keep_their_outputs_and_deciding_clauses(changed):
    before_set, after_set = engine.require_policy_set(AQARA), engine.require_policy_set(changed)
    cases = cases_before_2027()
    assert len(cases) > 150
    for name, facts, variant in cases:
        before, _ = engine.decide_in_set(before_set, engine.case_from_facts(before_set, facts, name), variant)
        after, _ = engine.decide_in_set(after_set, engine.case_from_facts(after_set, facts, name), variant)
        assert {o: (r.value, r.status, r.clauses, r.missing) for o, r in before.outputs.items()} == \
               {o: (r.value, r.status, r.clauses, r.missing) for o, r in after.outputs.items()}, name


# -- a small policy: every rule of dated content, and every error -------------------------------------

TEXT_A = "Parking rules.\nParking costs $2.00 per hour.\nResidents park free.\n"
TEXT_B = "Parking rules.\nParking costs $2.50 per hour.\nResidents park free.\nParking is free on Sundays.\n"

PARKING = """\
policy:
  id: parking
  version: 1.0.0
  effective_from: "2026-01-01"
  title: Parking
  source:
    file: rules-2026.txt
    sha256: {sha_a}
    versions:
      - {{effective_from: "2027-01-01", file: rules-2027.txt, sha256: {sha_b}}}
facts:
  parked_on: {{type: date, description: The day the car was parked.}}
  hours: {{type: int, minimum: 0, description: Hours parked.}}
  resident: {{type: bool, description: Whether the driver lives in town.}}
parameters:
  hourly_rate:
    type: money
    unit: dollars
    description: The fee per hour.
    values:
      "2026-01-01": {{value: 2.00, source: {{section: Fees, quote: $2.00 per hour}}}}
      "2027-01-01": {{value: 2.50, source: {{section: Fees, quote: $2.50 per hour}}}}
derived:
  fee_due:
    expression: hours * hourly_rate
    description: The fee for the hours parked.
outputs:
  fee: {{type: money, default: 0, description: The fee due.}}
clauses:
  - id: hourly-fee
    title: Parking is paid by the hour
    source:
      section: Fees
      quote: Parking costs $2.00 per hour.
      revised: {{"2027-01-01": Parking costs $2.50 per hour.}}
    when: not resident
    then: {{fee: {{expression: fee_due}}}}
  - id: residents-free
    title: Residents park free
    source: {{section: Fees, quote: Residents park free.}}
    when: resident
    then: {{fee: 0}}
informational:
  - {{quote: Parking rules., reason: the title}}
  - {{quote: Parking is free on Sundays., reason: an example sentence of the later text, effective_from: "2027-01-01"}}
versions:
  select_by: parked_on
"""


def write_parking(folder: Path, policy: str = PARKING, text_b: str = TEXT_B) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules-2026.txt").write_text(TEXT_A, encoding="utf-8")
    (folder / "rules-2027.txt").write_text(text_b, encoding="utf-8")
    sha = {"sha_a": hashlib.sha256(TEXT_A.encode()).hexdigest(), "sha_b": hashlib.sha256(text_b.encode()).hexdigest()}
    (folder / "policy.yaml").write_text(policy.format(**sha), encoding="utf-8")
    return folder / "policy.yaml"


def fee(policy_set, **facts) -> tuple:
    decision, _ = engine.decide_in_set(policy_set, engine.case_from_facts(policy_set, facts, "case"))
    result = decision.outputs["fee"]
    return str(result.value), result.status, result.missing


def problems_of(file: Path) -> list[tuple[str, int, str, str]]:
    _, problems = engine.load_policy_set(file)
    return [(p.code, p.location.line, p.message, p.help) for p in problems]


def test_each_day_has_its_value(tmp_path):
    policy_set = engine.require_policy_set(write_parking(tmp_path / "parking"))
    assert fee(policy_set, parked_on="2026-12-31", hours=3, resident=False) == ("6.00", "decided", ())
    assert fee(policy_set, parked_on="2027-01-01", hours=3, resident=False) == ("7.50", "decided", ())


def test_without_the_date_a_value_stands_only_where_the_windows_agree(tmp_path):
    policy_set = engine.require_policy_set(write_parking(tmp_path / "parking"))
    assert fee(policy_set, hours=3, resident=False) == ("None", "undetermined", ("parked_on",))
    assert fee(policy_set, hours=3, resident=True) == ("0.00", "decided", ())  # every window: residents park free
    assert fee(policy_set, hours=0, resident=False) == ("0.00", "decided", ())  # 0 hours cost 0 at either rate


def test_a_reworded_quote_that_the_new_text_lacks_names_the_text_and_the_line(tmp_path):
    file = write_parking(tmp_path / "parking", PARKING.replace('"2027-01-01": Parking costs $2.50 per hour.',
                                                               '"2027-01-01": Parking costs $2.75 per hour.'))
    line = next(n for n, text in enumerate(file.read_text().splitlines(), 1) if "$2.75" in text)
    assert problems_of(file) == [
        ("quote_not_found", line, "the quote is not in the source text in force from 2027-01-01 (`rules-2027.txt`)",
         "closest text in the source: `Parking costs $2.50 per hour.`")]


def test_a_sentence_of_the_new_text_must_be_covered(tmp_path):
    file = write_parking(tmp_path / "parking", PARKING, TEXT_B + "Trucks pay double.\n")
    line = next(n for n, text in enumerate(file.read_text().splitlines(), 1) if "rules-2027.txt" in text)
    assert problems_of(file) == [
        ("sentence_not_covered", line, "sentence 5:1 of the source is neither encoded nor informational: `Trucks pay double.`",
         "quote it in a clause, parameter or derived value, or list it under `informational` with a reason")]


def test_a_value_of_each_date_is_checked_against_its_own_quote(tmp_path):
    file = write_parking(tmp_path / "parking", PARKING.replace("{value: 2.50, source", "{value: 2.75, source"))
    _, problems = engine.load_policy_set(file)
    [warning] = problems
    assert (warning.code, warning.severity, warning.message) == (
        "quote_number", "warning", 'parameter `hourly_rate` is 2.75 dollars from 2027-01-01 but its quote says "$2.50"')


@pytest.mark.parametrize("edit_from, edit_to, code, message, help_text", [
    ('"2026-01-01": {{value: 2.00', '"2026-02-01": {{value: 2.00', "dated_value_gap",
     "parameter `hourly_rate` has no value from 2026-01-01 to 2026-01-31: its first dated value is from 2026-02-01",
     "date its first value 2026-01-01 (the day this version takes effect) or earlier"),
    ('"2027-01-01": {{value: 2.50', '"2027-02-30": {{value: 2.50', "bad_date", "`2027-02-30` is not a real date", ""),
    ('{effective_from: "2027-01-01", file: rules-2027.txt', '{effective_from: "2026-01-01", file: rules-2027.txt',
     "dated_never_in_force", "this source text takes effect on 2026-01-01, not after 2026-01-01, when the policy takes "
     "effect: the policy's own `source.file` would never be in force",
     "give the text of the first day in `source.file`, and later texts in `versions`"),
])
def test_dates_that_cannot_hold(tmp_path, edit_from, edit_to, code, message, help_text):
    assert edit_from in PARKING
    file = write_parking(tmp_path / "parking", PARKING.replace(edit_from, edit_to))
    line = next(n for n, text in enumerate(file.read_text().splitlines(), 1) if edit_to.replace("{{", "{") in text)
    assert [(c, l, m, h) for c, l, m, h in problems_of(file) if c == code] == [(code, line, message, help_text)]


def test_a_change_after_the_last_day_of_the_version_is_never_used(tmp_path):
    file = write_parking(tmp_path / "parking", PARKING.replace('  effective_from: "2026-01-01"\n',
                                                               '  effective_from: "2026-01-01"\n  effective_until: "2026-12-31"\n'))
    found = problems_of(file)
    assert ("dated_never_in_force", 11, "the source text changes on 2027-01-01, after 2026-12-31, the last day this version "
            "is in force, so the change is never used", "date it within the version, or put it in the version that follows") in found
    assert {c for c, *_ in found} == {"dated_never_in_force"}


def test_dated_content_needs_a_date_to_choose_by(tmp_path):
    file = write_parking(tmp_path / "parking", PARKING.replace("versions:\n  select_by: parked_on\n", ""))
    line = next(n for n, text in enumerate(file.read_text().splitlines(), 1) if '"2026-01-01": {value' in text)
    assert problems_of(file) == [(
        "dated_unselected", line, "the content of policy.yaml changes on 2027-01-01, but policy.yaml declares no "
        "`versions: {select_by: ...}` to choose by date",
        "add `versions: {select_by: FACT}` to policy.yaml, FACT the date fact whose day picks the content in force "
        "(e.g. when the order was placed)")]


def test_schema_messages_for_dated_values(tmp_path):
    file = write_parking(tmp_path / "parking", PARKING.replace(
        "    description: The fee per hour.\n    values:", "    description: The fee per hour.\n    origin: the council\n    values:"))
    assert [(c, m, h) for c, _, m, h in problems_of(file)] == [
        ("schema", "parameters.hourly_rate: `origin` belongs to each dated value when the parameter has `values`",
         "move `origin` into the dated value it documents")]
    file = write_parking(tmp_path / "other", PARKING.replace('{value: 2.00, source: {{section: Fees, quote: $2.00 per hour}}}',
                                                             '{value: 2.00}'))
    assert [(c, m) for c, _, m, _ in problems_of(file)] == [
        ("schema", "parameters.hourly_rate.values['2026-01-01']: give one of `source`, `origin`, `legal`")]


def test_each_version_file_reads_its_own_source_text(tmp_path):
    # The 2027 terms as a version file of their own, with their own text: before, every version was
    # checked against the first file's text, and failed on its sha256.
    folder = tmp_path / "parking"
    file = write_parking(folder)
    first = (PARKING.replace("    versions:\n      - {{effective_from: \"2027-01-01\", file: rules-2027.txt, sha256: {sha_b}}}\n", "")
             .replace('      "2027-01-01": {{value: 2.50, source: {{section: Fees, quote: $2.50 per hour}}}}\n', "")
             .replace('      revised: {{"2027-01-01": Parking costs $2.50 per hour.}}\n', "")
             .replace('  - {{quote: Parking is free on Sundays., reason: an example sentence of the later text, effective_from: "2027-01-01"}}\n', "")
             .replace('  effective_from: "2026-01-01"\n', '  effective_from: "2026-01-01"\n  effective_until: "2026-12-31"\n')
             .replace("  select_by: parked_on\n", "  select_by: parked_on\n  files: [policy-2027.yaml]\n"))
    later = (PARKING.replace("    versions:\n      - {{effective_from: \"2027-01-01\", file: rules-2027.txt, sha256: {sha_b}}}\n", "")
             .replace("file: rules-2026.txt\n    sha256: {sha_a}", "file: rules-2027.txt\n    sha256: {sha_b}")
             .replace('  effective_from: "2026-01-01"\n', '  effective_from: "2027-01-01"\n')
             .replace('      "2026-01-01": {{value: 2.00, source: {{section: Fees, quote: $2.00 per hour}}}}\n', "")
             .replace('      "2027-01-01": {{value', '      "2027-01-01": {{value')
             .replace("      quote: Parking costs $2.00 per hour.\n      revised: {{\"2027-01-01\": Parking costs $2.50 per hour.}}\n",
                      "      quote: Parking costs $2.50 per hour.\n")
             .replace('Parking is free on Sundays., reason: an example sentence of the later text, effective_from: "2027-01-01"',
                      "Parking is free on Sundays., reason: an example sentence of the later text")
             .replace("versions:\n  select_by: parked_on\n", ""))
    sha = {"sha_a": hashlib.sha256(TEXT_A.encode()).hexdigest(), "sha_b": hashlib.sha256(TEXT_B.encode()).hexdigest()}
    file.write_text(first.format(**sha), encoding="utf-8")
    (folder / "policy-2027.yaml").write_text(later.format(**sha), encoding="utf-8")
    policy_set = engine.require_policy_set(file)
    assert [(p.identity.source_file, str(p.identity.effective_from)) for p in policy_set.compiled] == [
        ("rules-2026.txt", "2026-01-01"), ("rules-2027.txt", "2027-01-01")]
    assert fee(policy_set, parked_on="2027-06-01", hours=2, resident=False) == ("5.00", "decided", ())
    # The plan cache knows both texts: changing the later one is noticed.
    assert {name for name, _ in policy_set.files} >= {"rules-2026.txt", "rules-2027.txt", "policy-2027.yaml"}


def test_a_cached_dated_policy_decides_and_traces_alike(changed, tmp_path):
    from engine import cache as plan_cache

    cache, _ = plan_cache.open_cache(tmp_path / "cache")
    fresh = engine.require_policy_set(changed, cache)
    stored = engine.require_policy_set(changed, cache)  # read back from the cache
    assert [p.identity for p in stored.compiled] == [p.identity for p in fresh.compiled]
    facts = {**BASE_FACTS, "order_placed_at": "2027-03-01T10:00:00Z", "request_at": "2027-04-10T09:30:00Z",
             "shipped_at": "2027-03-02T08:00:00Z", "delivered_at": "2027-03-05T15:00:00Z"}  # after the order
    documents = []
    for policy_set in (fresh, stored):
        decision, policy = engine.decide_in_set(policy_set, engine.case_from_facts(policy_set, facts, "case"))
        documents.append(json.dumps(decision_to_dict(decision), default=str))
    assert documents[0] == documents[1] and '"in_force_from": "2027-01-01"' in documents[0]


def test_diff_between_two_days_shows_the_dated_changes(tmp_path, monkeypatch):
    write_parking(tmp_path / "parking")
    monkeypatch.chdir(tmp_path)
    result = run("diff", "parking/policy.yaml@2026-12-31", "parking/policy.yaml@2027-01-01")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2:] == [
        "parameter changed: hourly_rate: 2.00 → 2.50",
        "quote changed: parameter hourly_rate: § Fees: “$2.00 per hour” → § Fees: “$2.50 per hour”",
        "quote changed: clause hourly-fee: § Fees: “Parking costs $2.00 per hour.” → § Fees: “Parking costs $2.50 per hour.”",
        f"source text changed: rules-2026.txt → rules-2027.txt: sha256 {hashlib.sha256(TEXT_A.encode()).hexdigest()[:16]} → "
        f"{hashlib.sha256(TEXT_B.encode()).hexdigest()[:16]}",
        "  sentence changed (line 2 → line 2): “Parking costs $2.00 per hour.” → “Parking costs $2.50 per hour.”",
        "  sentence added (line 4 of the new text): “Parking is free on Sundays.”",
    ]


def test_two_texts_of_one_date(tmp_path):
    file = write_parking(tmp_path / "parking", PARKING.replace(
        '      - {{effective_from: "2027-01-01", file: rules-2027.txt, sha256: {sha_b}}}\n',
        '      - {{effective_from: "2027-01-01", file: rules-2027.txt, sha256: {sha_b}}}\n'
        '      - {{effective_from: "2027-01-01", file: rules-2027.txt, sha256: {sha_b}}}\n'))
    assert problems_of(file) == [("dated_twice", 11, "two source texts take effect on 2027-01-01", "give each date one text")]


def test_at_most_so_many_dates_in_one_file(tmp_path, monkeypatch):
    from engine import dated

    monkeypatch.setattr(dated, "MAX_WINDOWS", 2)  # the parking policy has 2 windows; a third date is one too many
    file = write_parking(tmp_path / "parking", PARKING.replace(
        '      "2027-01-01": {{value: 2.50', '      "2026-06-01": {{value: 2.00, source: {{section: Fees, quote: $2.00 per hour}}}}\n'
                                           '      "2027-01-01": {{value: 2.50'))
    assert problems_of(file) == [("too_many_dates", 2, "the content changes on 2 dates; at most 1 are allowed in one file, "
                                  "each of which is compiled as a version", "split the file into dated versions (`versions.files`)")]


def test_a_logged_decision_of_either_window_replays(tmp_path, monkeypatch):
    write_parking(tmp_path / "parking")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VERDICT_POLICY_PATH", str(tmp_path))
    for day in ("2026-12-31", "2027-01-01"):
        case = tmp_path / f"case-{day}.json"
        case.write_text(json.dumps({"facts": {"parked_on": day, "hours": 2, "resident": False}}), encoding="utf-8")
        assert run("eval", case, "--policy", "parking/policy.yaml", "--log", "decisions.jsonl", "--trace", "none").exit_code == 0
    records = [json.loads(line) for line in (tmp_path / "decisions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["decision"]["outputs"]["fee"] for r in records] == [4.0, 5.0]
    assert records[0]["decision"]["policy"]["content_sha256"] != records[1]["decision"]["policy"]["content_sha256"]
    result = run("log", "verify", "decisions.jsonl", "--replay")
    assert result.exit_code == 0, result.output
    assert "2 records, 0 chain problem(s), 2 reproduced, 0 not" in result.output
