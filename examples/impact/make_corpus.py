"""Generate examples/impact/corpus.jsonl: cases for `verdict impact`, from the benchmark's seeded generator.

Run from the repository root: `.venv/bin/python examples/impact/make_corpus.py [COUNT] [SEED]`.
The same count and seed always give the same file.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from aqara import generate_facts  # noqa: E402  (the generator lives with the benchmark)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    rng = random.Random(seed)
    lines = [json.dumps({"id": f"case-{i:04d}", "facts": generate_facts(rng)}, sort_keys=True) for i in range(count)]
    (Path(__file__).resolve().parent / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
