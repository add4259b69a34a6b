"""Indirect and mixed quotes: "according to X, …", nominal cues ("X's warning that …") and reporting verbs
with what they introduce ("X argued that …", "warned of …", "pledged to …", "criticized the plan").

A reported clause that holds a short quoted phrase is a *mixed* quote. A verb's bare noun-phrase object
("echoed the criticism") is no quote: the object counts only when it carries a proposition or names
the target of a position verb. Each pattern takes the Doc's :class:`~stancekit.quotes.model.Context`,
skips what is not free (inside a quote, a transcript line or an earlier content) and marks what it takes.
"""

from __future__ import annotations

from spacy.tokens import Token

from ..quotemarks import QuoteSpan, QUOTE_TOKENS
from ..resources import speaker_nouns
from ..syntax import SUBJECT_DEPS, finite_acl, has_mark, subject, trim_tokens
from .model import Context, Quote, cue_dict


PREP_CUES = {"call": ("for", "on"), "push": ("for",), "point": ("to",), "argue": ("for", "against"),
             "advocate": ("for",), "talk": ("about",), "speak": ("about", "of", "out"),
             "complain": ("about", "of"), "warn": ("of", "about", "against"), "accuse": ("of",),
             "worry": ("about",), "boast": ("about", "of"), "ask": ("about", "for"),
             "testify": ("about",), "lobby": ("for", "against"), "campaign": ("for", "against"),
             "rail": ("against",), "express": ("about",), "refer": ("to",), "allude": ("to",)}
# prepositional cues whose object is content only with a secondary predicate ("referred to X as Y") or
# when it carries a proposition ("alluding to reports that …")
PREDICATE_PREPS = frozenset({"refer", "allude"})
# "made (it) clear that …": the adjective after "make" that turns it into a cue
MADE_CLEAR = frozenset({"clear", "plain"})
# verbs of saying whose participle, set off at the end of a reported clause, adds the speaker's next words
# ("…, adding that …", "…, calling it …"); not "showing", "highlighting" or "echoing", which go on
# describing what was said
TRAILING_CUES = frozenset({"add", "say", "tell", "note", "claim", "call", "argue", "insist", "warn", "explain",
                           "write", "declare", "vow", "promise", "suggest", "stress", "acknowledge", "admit",
                           "concede", "predict", "urge", "accuse", "complain", "describe", "ask", "tweet",
                           "reiterate", "repeat", "emphasize", "emphasise", "contend", "assert", "maintain",
                           "deny", "dismiss", "joke", "quip", "boast"})
# verbs whose "as" frame attributes the clause it hangs on ("As the Gazette reported, …", "…, as the mayor
# noted"); not "as she spoke" or "as he left", which only say when
AS_CUES = frozenset({"say", "report", "note", "write", "explain", "argue", "claim", "predict", "warn", "acknowledge",
                     "observe", "suggest", "show", "find", "reveal", "document", "tell", "announce", "indicate",
                     "conclude", "emphasize", "emphasise", "stress", "remind", "point", "insist", "tweet"})
# what "in a …" names when it attributes its sentence ("In a Gazette poll, the mayor led by 12 points")
POLL_NOUNS = frozenset({"poll", "survey", "study", "report", "analysis"})
# cues whose "if"/"whether" clause is the content ("asked the mayor whether …")
QUESTION_CUES = frozenset({"ask", "wonder", "question", "doubt", "inquire", "enquire", "query"})


def according_to(ctx: Context) -> list[Quote]:
    """"According to X, …" and "In a poll …, …" (either side of the sentence): the rest of the sentence is
    X's (:func:`source_phrase`)."""
    doc, out = ctx.doc, []
    for tok in doc:
        found = source_phrase(ctx, tok)
        if found is None:
            continue
        last, pobj = found
        sent = tok.sent
        phrase = (tok.i, max(t.i for t in pobj.subtree) + 1)
        # content: the rest of the sentence, without the attribution phrase and its commas
        if phrase[0] - sent.start > sent.end - phrase[1]:
            span = doc[sent.start:phrase[0]]
        else:
            span = doc[phrase[1]:sent.end]
        a, b = trim_tokens(list(span))
        if b - a < 12 or not ctx.free(a, b):
            continue
        speaker = ctx.resolver.resolve(pobj)
        ctx.taken.append((a, b))
        out.append(Quote(text=ctx.text[a:b], start=a, end=b, kind="indirect",
                         cue={"text": doc[tok.i:last.i + 1].text, "start": tok.idx, "end": last.idx + len(last)},
                         speaker=speaker, confidence=round((speaker or {}).get("confidence", 0.3) * 0.85, 3)))
    return out


def source_phrase(ctx: Context, tok: Token) -> tuple[Token, Token] | None:
    """The cue's last word and the source of a phrase that attributes the rest of its sentence, starting at
    ``tok``: "according to X"; "In a poll / survey / study / report / analysis …," opening a sentence whose
    verb reports nothing itself ("In a Gazette poll, the mayor led by 12 points"; not "In a report, the bank
    said …", where the bank speaks, nor "leads in the polls", which names no one poll)."""
    doc = tok.doc
    if tok.lower_ == "according" and tok.i + 1 < len(doc) and doc[tok.i + 1].lower_ == "to":
        pobj = next((c for c in doc[tok.i + 1].children if c.dep_ == "pobj"), None)
        return (doc[tok.i + 1], pobj) if pobj is not None else None
    if tok.lower_ == "in" and tok.i == tok.sent.start and tok.dep_ == "prep" and tok.head.pos_ in ("VERB", "AUX") \
            and not ctx.lexicon.is_cue_lemma(ctx.lexicon.lemma(tok.head)):
        pobj = next((c for c in tok.children if c.dep_ == "pobj"), None)
        if pobj is not None and pobj.lemma_.lower() in POLL_NOUNS:
            return tok, pobj
    return None


def noun_cues(ctx: Context) -> list[Quote]:
    """Nominal cues with a clause: "X's warning that …", "the claim by X that …"."""
    out = []
    for tok in ctx.doc:
        if tok.pos_ != "NOUN" or tok.lemma_.lower() not in ctx.lexicon.nouns or not ctx.free(tok.idx, tok.idx + len(tok)):
            continue
        clause = next((c for c in tok.children if c.dep_ in ("acl", "ccomp", "relcl") and c.i > tok.i
                       and has_mark(c, ("that",))), None)
        if clause is None:
            continue
        holder = next((c for c in tok.children if c.dep_ == "poss"), None)
        if holder is None:
            prep = next((c for c in tok.children if c.dep_ == "prep" and c.lower_ in ("by", "from")), None)
            holder = next((g for g in prep.children if g.dep_ == "pobj"), None) if prep is not None else None
        if holder is None:
            continue
        a, b = trim_tokens(list(clause.subtree))
        if b - a < 12 or not ctx.free(a, b):
            continue
        speaker = ctx.resolver.resolve(holder)
        if speaker is None:
            continue
        ctx.taken.append((a, b))
        out.append(Quote(text=ctx.text[a:b], start=a, end=b, kind=ctx.kind_of(a, b), cue=cue_dict(tok),
                         speaker=speaker, confidence=round(speaker.get("confidence", 0.5) * 0.8, 3)))
    return out


def reporting_verbs(ctx: Context) -> list[Quote]:
    """A reporting verb and what it introduces (:func:`reported_clause`), its subject the speaker.

    Where two candidates overlap ("The council voted to close the library, the newspaper reported"),
    the one with the longer content wins: the outer attribution, with the inner one inside its content.
    """
    found = []
    for tok in ctx.doc:
        lemma = ctx.lexicon.lemma(tok)
        if tok.pos_ != "VERB" or not (ctx.lexicon.is_cue_lemma(lemma) or made_clear(tok) is not None):
            continue
        if not ctx.free(tok.idx, tok.idx + len(tok)) or tok.i in ctx.backrefs:
            continue  # a reporting verb inside a quote is part of that quote; "said that." is a cue
        if is_modifier_participle(tok):
            continue  # "the mayor's office, accused of …": the subject is not the speaker
        clause = reported_clause(ctx, tok, lemma)
        if clause is None:
            continue
        (a, b), how = clause
        a, b = through_marks(a, b, ctx.partial, ctx.text)
        if b - a < (12 if how == "clause" else 6) or not ctx.free(a, b):
            continue
        outer = outer_cue(ctx, tok)
        subj_tok = subject(outer if outer is not None else tok)
        if subj_tok is not None and a <= subj_tok.idx < b and subj_tok not in list(tok.subtree):
            continue  # the "speaker" is inside the content: not an attribution
        speaker = ctx.resolver.resolve(subj_tok) if subj_tok is not None else None
        if speaker is None:
            continue
        if how != "clause" and speaker["resolution"] == "group" and speaker["confidence"] < 0.5:
            continue  # "those costs demand an answer": positions need a plausible holder
        found.append((tok, a, b, speaker))
    out = []
    for tok, a, b, speaker in sorted(found, key=lambda f: (f[1] - f[2], f[0].i)):
        if not (ctx.free(tok.idx, tok.idx + len(tok)) and ctx.free(a, b)):
            continue  # inside the content of a longer one, or its content overlaps one
        ctx.taken.append((a, b))
        kind, marks = ctx.kind_of(a, b), []
        if kind == "direct":  # a direct quote's content is what the marks enclose, as in the direct patterns
            phrase = next(p for p in ctx.partial if p.open_at == a)
            a, marks = phrase.start, [phrase.open_at, phrase.close_at]
            b = a + len(ctx.text[a:phrase.end].rstrip(" ,"))  # a comma inside the marks belongs to the frame
        out.append(Quote(text=ctx.text[a:b], start=a, end=b, kind=kind, cue=cue_dict(tok), speaker=speaker,
                         confidence=round(speaker.get("confidence", 0.5) * 0.85, 3), marks=marks))
    return sorted(out, key=lambda q: q.start)


def reported_clause(ctx: Context, verb: Token, lemma: str):
    """Character span of what a reporting verb introduces, and how it was found.

    ``clause``: "said (that) the plan failed", "The plan failed, he said", "X, he said, Y";
    ``prep``: "warned of …", "called for …"; ``xcomp``: "wants to …", "pledged to …";
    ``object``: "criticized the plan".
    """
    kids = list(verb.children)
    clause = made_clear(verb)
    if clause is not None:  # "made it clear that the pool would stay shut"
        return clause_span(clause), "clause"
    after = [c for c in kids if c.dep_ == "ccomp" and c.i > verb.i]
    if after:  # the clause after the verb first (all of it: "they do n’t know" may come as two), then one before
        tokens = [t for c in after for t in c.subtree]
        more = next((t for t in tokens if is_trailing_participle(ctx, t)), None)
        if more is not None:  # "…, adding that …" is a quote of its own
            tokens = [t for t in tokens if t.i < more.left_edge.i]
        return trim_tokens(tokens), "clause"
    for c in kids:
        if c.dep_ == "ccomp" and c.i < verb.i:
            return trim_tokens(list(c.subtree)), "clause"
    if lemma in ctx.lexicon.speech or lemma in ctx.lexicon.belief:
        late = late_that_clause(verb, ctx.lexicon.nouns)
        if late is not None:  # "said during a news conference that …"
            return clause_span(late), "clause"
    head = verb.head
    # "As the Gazette reported, Y" / "Y, as the mayor noted": the clause the "as" frame hangs on
    if lemma in AS_CUES and verb.dep_ == "advcl" and head.i != verb.i and head.pos_ in ("VERB", "AUX") \
            and has_mark(verb, ("as",)) and not any(c.dep_ == "ccomp" for c in kids):
        rest = without_frame(head.subtree, verb)  # the side of the frame where the clause is ("Of course, as …")
        before = [t for t in rest if t.i < verb.left_edge.i]
        after = [t for t in rest if t.i > verb.right_edge.i]
        return trim_tokens(after if len(after) >= len(before) else before), "clause"
    # "X, he said, Y": the verb hangs off the main clause as a parenthetical; "He told CNN, Y": the
    # frame first, set off by a comma, parsed as a clause of Y
    if lemma in ctx.lexicon.speech and head.i != verb.i and (
            verb.dep_ == "parataxis" and (head.pos_ in ("VERB", "AUX") or head.dep_ == "ROOT")
            or verb.dep_ == "ccomp" and head.i > verb.i and head.pos_ in ("VERB", "AUX")
            and verb.right_edge.i + 1 < len(verb.doc) and verb.doc[verb.right_edge.i + 1].text == ","):
        return trim_tokens(without_frame(head.subtree, verb)), "clause"
    preps = PREP_CUES.get(lemma, ("of", "about"))
    for c in kids:
        # "asked the mayor if …", "calls for the state to …" (the parser's adverbial clause)
        if c.dep_ == "advcl" and c.i > verb.i and (lemma in QUESTION_CUES and has_mark(c, ("if", "whether"))
                                                   or "for" in preps and has_mark(c, ("for",))):
            return clause_span(c), "clause"
    for c in kids:
        if c.dep_ == "prep" and c.lower_ in preps and c.i > verb.i:
            obj = next((g for g in c.children if g.dep_ in ("pcomp", "pobj")), None)
            if obj is None or obj.pos_ == "PRON" and obj.n_lefts + obj.n_rights == 0:
                continue
            if lemma in PREDICATE_PREPS:  # "referred to the plan as a giveaway", not "referred to the plan"
                pred = predicate_of(verb, obj)
                if pred or carries_proposition(obj):
                    return trim_tokens(list(obj.subtree) + pred), "prep"
                continue
            # "called on the council to publish the audit": what the object is asked to do belongs to it
            x = next((g for g in kids if g.dep_ == "xcomp" and g.i > obj.i and g.pos_ in ("VERB", "AUX")), None)
            return trim_tokens(list(obj.subtree) + (list(x.subtree) if x is not None else [])), "prep"
    if lemma in ctx.lexicon.intent:
        x = next((c for c in kids if c.dep_ == "xcomp" and c.i > verb.i and c.pos_ in ("VERB", "AUX")), None)
        if x is not None:
            return trim_tokens(list(x.subtree)), "xcomp"
    if lemma in ctx.lexicon.object or lemma in ctx.lexicon.position:
        obj = next((c for c in kids if c.dep_ in ("dobj", "dative") and c.i > verb.i), None)
        bare_pronoun = obj is not None and obj.pos_ == "PRON" and obj.n_lefts + obj.n_rights == 0
        if obj is not None and (not bare_pronoun or predicate_of(verb, obj)) and \
                (lemma in ctx.lexicon.position or not ctx.settings.object_needs_proposition
                 or not bare_noun_phrase(obj) or carries_proposition(obj)):
            return trim_tokens(list(obj.subtree) + predicate_of(verb, obj)), "object"
    return None


def is_trailing_participle(ctx: Context, tok: Token) -> bool:
    """A participle of a verb of saying that ends a reported clause, set off by a comma and without a
    subject of its own ("said the pool would close, adding that …", "…, noting that …"): the same
    speaker's next words, a quote of its own (:func:`outer_cue` names its speaker)."""
    return (tok.tag_ == "VBG" and tok.dep_ in ("advcl", "xcomp", "conj") and tok.head.i < tok.i
            and ctx.lexicon.lemma(tok) in TRAILING_CUES and _comma_before(tok.doc, tok.left_edge.i)
            and not any(c.dep_ in SUBJECT_DEPS for c in tok.children))


def _comma_before(doc, i: int) -> bool:
    """Whether a comma stands right before token ``i``, closing quotation marks aside (",” adding")."""
    k = i - 1
    while k >= 0 and doc[k].text in QUOTE_TOKENS:
        k -= 1
    return k >= 0 and doc[k].text == ","


def outer_cue(ctx: Context, tok: Token) -> Token | None:
    """For a trailing participle (:func:`is_trailing_participle`), the reporting verb whose clause it
    ends ("Ruiz said the harbour would stay public, noting that …": "said"), whose subject speaks; else None."""
    if not is_trailing_participle(ctx, tok):
        return None
    h = tok.head
    for _ in range(len(tok.sent)):
        if h.dep_ == "ccomp" and h.head.i != h.i and ctx.lexicon.is_cue(h.head):
            return h.head
        if h.head.i == h.i:
            return None
        h = h.head
    return None


def clause_span(clause: Token) -> tuple[int, int]:
    """Character span of a subordinate clause without its own subordinator ("that", "if", "for")."""
    return trim_tokens([t for t in clause.subtree if not (t.dep_ == "mark" and t.head.i == clause.i)])


def made_clear(verb: Token) -> Token | None:
    """The that-clause of "made (it) clear that …" / "made plain that …" when ``verb`` is that "make",
    else None."""
    if verb.lemma_.lower() != "make":
        return None
    for adj in verb.children:
        if adj.lower_ in MADE_CLEAR and adj.i > verb.i:
            for c in list(adj.children) + [c for c in verb.children if c.i > adj.i]:
                if c.dep_ in ("advcl", "ccomp") and c.pos_ in ("VERB", "AUX") and has_mark(c, ("that",)):
                    return c
    return None


def late_that_clause(verb: Token, cue_nouns=frozenset()) -> Token | None:
    """A that-clause in the verb's prepositional phrase that is the verb's content: one the parser hung
    on a noun as a relative clause ("said on Friday during a news conference that she may wait": "that"
    is its complementizer, and the clause has a subject of its own), or the complement of a nominal cue
    (``cue_nouns``: "said in a statement that …"). The complement of another noun ("scoffed at the idea
    that the race was lost") is what that noun says, not the speaker's words, and stays out."""
    for p in verb.children:
        if p.i < verb.i:
            continue
        if p.dep_ == "prep":
            for t in p.subtree:
                if (t.dep_ == "relcl" or t.dep_ in ("acl", "ccomp", "advcl") and t.head.lemma_.lower() in cue_nouns) \
                        and _complement_clause(t):
                    return t
        elif p.dep_ in ("dobj", "dative") and _addressee(p):
            # "told councillors that …": a that-clause on the person addressed is what was told
            for t in p.children:
                if t.dep_ in ("relcl", "acl") and _complement_clause(t):
                    return t
    return None


def _complement_clause(t: Token) -> bool:
    """A finite clause introduced by the complementizer "that", with a subject of its own."""
    return t.pos_ in ("VERB", "AUX") and \
        any(k.dep_ == "mark" and k.lower_ == "that" and k.i < t.i for k in t.children) and \
        any(k.dep_ in ("nsubj", "nsubjpass", "expl") for k in t.children)


def _addressee(obj: Token) -> bool:
    """Whether a verb's object can be the people spoken to ("reporters", "the committee", "CNN", "him")."""
    return obj.pos_ in ("PROPN", "PRON") or obj.tag_ in ("NNS", "NNPS") or obj.lemma_.lower() in speaker_nouns()


def without_frame(tokens, verb: Token) -> list[Token]:
    """Tokens of a clause without the reporting frame (the verb and its own subtree)."""
    frame = {t.i for t in verb.subtree}
    return [t for t in tokens if t.i not in frame]


def bare_noun_phrase(obj: Token) -> bool:
    """A common-noun phrase names a thing and says nothing about it ("the criticism", "the decision
    of the board to close two schools", "months"); a phrase with a name in it ("Ruiz", "the Harbor
    Authority's plan") names whom the attitude is toward and is kept as a position."""
    return obj.pos_ == "NOUN" and not any(t.pos_ == "PROPN" for t in obj.subtree)


# verbs whose "for"/"of" phrase after the object says why ("criticized the mayor for raising fares")
REASON_PREPS = {"criticize": ("for",), "criticise": ("for",), "blame": ("for", "on"), "praise": ("for",), "fault": ("for",),
                "attack": ("for",), "blast": ("for",), "slam": ("for",), "thank": ("for",), "applaud": ("for",),
                "credit": ("for",), "commend": ("for",), "condemn": ("for",), "rebuke": ("for",), "mock": ("for",),
                "ridicule": ("for",), "knock": ("for",), "hail": ("for",), "accuse": ("of",),
                # not a reason: what a poll shows about its object ("showed the mayor with a 16-point lead")
                "show": ("with",)}


def predicate_of(verb: Token, obj: Token) -> list[Token]:
    """A secondary predicate of the object: "called the plan a giveaway", "described him as tired",
    "criticized the mayor for raising fares"."""
    out: list[Token] = []
    reason = REASON_PREPS.get(verb.lemma_.lower(), ())
    for c in verb.children:
        if c.i > obj.i and (c.dep_ == "oprd" or c.dep_ == "prep" and (c.lower_ == "as" or c.lower_ in reason)):
            out.extend(c.subtree)
    if reason:
        for c in obj.children:  # the parser may hang the phrase on the object
            if c.dep_ == "prep" and c.lower_ in reason and any(g.dep_ in ("pcomp", "pobj") and g.tag_ == "VBG"
                                                              for g in c.children):
                out.extend(c.subtree)
    return out


def carries_proposition(obj: Token) -> bool:
    """Does a verb's object say something (a clause, a quoted phrase, a that/whether complement, a
    nominal cue with a clause: "the claim that …") rather than name a thing ("the criticism")?"""
    if predicate_of(obj.head, obj):
        return True
    for t in obj.subtree:
        if t.text in QUOTE_TOKENS:
            return True
        if t is not obj and t.dep_ in ("ccomp", "csubj", "acl", "relcl") and t.pos_ in ("VERB", "AUX") and \
                has_mark(t, ("that", "whether", "if")):
            return True
        if t is not obj and t.dep_ in ("ccomp", "csubj"):
            return True
    return False


def is_modifier_participle(tok: Token) -> bool:
    """A participle that modifies a noun ("the man accused of …") or a passive without an agent."""
    if tok.tag_ != "VBN" or finite_acl(tok):
        return False
    kids = {c.dep_ for c in tok.children}
    if "agent" in kids:
        return False
    if "auxpass" in kids:
        return True
    if "aux" in kids or "nsubj" in kids:  # "has said"; a past tense tagged as participle
        return False
    return True


def through_marks(a: int, b: int, partial: list[QuoteSpan], text: str) -> tuple[int, int]:
    """Extend a reported clause to the closing mark of a quoted phrase that opens inside it and closes
    just after it on the same line ("said the plan was “reckless.”" keeps the phrase and its marks), and
    back to the opening mark of a phrase that the clause begins with ("adding, “He lost every vote.”")."""
    for p in partial:
        if a <= p.open_at < b <= p.close_at and p.close_at - b <= 3 and "\n" not in text[b:p.close_at]:
            b = p.close_at + 1
    for p in partial:
        if p.open_at < a <= p.open_at + 3 and "\n" not in text[p.open_at:a] and (
                p.close_at < b or b <= p.close_at <= b + 3 and "\n" not in text[b:p.close_at]):
            a, b = p.open_at, max(b, p.close_at + 1)
    return a, b
