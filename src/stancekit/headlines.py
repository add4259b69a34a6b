"""Document layout: titles (headlines; the job titles of names are :func:`stancekit.resources.titles`)
and paragraphs, found in a text and marked on a Doc before the parse.

A paragraph break always ends a sentence (:func:`paragraph_starts`, the ``stancekit_paragraphs``
component that :func:`stancekit.ner.load_spacy` puts before the parser): without it the parser runs a
dateline, a timestamp line or a headline-like line into the next paragraph and the quote rules read
one sentence where the text has two.

A headline holds no quote and no speaker mention. Two rules find one in plain text:

* :func:`title_span`, the ingestion rule (``stancekit run`` on ``.txt`` files): the first non-empty line
  followed by a blank line; or, when the title is known (a JSONL field, an HTML ``<title>``), where the
  text begins with it;
* :func:`first_line_title`, the fallback of :func:`title_range` for a Doc nobody marked (``nlp(text)``
  in a notebook): also a title-cased first line followed by a single line break.

:func:`apply_title_span` marks the range on a Doc before the parse; :func:`marked_title` reads only that
mark, :func:`title_range` the mark or else the fallback rule.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .resources import doc_text
from .syntax import token_index_at

if TYPE_CHECKING:
    from spacy.tokens import Doc

TITLE_KEY = ("stancekit", "title")
_TITLE_END_PUNCT = tuple(".,;:\"”’'")
MAX_TITLE_CHARS = 300
_TITLE_LINE = re.compile(r"\s*([^\n]*\S)[ \t\u00a0]*\n[ \t\u00a0]*\n\s*\S")

_BLANK_LINE = re.compile(r"\n[ \t\u00a0]*\n\s*")
_LINE_BREAK = re.compile(r"\n\s*")


def paragraph_starts(text: str) -> list[int]:
    """Character offsets where a paragraph begins (the first non-space character after the break).

    A blank line is always a break. A single line break is one too, unless the text is hard-wrapped
    (at least four lines, none longer than 100 characters, and at least half of them filling 80 % of
    the longest), where it is only a line's end inside a paragraph.
    """
    lines = text.split("\n")
    if len(lines) < 2:
        return []
    lengths = [len(x.rstrip()) for x in lines if x.strip()]
    longest = max(lengths, default=0)
    wrapped = (len(lengths) >= 4 and longest <= 100
               and sum(n >= 0.8 * longest for n in lengths) >= 0.5 * len(lengths))
    pattern = _BLANK_LINE if wrapped else _LINE_BREAK
    return [m.end() for m in pattern.finditer(text) if m.end() < len(text)]


def mark_paragraphs(doc: Doc) -> Doc:
    """On a Doc not parsed yet, make the first token of every paragraph start a sentence."""
    if len(doc) < 2 or doc.has_annotation("DEP"):
        return doc
    text = doc_text(doc)
    for offset in paragraph_starts(text):
        tok = doc[token_index_at(doc, offset)]
        if tok.i > 0 and tok.idx == offset and not tok.is_space:
            tok.is_sent_start = True
    return doc


def register_extension() -> None:
    """``doc._.stancekit_title``: the title's character range in the text, (start, end), or None."""
    from spacy.tokens import Doc

    if not Doc.has_extension("stancekit_title"):
        Doc.set_extension("stancekit_title", default=None)


def title_span(text: str, title: str | None = None, *, title_line: bool = True) -> tuple[int, int] | None:
    """The character range of the title inside ``text``, or None.

    * With ``title`` (a JSONL field, an HTML page's title): where the text begins with it (after
      leading white space; words compared case-insensitively, any white space between them).
    * Without it, the title-line rule (``title_line``): the first non-empty line is the title when a
      blank line follows it, more text comes after, it is at most 300 characters and it does not end
      like a sentence of body text (``.``, ``,`` or ``;``, closing quotation marks aside).
    """
    if not text:
        return None
    if title and title.strip():
        words = title.split()
        pattern = r"\s*(" + r"\s+".join(re.escape(w) for w in words) + r")"
        m = re.match(pattern, text, flags=re.IGNORECASE)
        if m is not None and (m.end(1) == len(text) or not text[m.end(1)].isalnum()):
            return m.start(1), m.end(1)
        return None
    if not title_line:
        return None
    m = _TITLE_LINE.match(text)
    if m is None:
        return None
    line = m.group(1)
    if len(line) > MAX_TITLE_CHARS or line.rstrip("”\"'’»").endswith((".", ",", ";")):
        return None
    return m.start(1), m.end(1)


def apply_title_span(doc: Doc, span: tuple[int, int] | None) -> Doc:
    """Mark ``doc``'s title (a character range of its text, from :func:`stancekit.ingest.title_span`).

    The range goes to ``doc._.stancekit_title`` (and ``doc.user_data[ner.TITLE_KEY]``; ``None`` marks the
    Doc as having no title, so the NER stage's own first-line rule does not guess one); on a Doc not parsed yet the first token of the body
    also starts a sentence, so the parser never runs the headline into the first paragraph. The quote
    stage finds no quote in the title and takes no speaker mention from it.
    """
    register_extension()
    a, b = (int(span[0]), int(span[1])) if span is not None else (0, 0)
    if span is None or len(doc) == 0 or not 0 <= a < b <= len(doc_text(doc)):
        doc._.stancekit_title = None
        doc.user_data[TITLE_KEY] = ()  # known to have no title: the NER stage's plain-text rule stays off
        return doc
    doc._.stancekit_title = (a, b)
    doc.user_data[TITLE_KEY] = (a, b)
    if not doc.has_annotation("DEP") and not doc.has_annotation("SENT_START"):
        body = next((t for t in doc[token_index_at(doc, b):] if t.idx >= b and not t.is_space), None)
        if body is not None and body.i > 0:
            body.is_sent_start = True
            first = next((t for t in doc if not t.is_space), None)
            if first is not None:
                first.is_sent_start = True
    return doc


def marked_title(doc: Doc) -> tuple[int, int] | None:
    """The title's character range as marked on ``doc`` by :func:`apply_title_span`, or None (no guess)."""
    span = getattr(doc._, "stancekit_title", None)
    return (int(span[0]), int(span[1])) if span else None


def in_title(doc: Doc, start: int, end: int) -> bool:
    """Does the character range [start, end) overlap the title of ``doc``?"""
    t = marked_title(doc)
    return t is not None and start < t[1] and end > t[0]


def title_range(doc: Doc) -> tuple[int, int] | None:
    """The character range of the document's title (headline) inside its text, or None.

    ``doc.user_data[TITLE_KEY]`` when the caller set it, or ``doc._.stancekit_title`` when that
    extension is registered and set (a ``(start, end)`` pair; ingestion knows the title of JSONL and
    HTML input). Otherwise the rule for plain text: the first line is the
    title when it is followed by a blank line, or by a line break while written in title case, has
    2 to 25 words and does not end like a sentence or a cue (".", ",", ";", ":", a closing quote).
    """
    given = doc.user_data.get(TITLE_KEY)
    if given is None:
        given = getattr(doc._, "stancekit_title", None)  # marked by :func:`apply_title_span`
    if given is not None:
        try:
            a, b = int(given[0]), int(given[1])
        except (TypeError, ValueError, IndexError):
            return None
        return (a, b) if 0 <= a < b else None
    return first_line_title(doc_text(doc))


def first_line_title(text: str) -> tuple[int, int] | None:
    """The plain-text title rule of :func:`title_range` on a string."""
    head = text[:400]
    nl = head.find("\n")
    if nl <= 0:
        return None
    line = head[:nl].rstrip()
    start = len(line) - len(line.lstrip())
    words = line.split()
    if not 2 <= len(words) <= 25 or line.endswith(_TITLE_END_PUNCT):
        return None
    blank = head[nl + 1:].lstrip(" \t").startswith("\n")
    alpha = [w for w in words if w[:1].isalpha()]
    cased = alpha and sum(w[:1].isupper() for w in alpha) >= 0.7 * len(alpha) and len(alpha) >= 3
    if not (blank or cased) or len(text) <= nl + 1:
        return None
    return start, len(line)
