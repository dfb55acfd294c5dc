"""Fuzz targets: each takes bytes and drives one surface of the engine that reads outside input.

A target returns normally when the engine answered as documented (a result, or one of its own
errors with diagnostics) and raises anything else: an exception the engine let escape, or an
`AssertionError` for an answer that breaks a promise (JSON that is not JSON, an error without a
diagnostic). `fuzz/run.py` runs them under atheris (coverage-guided) or, without it, on mutated
seeds; `tests/test_fuzz_targets.py` runs each on its seeds and on inputs hypothesis draws.

Targets keep clear of crashes that other parts of issue 8 fix; each such filter names its row and
goes once that row is merged.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable


import engine
import engine.compiler  # noqa: F401 - imported here, so that the fuzzer instruments it (loaded lazily otherwise)
import engine.schema  # noqa: F401
import engine.typecheck  # noqa: F401
from engine import batch, cache, jsontext, loader, release, serial  # noqa: F401

REPO = Path(__file__).resolve().parent.parent
AQARA = REPO / "policies" / "aqara-returns"
TINY_SOURCE = "Rule one applies. Rule two applies.\n"
TINY_POLICY = f"""\
policy: {{id: tiny, version: 0.0.1, effective_from: '2026-01-01', title: Tiny,
  source: {{file: source.txt, sha256: {hashlib.sha256(TINY_SOURCE.encode()).hexdigest()}}}}}
facts:
  n: {{type: int, minimum: 0, description: A count.}}
  kind: {{type: enum, values: [a, b], nullable: true, description: A kind.}}
  at: {{type: datetime, description: When.}}
  price: {{type: money, description: A price.}}
parameters:
  limit: {{value: 10, description: The limit., source: {{section: s, quote: Rule one applies.}}}}
derived:
  big: {{expression: n > limit, description: Over the limit.}}
outputs:
  o: {{type: enum, values: [y, n], default: n, description: The outcome.}}
  fee: {{type: money, nullable: true, description: A fee.}}
clauses:
  - id: one
    title: One
    source: {{section: s, quote: Rule one applies.}}
    when: big and kind == 'a'
    then: {{o: y, fee: {{expression: "round_money(price * 0.1)"}}}}
  - id: two
    title: Two
    source: {{section: s, quote: Rule two applies.}}
    when: not big and kind != 'a' and kind != None
    then: {{o: n}}
"""

_AQARA_SET = engine.require_policy_set(AQARA)
_FACT_NAMES = sorted(_AQARA_SET.facts)
_BASE_FACTS = {"request": "return", "sales_channel": "aqara_online_store", "country_of_purchase": "DE",
               "product_location_country": "DE", "order_placed_at": "2026-03-01T10:00:00Z",
               "request_at": "2026-03-11T09:30:00+01:00", "shipped_at": "2026-03-02T08:00:00Z", "delivered_at": None,
               "units_of_product": 1, "product_price": "59.99", "shipping_paid": 4.99, "reason_category": "non_quality"}
# Scratch files (policy folders, a plan cache): fuzz/run.py gives each target a folder of its own,
# since libFuzzer ends the process without running `atexit`; otherwise a temporary one.
if os.environ.get("VERDICT_FUZZ_SCRATCH"):
    _WORK = Path(os.environ["VERDICT_FUZZ_SCRATCH"])
else:
    _WORK = Path(tempfile.mkdtemp(prefix="verdict-fuzz-"))
    atexit.register(shutil.rmtree, _WORK, True)

def _strict_json(text: str):
    def refuse(constant):
        raise AssertionError(f"`{constant}` in JSON output")
    return json.loads(text, parse_constant=refuse)


def _check_refusal(error: engine.EngineError) -> None:
    assert error.diagnostics, f"{type(error).__name__} without a diagnostic"
    for diagnostic in error.diagnostics:
        assert diagnostic.code and diagnostic.message, diagnostic


def _decide(policy_set, facts) -> None:
    """A decision whose JSON is JSON, or a `CaseError` with diagnostics."""
    try:
        decision = engine.evaluate(policy_set, facts, trace=True)
    except engine.CaseError as error:
        _check_refusal(error)
        return
    _strict_json(engine.decision_to_json(decision, "full"))


# -- policy loading ---------------------------------------------------------------------------------


def _policy_folder(name: str, source: str) -> Path:
    folder = _WORK / name
    folder.mkdir(exist_ok=True)
    (folder / "source.txt").write_text(source, encoding="utf-8")
    return folder


def policy_yaml(data: bytes) -> None:
    """The bytes as `policy.yaml`: accepted (then it decides a case) or refused with diagnostics."""
    folder = _policy_folder("policy", TINY_SOURCE)
    (folder / "policy.yaml").write_bytes(data)
    policy_set, problems = engine.load_policy_set(folder)
    if policy_set is None:
        assert any(p.severity == "error" for p in problems), "refused without an error"
        return
    assert all(p.severity == "warning" for p in problems)
    _decide(policy_set, {"n": 11, "kind": "a", "at": "2026-03-01T10:00:00Z", "price": "5.00"})


def _policy_seeds() -> list[bytes]:
    return [TINY_POLICY.encode(), (AQARA / "policy.yaml").read_bytes()[:6000], b"policy: {}\n", b"[1, 2\n"]


# -- case checking and evaluation -----------------------------------------------------------------


def case_file(data: bytes) -> None:
    """The bytes as a case file (YAML or JSON) for the bundled policy: a case that then decides, or a
    `CaseError` with diagnostics."""
    for name in ("case.yaml", "case.json"):
        try:
            case = engine.load_case(Path(name), _AQARA_SET, raw=data)
        except engine.CaseError as error:
            _check_refusal(error)
            continue
        _decide(_AQARA_SET, case)


def _case_seeds() -> list[bytes]:
    return [json.dumps({"id": "c", "facts": _BASE_FACTS}).encode(), (REPO / "examples" / "cases" / "return-day-10.yaml").read_bytes(),
            b"facts: {units_of_product: 1e12, request_at: '2026-02-29T00:00:00Z'}\n", b"- 1\n"]


def evaluate(data: bytes) -> None:
    """The bytes as JSON facts through `engine.evaluate`, as code that imports the engine passes them."""
    text = data.decode("utf-8", "replace")
    try:
        facts = jsontext.loads(text)
    except (ValueError, RecursionError):
        return  # not JSON: nothing to hand the API
    _decide(_AQARA_SET, facts)  # anything JSON holds: what is not a mapping of facts is a `CaseError`


def _facts_seeds() -> list[bytes]:
    return [json.dumps(_BASE_FACTS).encode(), b'{"request": "warranty_claim", "units_of_product": 0}', b"{}"]


# -- batch lines --------------------------------------------------------------------------------------


def _decide_items(items) -> None:
    for item in items:
        outcome = batch.decide_item(_AQARA_SET, item, batch.Options(trace="summary", source="in"))
        record = _strict_json(outcome.line)
        assert outcome.number == item.number
        assert (outcome.status == "refused") == ("refused" in record), record


def batch_jsonl(data: bytes) -> None:
    """The bytes as a JSON Lines input of `verdict batch`: one outcome per line, never an exception."""
    _decide_items(batch.read_items(io.BytesIO(data), "jsonl", "in"))


def batch_csv(data: bytes) -> None:
    """The bytes as a CSV input: refused as a whole (a header that names no fact), or one outcome per row."""
    try:
        items = list(batch.read_items(io.BytesIO(data), "csv", "in", facts=_FACT_NAMES))
    except batch.BatchInputError as error:
        assert str(error).startswith("in")
        return
    _decide_items(items)


def _jsonl_seeds() -> list[bytes]:
    return [b"".join(json.dumps({"id": f"c{i}", "facts": _BASE_FACTS | {"units_of_product": i}}).encode() + b"\n"
                     for i in range(3)) + json.dumps(_BASE_FACTS).encode() + b"\n", b"\n{}\n[]\n"]


def _csv_seeds() -> list[bytes]:
    names = list(_BASE_FACTS)
    row = ",".join("" if v is None else str(v) for v in _BASE_FACTS.values())
    return [("id," + ",".join(names) + "\nc1," + row + "\nc2," + row.replace("return", "cancel_order") + "\n").encode(),
            b"request\nreturn\n\n"]


# -- the plan cache -------------------------------------------------------------------------------------


class _CacheSetup:
    """A cache folder holding the entry of the tiny policy, and the entry's bytes as stored."""

    def __init__(self) -> None:
        self.folder = _policy_folder("cached", TINY_SOURCE)
        (self.folder / "policy.yaml").write_text(TINY_POLICY, encoding="utf-8")
        self.file = self.folder / "policy.yaml"
        directory = _WORK / "plan-cache"
        directory.mkdir(mode=0o700, exist_ok=True)
        self.cache, why = cache.open_cache(directory)
        assert self.cache is not None, why
        policy_set, problems = engine.load_policy_set(self.file, self.cache)
        assert policy_set is not None, problems
        self.entry = self.cache._entry(self.file)
        self.original = self.entry.read_bytes()
        self.expected = engine.decision_to_json(engine.evaluate(policy_set, _TINY_FACTS), "full")


_TINY_FACTS = {"n": 11, "kind": "a", "at": "2026-03-01T10:00:00Z", "price": "5.00"}
_cache_setup: _CacheSetup | None = None


def plan_cache(data: bytes) -> None:
    """A damaged cache entry: the first byte says how the rest damages it (replaces the entry, is
    written over it at an offset, or replaces its body with the header's sha256 made to match).
    The cache must ignore what it cannot use, and what it uses must decide as the policy does."""
    global _cache_setup
    if _cache_setup is None:
        _cache_setup = _CacheSetup()
    setup = _cache_setup
    mode, rest = (data[0] % 3, data[1:]) if data else (0, b"")
    original = setup.original
    if mode == 0:
        damaged = rest
    elif mode == 1:
        at = int.from_bytes(rest[:2] or b"\0", "big") % (len(original) + 1)
        damaged = original[:at] + rest[2:] + original[at + len(rest[2:]):]
    else:
        header, _, _ = original.partition(b"\n")
        try:
            fields = json.loads(header)
        except ValueError:
            return
        fields["body_sha256"] = hashlib.sha256(rest).hexdigest()
        damaged = json.dumps(fields).encode() + b"\n" + rest
    setup.entry.write_bytes(damaged)
    try:
        stored = setup.cache.load(setup.file)
        if stored is not None and mode != 2:
            # Only bytes the store wrote (or an edit that leaves them meaning the same) are used.
            decision = engine.evaluate(stored[0], _TINY_FACTS)
            assert engine.decision_to_json(decision, "full") == setup.expected
        setup.cache.identify(setup.file)
    finally:
        setup.entry.write_bytes(original)


def _cache_seeds() -> list[bytes]:
    body = b'{"files":[],"warnings":[],"policy_set":{"programs":[]}}'
    return [b"\x00", b"\x01\x00\x10garbage", b"\x02" + body, b"\x02[]", b"\x02{\"files\": 1}"]


# -- policy.lock ----------------------------------------------------------------------------------------


_lock_folder: Path | None = None


def policy_lock(data: bytes) -> None:
    """The bytes as the `policy.lock` of the bundled policy (with its released copies): read, or
    reported as damaged, by what `verdict validate` runs; never an exception."""
    global _lock_folder
    if _lock_folder is None:
        _lock_folder = _WORK / "locked"
        shutil.copytree(AQARA, _lock_folder, ignore=shutil.ignore_patterns("tests"))
    (_lock_folder / release.LOCK_FILE).write_bytes(data)
    file = _lock_folder / "policy.yaml"
    lock, problems = release.read_lock(file)
    assert (lock is None) or not problems
    assert all(p.code == "lock_invalid" for p in problems), problems
    for problem in release.folder_problems(file, _AQARA_SET):
        assert problem.code and problem.message


def _lock_seeds() -> list[bytes]:
    return [(AQARA / release.LOCK_FILE).read_bytes(), b'{"lock": 1, "policy": "x", "releases": []}', b"{}"]


#: Every target, with the seeds its corpus starts from.
TARGETS: dict[str, tuple[Callable[[bytes], None], Callable[[], list[bytes]]]] = {
    "policy_yaml": (policy_yaml, _policy_seeds),
    "case_file": (case_file, _case_seeds),
    "evaluate": (evaluate, _facts_seeds),
    "batch_jsonl": (batch_jsonl, _jsonl_seeds),
    "batch_csv": (batch_csv, _csv_seeds),
    "plan_cache": (plan_cache, _cache_seeds),
    "policy_lock": (policy_lock, _lock_seeds),
}
