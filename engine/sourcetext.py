"""The source document a policy encodes: finding quotes in it and cutting it into sentences."""

from __future__ import annotations

import bisect
import difflib
import re
from dataclasses import dataclass

from .model import Quote

# A sentence ends at . ! or ? (perhaps inside a closing bracket or quote) followed by space and a
# capital letter or an opening bracket or quote; "1. Heading" is a numbered heading, not a sentence end.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][)”\"’]))(?<!\b\d\.)\s+(?=[A-Z(\"“‘'])")
_BULLET = re.compile(r"^\s*[-•*]\s*")


@dataclass(frozen=True)
class Sentence:
    """A sentence of the source text and where it is."""

    text: str
    start: int
    end: int
    line: int
    column: int


class SourceText:
    """The text of a source document, with the sentence and line positions precomputed."""

    def __init__(self, text: str):
        self.text = text
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self._sentences = self._split()

    def position(self, offset: int) -> tuple[int, int]:
        """(line, column), both from 1, of a character offset."""
        # Bisected, not scanned: it is asked once per sentence and per quote, so scanning every
        # line start made a long source quadratic to load.
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def find(self, quote: str) -> Quote | str | None:
        """The one place the quote occurs; "ambiguous" when it occurs more than once; None when absent."""
        first = self.text.find(quote)
        if first < 0:
            return None
        if self.text.find(quote, first + 1) >= 0:
            return "ambiguous"
        line, column = self.position(first)
        return Quote(quote, first, first + len(quote), line, column)

    def closest(self, quote: str) -> str:
        """The sentence most like a quote that was not found, to show the author what differs."""
        best = max(self._sentences, key=lambda s: difflib.SequenceMatcher(None, quote, s.text).ratio(), default=None)
        if best is None or difflib.SequenceMatcher(None, quote, best.text).ratio() < 0.5:
            return ""
        return best.text

    def sentences(self) -> list[Sentence]:
        return list(self._sentences)

    def _split(self) -> list[Sentence]:
        result = []
        for line_start, line_end in zip(self._line_starts, self._line_starts[1:] + [len(self.text) + 1]):
            line = self.text[line_start:line_end].rstrip("\n")
            bullet = _BULLET.match(line)
            offset = bullet.end() if bullet else 0
            body = line[offset:]
            cuts = [0] + [m.end() for m in _SENTENCE_END.finditer(body)] + [len(body)]
            for begin, end in zip(cuts, cuts[1:]):
                piece = body[begin:end].rstrip()
                if not any(ch.isalpha() for ch in piece):
                    continue
                start = line_start + offset + begin
                line_no, column = self.position(start)
                result.append(Sentence(piece, start, start + len(piece), line_no, column))
        return result
