"""The source text: positions of offsets and the sentences it is cut into."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sourcetext import SourceText

TEXTS = st.text(st.sampled_from("ab. \nC"), max_size=60)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_positions_are_the_last_line_that_starts_at_or_before_the_offset(text):
    source = SourceText(text)
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    for offset in range(len(text) + 1):
        # The scan `position` did before it bisected: the reference.
        line = max(i for i, start in enumerate(starts) if start <= offset)
        assert source.position(offset) == (line + 1, offset - starts[line] + 1)


def test_sentences_know_their_line_and_column():
    source = SourceText("First one. Second one.\n- Third one.\n")
    assert [(s.text, s.line, s.column) for s in source.sentences()] == [
        ("First one.", 1, 1), ("Second one.", 1, 12), ("Third one.", 2, 3)]
