"""The ``stancekit_quotes`` spaCy component: the orchestrator of the quote patterns.

:func:`find_quotes` reads like the algorithm of :mod:`stancekit.quotes`; :class:`QuoteFinder` splits it as
spaCy's trainable pipes do: :meth:`~QuoteFinder.predict` computes (never touching the Docs) and
:meth:`~QuoteFinder.set_annotations` writes ``doc._.stancekit_quotes`` and appends to
``doc._.stancekit_warnings``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from spacy.language import Language
from spacy.tokens import Doc

from ..quotemarks import QuoteSpan, RangeIndex, pair_quote_marks
from ..resources import doc_text
from ..speakers import SpeakerResolver
from ..headlines import marked_title, register_extension
from . import direct, indirect
from .labelled import labelled_lines
from .model import Context, CueLexicon, Quote, QuoteSettings
from .transcripts import transcript_quotes, transcript_turns

for _name in ("stancekit_quotes", "stancekit_warnings"):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)
register_extension()


@dataclass
class QuotePrediction:
    """What :meth:`QuoteFinder.predict` found in one Doc: its quotes and the warnings (code, offset)."""

    quotes: list[Quote]
    warnings: list[dict]


def find_quotes(doc: Doc, lexicon: CueLexicon, settings: QuoteSettings) -> QuotePrediction:
    """The quotes of one parsed Doc (see the :mod:`stancekit.quotes` doc for the steps)."""
    text = doc_text(doc)
    if len(doc) == 0 or not (doc.has_annotation("SENT_START") or doc.has_annotation("DEP")):
        return QuotePrediction([], [{"code": "W004", "offset": 0}] if text.strip() else [])
    title = marked_title(doc)
    # 1. quotation marks; the title's marks never pair with the body's (it is blanked, offsets kept)
    spans, warnings = pair_quote_marks(_blank(text, title))
    ctx = Context(doc=doc, text=text, title=title, resolver=speaker_resolver(doc, spans, title),
                  lexicon=lexicon, settings=settings)
    quotes: list[Quote] = []
    # 3b. transcript lines: each a direct quote of its tag's speaker
    turns = transcript_turns(text, title) if settings.transcripts else []
    ctx.turns = RangeIndex((t.line_start, max(t.line_start, t.end)) for t in turns)
    if turns:
        quotes.extend(transcript_quotes(ctx, turns))
    # 2. direct quotes (and participial cues); the other quoted phrases are left to step 3
    quotes.extend(direct_quotes(ctx, spans))
    # 3. indirect and mixed quotes, outside everything quoted so far
    if settings.indirect:
        ctx.taken = [(q.marks[0], q.marks[1] + 1) for q in quotes if q.marks]
        quotes.extend(indirect.according_to(ctx))
        quotes.extend(indirect.noun_cues(ctx))
        quotes.extend(indirect.reporting_verbs(ctx))
    # 3c. nothing in the title
    quotes = [q for q in (outside_title(q, title) for q in quotes) if q is not None]
    # 3d. a line that names its speaker before a colon, the title too ("Rubio: I'm not interested …")
    if settings.labelled_lines:
        quotes = labelled_lines(ctx, quotes)
    quotes.sort(key=lambda q: (q.start, q.end))
    return QuotePrediction(quotes, warnings)


def direct_quotes(ctx: Context, spans: Sequence[QuoteSpan]) -> list[Quote]:
    """Step 2 over the paired marks in reading order; a quoted phrase that is no quote of its own goes
    to ``ctx.partial`` (a mixed quote's phrase, for step 3)."""
    doc, settings = ctx.doc, ctx.settings
    quotes: list[Quote] = []
    outer: list[tuple[int, int]] = []  # marks of the direct quotes found so far
    prev: Quote | None = None
    for qs in spans:
        if ctx.turns.overlaps(qs.open_at, qs.open_at + 1):
            continue  # inside a transcript line: part of that speaker's turn
        content = doc.char_span(qs.start, qs.end, alignment_mode="expand")
        if content is None or len(content) == 0:
            continue
        nested = any(o <= qs.open_at and qs.close_at <= c for o, c in outer)
        if not direct.is_direct(ctx, qs, content) or direct.inside_clause(ctx, qs):
            quote = None if nested or not settings.participial else direct.participial(ctx, qs)
            if quote is not None:  # "Calling the plan “a giveaway,” Ruiz said …"
                quotes.append(quote)
                outer.append((qs.open_at, qs.close_at))
                prev = quote
            elif not nested:
                ctx.partial.append(qs)
            continue
        quote = direct.direct(ctx, qs, content, None if nested else prev)
        if nested and quote.cue is None and quote.speaker is None:
            continue  # a quote inside a block quote counts only with its own cue
        quotes.append(quote)
        if not nested:
            outer.append((qs.open_at, qs.close_at))
            prev = quote
    return quotes


def speaker_resolver(doc: Doc, spans: list, title: tuple[int, int] | None) -> SpeakerResolver:
    """The Doc's one speaker resolver; it never sees the title's entities (a headline is no speaker
    mention nor a pronoun's antecedent)."""
    entities = doc._.stancekit_entities
    if title is not None:
        entities = [e for e in entities or () if not (e["start"] < title[1] and e["end"] > title[0])]
    return SpeakerResolver(doc, spans, entities=entities)


def outside_title(quote: Quote, title: tuple[int, int] | None) -> Quote | None:
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


def _blank(text: str, span: tuple[int, int] | None) -> str:
    """``text`` with the characters of ``span`` (line breaks aside) replaced by spaces."""
    if span is None:
        return text
    a, b = span
    return text[:a] + re.sub(r"[^\n]", " ", text[a:b]) + text[b:]


class QuoteFinder:
    """spaCy component that extracts quotes with cue and speaker (see :mod:`stancekit.quotes`)."""

    def __init__(self, nlp: Language, name: str = "stancekit_quotes", *, indirect: bool = True,
                 max_cue_distance: int = 12, continuation_chars: int = 600):
        self.name = name
        self.settings = QuoteSettings(indirect=indirect, max_cue_distance=max_cue_distance,
                                      continuation_chars=continuation_chars)
        self.lexicon = CueLexicon.default()

    def predict(self, docs: Iterable[Doc]) -> list[QuotePrediction]:
        """The quotes and warnings of each Doc; the Docs are left as they are."""
        return [find_quotes(doc, self.lexicon, self.settings) for doc in docs]

    def set_annotations(self, docs: Iterable[Doc], predictions: Sequence[QuotePrediction]) -> None:
        """Write each prediction to its Doc: ``doc._.stancekit_quotes`` (records) and the warnings."""
        for doc, pred in zip(docs, predictions):
            doc._.stancekit_quotes = [q.to_dict() for q in pred.quotes]
            doc._.stancekit_warnings = list(doc._.stancekit_warnings or []) + pred.warnings

    def __call__(self, doc: Doc) -> Doc:
        # no ``pipe``: rules gain nothing from batches, and spaCy's per-Doc loop with the pipeline's
        # error handler drops only a failing Doc
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def find(self, doc: Doc) -> list[Quote]:
        """The quotes of one Doc, as :class:`Quote` objects (the Doc is not changed)."""
        return self.predict([doc])[0].quotes


@Language.factory("stancekit_quotes", requires=["doc.sents", "token.dep", "doc._.stancekit_entities"],
                  assigns=["doc._.stancekit_quotes", "doc._.stancekit_warnings"],
                  default_config={"indirect": True, "max_cue_distance": 12, "continuation_chars": 600})
def make_quote_finder(nlp: Language, name: str, indirect: bool, max_cue_distance: int,
                      continuation_chars: int) -> QuoteFinder:
    return QuoteFinder(nlp, name, indirect=indirect, max_cue_distance=max_cue_distance,
                       continuation_chars=continuation_chars)
