"""Quotation marks: pairing them over raw text, shared by the quote, speaker and claims stages.

Pure functions on strings (no spaCy): :func:`pair_quote_marks` turns a text into the spans between
paired marks, with a warning (code, offset) for each mark it had to skip.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

OPENERS = {"“": "”", "«": "»", "„": "“", '"': '"', "‹": "›"}
CLOSERS = {"”", "»", "“", '"', "›"}
QUOTE_CHARS = set(OPENERS) | CLOSERS
# as spaCy's tokenizer may write them: LaTeX-style doubled marks
QUOTE_TOKENS = QUOTE_CHARS | {"''", "``"}
# curly single marks: not paired (apostrophes look the same), but stripped from the edges of a claim
SINGLE_QUOTES = frozenset({"‘", "’"})
MAX_QUOTE_CHARS = 5000


@dataclass
class QuoteSpan:
    """A paired quotation: content offsets (inside the marks) and the marks themselves."""

    start: int
    end: int
    open_at: int
    close_at: int


def pair_quote_marks(text: str) -> tuple[list[QuoteSpan], list[dict]]:
    """Pair quotation marks in ``text``; return quote spans and warnings (code, offset).

    Rules: a stack of open marks, at most two deep (a quote inside a block quote); ``”``/``»``
    close the innermost open quote whatever opened it; a straight ``"`` (or a doubled ``''``)
    closes an open straight quote, opens when it touches the next word and closes otherwise. At a
    paragraph end an open quote continues only if the next paragraph reopens with the same kind of
    mark (the news convention for multi-paragraph quotes); otherwise it is stray and skipped (W003).
    A quote longer than ``MAX_QUOTE_CHARS`` is treated as stray. Mark offsets: ``open_at`` is the
    first character of the opening mark, ``close_at`` the last character of the closing mark.
    """
    spans: list[QuoteSpan] = []
    warnings: list[dict] = []
    stack: list[tuple[int, str, int]] = []  # (offset, mark, mark length)
    n = len(text)
    i = 0

    def close(at: int, length: int) -> None:
        o, _, olen = stack.pop()
        if at - o <= MAX_QUOTE_CHARS:
            spans.append(QuoteSpan(o + olen, at, o, at + length - 1))
        else:
            warnings.append({"code": "W003", "offset": o})

    while i < n:
        ch = text[i]
        if ch == "\n" and stack:
            # a line break ends a paragraph: the quote goes on only if the next one reopens it
            j = i
            while j < n and text[j].isspace():
                j += 1
            mark, mlen = _mark_at(text, j) if j < n else ("", 0)
            if mlen and len(stack) == 1 and _same_kind(mark, stack[0][1]) and _may_open(text, j, mlen):
                i = j + mlen
                continue
            for o, _, _ in stack:
                warnings.append({"code": "W003", "offset": o})
            stack = []
            i += 1
            continue
        mark, mlen = _mark_at(text, i)
        if not mlen:
            i += 1
            continue
        if mark in ("”", "»", "›"):
            if stack:
                close(i, mlen)
            else:
                warnings.append({"code": "W003", "offset": i})
        elif mark in ('"', "''"):
            top = stack[-1][1] if stack else None
            opens = _may_open(text, i, mlen)
            if top in ('"', "''", "``"):
                close(i, mlen)
            elif stack and not opens:
                warnings.append({"code": "W005", "offset": i})
                close(i, mlen)  # “ … " : a mixed pair, repaired
            elif opens and len(stack) < 2:
                stack.append((i, mark, mlen))
            else:
                warnings.append({"code": "W003", "offset": i})
        elif mark == "“" and stack and stack[-1][1] == "„":
            close(i, mlen)
        else:  # an opening mark: “ « „ ‹ ``
            if len(stack) >= 2 or (stack and stack[-1][1] == mark):
                # “ … “ : the first one never closed; start again here
                o = stack.pop()[0]
                warnings.append({"code": "W003", "offset": o})
            stack.append((i, mark, mlen))
        i += mlen
    for o, _, _ in stack:
        warnings.append({"code": "W003", "offset": o})
    spans.sort(key=lambda q: (q.open_at, q.close_at))
    return spans, warnings


def _mark_at(text: str, i: int) -> tuple[str, int]:
    ch = text[i]
    if ch in "'`" and text[i:i + 2] in ("''", "``") and text[i + 2:i + 3] not in ("'", "`"):
        return text[i:i + 2], 2
    if ch in QUOTE_CHARS:
        return ch, 1
    return "", 0


def _same_kind(a: str, b: str) -> bool:
    straight = ('"', "''", "``")
    return a == b or (a in straight and b in straight) or (a in "“„" and b in "“„") or a == "“" and b == "«"


def _may_open(text: str, i: int, length: int = 1) -> bool:
    after = text[i + length] if i + length < len(text) else " "
    before = text[i - 1] if i > 0 else " "
    if after.isspace() or after in ",.;:!?)":
        return False
    return before.isspace() or before in "([{—–-/:" or not before.isalnum()


class RangeIndex:
    """Sorted, disjoint character ranges with a fast overlap test."""

    def __init__(self, ranges=()):
        self.ranges = sorted(ranges)
        self.starts = [a for a, _ in self.ranges]

    def overlaps(self, a: int, b: int) -> bool:
        """Does [a, b) overlap one of the ranges?"""
        k = bisect.bisect_left(self.starts, b) - 1
        return k >= 0 and self.ranges[k][1] > a
