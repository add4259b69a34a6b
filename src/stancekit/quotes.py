"""Quote stage: find what was said (content), the words that report it (cue) and who said it (speaker).

The ``stancekit_quotes`` spaCy component runs after ``stancekit_entities`` and writes plain dicts to
``doc._.stancekit_quotes``. The algorithm, step by step:

1. pair quotation marks over the raw text, paragraph-aware (a paragraph that ends inside a quote and
   the next one reopens it is one quote; a stray mark is skipped with a warning, never an exception);
2. a quoted span that is a clause or sentence is a *direct* quote; its cue is a reporting verb in the
   text around it in the same sentence ("…,” he told reporters", "He then added: “…”") or a layout
   cue ("Name: “…”", "“…” - Name"); without a cue it continues the previous speaker's quote;
3. reporting verbs with a clause ("X argued that …"), "according to X", "To X, …" and position verbs
   ("X backs Y") give *indirect* quotes; when such a clause holds a short quoted phrase the quote is
   *mixed*;
4. speakers are resolved (:mod:`stancekit.speakers`) to a canonical entity with a role.
"""

from __future__ import annotations

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
# the component
# ---------------------------------------------------------------------------------------------

class QuoteFinder:
    """spaCy component that extracts quotes with cue and speaker (see the module doc)."""

    def __init__(self, nlp: Language, name: str = "stancekit_quotes", *, indirect: bool = True,
                 max_cue_distance: int = 12, continuation_chars: int = 600):
        self.name = name
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
        spans, mark_warnings = pair_quote_marks(doc_text(doc))
        resolver = SpeakerResolver(doc, spans)
        warnings.extend(mark_warnings)
        quotes: list[Quote] = []
        partial: list[QuoteSpan] = []
        outer: list[tuple[int, int]] = []  # marks of the direct quotes found so far
        prev: Quote | None = None
        for qs in spans:
            content = doc.char_span(qs.start, qs.end, alignment_mode="expand")
            if content is None or len(content) == 0:
                continue
            nested = any(o <= qs.open_at and qs.close_at <= c for o, c in outer)
            if not self._is_direct(doc, qs, content) or self._inside_clause(doc, qs):
                if not nested:
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
            covered = [(q.marks[0], q.marks[1] + 1) for q in quotes]
            for quote in self._indirect(doc, resolver, partial, covered):
                quotes.append(quote)
        quotes.sort(key=lambda q: (q.start, q.end))
        return quotes

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
            # "…security.” Éder, for his part, framed …": a new sentence starts after the quote;
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
        """Cue before the opening mark in the same sentence: "He then added: “…”", "Name: “…”"."""
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
        A cue without a subject of its own ("…,” said Caddell, speaking of …") does not count."""
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
        mark ("He said the nation has become “more interested …”")? Then it is a mixed quote."""
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

        def free(a: int, b: int) -> bool:
            return all(b <= s or a >= e for s, e in taken)

        # fixed frames first: "according to X, …", "To X, …"
        yield from self._according_to(doc, resolver, free, taken)
        yield from self._to_x(doc, resolver, free, taken)
        yield from self._noun_cues(doc, resolver, partial, free, taken)
        for tok in doc:
            lemma = tok.lemma_.lower()
            if tok.pos_ != "VERB" or not self._is_cue_lemma(lemma):
                continue
            if not free(tok.idx, tok.idx + len(tok)):
                continue  # a reporting verb inside a quote is part of that quote
            if _is_modifier_participle(tok):
                continue  # "Samper's government, accused of …": the subject is not the speaker
            clause = self._reported_clause(tok, lemma)
            if clause is None:
                continue
            (a, b), how = clause
            if b - a < (12 if how == "clause" else 6) or not free(a, b):
                continue
            subj_tok = _subject(tok)
            if subj_tok is not None and a <= subj_tok.idx < b and subj_tok not in list(tok.subtree):
                continue  # the "speaker" is inside the content: not an attribution
            speaker = resolver.resolve(subj_tok) if subj_tok is not None else None
            if speaker is None:
                continue
            if how != "clause" and speaker["resolution"] == "group" and speaker["confidence"] < 0.5:
                continue  # "such sacrifices demand recognition": positions need a plausible holder
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
            if obj is not None and not (obj.pos_ == "PRON" and obj.n_lefts + obj.n_rights == 0):
                return _trim_tokens(list(obj.subtree)), "object"
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

    def _to_x(self, doc: Doc, resolver: SpeakerResolver, free, taken):
        """Positions framed as "To U.S. officials, the numbers tell …", "To some, like X, …"."""
        for sent in doc.sents:
            first = sent[0]
            if first.lower_ != "to" or first.i + 1 >= sent.end:
                continue
            commas = [t.i for t in sent if t.text == ","]
            if not commas or commas[0] - first.i > 8:
                continue
            holder_toks = doc[first.i + 1:commas[0]]
            end_phrase = commas[0] + 1
            if end_phrase < sent.end and doc[end_phrase].lower_ in ("like", "including", "such") \
                    and len(commas) > 1:
                holder_toks = doc[end_phrase + 1:commas[1]]
                end_phrase = commas[1] + 1
            # skip a discourse adverb: "To Washington, though, …"
            if end_phrase + 1 < sent.end and doc[end_phrase].pos_ in ("ADV", "SCONJ", "CCONJ") and \
                    doc[end_phrase + 1].text == ",":
                end_phrase += 2
            if len(holder_toks) == 0 or not any(t.pos_ in ("PROPN", "NOUN") for t in holder_toks):
                continue
            a, b = _trim(doc, doc[end_phrase:sent.end])
            if b - a < 12 or not free(a, b):
                continue
            speaker = resolver.resolve(holder_toks.root)
            if speaker is None:
                continue
            taken.append((a, b))
            yield Quote(text=doc_text(doc)[a:b], start=a, end=b, kind="indirect",
                        cue={"text": first.text, "start": first.idx, "end": first.idx + len(first)},
                        speaker=speaker, confidence=round(speaker.get("confidence", 0.5) * 0.7, 3))


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


def _subject(verb: Token) -> Token | None:
    for c in verb.children:
        if c.dep_ in SUBJECT_DEPS:
            return c
    # "said Pedro Sánchez" parsed with the name as object or attr
    for c in verb.children:
        if c.dep_ in ("dobj", "attr", "npadvmod") and (c.ent_type_ in ("PERSON", "ORG") or c.pos_ == "PROPN") \
                and c.i > verb.i:
            return c
    # "was quoted as saying", "lamenting that …" (a participle): the subject of the governing verb
    if verb.dep_ in ("advcl", "xcomp", "conj", "pcomp", "acl") and verb.head is not verb:
        return _subject(verb.head)
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
    if tok.pos_ == "PRON" or tok.ent_type_ == "PERSON":  # "… board of the Post Trump said": Trump
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
    """The last token of the name that starts at ``char`` ("― Pamela Padilla" → Padilla)."""
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


def _trim(doc: Doc, span: Span) -> tuple[int, int]:
    return _trim_tokens(list(span))


@Language.factory("stancekit_quotes", requires=["doc.sents", "token.dep", "doc._.stancekit_entities"],
                  assigns=["doc._.stancekit_quotes"],
                  default_config={"indirect": True, "max_cue_distance": 12, "continuation_chars": 600})
def make_quote_finder(nlp: Language, name: str, indirect: bool, max_cue_distance: int,
                      continuation_chars: int) -> QuoteFinder:
    return QuoteFinder(nlp, name, indirect=indirect, max_cue_distance=max_cue_distance,
                       continuation_chars=continuation_chars)
