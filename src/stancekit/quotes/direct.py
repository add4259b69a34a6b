"""Direct quotes: a quoted clause or sentence with its cue ("…,” she said") or layout cue ("Name: “…”",
"“…” - Name"), a participial cue ("Calling the plan “a giveaway,” Ruiz said"), a cue that opens the next
paragraph and points back ("Ruiz said that on Monday."), or none (it continues the previous speaker).

Each function takes the Doc's :class:`~stancekit.quotes.model.Context` and one paired span of marks.
"""

from __future__ import annotations

import re

from spacy.tokens import Span, Token

from ..quotemarks import QuoteSpan, QUOTE_TOKENS
from ..resources import doc_text
from ..syntax import (SUBJECT_DEPS, first_token_at_or_after, last_token_before, name_at, next_name,
                      only_space_or_punct, prev_name, subject)
from .model import Context, Quote, cue_dict

DASHES = ("-", "–", "—", "―", "--", "―-")
_DASH_NAME = re.compile(r"[ \t\u00a0]*[-–—―]{1,2}[ \t\u00a0]*(?=\w)")
PRONOUN_SPEAKERS = ("he", "she", "they", "it", "we", "i")
PARTICIPIAL_CUES = {"call", "describe", "label", "term", "dub", "brand", "characterize", "characterise", "say",
                    "declare", "dismiss", "deride", "hail", "praise", "warn", "insist", "argue", "add", "write"}
BACK_REFERENCES = {"that", "this", "so", "those", "these"}


def participial(ctx: Context, qs: QuoteSpan) -> Quote | None:
    """A quoted phrase in a participial cue that opens the sentence ("Calling the plan “a giveaway,”
    Ruiz said …"): a direct quote of the main clause's subject."""
    doc = ctx.doc
    resolver = ctx.resolver
    first = first_token_at_or_after(doc, qs.start)
    if first is None or first.idx >= qs.end:
        return None
    sent = first.sent
    node = first
    for _ in range(len(sent)):
        if node.tag_ == "VBG" and node.lemma_.lower() in PARTICIPIAL_CUES and node.i < first.i \
                and only_space_or_punct(doc_text(doc)[sent.start_char:node.idx]):
            main = node.head
            if main is node or main.i <= first.i or main.idx < qs.close_at:
                return None
            subj = subject(main)
            speaker = resolver.resolve(subj) if subj is not None else None
            if speaker is None:
                return None
            text = doc_text(doc)[qs.start:qs.end].rstrip(" ,")
            return Quote(text=text, start=qs.start, end=qs.start + len(text), kind="direct",
                         cue=cue_dict(node), speaker=speaker,
                         confidence=round(speaker.get("confidence", 0.5) * 0.85, 3),
                         marks=[qs.open_at, qs.close_at])
        if node.head is node or node.head.sent != sent:
            return None
        node = node.head
    return None


def cue_next_paragraph(ctx: Context, qs: QuoteSpan) -> Token | None:
    """A quote that ends its paragraph, with the cue opening the next one and pointing back
    ("“…”\n\nThe coach, Ana Ruiz, said that after the game."): the cue verb."""
    doc = ctx.doc
    text = doc_text(doc)
    nl = text.find("\n", qs.close_at + 1)
    if nl < 0 or text[qs.close_at + 1:nl].strip():
        return None
    first = first_token_at_or_after(doc, nl)
    if first is None:
        return None
    for tok in doc[first.i:min(first.sent.end, first.i + ctx.settings.max_cue_distance + 4)]:
        if tok.text in QUOTE_TOKENS or "\n" in tok.text:
            return None
        if ctx.lexicon.is_cue(tok) and ctx.lexicon.lemma(tok) in ctx.lexicon.speech and tok.i + 1 < len(doc) \
                and doc[tok.i + 1].lower_ in BACK_REFERENCES and subject(tok) is not None \
                and subject(tok).lower_ not in PRONOUN_SPEAKERS:
            nxt = doc[tok.i + 2] if tok.i + 2 < len(doc) else None
            # "said that at a briefing", "said so on Sunday", "said that." – not "said that the …"
            if nxt is None or nxt.is_punct or nxt.pos_ == "ADP" or nxt.lower_ in ("in", "on", "at", "after",
                                                                                "before", "during", "when"):
                return tok
    return None


def is_direct(ctx: Context, qs: QuoteSpan, content: Span) -> bool:
    """Is the quoted span a quote of its own (a clause or sentence), rather than a phrase inside one?"""
    doc = ctx.doc
    words = [t for t in content if not t.is_punct]
    if len(words) == 0:
        return False
    inner = doc_text(doc)[qs.start:qs.end].rstrip()
    if embedded_phrase(ctx, qs, content) and not (len(words) >= 8 and any(t.dep_ in SUBJECT_DEPS for t in content)):
        return False  # "the cause of “comprehensive immigration reform.”", "slammed it as “divisive.”"
    if inner[-1:] in ",.?!…:;" and len(words) >= 3:
        return True
    if inner[-1:] in ",?!" and len(words) >= 2 and cue_after(ctx, qs)[0] is not None:
        return True  # "“We will,” she said, …"
    if inner[-1:] in ".?!" and len(words) >= 2 and cue_right_before(ctx, qs):
        return True  # "a man yelled, “Stay there!”"
    before = doc_text(doc)[max(0, qs.open_at - 3):qs.open_at]
    after = doc_text(doc)[qs.close_at + 1:qs.close_at + 4]
    if before.rstrip().endswith(":") and len(words) >= 3:
        return True
    starts_sentence = content[0].is_sent_start or only_space_or_punct(
        doc_text(doc)[content[0].sent.start_char:qs.open_at])
    if starts_sentence and len(words) >= 4 and after.lstrip()[:1] in ("", ",", ".", "\n", "-", "–", "—"):
        return True
    return len(words) >= 8 and any(t.dep_ in SUBJECT_DEPS for t in content)


def embedded_phrase(ctx: Context, qs: QuoteSpan, content: Span) -> bool:
    """Does the quote open inside a sentence, right after a word that is no cue ("the movie “…”",
    "as “…”", "to “…”")? Then it is a phrase of that sentence, not a quote of its own."""
    prev = last_token_before(ctx.doc, qs.open_at)
    if prev is None or prev.is_punct or prev.is_space or "\n" in ctx.text[prev.idx:qs.open_at]:
        return False
    return prev.sent.start == content[0].sent.start and not ctx.lexicon.is_cue(prev)


def cue_right_before(ctx: Context, qs: QuoteSpan) -> bool:
    """Does a cue verb end the text right before the opening mark ("yelled, “…”", "said: “…”")?"""
    last = last_token_before(ctx.doc, qs.open_at)
    if last is not None and last.is_punct and last.text in ",:":
        last = last_token_before(ctx.doc, last.idx)
    return last is not None and "\n" not in ctx.text[last.idx:qs.open_at] and ctx.lexicon.is_cue(last)


def direct(ctx: Context, qs: QuoteSpan, content: Span, prev: Quote | None) -> Quote:
    """A direct quote with its cue and speaker: the cue after the quote, else before it, else one that
    opens the next paragraph and points back; without a cue the quote continues ``prev`` (the previous
    direct quote) when nobody else spoke in between, else a "Name:" line before it names the speaker."""
    doc = ctx.doc
    resolver = ctx.resolver
    text = doc_text(doc)[qs.start:qs.end]
    start, end = qs.start, qs.end
    # trailing comma inside the marks belongs to the frame, not the content
    stripped = text.rstrip(" ,")
    end = start + len(stripped)
    base = dict(text=doc_text(doc)[start:end], start=start, end=end, kind="direct",
                marks=[qs.open_at, qs.close_at])
    cue_tok, speaker_tok = cue_after(ctx, qs)
    if cue_tok is None and speaker_tok is None:
        cue_tok, speaker_tok = cue_before(ctx, qs)
    if cue_tok is None and speaker_tok is None:
        according = according_before(ctx, qs)
        if according is not None:  # "According to the union, “…”"
            cue, source = according
            speaker = resolver.resolve(source)
            return Quote(**base, cue=cue, speaker=speaker, confidence=(speaker or {}).get("confidence", 0.3))
    if cue_tok is not None or speaker_tok is not None:
        def inside(tok: Token | None) -> bool:
            return tok is not None and qs.open_at <= tok.idx < qs.close_at

        misparsed = inside(speaker_tok)
        if misparsed:
            # a misparse took a word of the quote for the cue's subject ("chanting “U-S-A!”"): a
            # participle's speaker is then the subject of the clause it hangs on
            speaker_tok = None
            if cue_tok is not None and cue_tok.dep_ in ("advcl", "conj", "xcomp") and cue_tok.head is not cue_tok:
                speaker_tok = subject(cue_tok.head)
                if inside(speaker_tok):
                    speaker_tok = None
        speaker = resolver.resolve(speaker_tok) if speaker_tok is not None else None
        if speaker is None and cue_tok is not None and not misparsed:
            speaker = resolver.subject_of(cue_tok)
        return Quote(**base, cue=cue_dict(cue_tok) if cue_tok is not None else None,
                     speaker=speaker, confidence=(speaker or {}).get("confidence", 0.3))
    # the cue opens the next paragraph and points back: "The coach said that after the game."
    back = cue_next_paragraph(ctx, qs) if ctx.settings.back_reference else None
    if back is not None:
        speaker = resolver.subject_of(back)
        if speaker is not None:
            ctx.backrefs.add(back.i)
            return Quote(**base, cue=cue_dict(back), speaker=speaker,
                         confidence=round(speaker.get("confidence", 0.5) * 0.85, 3))
    # no cue: a continuation of the previous quote of the same speaker
    if prev is not None and prev.speaker is not None and \
            qs.open_at - prev.marks[1] <= ctx.settings.continuation_chars and \
            not other_speaker_between(ctx, prev.marks[1], qs.open_at, (prev.cue or {}).get("start"),
                                      prev.speaker):
        speaker = dict(prev.speaker, resolution="continuation",
                       confidence=round(prev.speaker.get("confidence", 0.5) * 0.9, 3))
        return Quote(**base, cue=None, speaker=speaker, confidence=speaker["confidence"])
    # a cue in the sentence just before that ends in a colon ("From the minister:")
    speaker = speaker_from_previous_line(ctx, qs)
    return Quote(**base, cue=None, speaker=speaker, confidence=(speaker or {}).get("confidence", 0.2))


def cue_after(ctx: Context, qs: QuoteSpan) -> tuple[Token | None, Token | None]:
    """Cue in the frame after the closing mark: "…,” he said", "“…” - Name"."""
    doc = ctx.doc
    dash = _DASH_NAME.match(doc_text(doc), qs.close_at + 1)
    if dash is not None:  # "“…” ― Name" (a signed comment)
        name = name_at(doc, dash.end())
        if name is not None:
            return None, name
    first = first_token_at_or_after(doc, qs.close_at + 1)
    if first is None:
        return None, None
    gap = doc_text(doc)[qs.close_at + 1:first.idx]
    if "\n" in gap:
        return None, None
    if first.text in DASHES:
        name = next_name(doc, first.i + 1)
        if name is not None:
            return None, name
    sent_end = first.sent.end
    limit = min(sent_end, first.i + ctx.settings.max_cue_distance)
    own_content = False
    if doc_text(doc)[qs.start:qs.end].rstrip()[-1:] in ".!?…" and first.text[:1].isupper() \
            and first.lower_ not in PRONOUN_SPEAKERS:
        # "…by Friday.” Ortega, for her part, argued …": a new sentence starts after the quote;
        # only a short frame ("Name said.", "Name told a radio station.") still belongs to it, not a
        # cue with a clause of its own
        limit = min(sent_end, first.i + 4)
        own_content = sent_end - first.i > 5
    if not own_content and limit < sent_end:
        limit = min(sent_end, first.i + LONG_FRAME)  # the cue may follow a long subject; checked below
    for tok in doc[first.i:limit]:
        if tok.text in QUOTE_TOKENS:
            break
        if ctx.lexicon.is_cue(tok):
            subj = subject(tok)
            if tok.i - first.i > ctx.settings.max_cue_distance and not subject_fills_gap(subj, tok, first):
                return None, None
            if own_content and any(c.dep_ in ("ccomp", "xcomp", "parataxis") and c.i > tok.i for c in tok.children):
                return None, None
            if subj is None and tok.i == first.i:  # "…,” said Rosa Lind, half joking (a misparsed name)
                subj = next_name(doc, tok.i + 1)
            return tok, subj
    return None, None


LONG_FRAME = 40


def subject_fills_gap(subj: Token | None, cue: Token, first: Token) -> bool:
    """Is everything between the quote (from ``first``) and a distant cue that cue's subject ``subj``
    ("…,” Mr. Harlan, now 79 and living in Portland, said …")?"""
    if subj is None or subj.i >= cue.i:
        return False
    inside = {t.i for t in subj.subtree}
    return all(t.i in inside or t.is_punct or t.is_space or t.head.i == cue.i and t.dep_ in ("aux", "advmod", "neg")
               for t in cue.doc[first.i:cue.i])


def cue_before(ctx: Context, qs: QuoteSpan) -> tuple[Token | None, Token | None]:
    """Cue before the opening mark in the same sentence: "He went on: “…”", "Name: “…”"."""
    doc = ctx.doc
    last = last_token_before(doc, qs.open_at)
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
        name = prev_name(doc, last.i - 1)
        cue = None
        for tok in reversed(list(frame)):
            if tok.text in QUOTE_TOKENS:
                break
            if ctx.lexicon.is_cue(tok):
                cue = tok
                break
        if cue is not None:
            return cue, subject(cue)
        if name is not None:
            return None, name
    for tok in reversed(list(frame)[-ctx.settings.max_cue_distance - 6:]):
        if tok.text in QUOTE_TOKENS:
            break
        if tok.lemma_ == "put" and ctx.lexicon.is_cue(tok):  # "As Reyes put it, “…”"
            holder = next((g for c in tok.children if c.lower_ == "as" for g in c.children if g.dep_ == "pobj"),
                          None)  # the parser's reading of "As Reyes put it"
            return tok, holder or next((c for c in tok.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        if ctx.lexicon.is_cue(tok) and not any(c.dep_ in ("ccomp", "dobj") and c.idx < qs.open_at and
                                          c.i > tok.i for c in tok.children if not c.is_punct):
            return tok, subject(tok)
    return None, None


def according_before(ctx: Context, qs: QuoteSpan) -> tuple[dict, Token] | None:
    """"According to X," right before the opening mark, in the same sentence: the cue and X's head."""
    doc = ctx.doc
    last = last_token_before(doc, qs.open_at)
    if last is None or "\n" in ctx.text[last.idx:qs.open_at]:
        return None
    end = last.i - 1 if last.text == "," else last.i
    for tok in doc[max(last.sent.start, end - 12):end]:
        if tok.lower_ != "according" or tok.i + 1 >= len(doc) or doc[tok.i + 1].lower_ != "to":
            continue
        to = doc[tok.i + 1]
        pobj = next((c for c in to.children if c.dep_ == "pobj"), None)
        if pobj is None:
            return None
        tail = doc[max(t.i for t in pobj.subtree) + 1:end + 1]  # an appositive: ", the union's negotiator"
        if len(tail) and (tail[0].text != "," or len(tail) > 8 or any(t.pos_ in ("VERB", "AUX") for t in tail)):
            return None
        return {"text": ctx.text[tok.idx:to.idx + len(to)], "start": tok.idx, "end": to.idx + len(to)}, pobj
    return None


def speaker_from_previous_line(ctx: Context, qs: QuoteSpan) -> dict | None:
    """The name that ends the line before the quote, with a colon ("Ana Ruiz: “…”")."""
    doc = ctx.doc
    resolver = ctx.resolver
    last = last_token_before(doc, qs.open_at)
    if last is None or last.text != ":":
        return None
    name = prev_name(doc, last.i - 1)
    return resolver.resolve(name) if name is not None else None


def other_speaker_between(ctx: Context, a: int, b: int, own_cue: int | None, speaker: dict) -> bool:
    """Is there a cue of someone else between two quotes (not the first quote's own cue)?
    A cue without a subject of its own ("…,” said Ruiz, speaking of …") does not count."""
    doc = ctx.doc
    resolver = ctx.resolver
    span = doc.char_span(a + 1, b, alignment_mode="contract")
    if span is None:
        return False
    for t in span:
        if not ctx.lexicon.is_cue(t) or t.idx == own_cue:
            continue
        subj = next((c for c in t.children if c.dep_ in SUBJECT_DEPS), None)
        if subj is None:
            continue
        other = resolver.resolve(subj)
        if other is None or other.get("name") != speaker.get("name"):
            return True
    return False


def inside_clause(ctx: Context, qs: QuoteSpan) -> bool:
    """Is the quoted span part of a clause a cue introduces, with words of the clause before the
    mark ("He said the council had grown “tired of waiting …”"), or the secondary predicate of a cue's
    object ("She called the plan “reckless and cruel.”")? Then it is a mixed quote."""
    doc = ctx.doc
    first = first_token_at_or_after(doc, qs.start)
    if first is None:
        return False
    child, node = first, first.head
    steps = 0
    while node.i != child.i and steps < 12:
        if node.i < first.i and ctx.lexicon.is_cue(node) and child.i > node.i and node.sent == first.sent:
            if child.dep_ in ("ccomp", "xcomp", "dobj", "prep", "oprd") and \
                    child.left_edge.idx + len(child.left_edge) <= qs.open_at and child.left_edge.i > node.i:
                return True
            if child.dep_ == "oprd" and node.lemma_.lower() in ctx.lexicon.object and \
                    any(c.dep_ == "dobj" and node.i < c.i and c.idx < qs.open_at for c in node.children):
                return True  # "called the plan “…”": the object before the mark, the quote its predicate
        child, node = node, node.head
        steps += 1
    return False
