"""``stancekit_quote_tagger``: quote records from the learned tagger, in place of the rule-based finder.

It writes ``doc._.stancekit_quotes`` in the shape of :class:`stancekit.quotes.Quote` dicts (``text``,
``start``, ``end``, ``kind``, ``cue``, ``speaker``, ``confidence``, ``marks``), so everything after the
quote stage is unchanged. Per document:

* the tagger's linked attributions (:mod:`.tagger`) give content, cue and source spans;
* a content that covers one pair of quotation marks from :func:`stancekit.quotemarks.pair_quote_marks`
  (and little else) takes the exact offsets inside the marks: kind ``direct``; a content holding a
  quoted phrase is ``mixed``; any other is ``indirect``;
* the speaker comes from :class:`stancekit.speakers.SpeakerResolver` on the head token of the source
  span (canonical name, label, role, coreference of pronouns); its ``mention`` is the tagged source
  span. Without a source span the subject of the cue verb is resolved, as the rules do; a further
  content of the same cue continues its head's speaker.

``pipe`` sends the windows of a whole batch of documents through one engine call.
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

from ..resources import doc_text
from .tagger import Attribution, AttributionTagger, TaggedSpan

#: a content counts as a direct quote when the paired marks cover at least this share of it
DIRECT_COVER = 0.8
CONTINUATION_CHARS = 600

if not Doc.has_extension("stancekit_quotes"):
    Doc.set_extension("stancekit_quotes", default=None)
if not Doc.has_extension("stancekit_warnings"):
    Doc.set_extension("stancekit_warnings", default=None)


class QuoteTaggerComponent:
    """spaCy component around :class:`~.tagger.AttributionTagger` (see the module doc)."""

    def __init__(self, nlp: Language, name: str, *, model: str, device: str = "auto", max_tokens: int = 16384,
                 batch_size: int = 64, decoding: str = "viterbi", precision: str | None = None):
        self.name = name
        self.tagger = AttributionTagger(model, device=device, max_tokens=max_tokens, decoding=decoding,
                                        precision=precision or None)
        self.batch_size = batch_size

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs, batch_size: int | None = None):
        from spacy.util import minibatch

        for batch in minibatch(docs, size=batch_size or self.batch_size):
            batch = list(batch)
            found = self.tagger.attributions([doc_text(d) for d in batch])
            for doc, atts in zip(batch, found):
                doc._.stancekit_quotes = quote_records(doc, atts)
            yield from batch


def quote_records(doc: Doc, atts: list[Attribution]) -> list[dict]:
    """``doc._.stancekit_quotes`` dicts for the linked attributions of ``doc`` (see the module doc)."""
    from ..quotemarks import pair_quote_marks
    from ..speakers import SpeakerResolver

    text = doc_text(doc)
    spans, warnings = pair_quote_marks(text)
    doc._.stancekit_warnings = list(doc._.stancekit_warnings or []) + warnings
    resolver = SpeakerResolver(doc, spans) if len(doc) else None
    records: list[dict] = []
    by_att: dict[int, dict] = {}
    for k, att in enumerate(atts):
        start, end, kind, marks = _content(text, att.content, spans)
        if end <= start:
            continue
        if att.head is not None and att.head in by_att:
            head = by_att[att.head]
            speaker = dict(head["speaker"], resolution="continuation") if head["speaker"] else None
            cue = None
        else:
            cue = _span_dict(text, att.cue) if att.cue is not None else None
            speaker = _speaker(doc, resolver, att)
            if speaker is None and cue is None and records and records[-1]["speaker"] and \
                    start - records[-1]["end"] <= CONTINUATION_CHARS:
                speaker = dict(records[-1]["speaker"], resolution="continuation")
        scores = [att.content.score] + ([att.cue.score] if att.cue is not None else [])
        rec = {"text": text[start:end], "start": start, "end": end, "kind": kind, "cue": cue,
               "speaker": speaker, "confidence": round(sum(scores) / len(scores), 3), "marks": marks}
        by_att[k] = rec
        records.append(rec)
    records.sort(key=lambda q: (q["start"], q["end"]))
    return records


def _content(text: str, span: TaggedSpan, marks) -> tuple[int, int, str, list]:
    """Content offsets and kind: snapped inside unambiguous marks for a direct quote."""
    a, b = span.start, span.end
    inside = [qs for qs in marks if a <= qs.close_at and qs.open_at < b]
    if len(inside) == 1:
        qs = inside[0]
        lo, hi = max(a, qs.open_at), min(b, qs.close_at + 1)
        if (hi - lo) >= DIRECT_COVER * (b - a):
            end = qs.start + len(text[qs.start:qs.end].rstrip(" ,"))
            return qs.start, end, "direct", [qs.open_at, qs.close_at]
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    kind = "mixed" if any(a <= qs.open_at and qs.close_at < b for qs in marks) else "indirect"
    return a, b, kind, []


def _span_dict(text: str, span: TaggedSpan) -> dict:
    return {"text": text[span.start:span.end], "start": span.start, "end": span.end}


def _speaker(doc: Doc, resolver, att: Attribution) -> dict | None:
    from ..ner import canonical_text

    if resolver is None:
        return None
    text = doc_text(doc)
    if att.source is not None:
        sp = doc.char_span(att.source.start, att.source.end, alignment_mode="expand")
        found = resolver.resolve(sp.root) if sp is not None and len(sp) else None
        mention = _span_dict(text, att.source)
        if found is None:
            name = canonical_text(mention["text"]) or mention["text"]
            return {"name": name, "mention": mention, "label": "GROUP", "role": None, "affiliation": None,
                    "resolution": "tagger", "confidence": round(0.5 * att.source.score, 3)}
        return dict(found, mention=mention)
    if att.cue is not None:
        cue = doc.char_span(att.cue.start, att.cue.end, alignment_mode="expand")
        if cue is not None and len(cue):
            return resolver.subject_of(cue.root)
    return None


@Language.factory("stancekit_quote_tagger", requires=["doc.sents", "token.dep", "doc._.stancekit_entities"],
                  assigns=["doc._.stancekit_quotes"],
                  default_config={"model": "", "device": "auto", "max_tokens": 16384, "batch_size": 64,
                                  "decoding": "viterbi", "precision": ""})
def make_quote_tagger(nlp: Language, name: str, model: str, device: str, max_tokens: int,
                      batch_size: int, decoding: str, precision: str) -> QuoteTaggerComponent:
    return QuoteTaggerComponent(nlp, name, model=model, device=device, max_tokens=max_tokens, batch_size=batch_size,
                                decoding=decoding, precision=precision)
