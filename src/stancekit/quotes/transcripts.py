"""Transcript layout: ``SMITH:``, ``MR. SMITH:``, ``Q:``/``A:`` lines, each a direct quote of its speaker."""

from __future__ import annotations

import re
from dataclasses import dataclass

from spacy.tokens import Doc

from ..resources import doc_text
from ..speakers import SpeakerResolver
from .model import Context, Quote

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


def transcript_names(doc: Doc, turns: list[Turn], resolver: SpeakerResolver) -> dict[str, tuple[str | None, float]]:
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


def transcript_quotes(ctx: Context, turns: list[Turn]) -> list[Quote]:
    """Each turn is a direct quote of its tag's speaker; the content leaves the tag out."""
    text, resolver = ctx.text, ctx.resolver
    names = transcript_names(ctx.doc, turns, resolver)
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
