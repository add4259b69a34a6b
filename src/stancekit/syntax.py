"""Syntax helpers on spaCy tokens, shared by the quote, speaker and claims stages.

One set of dependency constants: :data:`SUBJECT_DEPS` (a verb's subjects, clausal ones included: the
subject of a reporting verb) and :data:`NOMINAL_SUBJECT_DEPS` (noun-phrase subjects only: who can be a
mention of a speaker or an antecedent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .resources import doc_text

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

SUBJECT_DEPS = ("nsubj", "nsubjpass", "csubj")
NOMINAL_SUBJECT_DEPS = ("nsubj", "nsubjpass")
# entity labels that can name a speaker, a claimer or a mention
NAME_LABELS = ("PERSON", "ORG", "GPE", "NORP", "LOC", "FAC")


def only_space_or_punct(s: str) -> bool:
    return all(ch.isspace() or not ch.isalnum() for ch in s)


def first_token_at_or_after(doc: Doc, char: int) -> Token | None:
    for tok in doc[token_index_at(doc, char):]:
        if tok.idx >= char and not tok.is_space and tok.text not in ",":
            return tok
    return None


def last_token_before(doc: Doc, char: int) -> Token | None:
    i = token_index_at(doc, char)
    for tok in reversed(doc[:i + 1]):
        if tok.idx + len(tok) <= char and not tok.is_space:
            return tok
    return None


def token_index_at(doc: Doc, char: int) -> int:
    lo, hi = 0, len(doc) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if doc[mid].idx <= char:
            lo = mid
        else:
            hi = mid - 1
    return lo


def subject(verb: Token, depth: int = 0) -> Token | None:
    for c in verb.children:
        if c.dep_ in SUBJECT_DEPS:
            return c
    # "said Ana Ruiz" parsed with the name as object or attr
    for c in verb.children:
        if c.dep_ in ("dobj", "attr", "npadvmod") and (c.ent_type_ in ("PERSON", "ORG") or c.pos_ == "PROPN") \
                and c.i > verb.i:
            return c
    # "was quoted as saying", "warning that …" (a participle): the subject of the governing verb
    # (one step up per call, at most as many steps as the sentence has tokens); "by saying …",
    # "after saying …": the preposition's head is the governing verb
    if depth < len(verb.sent) and verb.head.i != verb.i:
        head = verb.head
        if verb.dep_ == "pcomp" and head.dep_ == "prep" and head.head.i != head.i \
                and head.head.pos_ in ("VERB", "AUX"):
            return subject(head.head, depth + 1)
        if finite_acl(verb):
            return head
        if verb.dep_ in ("advcl", "xcomp", "conj", "pcomp", "acl"):
            return subject(head, depth + 1)
    return left_subject(verb)


def finite_acl(verb: Token) -> bool:
    """"A survey found last week that …" parsed as a noun modified by a clause: a verb hanging off the
    noun right before it as ``acl`` that has a that-clause of its own is that noun's predicate."""
    head = verb.head
    return (verb.dep_ == "acl" and verb.tag_ in ("VBD", "VBN") and head.pos_ in ("NOUN", "PROPN")
            and head.i < verb.i and not any(t.pos_ in ("VERB", "AUX") for t in verb.doc[head.i + 1:verb.i])
            and any(c.dep_ == "ccomp" and has_mark(c, ("that",)) for c in verb.children))


def has_mark(clause: Token, words: tuple[str, ...]) -> bool:
    """Does the clause open with one of these subordinators ("that", "whether", …) as its mark?"""
    return any(g.dep_ == "mark" and g.lower_ in words for g in clause.children)


def left_subject(verb: Token) -> Token | None:
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
        if head.i == tok.i or not (floor <= head.i < verb.i) or head.pos_ not in ("NOUN", "PROPN", "ADP"):
            break
        tok = head
        if tok.pos_ in ("NOUN", "PROPN"):
            best = tok
    return best


def name_at(doc: Doc, char: int) -> Token | None:
    """The last token of the name that starts at ``char`` ("― Dana Whitfield" → Whitfield)."""
    tok = first_token_at_or_after(doc, char)
    if tok is None or not tok.text[:1].isupper():
        return None
    j = tok.i
    while j + 1 < len(doc) and doc[j + 1].text[:1].isupper() and doc[j + 1].is_alpha and \
            "\n" not in doc_text(doc)[doc[j].idx:doc[j + 1].idx] and j - tok.i < 4:
        j += 1
    return doc[j]


def next_name(doc: Doc, i: int) -> Token | None:
    if i < len(doc) and doc[i].pos_ == "PROPN":
        j = i
        while j + 1 < len(doc) and doc[j + 1].pos_ == "PROPN":
            j += 1
        return doc[j]
    return None


def prev_name(doc: Doc, i: int) -> Token | None:
    if i >= 0 and (doc[i].pos_ == "PROPN" or doc[i].ent_type_ in ("PERSON", "ORG")):
        return doc[i]
    return None


def trim_tokens(toks) -> tuple[int, int]:
    toks = sorted(toks, key=lambda t: t.i)
    while toks and (toks[0].is_punct or toks[0].is_space or toks[0].lower_ == "that"):
        toks = toks[1:]
    while toks and (toks[-1].is_punct or toks[-1].is_space) and toks[-1].text not in "”\"»":
        toks = toks[:-1]
    if not toks:
        return (0, 0)
    return toks[0].idx, toks[-1].idx + len(toks[-1])
