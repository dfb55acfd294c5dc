"""The core return procedure (11 rules, first match wins) shared with peer engines: the Verdict
policy, the hand-written floor, a zen-engine graph, the seeded cases and the benchmark that times them."""
