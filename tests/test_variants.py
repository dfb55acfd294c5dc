"""Variants: overlays over a base policy, their validation, selection, and what the trace says."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

import cli
import engine
from conftest import AQARA_VERSION, REPO

EXAMPLE = str(REPO / "examples" / "cases" / "eu-withdrawal-de.yaml")
LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<subject>[^:]+): (?P<message>.+)$")


@pytest.fixture
def eu_copy(policy_copy):
    """A copy of the Aqara policy whose EU variant file a test may edit."""

    class Variant:
        file = policy_copy.folder / "variants" / "eu.yaml"

        def replace(self, old: str, new: str) -> None:
            text = self.file.read_text(encoding="utf-8")
            assert old in text, old
            self.file.write_text(text.replace(old, new, 1), encoding="utf-8")

        def line_of(self, needle: str) -> int:
            return next(n for n, line in enumerate(self.file.read_text(encoding="utf-8").splitlines(), 1) if needle in line)

        def problems(self):
            return policy_copy.problems()

    return Variant()


def only(problems, code):
    assert [p.code for p in problems] == [code], [p.one_line() for p in problems]
    text = problems[0].one_line()
    assert LINE.match(text) and "\n" not in text, text
    return problems[0]


def test_the_bundled_variants_load():
    policy_set = engine.require_policy_set(REPO / "policies" / "aqara-returns")
    assert sorted(policy_set.variants) == ["au", "eu", "uk"]
    eu = policy_set.variants["eu"]
    assert eu.identity.variant_chain == ("aqara-returns", "eu")
    assert len(eu.countries) == 27 and policy_set.countries["DE"] == "eu"
    assert [d.clause for d in eu.disabled] == ["bulk-or-corporate-may-refuse"]
    assert eu.identity.content_sha256 != policy_set.base.identity.content_sha256
    assert [name for name, _ in eu.identity.files] == ["policy.yaml", "aqara-return-refund-policy.txt", "eu-2026-07-31.yaml"]
    assert eu.identity.versions == (AQARA_VERSION, "2.1.2") and str(eu.identity.effective_from) == "2026-07-31"
    assert len(policy_set.compiled) == 5  # the base, each EU version over it, the UK and AU variants


def test_override_of_a_clause_that_does_not_exist(eu_copy):
    eu_copy.replace("      - money-back-guarantee\n      - no-refund-after-30-days", "      - money-back-guaranty\n      - no-refund-after-30-days")
    problem = only(eu_copy.problems(), "unknown_clause")
    assert problem.location.file.endswith("eu.yaml") and problem.location.line == eu_copy.line_of("money-back-guaranty")
    assert problem.subject == "eu-withdrawal" and problem.help == "did you mean `money-back-guarantee`?"


def test_disable_of_a_clause_that_does_not_exist(eu_copy):
    eu_copy.replace("  - clause: bulk-or-corporate-may-refuse", "  - clause: bulk-or-corporate")
    problem = only(eu_copy.problems(), "unknown_clause")
    assert problem.location.file.endswith("eu.yaml") and problem.location.line == eu_copy.line_of("clause: bulk-or-corporate")
    assert problem.help == "did you mean `bulk-or-corporate-may-refuse`?"


def test_a_variant_clause_without_a_legal_citation(eu_copy):
    eu_copy.replace('''    legal:
      source: crd
      article: "Art. 14(1)"''', '''    legal_note:
      source: crd
      article: "Art. 14(1)"''')
    problems = eu_copy.problems()
    assert sorted(p.message for p in problems) == ["clauses[1]: missing required key `legal`",
                                                   "clauses[1]: unknown key `legal_note`"]
    assert all(p.location.file.endswith("eu.yaml") and p.subject == "eu-withdrawal-return-cost" for p in problems)


def test_a_citation_of_an_undeclared_act(eu_copy):
    eu_copy.replace('''      source: sgd
      article: "Art. 10(1), 13(2), 14(1)"''', '''      source: sdg
      article: "Art. 10(1), 13(2), 14(1)"''')
    problem = only(eu_copy.problems(), "unknown_legal_source")
    assert problem.help == "did you mean `sgd`?"


def test_two_variants_claiming_the_same_country(policy_copy, eu_copy):
    text = eu_copy.file.read_text(encoding="utf-8")
    (eu_copy.file.parent / "de.yaml").write_text(
        text.replace("  id: eu\n", "  id: dach\n").replace("  countries: [AT,", "  countries: [CH, AT,"), encoding="utf-8")
    policy_copy.replace("variants/au.yaml]", "variants/au.yaml, variants/de.yaml]")
    problems = eu_copy.problems()
    assert {p.code for p in problems} == {"country_claimed_twice"}
    assert problems[0].message.startswith("country `AT` is also claimed by variant `")


def test_cycles_in_extends(policy_copy, eu_copy):
    text = eu_copy.file.read_text(encoding="utf-8")
    (eu_copy.file.parent / "de.yaml").write_text(
        text.replace("  id: eu\n", "  id: de\n").replace("  extends: aqara-returns", "  extends: eu").replace(
            "  countries: [AT, BE, BG, HR, CY, CZ, DK, EE, FI, FR, DE,", "  countries: [CH,").replace(
            " GR, HU, IE, IT, LV, LT, LU, MT, NL, PL, PT, RO, SK, SI, ES, SE]", "]"), encoding="utf-8")
    eu_copy.replace("  extends: aqara-returns", "  extends: de")
    policy_copy.replace("variants/au.yaml]", "variants/au.yaml, variants/de.yaml]")
    problems = eu_copy.problems()
    assert {p.code for p in problems} == {"extends_cycle"}
    assert "`de` → `eu`" in problems[0].message


def test_a_variant_may_extend_another(policy_copy, eu_copy):
    (eu_copy.file.parent / "de.yaml").write_text(
        "variant: {id: de, extends: eu, version: 1.0.0, effective_from: '2026-01-01', title: Germany, countries: [CH],\n"
        "  legal_sources: {bgb: {act: Bürgerliches Gesetzbuch, url: https://www.gesetze-im-internet.de/bgb/}}}\n"
        "parameters:\n  withdrawal_days:\n    value: 15\n    description: Illustration only.\n"
        "    legal: {source: bgb, article: § 355, quote: an illustration}\n", encoding="utf-8")
    policy_copy.replace("variants/au.yaml]", "variants/au.yaml, variants/de.yaml]")
    policy_set = engine.require_policy_set(policy_copy.folder)
    assert policy_set.variants["de"].identity.variant_chain == ("aqara-returns", "eu", "de")
    assert policy_set.variants["de"].parameters["withdrawal_days"].value == 15
    assert policy_set.countries["CH"] == "de"


def test_conflicts_across_files_are_found(eu_copy):
    eu_copy.replace("      - warranty-void-after-refund\n", "")
    problem = only(eu_copy.problems(), "conflict")
    assert "`warranty-void-after-refund` and `eu-withdrawal`" in problem.message
    assert problem.location.file.endswith("eu.yaml")


def test_parameter_override_without_citation(eu_copy):
    eu_copy.replace("parameters:\n  withdrawal_days:", "parameters:\n  money_back_days:\n    value: 31\n    description: Changed.\n    origin: a guess\n  withdrawal_days:")
    problem = only(eu_copy.problems(), "variant_citation")
    assert "`money_back_days`" in problem.message


def test_eval_german_consumer_and_the_same_in_the_us():
    runner = CliRunner()
    eu = json.loads(runner.invoke(cli.cli, ["eval", EXAMPLE, "--format", "json"]).output)
    assert eu["outputs"]["eligibility"] == "eligible"
    assert eu["outputs"]["refund_amount"] == 85.98  # 79.99 + the 5.99 outbound shipping
    assert eu["policy"]["variant_chain"] == ["aqara-returns", "eu"]
    assert eu["policy"]["selection"] == (
        "country_of_purchase `DE` is covered by variant `eu`; the version in force on 2026-03-01, the UTC date of "
        f"order_placed_at; aqara-returns {AQARA_VERSION} → eu 2.0.2, in force from 2024-01-01 until 2026-07-30")
    [withdrawal] = [c for c in eu["trace"]["clauses"] if c["id"] == "eu-withdrawal"]
    assert withdrawal["origin"] == "eu" and withdrawal["legal"]["act"] == "Directive 2011/83/EU"
    assert withdrawal["legal"]["article"].startswith("Art. 9(1)")
    [displaced] = [c for c in eu["trace"]["clauses"] if c["id"] == "no-refund-after-30-days"]
    assert displaced["overridden_by"] == "eu-withdrawal" and displaced["overridden_by_origin"] == "eu"
    assert displaced["overridden_by_legal"].startswith("Directive 2011/83/EU, Art. 9(1)")
    assert eu["trace"]["disabled"][0]["clause"] == "bulk-or-corporate-may-refuse"
    us = json.loads(runner.invoke(cli.cli, ["eval", EXAMPLE, "--format", "json", "--fact", "country_of_purchase=US",
                                            "--fact", "product_location_country=US"]).output)
    assert us["outputs"]["eligibility"] == "not_eligible"
    assert us["policy"]["variant_chain"] == ["aqara-returns"]
    text = runner.invoke(cli.cli, ["eval", EXAMPLE]).output
    assert ("base clause no-refund-after-30-days overridden by eu clause eu-withdrawal "
            "(Directive 2011/83/EU, Art. 9(1), 9(2)(b), 10, 13(1), 13(2))") in text


def test_variant_option():
    runner = CliRunner()
    base = json.loads(runner.invoke(cli.cli, ["eval", EXAMPLE, "--format", "json", "--variant", "aqara-returns"]).output)
    assert base["outputs"]["eligibility"] == "not_eligible" and base["policy"]["selection"].startswith("variant `aqara-returns` chosen by the caller")
    wrong = runner.invoke(cli.cli, ["eval", EXAMPLE, "--variant", "euu"])
    assert wrong.exit_code == 2 and "`euu` is not a variant of `aqara-returns`; did you mean `eu`?" in wrong.stderr


def test_the_order_date_picks_the_version_and_as_of_overrides_it():
    runner = CliRunner()
    facts = ["--fact", "request=warranty_claim", "--fact", "reason_category=quality", "--fact", "preferred_remedy=repair",
             "--fact", "order_placed_at=2026-08-01T10:00:00Z", "--fact", "shipped_at=2026-08-02T10:00:00Z",
             "--fact", "delivered_at=2026-08-05T10:00:00Z", "--fact", "request_at=2027-06-01T10:00:00Z"]
    after = json.loads(runner.invoke(cli.cli, ["eval", EXAMPLE, "--format", "json", *facts]).output)
    assert after["outputs"]["warranty_ends_on"] == "2029-08-05"
    assert after["policy"]["chain_versions"] == [AQARA_VERSION, "2.1.2"]
    assert "eu 2.1.2, in force from 2026-07-31" in after["policy"]["selection"]
    before = json.loads(runner.invoke(cli.cli, ["eval", EXAMPLE, "--format", "json", "--as-of", "2026-07-30", *facts]).output)
    assert before["outputs"]["warranty_ends_on"] == "2028-08-05"
    assert "the version in force on 2026-07-30, the date given" in before["policy"]["selection"]


def test_a_case_dated_before_every_version_is_refused():
    result = CliRunner().invoke(cli.cli, ["eval", EXAMPLE, "--fact", "order_placed_at=2023-05-01T10:00:00Z"])
    assert result.exit_code == 3
    assert ("the case is dated before every version of `aqara-returns`: order_placed_at (2023-05-01) is before 2024-01-01"
            in result.stderr)
    assert "Traceback" not in result.output + result.stderr


def test_overlapping_versions_are_rejected(eu_copy):
    eu_copy.replace('  effective_until: "2026-07-30"', '  effective_until: "2026-08-15"')
    problem = only(eu_copy.problems(), "version_overlap")
    assert problem.location.file.endswith("eu-2026-07-31.yaml")
    assert "overlaps the one in force from 2024-01-01 (eu.yaml, until 2026-08-15)" in problem.message
    assert problem.help == "end the earlier one with `effective_until: 2026-07-30`"


def test_gaps_between_versions_are_reported_as_warnings(eu_copy):
    eu_copy.replace('  effective_until: "2026-07-30"', '  effective_until: "2026-06-30"')
    policy_set, problems = engine.load_policy_set(eu_copy.file.parent.parent)
    assert policy_set is not None
    [warning] = problems
    assert warning.severity == "warning" and warning.code == "version_gap"
    assert ": warning: eu: no version of `eu` is in force from 2026-07-01 to 2026-07-30" in warning.one_line()


def test_without_the_order_date_only_what_every_version_agrees_on_stands():
    runner = CliRunner()
    document = json.loads(runner.invoke(cli.cli, ["eval", "-", "--format", "json"], input=json.dumps({"facts": {
        "request": "warranty_claim", "reason_category": "quality", "preferred_remedy": "repair", "sales_channel": "aqara_online_store",
        "country_of_purchase": "DE", "product_location_country": "DE", "corporate_purchase": False, "product_damaged": False,
        "previously_fully_refunded": False, "replaceable": True, "is_replacement_unit": False,
        "shipped_at": "2026-08-02T10:00:00Z", "delivered_at": "2026-08-05T10:00:00Z", "request_at": "2027-06-01T10:00:00Z"}})).output)
    assert document["outputs"]["warranty_ends_on"] is None
    assert "order_placed_at" in document["missing_facts"]
    assert document["decided_by"]["warranty_ends_on"]["status"] == "undetermined"


def test_a_parameter_override_of_another_type_is_reported_in_the_variant(eu_copy):
    eu_copy.replace("parameters:\n  withdrawal_days:", "parameters:\n  money_back_days:\n    value: thirty\n"
                    "    description: Changed.\n    legal: {source: crd, article: x, quote: an illustration}\n  withdrawal_days:")
    problem = only(eu_copy.problems(), "variant_type")
    assert problem.location.file.endswith("eu.yaml")
    assert problem.message == "parameter `money_back_days` is a number in `aqara-returns`; the override gives text"


def test_a_parameter_override_cannot_turn_a_number_into_an_amount_or_back(eu_copy):
    eu_copy.replace("parameters:\n  withdrawal_days:", "parameters:\n  money_back_days:\n    value: 30\n    type: money\n"
                    "    description: Changed.\n    legal: {source: crd, article: x, quote: an illustration}\n  withdrawal_days:")
    problem = only(eu_copy.problems(), "variant_type")
    assert problem.message == ("parameter `money_back_days` is a number in `aqara-returns`; the override gives an "
                               "amount of money")


def test_paths_with_at_signs_and_a_variant(tmp_path):
    import shutil

    folder = tmp_path / "team@home" / "aqara"
    shutil.copytree(REPO / "policies" / "aqara-returns", folder, ignore=shutil.ignore_patterns("tests"))
    result = CliRunner().invoke(cli.cli, ["diff", "aqara-returns:eu", f"{folder}:eu"])
    assert result.exit_code == 0 and "no semantic difference" in result.output


# -- The law a variant cites: encoded by a clause, or listed under `not_modelled` ----------------------


@pytest.mark.parametrize("article, expected", [
    ("Art. 9(1), 9(2)(b), 13(1)", ["Art. 9(1)", "Art. 9(2)(b)", "Art. 13(1)"]),
    ("s. 24(1), (5), (8)-(10)", ["s. 24(1)", "s. 24(5)", "s. 24(8)", "s. 24(9)", "s. 24(10)"]),
    ("ss. 259(2)(b)(ii), 263(4)", ["s. 259(2)(b)(ii)", "s. 263(4)"]),
    ("regs. 29-31", ["reg. 29", "reg. 30", "reg. 31"]),
    ("Art. 13(1) and (3)", ["Art. 13(1)", "Art. 13(3)"]),
    ("§§ 355, 356(3)", ["§ 355", "§ 356(3)"]),
    ("Art. 1 (Directive (EU) 2019/771 Art. 10(2a))", ["Art. 1 (Directive (EU) 2019/771 Art. 10(2a))"]),
], ids=["articles", "subsections", "sections", "range", "and", "paragraphs", "a-note-kept-whole"])
def test_a_citation_is_split_into_single_provisions(article, expected):
    from engine.variants import provisions

    assert provisions(article) == expected


NEW_PARAMETER = ("parameters:\n  return_days:\n    value: 14\n    unit: days\n    description: Days to send the goods back.\n"
                 "    legal: {source: crd, article: \"Art. 14(1), 14(3)\", quote: an illustration}\n  withdrawal_days:")


def test_a_new_parameter_citing_a_provision_no_clause_encodes_is_an_error(eu_copy):
    eu_copy.replace("parameters:\n  withdrawal_days:", NEW_PARAMETER)
    problem = only(eu_copy.problems(), "provision_not_encoded")
    # Art. 14(1) is cited by `eu-withdrawal-return-cost`; Art. 14(3) by nothing.
    assert problem.message == ("parameter `return_days` cites `Art. 14(3)` of `Directive 2011/83/EU`, which no clause "
                               "encodes and `not_modelled` does not list")
    assert problem.help == "encode it in a clause that cites `Art. 14(3)`, or list it under `not_modelled` with the reason"
    line = eu_copy.line_of('article: "Art. 14(1), 14(3)"')
    assert problem.one_line().startswith(f"{problem.location.file}:{line}:")
    assert problem.location.file.endswith("eu.yaml") and problem.subject == "return_days"


def test_listing_the_provision_under_not_modelled_answers_for_it(eu_copy):
    eu_copy.replace("parameters:\n  withdrawal_days:", NEW_PARAMETER)
    eu_copy.replace("not_modelled:\n", "not_modelled:\n  - {source: crd, article: \"Art. 14(3)\", reason: an illustration}\n")
    assert eu_copy.problems() == []


def test_a_clause_citing_the_whole_article_encodes_its_paragraphs(eu_copy):
    eu_copy.replace("parameters:\n  withdrawal_days:", NEW_PARAMETER)
    eu_copy.replace('      article: "Art. 14(1)"\n', '      article: "Art. 14"\n')
    assert eu_copy.problems() == []


def test_a_disable_citing_a_provision_no_clause_encodes_is_an_error(eu_copy):
    eu_copy.replace('''    legal: {source: crd, article: "Art. 2(1)", quote: "‘consumer’ means''', '''    legal: {source: crd, article: "Art. 3(3)", quote: "‘consumer’ means''')
    problem = only(eu_copy.problems(), "provision_not_encoded")
    assert problem.message.startswith("disabling `bulk-or-corporate-may-refuse` cites `Art. 3(3)` of `Directive 2011/83/EU`")
    assert problem.subject == "bulk-or-corporate-may-refuse"


def test_a_provision_a_clause_encodes_cannot_be_listed_as_not_modelled(eu_copy):
    eu_copy.replace("not_modelled:\n", "not_modelled:\n  - {source: crd, article: \"Art. 13(3)\", reason: an illustration}\n")
    problem = only(eu_copy.problems(), "not_modelled_encoded")
    assert problem.message == ("`Art. 13(3)` of `Directive 2011/83/EU` is listed under `not_modelled`, but clause "
                               "`eu-withdrawal-refund-deadline` encodes it")
    assert problem.help == "remove it from `not_modelled`, or cite a narrower provision in the clause"
    assert problem.location.line == eu_copy.line_of('article: "Art. 13(3)", reason: an illustration')


def test_not_modelled_names_a_declared_act(eu_copy):
    eu_copy.replace("  - source: crd\n    article: \"Art. 11a\"", "  - source: cdr\n    article: \"Art. 11a\"")
    problem = only(eu_copy.problems(), "unknown_legal_source")
    assert problem.help == "did you mean `crd`?" and problem.subject == "not_modelled"


def test_an_entry_of_not_modelled_needs_its_reason(eu_copy):
    eu_copy.replace("not_modelled:\n", "not_modelled:\n  - {source: crd, article: \"Art. 14(3)\"}\n")
    problem = only(eu_copy.problems(), "schema")
    assert problem.message == "not_modelled[0]: missing required key `reason`"


def test_the_bundled_variants_list_what_they_leave_out_and_show_it():
    policy_set = engine.require_policy_set(REPO / "policies" / "aqara-returns")
    left_out = {name: [(n.act, n.article) for n in policy.not_modelled] for name, policy in policy_set.variants.items()}
    assert left_out["au"] == [("Australian Consumer Law (Competition and Consumer Act 2010, Schedule 2)", a)
                              for a in ("s. 259(2)(b)(i)", "s. 259(3)(b)", "s. 259(4)", "s. 262")]
    assert ("Directive (EU) 2019/771", "Art. 13(5)") in left_out["eu"]
    assert ("Consumer Rights Act 2015", "s. 20(15)") in left_out["uk"]
    assert policy_set.base.not_modelled == ()
    shown = CliRunner().invoke(cli.cli, ["show", "au-minor-failure-not-remedied"]).output
    assert "  not modelled in Australian Consumer Law (Competition and Consumer Act 2010, Schedule 2):" in shown
    assert "    s. 259(2)(b)(i) (au): Having a minor failure that Aqara did not remedy fixed elsewhere" in shown
    # A base clause cites no act, so nothing of the variants' law is listed with it.
    assert "not modelled" not in CliRunner().invoke(cli.cli, ["show", "money-back-guarantee"]).output


def test_a_variant_file_from_before_not_modelled_is_only_warned_and_still_loads(eu_copy, policy_copy):
    # Released variant files predate the section; decisions logged under them must still replay.
    text = eu_copy.file.read_text(encoding="utf-8")
    eu_copy.file.write_text(text[:text.index("\nnot_modelled:\n") + 1], encoding="utf-8")
    eu_copy.replace("parameters:\n  withdrawal_days:", NEW_PARAMETER)
    policy_set, problems = engine.load_policy_set(policy_copy.folder)
    assert policy_set is not None
    [eu_before_july] = [p for p in policy_set.compiled if p.identity.chain_label().endswith("eu 2.0.2")]
    assert eu_before_july.not_modelled == ()
    assert [(p.code, p.severity) for p in problems] == [("provision_not_encoded", "warning")]
    assert ": warning: return_days: parameter `return_days` cites `Art. 14(3)`" in problems[0].one_line()
