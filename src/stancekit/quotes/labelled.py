"""Lines that name their speaker before a colon: "Rubio: I'm not interested in being vice president."

Headlines put the speaker first and what was said after a colon, and so do the lists of headlines inside
an article and panel transcripts written in mixed case ("Matthews: Well, speculation is bad."). A line is
such a quote when

* before its first colon (one followed by a space) stand at most :data:`MAX_NAME_WORDS` capitalised words,
  after an optional all-capitals rubric and dash ("EXCLUSIVE – Roger Stone:"); a phrase "to …", "on …" or
  "at …" after the name says to whom or about what ("Clinton to Planned Parenthood:") and is not part
  of the speaker;
* those words are a name the document knows (:meth:`stancekit.speakers.SpeakerResolver.written_name`):
  a person named in full elsewhere ("Sanders" → "Bernie Sanders"), or an entity the recogniser found
  that ends where the name ends; before the name stand only job titles and abbreviations ("Dr.",
  "OK Gov"): "Carly Fiorina Endorses Ted Cruz:" has a verb before the name and is no quote;
* after the colon stand at least :data:`MIN_CONTENT_WORDS` words that no other pattern took.

The line may be the title: the one place where a headline counts as a quote (its speaker is written in
it). The content runs from the colon to the end of the line, without a final period outside quotation
marks; the quote is direct when quotation marks enclose all of it, mixed when they enclose a part,
else indirect. The cue is the colon.
"""

from __future__ import annotations

import re

from ..ner import is_title_word
from .model import Context, Quote

MAX_NAME_WORDS = 6
MIN_CONTENT_WORDS = 3
# a colon that introduces what follows (not "11:50", not "http://")
_COLON = re.compile(r":[ \t\u00a0]+(?=\S)")
# an all-capitals rubric before the name: "EXCLUSIVE – ", "WATCH - "
_RUBRIC = re.compile(r"[A-Z][A-Z ]+[A-Z]\s+[–—-]\s+")
# what follows a speaker's name before the colon: to whom or about what
_AFTER_NAME = re.compile(r"\s+(?:to|on|at|in|about)\s+", re.IGNORECASE)
_OPEN = ("“", '"', "‘", "'")
_CLOSE = ("”", '"', "’", "'")


def labelled_lines(ctx: Context, found: list[Quote]) -> list[Quote]:
    """``found`` with the quotes of the lines written "Name: what was said" added (see the module doc). A
    quote of ``found`` inside such a line's content gives way when its speaker has no name (a title-case
    headline parses badly: "‘No Idea’ If I Would Have Told …"); one with a named speaker keeps the line."""
    text = ctx.text
    out: list[Quote] = []
    dropped: set[int] = set()
    pos = 0
    for line in text.split("\n"):
        a, b = pos, pos + len(line)
        pos = b + 1
        colon = _COLON.search(text, a, b)
        if colon is None or ctx.turns.overlaps(a, b):
            continue
        start = a + len(line) - len(line.lstrip())
        rubric = _RUBRIC.match(text, start, colon.start())
        if rubric is not None:
            start = rubric.end()
        left = text[start:colon.start()]
        after = _AFTER_NAME.search(left)
        name_end = start + (after.start() if after else len(left.rstrip()))
        c0, c1 = _content(text, colon.end(), b)
        inside = [k for k, q in enumerate(found) if q.start < c1 and q.end > c0]
        if len(text[c0:c1].split()) < MIN_CONTENT_WORDS or any(
                (found[k].speaker or {}).get("name") or found[k].start < c0 or found[k].end > c1 for k in inside):
            continue
        speaker = _speaker(ctx, start, name_end)
        if speaker is None:
            continue
        dropped.update(inside)
        out.append(Quote(text=text[c0:c1], start=c0, end=c1, kind=_kind(text[c0:c1]),
                         cue={"text": ":", "start": colon.start(), "end": colon.start() + 1},
                         speaker=speaker, confidence=round(speaker["confidence"] * 0.85, 3)))
    return [q for k, q in enumerate(found) if k not in dropped] + out


def _speaker(ctx: Context, a: int, b: int) -> dict | None:
    """The speaker record of the name written in ``text[a:b]``, or None when the words are no name: too
    many, not capitalised, not a name the document knows, or with a word before the name that is neither
    a job title nor an abbreviation."""
    words = ctx.text[a:b].split()
    if not words or len(words) > MAX_NAME_WORDS or not all(w[:1].isupper() for w in words):
        return None
    mention = {"text": ctx.text[a:b], "start": a, "end": b}
    ent = next((e for e in ctx.doc.ents if e.end_char == b and a <= e.start_char and e.label_ in ("PERSON", "ORG")),
               None)
    if ent is not None:
        before = ctx.text[a:ent.start_char].split()
        found = ctx.resolver.written_name(ent.text, mention, label=ent.label_)
    else:  # the recogniser often misses a bare surname in a headline: the longest known tail of the words
        found, before = None, words
        for k in range(len(words)):
            found = ctx.resolver.written_name(" ".join(words[k:]), mention)
            if found is not None:
                before = words[:k]
                break
    if found is None or not all(is_title_word(w) or (w.isupper() and len(w.strip(".")) <= 4) for w in before):
        return None
    return found


def _content(text: str, a: int, b: int) -> tuple[int, int]:
    """The content's range: from ``a`` to the line end ``b``, trimmed, without a final period (one that a
    closing quotation mark follows stays)."""
    while b > a and text[b - 1].isspace():
        b -= 1
    if b > a and text[b - 1] == ".":
        b -= 1
    return a, b


def _kind(content: str) -> str:
    if content.startswith(_OPEN) and content.endswith(_CLOSE) and len(content) > 2:
        return "direct"
    if any(ch in content for ch in ("“", "”", '"')) or re.search(r"(?:^|\s)‘", content):
        return "mixed"
    return "indirect"
