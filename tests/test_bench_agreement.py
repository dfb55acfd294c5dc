"""The benchmarks' hand-written baselines decide exactly as the engine does, on seeded generated cases.

A benchmark that times a baseline which disagrees with the policy measures nothing, so this runs
with the tests and not only before timing. zen-engine (a bench-only dependency) is not used here.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import engine

# `bench/` is on pytest's path (pyproject.toml); these are the benchmark's own modules.
import aqara as aqara_bench
from core_return import agreement, cases
from core_return import handwritten as core_handwritten

CORE_RETURN = Path(__file__).resolve().parent.parent / "bench" / "core_return"


@pytest.fixture(scope="module")
def core_policy() -> engine.Policy:
    return engine.require_policy(CORE_RETURN)


def test_aqara_handwritten_agrees_with_the_engine(aqara):
    # check_agreement decides each case with the trace on and off, and compares both with bench/handwritten.py.
    problems = aqara_bench.check_agreement(aqara, aqara_bench.generate_cases(aqara, 2000, seed=11))
    assert problems == [], problems[:3]


@pytest.mark.parametrize("trace", [False, True], ids=["trace-off", "trace-on"])
def test_core_return_handwritten_agrees_with_the_engine(core_policy, trace):
    facts = cases.generate(3000, seed=11)
    reference = [core_handwritten.decide(f) for f in facts]
    answers = [agreement.verdict_answer(engine.decide(core_policy, engine.case_from_facts(core_policy, f), trace=trace))
               for f in facts]
    problems = agreement.disagreements(facts, reference, {"verdict": answers})
    assert problems == [], problems[:3]


def test_every_rule_decides_at_least_200_of_the_benchmark_cases():
    counts = Counter(core_handwritten.decide(f)["rule"] for f in cases.generate(20000, seed=1))
    assert {rule: n for rule, n in counts.items() if n < 200} == {}
    assert set(counts) == {f"R{i}" for i in range(1, 12)}


def test_the_agreement_check_reports_a_wrong_value_and_a_wrong_type():
    facts = [{"n": 1}, {"n": 2}]
    reference = [{"outcome": "a", "shipping_paid_by": None, "refund_fraction": 1.0, "rule": "R6"}] * 2
    other = [dict(reference[0]), dict(reference[0], refund_fraction=1)]
    problems = agreement.disagreements(facts, reference, {"other": other})
    assert [(p.case, p.key, p.found) for p in problems] == [(1, "refund_fraction", 1)]


def test_the_log_benchmark_checks_both_logs_before_timing(capsys):
    # bench/log_append.py, on a few records: both ways of appending give whole chains of the same
    # decisions (otherwise it exits 1 before timing anything); bad arguments exit 2.
    import log_append

    assert log_append.main(["--records", "20", "--group", "8", "--rounds", "1"]) == 0
    assert "decision log, 20 records with --trace none, 1 interleaved rounds" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        log_append.main(["--group", "0"])
    assert refused.value.code == 2 and "--group must be at least 1" in capsys.readouterr().err
