"""The fuzz targets (fuzz/targets.py) in the suite: each holds on its seeds and on inputs hypothesis
draws from them, and each notices what it is there to notice; `fuzz/run.py` reports the inputs tried
and keeps a failing one."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO

sys.path.insert(0, str(REPO / "fuzz"))
import targets  # noqa: E402

NAMES = sorted(targets.TARGETS)


@pytest.mark.parametrize("name", NAMES)
def test_every_target_holds_on_its_seeds(name):
    target, seeds = targets.TARGETS[name]
    for seed in seeds():
        target(seed)


def _mutations(seed: bytes) -> st.SearchStrategy[bytes]:
    """The seed with a piece cut out, a piece of drawn bytes put in, or both."""
    return st.tuples(st.integers(0, len(seed)), st.integers(0, 64), st.binary(max_size=24)).map(
        lambda t: seed[:t[0]] + t[2] + seed[t[0] + t[1]:])


@pytest.mark.parametrize("name", NAMES)
def test_every_target_holds_on_mutated_seeds(name):
    target, seeds = targets.TARGETS[name]

    @settings(max_examples=40, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.sampled_from(seeds()).flatmap(_mutations))
    def holds(data):
        target(data)

    holds()


def test_a_target_fails_on_json_that_is_not_json():
    with pytest.raises(AssertionError, match="`NaN` in JSON output"):
        targets._strict_json('{"a": NaN}')


def test_the_cache_target_restores_the_entry_it_damages():
    targets.plan_cache(b"\x00not an entry")
    setup = targets._cache_setup
    assert setup.entry.read_bytes() == setup.original
    stored = setup.cache.load(setup.file)
    assert stored is not None and stored[0].id == "tiny"


def test_the_runner_reports_the_inputs_tried_and_replays_an_input(tmp_path):
    environment = {**os.environ, "VERDICT_FUZZ_DIR": str(tmp_path / "fuzz")}
    run = subprocess.run([sys.executable, "fuzz/run.py", "--seconds", "2", "--target", "batch_csv", "--seed", "3",
                          "--engine", "random"], cwd=REPO, capture_output=True, text=True, timeout=300, env=environment)
    assert run.returncode == 0, run.stdout + run.stderr
    last = run.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9,]+ inputs tried in 2 s of fuzzing \([0-9]+ s taken, start-up included\); no failure", last), last
    assert int(last.split()[0].replace(",", "")) > 0
    assert re.search(r"^  batch_csv +[0-9,]+ inputs  ok$", run.stdout, re.MULTILINE), run.stdout
    assert sorted(p.name for p in (tmp_path / "fuzz" / "corpus" / "batch_csv").iterdir()) == ["seed-0", "seed-1"]
    replay = tmp_path / "input"
    replay.write_bytes(b"units_of_product\n1\n")
    shown = subprocess.run([sys.executable, "fuzz/run.py", "--replay", str(replay), "--target", "batch_csv"], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    assert (shown.returncode, shown.stdout) == (0, "no failure\n")


@pytest.mark.parametrize("text", [b"{=}", b"facts:\n  =: 1\n", b"- {a: [{=: 2}]}", b"{!x a: 1}", b"facts: {!x a: 1}\n"])
def test_keys_the_loader_cannot_read_are_refused_and_every_target_takes_them(text):
    # Found by these targets: a plain `=` or a tagged scalar as a key raised ConstructorError (exit 70).
    for target in (targets.policy_yaml, targets.case_file, targets.policy_lock):
        target(text)
