"""Quote stage: find what was said (content), the words that report it (cue) and who said it (speaker).

The ``stancekit_quotes`` spaCy component runs after ``stancekit_entities`` and writes plain dicts to
``doc._.stancekit_quotes``. The algorithm, step by step:

1. pair quotation marks over the raw text, paragraph-aware (a paragraph that ends inside a quote and
   the next one reopens it is one quote; a stray mark is skipped with a warning, never an exception);
2. a quoted span that is a clause or sentence is a *direct* quote; its cue is a reporting verb in the
   text around it in the same sentence ("…,” she said on Monday", "He went on: “…”") or a layout
   cue ("Name: “…”", "“…” - Name"); without a cue it continues the previous speaker's quote;
3. reporting verbs with a clause ("X argued that …"), "according to X" and position verbs
   ("X backs Y") give *indirect* quotes; when such a clause holds a short quoted phrase the quote is
   *mixed*. A verb's bare noun-phrase object ("echoed the criticism") is no quote: the object counts
   only when it carries a proposition or names the target of a position verb;
3b. a transcript layout (``SMITH:``, ``MR. SMITH:``, ``Q:``/``A:`` lines) makes each line a direct
   quote of its tag's speaker (:func:`transcript_turns`); a participial cue ("Calling the plan
   “a giveaway,” Ruiz said …") and a cue that opens the next paragraph and points back ("Ruiz said
   that on Monday.") attribute the quote before them;
3c. the title (``doc._.stancekit_title``, set by :func:`apply_title_span`) holds no quote and no
   speaker mention;
4. speakers are resolved (:mod:`stancekit.speakers`) to a canonical entity with a role.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import asdict, dataclass, field

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from .resources import cues, doc_text
from .speakers import SpeakerResolver

OPENERS = {"“": "”", "«": "»", "„": "“", '"': '"', "‹": "›"}
CLOSERS = {"”", "»", "“", '"', "›"}
QUOTE_CHARS = set(OPENERS) | CLOSERS
QUOTE_TOKENS = QUOTE_CHARS | {"''", "``"}
SUBJECT_DEPS = ("nsubj", "nsubjpass", "csubj")
DASHES = ("-", "–", "—", "―", "--", "―-")
_DASH_NAME = re.compile(r"[ \t\u00a0]*[-–—―]{1,2}[ \t\u00a0]*(?=\w)")
PRONOUN_SPEAKERS = ("he", "she", "they", "it", "we", "i")
MAX_QUOTE_CHARS = 5000

if not Doc.has_extension("stancekit_quotes"):
    Doc.set_extension("stancekit_quotes", default=None)
if not Doc.has_extension("stancekit_warnings"):
    Doc.set_extension("stancekit_warnings", default=None)
if not Doc.has_extension("stancekit_title"):
    # the title's character range in the text, (start, end), or None: set by :func:`apply_title_span`
    Doc.set_extension("stancekit_title", default=None)


def apply_title_span(doc: Doc, span: tuple[int, int] | None) -> Doc:
    """Mark ``doc``'s title (a character range of its text, from :func:`stancekit.ingest.title_span`).

    The range goes to ``doc._.stancekit_title`` (and ``doc.user_data[ner.TITLE_KEY]``; ``None`` marks the
    Doc as having no title, so the NER stage's own first-line rule does not guess one); on a Doc not parsed yet the first token of the body
    also starts a sentence, so the parser never runs the headline into the first paragraph. The quote
    stage finds no quote in the title and takes no speaker mention from it.
    """
    from .ner import TITLE_KEY

    a, b = (int(span[0]), int(span[1])) if span is not None else (0, 0)
    if span is None or len(doc) == 0 or not 0 <= a < b <= len(doc_text(doc)):
        doc._.stancekit_title = None
        doc.user_data[TITLE_KEY] = ()  # known to have no title: the NER stage's plain-text rule stays off
        return doc
    doc._.stancekit_title = (a, b)
    doc.user_data[TITLE_KEY] = (a, b)
    if not doc.has_annotation("DEP") and not doc.has_annotation("SENT_START"):
        body = next((t for t in doc[_token_index_at(doc, b):] if t.idx >= b and not t.is_space), None)
        if body is not None and body.i > 0:
            body.is_sent_start = True
            first = next((t for t in doc if not t.is_space), None)
            if first is not None:
                first.is_sent_start = True
    return doc


def title_range(doc: Doc) -> tuple[int, int] | None:
    """The title's character range of ``doc`` (see :func:`apply_title_span`), or None."""
    span = doc._.stancekit_title if Doc.has_extension("stancekit_title") else None
    return (int(span[0]), int(span[1])) if span else None


def in_title(doc: Doc, start: int, end: int) -> bool:
    """Does the character range [start, end) overlap the title of ``doc``?"""
    t = title_range(doc)
    return t is not None and start < t[1] and end > t[0]


@dataclass
class QuoteSpan:
    """A paired quotation: content offsets (inside the marks) and the marks themselves."""

    start: int
    end: int
    open_at: int
    close_at: int


@dataclass
class Quote:
    text: str
    start: int
    end: int
    kind: str
    cue: dict | None
    speaker: dict | None
    confidence: float = 0.0
    marks: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# 1. quotation marks
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# titles
# ---------------------------------------------------------------------------------------------

def _in_ranges(index: tuple[list[int], list[tuple[int, int]]], a: int, b: int) -> bool:
    """Does [a, b) overlap one of the sorted, disjoint ranges of ``index`` (their starts, the ranges)?"""
    starts, ranges = index
    k = bisect.bisect_left(starts, b) - 1
    return k >= 0 and ranges[k][1] > a


def _blank(text: str, span: tuple[int, int] | None) -> str:
    """``text`` with the characters of ``span`` (line breaks aside) replaced by spaces."""
    if span is None:
        return text
    a, b = span
    return text[:a] + re.sub(r"[^\n]", " ", text[a:b]) + text[b:]


def _resolver(doc: Doc, spans: list, title: tuple[int, int] | None) -> SpeakerResolver:
    """A speaker resolver that never sees the title's entities (a headline is no speaker mention
    nor a pronoun's antecedent)."""
    if title is None:
        return SpeakerResolver(doc, spans)
    entities = doc._.stancekit_entities
    doc._.stancekit_entities = [e for e in entities or () if not (e["start"] < title[1] and e["end"] > title[0])]
    try:
        return SpeakerResolver(doc, spans)
    finally:
        doc._.stancekit_entities = entities


def _outside_title(quote: Quote, title: tuple[int, int] | None) -> Quote | None:
    """Drop a quote that touches the title; a speaker mentioned only in the title is no speaker."""
    if title is None:
        return quote
    a, b = title
    lo = min([quote.start] + quote.marks[:1])
    hi = max([quote.end] + [m + 1 for m in quote.marks[1:2]])
    if lo < b and hi > a:
        return None
    mention = (quote.speaker or {}).get("mention") or {}
    if mention and mention.get("start", b) < b and mention.get("end", a) > a:
        if quote.kind != "direct":
            return None
        quote.speaker = None
        quote.confidence = 0.2
    return quote


# ---------------------------------------------------------------------------------------------
# transcripts
# ---------------------------------------------------------------------------------------------

HONORIFIC_TAGS = ("MR", "MRS", "MS", "MISS", "DR", "SEN", "SENATOR", "REP", "GOV", "GOVERNOR", "PROF", "REV",
                  "GEN", "JUDGE", "PRESIDENT", "MAYOR", "SECRETARY", "AMB", "AMBASSADOR", "CHAIRMAN", "CHAIRWOMAN")
_CAPS = r"[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ'’\-]+"
_TAG = re.compile(r"[ \t\u00a0]*(?P<tag>(?:(?P<hon>" + "|".join(HONORIFIC_TAGS) + r")\.?[ \t\u00a0]+)?"
                  r"(?P<name>" + _CAPS + r"(?:[ \t\u00a0]+" + _CAPS + r"){0,2})|(?P<qa>[QA]))"
                  r"[ \t\u00a0]*:[ \t\u00a0]+(?=\S)")
# all-capitals labels that open a line but name nobody
NOT_SPEAKERS = {"UPDATE", "UPDATED", "NOTE", "EDITOR'S NOTE", "EDITOR’S NOTE", "CORRECTION", "BREAKING",
                "WATCH", "READ", "READ MORE", "RELATED", "PHOTO", "PHOTOS", "VIDEO", "SOURCE", "SOURCES",
                "CREDIT", "WARNING", "ALERT", "EXCLUSIVE", "OPINION", "ANALYSIS", "TRANSCRIPT", "INTERVIEW",
                "AP", "UPI", "AFP", "REUTERS", "FILE", "CLARIFICATION", "DISCLAIMER", "SPONSORED", "TOPICS",
                "TAGS", "LIVE", "TIMELINE", "BACKGROUND", "CONTEXT", "SUMMARY", "FACT CHECK", "VERDICT",
                "WHAT", "WHY", "HOW", "WHEN", "WHERE", "WHO", "PS", "P.S", "TL", "TLDR", "FAQ", "ET", "PT"}
INTERVIEWER_WORDS = ("editor", "reporter", "host", "interviewer", "correspondent", "journalist", "moderator",
                     "anchor", "writer", "columnist", "presenter", "producer")
MIN_TURNS = 2


@dataclass
class Turn:
    """One transcript turn: the tag ("MR. SMITH:", "Q:") and the words after it (``start``–``end``).
    ``continued``: an untagged paragraph that goes on with the previous tag's turn."""

    line_start: int
    tag_start: int
    tag_end: int
    start: int
    end: int
    tag: str
    name: str | None
    qa: str | None
    continued: bool = False


def transcript_turns(text: str, title: tuple[int, int] | None = None) -> list[Turn]:
    """The speaker turns of a transcript layout, or [] when ``text`` is not laid out so.

    A line that opens with a capitalised tag and a colon (``SMITH:``, ``MR. SMITH:``, ``SEN. ANA
    RUIZ:``, ``Q:``, ``A:``) starts a turn of that speaker; the words after the tag up to the line end
    are the turn, and untagged paragraphs after it go on with it until the next tag (never after the
    last tag). A text is a transcript when at least two lines carry such tags; labels such as
    ``UPDATE:`` or ``NOTE:`` name nobody. The title line is never a turn.
    """
    tagged: list[Turn] = []
    lines: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        lines.append((pos, pos + len(line)))
        pos += len(line) + 1
    for a, b in lines:
        if title is not None and a < title[1] and b > title[0]:
            continue
        m = _TAG.match(text, a, b)
        if m is None:
            continue
        name = m.group("name")
        if name is not None and (" ".join(name.split()) in NOT_SPEAKERS or len(name.strip("'’-")) < 2):
            continue
        end = b
        while end > m.end() and text[end - 1].isspace():
            end -= 1
        colon = text.index(":", m.end("tag"), m.end()) + 1
        tagged.append(Turn(line_start=a, tag_start=m.start("tag"), tag_end=colon, start=m.end(),
                           end=end, tag=" ".join(m.group("tag").split()), name=name and " ".join(name.split()),
                           qa=m.group("qa")))
    if len(tagged) < MIN_TURNS:
        return []
    # untagged paragraphs between two tagged lines continue the earlier turn
    out: list[Turn] = []
    starts = {t.line_start for t in tagged}
    by_start = {t.line_start: t for t in tagged}
    current: Turn | None = None
    last_tag = tagged[-1].line_start
    for a, b in lines:
        if a in starts:
            current = by_start[a]
            out.append(current)
            continue
        if current is None or a > last_tag or not text[a:b].strip():
            continue
        s = a + (len(text[a:b]) - len(text[a:b].lstrip()))
        e = b - (len(text[a:b]) - len(text[a:b].rstrip()))
        out.append(Turn(line_start=a, tag_start=current.tag_start, tag_end=current.tag_end, start=s, end=e,
                        tag=current.tag, name=current.name, qa=current.qa, continued=True))
    return out


def _title_case(name: str) -> str:
    """"OSEI-BONSU" → "Osei-Bonsu", "O'NEILL" → "O'Neill"."""
    return re.sub(r"[^\W\d_]+", lambda m: m.group()[:1].upper() + m.group()[1:].lower(), name)


def _transcript_names(doc: Doc, turns: list[Turn], resolver: SpeakerResolver) -> dict[str, tuple[str | None, float]]:
    """Tag → (speaker name, confidence). A name tag is joined to the document's full name with that
    surname ("HALVORSEN:" → "Gregory Halvorsen"), else title-cased ("Halvorsen"); ``Q:`` is the
    interviewer and ``A:`` the interviewee named before the first turn (None when not named)."""
    text = doc_text(doc)
    first = min(t.line_start for t in turns)
    persons = [e for e in resolver.entities if e["label"] == "PERSON"]
    out: dict[str, tuple[str | None, float]] = {}
    blanked: str | None = None
    for t in turns:
        if t.tag in out or t.name is None:
            continue
        words = _title_case(t.name).split()
        last = words[-1].lower()
        full = [e["canonical"] for e in persons if e["canonical"].split()[-1].lower() == last
                and len(e["canonical"].split()) >= len(words)
                and (len(words) == 1 or e["canonical"].lower().endswith(" ".join(words).lower()))]
        if not full:  # a name the entity recogniser missed: "… moderated by Lucia Ferreira of …"
            blanked = blanked if blanked is not None else _blank_turn_tags(text, turns)
            hits = re.findall(r"((?:[A-Z][\w'’\-]+ ){1,2})" + re.escape(words[-1]) + r"\b", blanked)
            full = [(h + words[-1]).strip() for h in hits if not any(w.lower() in HONORIFIC_NAMES
                                                                     for w in h.split())]
        if full:
            best = max(set(full), key=lambda n: (full.count(n), len(n)))
            out[t.tag] = (best, 0.9)
        else:
            out[t.tag] = (" ".join(words), 0.75)
    if any(t.qa for t in turns):
        intro = [e for e in persons if e["end"] <= first]
        interviewer = next((e for e in intro if set(re.findall(r"[a-z]+", text[max(0, e["start"] - 60):e["start"]]
                                                                  .lower())[-4:]) & set(INTERVIEWER_WORDS)), None)
        guest = next((e for e in intro if interviewer is None or e["canonical"] != interviewer["canonical"]), None)
        out["Q"] = (interviewer["canonical"], 0.85) if interviewer is not None else (None, 0.3)
        out["A"] = (guest["canonical"], 0.85) if guest is not None else (None, 0.3)
    return out


HONORIFIC_NAMES = {"mr", "mrs", "ms", "miss", "dr", "mr.", "mrs.", "ms.", "dr.", "sen.", "rep.", "gov.", "the"}


def _blank_turn_tags(text: str, turns: list[Turn]) -> str:
    """``text`` with the turns' tags blanked (one pass)."""
    parts, pos = [], 0
    for a, b in sorted({(t.tag_start, t.tag_end) for t in turns}):
        if a < pos:
            continue
        parts.append(text[pos:a])
        parts.append(" " * (b - a))
        pos = b
    parts.append(text[pos:])
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# the component
# ---------------------------------------------------------------------------------------------

class QuoteFinder:
    """spaCy component that extracts quotes with cue and speaker (see the module doc)."""

    def __init__(self, nlp: Language, name: str = "stancekit_quotes", *, indirect: bool = True,
                 max_cue_distance: int = 12, continuation_chars: int = 600):
        self.name = name
        self.transcripts = True  # transcript layout (see :func:`transcript_turns`)
        self.participial = True  # "Calling the plan “…,” X said" (see :meth:`_participial`)
        self.back_reference = True  # "“…”\n\nX said that on Monday." (see :meth:`_cue_next_paragraph`)
        self.object_needs_proposition = True  # see :func:`_carries_proposition`
        self.indirect = indirect
        self.max_cue_distance = max_cue_distance
        self.continuation_chars = continuation_chars
        c = cues()
        self.speech = c["speech"]
        self.belief = c["belief"]
        self.according = c["according"]
        self.intent = c.get("intent", frozenset())
        self.object = c.get("object", frozenset())
        self.nouns = c.get("nouns", frozenset())
        # position verbs: a bare noun-phrase object is the position ("X backs the plan")
        self.position = c.get("position", frozenset())

    def __call__(self, doc: Doc) -> Doc:
        warnings = list(doc._.stancekit_warnings or [])
        quotes = self.find(doc, warnings)
        doc._.stancekit_quotes = [q.to_dict() for q in quotes]
        doc._.stancekit_warnings = warnings
        return doc

    def find(self, doc: Doc, warnings: list) -> list[Quote]:
        if len(doc) == 0 or not (doc.has_annotation("SENT_START") or doc.has_annotation("DEP")):
            if doc_text(doc).strip():
                warnings.append({"code": "W004", "offset": 0})
            return []
        text = doc_text(doc)
        title = title_range(doc)
        # the title's marks never pair with the body's: the title is blanked (offsets kept)
        spans, mark_warnings = pair_quote_marks(_blank(text, title))
        resolver = _resolver(doc, spans, title)
        warnings.extend(mark_warnings)
        quotes: list[Quote] = []
        turns = transcript_turns(text, title) if self.transcripts else []
        turn_ranges = sorted((t.line_start, max(t.line_start, t.end)) for t in turns)
        self._turns = ([a for a, _ in turn_ranges], turn_ranges)
        if turns:
            quotes.extend(self._transcript(doc, turns, resolver))
        self._backrefs: set[int] = set()
        partial: list[QuoteSpan] = []
        outer: list[tuple[int, int]] = []  # marks of the direct quotes found so far
        prev: Quote | None = None
        for qs in spans:
            if _in_ranges(self._turns, qs.open_at, qs.open_at + 1):
                continue  # inside a transcript line: part of that speaker's turn
            content = doc.char_span(qs.start, qs.end, alignment_mode="expand")
            if content is None or len(content) == 0:
                continue
            nested = any(o <= qs.open_at and qs.close_at <= c for o, c in outer)
            if not self._is_direct(doc, qs, content) or self._inside_clause(doc, qs):
                quote = None if nested or not self.participial else self._participial(doc, qs, resolver)
                if quote is not None:  # "Calling the plan “a giveaway,” Ruiz said …"
                    quotes.append(quote)
                    outer.append((qs.open_at, qs.close_at))
                    prev = quote
                elif not nested:
                    partial.append(qs)
                continue
            quote = self._direct(doc, qs, content, resolver, None if nested else prev)
            if nested and quote.cue is None and quote.speaker is None:
                continue  # a quote inside a block quote counts only with its own cue
            quotes.append(quote)
            if not nested:
                outer.append((qs.open_at, qs.close_at))
                prev = quote
        if self.indirect:
            covered = [(q.marks[0], q.marks[1] + 1) for q in quotes if q.marks]
            for quote in self._indirect(doc, resolver, partial, covered):
                quotes.append(quote)
        quotes = [q for q in (_outside_title(q, title) for q in quotes) if q is not None]
        quotes.sort(key=lambda q: (q.start, q.end))
        return quotes

    # -- transcripts ------------------------------------------------------------------------------
    def _transcript(self, doc: Doc, turns: list[Turn], resolver: SpeakerResolver) -> list[Quote]:
        """Each turn is a direct quote of its tag's speaker; the content leaves the tag out."""
        text = doc_text(doc)
        names = _transcript_names(doc, turns, resolver)
        out = []
        for t in turns:
            if t.end <= t.start:
                continue
            name, confidence = names.get(t.tag, (None, 0.3))
            info = resolver.roles.get(name) or {} if name else {}
            speaker = {"name": name, "mention": {"text": text[t.tag_start:t.tag_end - 1], "start": t.tag_start,
                                                 "end": t.tag_end - 1},
                       "label": "PERSON", "role": (info.get("roles") or [None])[0],
                       "affiliation": info.get("affiliation"),
                       "resolution": "continuation" if t.continued else "transcript",
                       "confidence": round(confidence * (0.9 if t.continued else 1.0), 3)}
            out.append(Quote(text=text[t.start:t.end], start=t.start, end=t.end, kind="direct", cue=None,
                             speaker=speaker, confidence=speaker["confidence"]))
        return out

    def _participial(self, doc: Doc, qs: QuoteSpan, resolver: SpeakerResolver) -> Quote | None:
        """A quoted phrase in a participial cue that opens the sentence ("Calling the plan “a giveaway,”
        Ruiz said …"): a direct quote of the main clause's subject."""
        first = _first_token_at_or_after(doc, qs.start)
        if first is None or first.idx >= qs.end:
            return None
        sent = first.sent
        node = first
        for _ in range(len(sent)):
            if node.tag_ == "VBG" and node.lemma_.lower() in PARTICIPIAL_CUES and node.i < first.i \
                    and _only_space_or_punct(doc_text(doc)[sent.start_char:node.idx]):
                main = node.head
                if main is node or main.i <= first.i or main.idx < qs.close_at:
                    return None
                subj = _subject(main)
                speaker = resolver.resolve(subj) if subj is not None else None
                if speaker is None:
                    return None
                text = doc_text(doc)[qs.start:qs.end].rstrip(" ,")
                return Quote(text=text, start=qs.start, end=qs.start + len(text), kind="direct",
                             cue=_cue_dict(node), speaker=speaker,
                             confidence=round(speaker.get("confidence", 0.5) * 0.85, 3),
                             marks=[qs.open_at, qs.close_at])
            if node.head is node or node.head.sent != sent:
                return None
            node = node.head
        return None

    def _cue_next_paragraph(self, doc: Doc, qs: QuoteSpan) -> Token | None:
        """A quote that ends its paragraph, with the cue opening the next one and pointing back
        ("“…”\n\nThe coach, Ana Ruiz, said that after the game."): the cue verb."""
        text = doc_text(doc)
        nl = text.find("\n", qs.close_at + 1)
        if nl < 0 or text[qs.close_at + 1:nl].strip():
            return None
        first = _first_token_at_or_after(doc, nl)
        if first is None:
            return None
        for tok in doc[first.i:min(first.sent.end, first.i + self.max_cue_distance + 4)]:
            if tok.text in QUOTE_TOKENS or "\n" in tok.text:
                return None
            if self._is_cue(tok) and tok.lemma_.lower() in self.speech and tok.i + 1 < len(doc) \
                    and doc[tok.i + 1].lower_ in BACK_REFERENCES and _subject(tok) is not None \
                    and _subject(tok).lower_ not in PRONOUN_SPEAKERS:
                nxt = doc[tok.i + 2] if tok.i + 2 < len(doc) else None
                # "said that at a briefing", "said so on Sunday", "said that." – not "said that the …"
                if nxt is None or nxt.is_punct or nxt.pos_ == "ADP" or nxt.lower_ in ("in", "on", "at", "after",
                                                                                    "before", "during", "when"):
                    return tok
        return None

    # -- direct quotes ---------------------------------------------------------------------------
    def _is_direct(self, doc: Doc, qs: QuoteSpan, content: Span) -> bool:
        words = [t for t in content if not t.is_punct]
        if len(words) == 0:
            return False
        inner = doc_text(doc)[qs.start:qs.end].rstrip()
        if inner[-1:] in ",.?!…:;" and len(words) >= 3:
            return True
        if inner[-1:] in ",?!" and len(words) >= 2 and self._cue_after(doc, qs)[0] is not None:
            return True  # "“We will,” she said, …"
        before = doc_text(doc)[max(0, qs.open_at - 3):qs.open_at]
        after = doc_text(doc)[qs.close_at + 1:qs.close_at + 4]
        if before.rstrip().endswith(":") and len(words) >= 3:
            return True
        starts_sentence = content[0].is_sent_start or _only_space_or_punct(
            doc_text(doc)[content[0].sent.start_char:qs.open_at])
        if starts_sentence and len(words) >= 4 and after.lstrip()[:1] in ("", ",", ".", "\n", "-", "–", "—"):
            return True
        return len(words) >= 8 and any(t.dep_ in SUBJECT_DEPS for t in content)

    def _direct(self, doc: Doc, qs: QuoteSpan, content: Span, resolver: SpeakerResolver,
                prev: Quote | None) -> Quote:
        text = doc_text(doc)[qs.start:qs.end]
        start, end = qs.start, qs.end
        # trailing comma inside the marks belongs to the frame, not the content
        stripped = text.rstrip(" ,")
        end = start + len(stripped)
        base = dict(text=doc_text(doc)[start:end], start=start, end=end, kind="direct",
                    marks=[qs.open_at, qs.close_at])
        cue_tok, speaker_tok = self._cue_after(doc, qs)
        if cue_tok is None and speaker_tok is None:
            cue_tok, speaker_tok = self._cue_before(doc, qs)
        if cue_tok is not None or speaker_tok is not None:
            speaker = resolver.resolve(speaker_tok) if speaker_tok is not None else None
            if speaker is None and cue_tok is not None:
                speaker = resolver.subject_of(cue_tok)
            return Quote(**base, cue=_cue_dict(cue_tok) if cue_tok is not None else None,
                         speaker=speaker, confidence=(speaker or {}).get("confidence", 0.3))
        # the cue opens the next paragraph and points back: "The coach said that after the game."
        back = self._cue_next_paragraph(doc, qs) if self.back_reference else None
        if back is not None:
            speaker = resolver.subject_of(back)
            if speaker is not None:
                self._backrefs.add(back.i)
                return Quote(**base, cue=_cue_dict(back), speaker=speaker,
                             confidence=round(speaker.get("confidence", 0.5) * 0.85, 3))
        # no cue: a continuation of the previous quote of the same speaker
        if prev is not None and prev.speaker is not None and \
                qs.open_at - prev.marks[1] <= self.continuation_chars and \
                not self._other_speaker_between(doc, prev.marks[1], qs.open_at,
                                                (prev.cue or {}).get("start"), prev.speaker, resolver):
            speaker = dict(prev.speaker, resolution="continuation",
                           confidence=round(prev.speaker.get("confidence", 0.5) * 0.9, 3))
            return Quote(**base, cue=None, speaker=speaker, confidence=speaker["confidence"])
        # a cue in the sentence just before that ends in a colon ("From the minister:")
        speaker = self._speaker_from_previous_line(doc, qs, resolver)
        return Quote(**base, cue=None, speaker=speaker, confidence=(speaker or {}).get("confidence", 0.2))

    def _cue_after(self, doc: Doc, qs: QuoteSpan) -> tuple[Token | None, Token | None]:
        """Cue in the frame after the closing mark: "…,” he said", "“…” - Name"."""
        dash = _DASH_NAME.match(doc_text(doc), qs.close_at + 1)
        if dash is not None:  # "“…” ― Name" (a signed comment)
            name = _name_at(doc, dash.end())
            if name is not None:
                return None, name
        first = _first_token_at_or_after(doc, qs.close_at + 1)
        if first is None:
            return None, None
        gap = doc_text(doc)[qs.close_at + 1:first.idx]
        if "\n" in gap:
            return None, None
        if first.text in DASHES:
            name = _next_name(doc, first.i + 1)
            if name is not None:
                return None, name
        sent_end = first.sent.end
        limit = min(sent_end, first.i + self.max_cue_distance)
        if doc_text(doc)[qs.start:qs.end].rstrip()[-1:] in ".!?…" and first.text[:1].isupper() \
                and first.lower_ not in PRONOUN_SPEAKERS:
            # "…by Friday.” Ortega, for her part, argued …": a new sentence starts after the quote;
            # only a short "Name said." frame still belongs to it
            limit = min(sent_end, first.i + 4)
            if sent_end - first.i > 5:
                return None, None
        for tok in doc[first.i:limit]:
            if tok.text in QUOTE_TOKENS:
                break
            if self._is_cue(tok):
                return tok, _subject(tok)
        return None, None

    def _cue_before(self, doc: Doc, qs: QuoteSpan) -> tuple[Token | None, Token | None]:
        """Cue before the opening mark in the same sentence: "He went on: “…”", "Name: “…”"."""
        last = _last_token_before(doc, qs.open_at)
        if last is None:
            return None, None
        if "\n" in doc_text(doc)[last.idx + len(last):qs.open_at] and last.text != ":":
            return None, None
        if last.text in (".", "!", "?", "”", '"', "»"):  # the quote opens a new sentence
            return None, None
        sent_start = last.sent.start
        # the sentence that holds the mark, or the previous one when the mark opens a sentence
        frame = doc[sent_start:last.i + 1]
        if last.text == ":":
            name = _prev_name(doc, last.i - 1)
            cue = None
            for tok in reversed(list(frame)):
                if tok.text in QUOTE_TOKENS:
                    break
                if self._is_cue(tok):
                    cue = tok
                    break
            if cue is not None:
                return cue, _subject(cue)
            if name is not None:
                return None, name
        for tok in reversed(list(frame)[-self.max_cue_distance - 6:]):
            if tok.text in QUOTE_TOKENS:
                break
            if self._is_cue(tok) and not any(c.dep_ in ("ccomp", "dobj") and c.idx < qs.open_at and
                                              c.i > tok.i for c in tok.children if not c.is_punct):
                return tok, _subject(tok)
        return None, None

    def _speaker_from_previous_line(self, doc: Doc, qs: QuoteSpan, resolver: SpeakerResolver):
        last = _last_token_before(doc, qs.open_at)
        if last is None or last.text != ":":
            return None
        name = _prev_name(doc, last.i - 1)
        return resolver.resolve(name) if name is not None else None

    def _other_speaker_between(self, doc: Doc, a: int, b: int, own_cue: int | None, speaker: dict,
                               resolver: SpeakerResolver) -> bool:
        """Is there a cue of someone else between two quotes (not the first quote's own cue)?
        A cue without a subject of its own ("…,” said Ruiz, speaking of …") does not count."""
        span = doc.char_span(a + 1, b, alignment_mode="contract")
        if span is None:
            return False
        for t in span:
            if not self._is_cue(t) or t.idx == own_cue:
                continue
            subj = next((c for c in t.children if c.dep_ in SUBJECT_DEPS), None)
            if subj is None:
                continue
            other = resolver.resolve(subj)
            if other is None or other.get("name") != speaker.get("name"):
                return True
        return False

    def _inside_clause(self, doc: Doc, qs: QuoteSpan) -> bool:
        """Is the quoted span part of a clause a cue introduces, with words of the clause before the
        mark ("He said the council had grown “tired of waiting …”")? Then it is a mixed quote."""
        first = _first_token_at_or_after(doc, qs.start)
        if first is None:
            return False
        child, node = first, first.head
        steps = 0
        while node is not child and steps < 12:
            if node.i < first.i and self._is_cue(node) and child.i > node.i and \
                    child.dep_ in ("ccomp", "xcomp", "dobj", "prep", "oprd") and \
                    child.left_edge.idx + len(child.left_edge) <= qs.open_at and \
                    child.left_edge.i > node.i and node.sent == first.sent:
                return True
            child, node = node, node.head
            steps += 1
        return False

    def _is_cue(self, tok: Token) -> bool:
        if tok.pos_ not in ("VERB", "AUX") and tok.tag_ not in ("VBD", "VBZ", "VBP", "VBG", "VBN", "VB"):
            return False
        return tok.lemma_.lower() in self.speech or tok.lemma_.lower() in self.belief

    # -- indirect and mixed quotes ---------------------------------------------------------------
    def _indirect(self, doc: Doc, resolver: SpeakerResolver, partial: list[QuoteSpan],
                  covered: list[tuple[int, int]]):
        taken = list(covered)

        turns = getattr(self, "_turns", ([], []))

        def free(a: int, b: int) -> bool:
            return not _in_ranges(turns, a, b) and all(b <= s or a >= e for s, e in taken)

        # fixed frames first: "according to X, …"
        yield from self._according_to(doc, resolver, free, taken)
        yield from self._noun_cues(doc, resolver, partial, free, taken)
        for tok in doc:
            lemma = tok.lemma_.lower()
            if tok.pos_ != "VERB" or not self._is_cue_lemma(lemma):
                continue
            if not free(tok.idx, tok.idx + len(tok)) or tok.i in getattr(self, "_backrefs", ()):
                continue  # a reporting verb inside a quote is part of that quote; "said that." is a cue
            if _is_modifier_participle(tok):
                continue  # "the mayor's office, accused of …": the subject is not the speaker
            clause = self._reported_clause(tok, lemma)
            if clause is None:
                continue
            (a, b), how = clause
            a, b = _through_marks(a, b, partial, doc_text(doc))
            if b - a < (12 if how == "clause" else 6) or not free(a, b):
                continue
            subj_tok = _subject(tok)
            if subj_tok is not None and a <= subj_tok.idx < b and subj_tok not in list(tok.subtree):
                continue  # the "speaker" is inside the content: not an attribution
            speaker = resolver.resolve(subj_tok) if subj_tok is not None else None
            if speaker is None:
                continue
            if how != "clause" and speaker["resolution"] == "group" and speaker["confidence"] < 0.5:
                continue  # "those costs demand an answer": positions need a plausible holder
            kind = "mixed" if any(a <= p.open_at and p.close_at < b for p in partial) else "indirect"
            taken.append((a, b))
            yield Quote(text=doc_text(doc)[a:b], start=a, end=b, kind=kind, cue=_cue_dict(tok),
                        speaker=speaker, confidence=round(speaker.get("confidence", 0.5) * 0.85, 3))


    def _noun_cues(self, doc: Doc, resolver: SpeakerResolver, partial, free, taken):
        """Nominal cues with a clause: "X's warning that …", "the claim by X that …"."""
        for tok in doc:
            if tok.pos_ != "NOUN" or tok.lemma_.lower() not in self.nouns or not free(tok.idx, tok.idx + len(tok)):
                continue
            clause = next((c for c in tok.children if c.dep_ in ("acl", "ccomp", "relcl") and c.i > tok.i
                           and any(g.dep_ == "mark" and g.lower_ == "that" for g in c.children)), None)
            if clause is None:
                continue
            holder = next((c for c in tok.children if c.dep_ == "poss"), None)
            if holder is None:
                prep = next((c for c in tok.children if c.dep_ == "prep" and c.lower_ in ("by", "from")), None)
                holder = next((g for g in prep.children if g.dep_ == "pobj"), None) if prep is not None else None
            if holder is None:
                continue
            a, b = _trim_tokens(list(clause.subtree))
            if b - a < 12 or not free(a, b):
                continue
            speaker = resolver.resolve(holder)
            if speaker is None:
                continue
            kind = "mixed" if any(a <= p.open_at and p.close_at < b for p in partial) else "indirect"
            taken.append((a, b))
            yield Quote(text=doc_text(doc)[a:b], start=a, end=b, kind=kind, cue=_cue_dict(tok),
                        speaker=speaker, confidence=round(speaker.get("confidence", 0.5) * 0.8, 3))

    def _is_cue_lemma(self, lemma: str) -> bool:
        return lemma in self.speech or lemma in self.belief or lemma in self.intent or lemma in self.object

    def _reported_clause(self, verb: Token, lemma: str):
        """Character span of what a reporting verb introduces, and how it was found.

        ``clause``: "said (that) the plan failed", "The plan failed, he said", "X, he said, Y";
        ``prep``: "warned of …", "called for …"; ``xcomp``: "wants to …", "pledged to …";
        ``object``: "criticized the plan".
        """
        kids = list(verb.children)
        for c in kids:  # the clause after the verb first, then one before it
            if c.dep_ == "ccomp" and c.i > verb.i:
                return _trim_tokens(list(c.subtree)), "clause"
        for c in kids:
            if c.dep_ == "ccomp" and c.i < verb.i:
                return _trim_tokens(list(c.subtree)), "clause"
        # "X, he said, Y": the verb hangs off the main clause as a parenthetical
        if verb.dep_ == "parataxis" and lemma in self.speech and verb.head.pos_ in ("VERB", "AUX"):
            return _trim_tokens(_without(verb.head.subtree, verb)), "clause"
        for c in kids:
            if c.dep_ == "prep" and c.lower_ in PREP_CUES.get(lemma, ("of", "about")) and c.i > verb.i:
                obj = next((g for g in c.children if g.dep_ in ("pcomp", "pobj")), None)
                if obj is not None and not (obj.pos_ == "PRON" and obj.n_lefts + obj.n_rights == 0):
                    return _trim_tokens(list(obj.subtree)), "prep"
        if lemma in self.intent:
            x = next((c for c in kids if c.dep_ == "xcomp" and c.i > verb.i and c.pos_ in ("VERB", "AUX")), None)
            if x is not None:
                return _trim_tokens(list(x.subtree)), "xcomp"
        if lemma in self.object:
            obj = next((c for c in kids if c.dep_ == "dobj" and c.i > verb.i), None)
            if obj is not None and not (obj.pos_ == "PRON" and obj.n_lefts + obj.n_rights == 0) and \
                    (lemma in self.position or not self.object_needs_proposition or not _bare_noun_phrase(obj)
                     or _carries_proposition(obj)):
                return _trim_tokens(list(obj.subtree) + _predicate_of(verb, obj)), "object"
        return None

    def _according_to(self, doc: Doc, resolver: SpeakerResolver, free, taken):
        for tok in doc:
            if tok.lower_ != "according" or tok.i + 1 >= len(doc) or doc[tok.i + 1].lower_ != "to":
                continue
            pobj = next((c for c in doc[tok.i + 1].children if c.dep_ == "pobj"), None)
            if pobj is None:
                continue
            sent = tok.sent
            phrase = (tok.i, max(t.i for t in pobj.subtree) + 1)
            # content: the rest of the sentence, without the attribution phrase and its commas
            if phrase[0] - sent.start > sent.end - phrase[1]:
                span = doc[sent.start:phrase[0]]
            else:
                span = doc[phrase[1]:sent.end]
            a, b = _trim(doc, span)
            if b - a < 12 or not free(a, b):
                continue
            speaker = resolver.resolve(pobj)
            taken.append((a, b))
            yield Quote(text=doc_text(doc)[a:b], start=a, end=b, kind="indirect",
                        cue={"text": doc[tok.i:tok.i + 2].text, "start": tok.idx,
                             "end": doc[tok.i + 1].idx + len(doc[tok.i + 1])},
                        speaker=speaker, confidence=round((speaker or {}).get("confidence", 0.3) * 0.85, 3))


# ---------------------------------------------------------------------------------------------
# helpers on tokens
# ---------------------------------------------------------------------------------------------

def _only_space_or_punct(s: str) -> bool:
    return all(ch.isspace() or not ch.isalnum() for ch in s)


def _first_token_at_or_after(doc: Doc, char: int) -> Token | None:
    for tok in doc[_token_index_at(doc, char):]:
        if tok.idx >= char and not tok.is_space and tok.text not in ",":
            return tok
    return None


def _last_token_before(doc: Doc, char: int) -> Token | None:
    i = _token_index_at(doc, char)
    for tok in reversed(doc[:i + 1]):
        if tok.idx + len(tok) <= char and not tok.is_space:
            return tok
    return None


def _token_index_at(doc: Doc, char: int) -> int:
    lo, hi = 0, len(doc) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if doc[mid].idx <= char:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _subject(verb: Token, depth: int = 0) -> Token | None:
    for c in verb.children:
        if c.dep_ in SUBJECT_DEPS:
            return c
    # "said Ana Ruiz" parsed with the name as object or attr
    for c in verb.children:
        if c.dep_ in ("dobj", "attr", "npadvmod") and (c.ent_type_ in ("PERSON", "ORG") or c.pos_ == "PROPN") \
                and c.i > verb.i:
            return c
    # "was quoted as saying", "warning that …" (a participle): the subject of the governing verb
    # (one step up per call, at most as many steps as the sentence has tokens)
    if verb.dep_ in ("advcl", "xcomp", "conj", "pcomp", "acl") and verb.head is not verb and depth < len(verb.sent):
        return _subject(verb.head, depth + 1)
    return _left_subject(verb)


def _left_subject(verb: Token) -> Token | None:
    """Fallback for a misparsed clause: the noun phrase right before the verb is its subject."""
    i = verb.i - 1
    while i >= verb.sent.start and verb.doc[i].pos_ in ("ADV", "AUX", "PART"):
        i -= 1
    if i < verb.sent.start or verb.doc[i].pos_ not in ("NOUN", "PROPN", "PRON"):
        return None
    floor = verb.sent.start
    for j in range(i, verb.sent.start - 1, -1):  # never climb across a line break
        if "\n" in verb.doc[j].text:
            floor = j + 1
            break
    tok = best = verb.doc[i]
    if tok.pos_ == "PRON" or tok.ent_type_ == "PERSON":  # "… head of the board Ruiz said": Ruiz
        return tok
    # climb at most one step per token of the sentence, and never past a root (its head is itself)
    for _ in range(len(verb.sent)):
        head = tok.head
        if head is tok or not (floor <= head.i < verb.i) or head.pos_ not in ("NOUN", "PROPN", "ADP"):
            break
        tok = head
        if tok.pos_ in ("NOUN", "PROPN"):
            best = tok
    return best


def _name_at(doc: Doc, char: int) -> Token | None:
    """The last token of the name that starts at ``char`` ("― Dana Whitfield" → Whitfield)."""
    tok = _first_token_at_or_after(doc, char)
    if tok is None or not tok.text[:1].isupper():
        return None
    j = tok.i
    while j + 1 < len(doc) and doc[j + 1].text[:1].isupper() and doc[j + 1].is_alpha and \
            "\n" not in doc_text(doc)[doc[j].idx:doc[j + 1].idx] and j - tok.i < 4:
        j += 1
    return doc[j]


def _next_name(doc: Doc, i: int) -> Token | None:
    if i < len(doc) and doc[i].pos_ == "PROPN":
        j = i
        while j + 1 < len(doc) and doc[j + 1].pos_ == "PROPN":
            j += 1
        return doc[j]
    return None


def _prev_name(doc: Doc, i: int) -> Token | None:
    if i >= 0 and (doc[i].pos_ == "PROPN" or doc[i].ent_type_ in ("PERSON", "ORG")):
        return doc[i]
    return None


def _without(tokens, verb: Token) -> list[Token]:
    """Tokens of a clause without the reporting frame (the verb and its own subtree)."""
    frame = {t.i for t in verb.subtree}
    return [t for t in tokens if t.i not in frame]


def _bare_noun_phrase(obj: Token) -> bool:
    """A common-noun phrase names a thing and says nothing about it ("the criticism", "the decision
    of the board to close two schools", "months"); a phrase with a name in it ("Ruiz", "the Harbor
    Authority's plan") names whom the attitude is toward and is kept as a position."""
    return obj.pos_ == "NOUN" and not any(t.pos_ == "PROPN" for t in obj.subtree)


def _predicate_of(verb: Token, obj: Token) -> list[Token]:
    """A secondary predicate of the object: "called the plan a giveaway", "described him as tired"."""
    out: list[Token] = []
    for c in verb.children:
        if c.i > obj.i and (c.dep_ == "oprd" or c.dep_ == "prep" and c.lower_ == "as"):
            out.extend(c.subtree)
    return out


def _carries_proposition(obj: Token) -> bool:
    """Does a verb's object say something (a clause, a quoted phrase, a that/whether complement, a
    nominal cue with a clause: "the claim that …") rather than name a thing ("the criticism")?"""
    if _predicate_of(obj.head, obj):
        return True
    for t in obj.subtree:
        if t.text in QUOTE_TOKENS:
            return True
        if t is not obj and t.dep_ in ("ccomp", "csubj", "acl", "relcl") and t.pos_ in ("VERB", "AUX") and \
                any(g.dep_ == "mark" and g.lower_ in ("that", "whether", "if") for g in t.children):
            return True
        if t is not obj and t.dep_ in ("ccomp", "csubj"):
            return True
    return False


def _is_modifier_participle(tok: Token) -> bool:
    """A participle that modifies a noun ("the man accused of …") or a passive without an agent."""
    if tok.tag_ != "VBN":
        return False
    kids = {c.dep_ for c in tok.children}
    if "agent" in kids:
        return False
    if "auxpass" in kids:
        return True
    if "aux" in kids or "nsubj" in kids:  # "has said"; a past tense tagged as participle
        return False
    return True


def _cue_dict(verb: Token) -> dict:
    """The cue with its auxiliaries and negation ("has said", "did not say")."""
    doc = verb.doc
    parts = [verb] + [c for c in verb.children if c.dep_ in ("aux", "neg") and c.i < verb.i
                      and verb.i - c.i <= 3]
    parts += [c for c in verb.children if c.dep_ == "prt" and c.i == verb.i + 1]
    lo = min(t.i for t in parts)
    hi = max(t.i for t in parts)
    if any(doc[k].is_punct for k in range(lo, hi + 1)):
        lo, hi = verb.i, verb.i
    a, b = doc[lo].idx, doc[hi].idx + len(doc[hi])
    return {"text": doc_text(doc)[a:b], "start": a, "end": b}


PARTICIPIAL_CUES = {"call", "describe", "label", "term", "dub", "brand", "characterize", "characterise", "say",
                    "declare", "dismiss", "deride", "hail", "praise", "warn", "insist", "argue", "add", "write"}
BACK_REFERENCES = {"that", "this", "so", "those", "these"}

PREP_CUES = {"call": ("for", "on"), "push": ("for",), "point": ("to",), "argue": ("for", "against"),
             "advocate": ("for",), "talk": ("about",), "speak": ("about", "of", "out"),
             "complain": ("about", "of"), "warn": ("of", "about", "against"), "accuse": ("of",),
             "worry": ("about",), "boast": ("about", "of"), "ask": ("about", "for"),
             "testify": ("about",), "lobby": ("for", "against"), "campaign": ("for", "against"),
             "rail": ("against",), "express": ("about",)}


def _trim_tokens(toks) -> tuple[int, int]:
    toks = sorted(toks, key=lambda t: t.i)
    while toks and (toks[0].is_punct or toks[0].is_space or toks[0].lower_ == "that"):
        toks = toks[1:]
    while toks and (toks[-1].is_punct or toks[-1].is_space) and toks[-1].text not in "”\"»":
        toks = toks[:-1]
    if not toks:
        return (0, 0)
    return toks[0].idx, toks[-1].idx + len(toks[-1])


def _through_marks(a: int, b: int, partial: list[QuoteSpan], text: str) -> tuple[int, int]:
    """Extend a reported clause to the closing mark of a quoted phrase that opens inside it and closes
    just after it on the same line ("said the plan was “reckless.”" keeps the phrase and its marks)."""
    for p in partial:
        if a <= p.open_at < b <= p.close_at and p.close_at - b <= 3 and "\n" not in text[b:p.close_at]:
            b = p.close_at + 1
    return a, b


def _trim(doc: Doc, span: Span) -> tuple[int, int]:
    return _trim_tokens(list(span))


@Language.factory("stancekit_quotes", requires=["doc.sents", "token.dep", "doc._.stancekit_entities"],
                  assigns=["doc._.stancekit_quotes"],
                  default_config={"indirect": True, "max_cue_distance": 12, "continuation_chars": 600})
def make_quote_finder(nlp: Language, name: str, indirect: bool, max_cue_distance: int,
                      continuation_chars: int) -> QuoteFinder:
    return QuoteFinder(nlp, name, indirect=indirect, max_cue_distance=max_cue_distance,
                       continuation_chars=continuation_chars)
