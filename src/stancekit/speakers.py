"""Speaker resolution: from a speaker token to a canonical entity with label, role and confidence.

Used by the quote stage. A speaker token can be

* a name (inside an entity of ``doc._.stancekit_entities``): its cluster's canonical name;
* a title + name ("Minister Sánchez"): the same, resolution ``title``;
* a relative pronoun ("Petro, who accused …"): the noun it refers to, resolution ``relative``;
* a personal pronoun ("he told reporters"): the most salient agreeing entity before it, where
  salience adds up mentions in the previous sentences (subjects weigh more, mentions inside quotes
  less, older sentences decay), resolution ``pronoun``;
* a nominal ("the minister", "the embassy"): the entity whose role or name has that head noun,
  resolution ``nominal``; otherwise the noun phrase itself is the speaker (a group such as
  "U.S. officials"), resolution ``group``.
"""

from __future__ import annotations

from spacy.tokens import Doc, Token

from .ner import canonical_text, is_honorific, is_title_token, title_before
from .resources import doc_text, speaker_nouns

PERSON_PRONOUNS = {"he", "she", "him", "her", "his", "i"}  # possessives: "by his own account"
GROUP_PRONOUNS = {"they", "them", "their", "we"}
THING_PRONOUNS = {"it", "its"}
RELATIVE = {"who", "which", "that", "whom"}
SUBJECT_DEPS = ("nsubj", "nsubjpass")
DECAY = 0.5
WINDOW_SENTS = 4


class SpeakerResolver:
    def __init__(self, doc: Doc, quote_spans: list | None = None):
        """``quote_spans``: the paired quotation marks of ``doc`` when the caller has them already."""
        self.doc = doc
        self.entities = [e for e in (doc._.stancekit_entities or [])
                         if e["label"] in ("PERSON", "ORG", "GPE", "NORP")]
        self._by_token: dict[int, dict] = {}
        for e in self.entities:
            span = doc.char_span(e["start"], e["end"], alignment_mode="expand")
            if span is not None:
                for t in span:
                    self._by_token[t.i] = e
        self.sent_index = {}
        for k, s in enumerate(doc.sents):
            for t in s:
                self.sent_index[t.i] = k
        self.quoted = _quoted_mask(doc, quote_spans)
        self.roles = self._collect_roles()

    # -- roles ---------------------------------------------------------------------------------
    def _collect_roles(self) -> dict[str, dict]:
        """Roles and affiliations of each canonical name from titles and appositives."""
        doc = self.doc
        roles: dict[str, dict] = {}
        for e in self.entities:
            if e["label"] != "PERSON":
                continue
            span = doc.char_span(e["start"], e["end"], alignment_mode="expand")
            if span is None:
                continue
            info = roles.setdefault(e["canonical"], {"roles": [], "affiliation": None})
            role, aff = None, None
            tb = title_before(doc, span.start)
            if tb is not None and is_honorific(doc[tb[0]:tb[1]].text):
                tb = None  # "Dr. Marta Villanueva": look for the role in an appositive instead
            if tb is not None:
                role = doc[tb[0]:tb[1]].text
                aff = _affiliation_before(doc, tb[0])
            else:
                root = span.root
                head = root.head
                # "Colombia's Defense Minister, Pedro Sánchez" / "Pedro Sánchez, the defense minister"
                if root.dep_ == "appos" and is_title_token(head):
                    role, aff = _title_phrase(head)
                else:
                    appos = next((c for c in root.children if c.dep_ == "appos" and is_title_token(c)), None)
                    if appos is not None:
                        role, aff = _title_phrase(appos)
            if role:
                role = _title_case(role)
                if role not in info["roles"]:
                    info["roles"].append(role)
                if aff and not info["affiliation"]:
                    info["affiliation"] = aff
        return roles

    # -- resolution ----------------------------------------------------------------------------
    def subject_of(self, verb: Token) -> dict | None:
        from .quotes import _subject

        subj = _subject(verb)
        return self.resolve(subj) if subj is not None else None

    def resolve(self, tok: Token | None) -> dict | None:
        if tok is None:
            return None
        tok = _named(tok)  # "the trial's principal investigator, Dr. Marta Villanueva" → the name
        low = tok.lower_
        if low in RELATIVE and tok.head.dep_ == "relcl":
            antecedent = _named(tok.head.head)
            found = self.resolve(antecedent)
            if found is not None:
                return dict(found, resolution="relative", mention=_mention(tok),
                            confidence=min(found["confidence"], 0.9))
            return None
        if low in PERSON_PRONOUNS or low in GROUP_PRONOUNS or low in THING_PRONOUNS:
            return self._pronoun(tok) or self._unresolved(tok)
        ent = self._by_token.get(tok.i)
        if ent is None:
            # a name inside the noun phrase ("the Colombian Embassy in Washington")
            for t in _phrase(tok):
                if t.i in self._by_token and self._by_token[t.i]["label"] in ("PERSON", "ORG", "NORP"):
                    ent = self._by_token[t.i]
                    break
        if ent is not None:
            span = self.doc.char_span(ent["start"], ent["end"], alignment_mode="expand")
            titled = span is not None and title_before(self.doc, span.start) is not None
            return self._record(ent["canonical"], ent["label"], _span_mention(self.doc, ent),
                                "title" if titled else "name", 0.95 if not titled else 0.9)
        if tok.pos_ == "PROPN":
            name = " ".join(t.text for t in _phrase(tok) if t.pos_ == "PROPN")
            canonical = self._match_surname(name) or canonical_text(name)
            label = "PERSON" if canonical in self.roles else "ORG"
            return self._record(canonical, label, _mention(tok), "name", 0.75)
        if tok.pos_ in ("NOUN", "PROPN"):
            return self._nominal(tok) or self._group(tok)
        if tok.pos_ in ("PRON", "NUM", "DET", "ADJ") and low not in RELATIVE and tok.dep_ in SUBJECT_DEPS:
            return self._group(tok)  # "one", "many", "those close to him"
        return None

    def _group(self, tok: Token) -> dict:
        """Fallback: the noun phrase itself is the speaker ("sources", "a source", "the network")."""
        phrase = _phrase(tok)
        text = " ".join(t.text for t in phrase)
        return self._record(canonical_text(text) or tok.text, "GROUP", _mention_span(phrase), "group", 0.4)

    def _unresolved(self, tok: Token) -> dict:
        """A pronoun without an antecedent in reach: kept with its own text and a low confidence."""
        label = "PERSON" if tok.lower_ in PERSON_PRONOUNS else "GROUP"
        return self._record(tok.text, label, _mention(tok), "pronoun", 0.15)

    def _record(self, name: str, label: str, mention: dict, resolution: str, confidence: float) -> dict:
        info = self.roles.get(name) or {}
        role = info.get("roles", [None])[0] if info.get("roles") else None
        return {"name": name, "mention": mention, "label": label, "role": role,
                "affiliation": info.get("affiliation"), "resolution": resolution,
                "confidence": round(confidence, 3)}

    def _match_surname(self, name: str) -> str | None:
        last = name.split()[-1] if name else ""
        hits = {e["canonical"] for e in self.entities if e["label"] == "PERSON"
                and e["canonical"].split()[-1] == last and len(e["canonical"].split()) > 1}
        return next(iter(hits)) if len(hits) == 1 else None

    def _pronoun(self, tok: Token) -> dict | None:
        low = tok.lower_
        if low in PERSON_PRONOUNS:
            labels = ("PERSON",)
        elif low in THING_PRONOUNS:
            labels = ("ORG", "GPE")
        else:
            labels = ("ORG", "NORP", "GPE")
        here = self.sent_index.get(tok.i, 0)
        scores: dict[str, float] = {}
        best_ent: dict[str, dict] = {}
        for e in self.entities:
            if e["label"] not in labels:
                continue
            span = self.doc.char_span(e["start"], e["end"], alignment_mode="expand")
            if span is None or span.start >= tok.i:
                continue
            dist = here - self.sent_index.get(span.start, 0)
            if dist > WINDOW_SENTS:
                continue
            weight = 2.0 if _is_subject(span.root) else 1.0
            if self.quoted[span.start]:
                weight *= 0.2
            scores[e["canonical"]] = scores.get(e["canonical"], 0.0) + weight * DECAY ** dist
            best_ent[e["canonical"]] = e
        if low in GROUP_PRONOUNS and not scores:
            return None
        if not scores:
            return None
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        name, top = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        confidence = 0.5 + 0.45 * (top - second) / top
        rec = self._record(name, best_ent[name]["label"], _mention(tok), "pronoun", confidence)
        return rec

    def _nominal(self, tok: Token) -> dict | None:
        head = tok.lemma_.lower()
        phrase = _phrase(tok)
        text = " ".join(t.text for t in phrase)
        # "the minister" -> the person whose role has that word; "the embassy" -> the ORG named so
        matches = {name for name, info in self.roles.items()
                   if any(head in r.lower().split() for r in info["roles"])}
        if not matches:
            matches = {e["canonical"] for e in self.entities if e["label"] == "ORG"
                       and head in e["canonical"].lower().split()}
        if len(matches) == 1:
            name = next(iter(matches))
            label = "PERSON" if name in self.roles else "ORG"
            return self._record(name, label, _mention_span(phrase), "nominal", 0.7)
        if head in speaker_nouns() or is_title_token(tok):
            return self._record(canonical_text(text), "GROUP", _mention_span(phrase), "group", 0.6)
        return None


def _named(tok: Token) -> Token:
    """Prefer the name in an apposition: "Petro, a leftist who …" and "the minister, Pedro Sánchez,
    who …" both refer to the name."""
    if tok.dep_ == "appos" and tok.pos_ != "PROPN" and tok.head.pos_ == "PROPN":
        return tok.head
    if tok.pos_ != "PROPN" or is_title_token(tok):
        appos = next((c for c in tok.children if c.dep_ == "appos" and c.pos_ == "PROPN"), None)
        if appos is not None:
            return appos
    return tok


def _is_subject(tok: Token) -> bool:
    if tok.dep_ in SUBJECT_DEPS:
        return True
    # "Pedro Sánchez, who …" / an appositive of a subject / the head of a relative clause subject
    if tok.dep_ == "appos" and tok.head.dep_ in SUBJECT_DEPS:
        return True
    return any(c.dep_ == "relcl" and any(g.dep_ in SUBJECT_DEPS and g.lower_ in RELATIVE for g in c.children)
               for c in tok.children)


def _phrase(tok: Token) -> list[Token]:
    """The noun phrase of ``tok`` without relative clauses, appositives or prepositions."""
    left = [t for t in tok.lefts if t.dep_ in ("compound", "amod", "det", "poss", "nmod", "case", "nummod")]
    toks = []
    for t in left:
        toks.extend(t.subtree)
    toks.append(tok)
    toks = sorted(set(toks), key=lambda t: t.i)
    return toks


def _mention(tok: Token) -> dict:
    return {"text": tok.text, "start": tok.idx, "end": tok.idx + len(tok)}


def _mention_span(toks: list[Token]) -> dict:
    a, b = toks[0], toks[-1]
    return {"text": doc_text(a.doc)[a.idx:b.idx + len(b)], "start": a.idx, "end": b.idx + len(b)}


def _span_mention(doc: Doc, ent: dict) -> dict:
    return {"text": doc_text(doc)[ent["start"]:ent["end"]], "start": ent["start"], "end": ent["end"]}


def _affiliation_before(doc: Doc, i: int) -> str | None:
    """"Colombia's Defense Minister" -> Colombia; "Cali Mayor" -> Cali."""
    j = i - 1
    if j >= 0 and doc[j].text in ("'s", "’s", "'", "’"):
        j -= 1
    if j >= 0 and doc[j].ent_type_ in ("GPE", "ORG", "NORP", "PERSON", "LOC") and doc[j].text[:1].isupper():
        k = j
        while k - 1 >= 0 and doc[k - 1].ent_iob_ == "I" and doc[k - 1].ent_type_ == doc[j].ent_type_:
            k -= 1
        while k - 1 >= 0 and doc[k].ent_iob_ == "I":
            k -= 1
        return doc[k:j + 1].text
    return None


def _title_phrase(tok: Token) -> tuple[str, str | None]:
    # "Defense Minister", "general secretary", "principal investigator", "chief executive"
    comp = [c for c in tok.lefts if (c.dep_ == "compound" and c.pos_ in ("NOUN", "PROPN")
                                     or c.dep_ == "amod" and c.pos_ == "ADJ")
            and c.ent_type_ not in ("GPE", "NORP", "ORG")]
    words = [c.text for c in comp] + [tok.text]
    poss = next((c for c in tok.children if c.dep_ == "poss"), None)
    aff = None
    if poss is not None and poss.ent_type_ in ("GPE", "ORG", "NORP", "PERSON", "LOC"):
        aff = " ".join(t.text for t in poss.subtree if t.dep_ != "case" and t.text not in ("'s", "’s"))
    else:
        gpe = next((c for c in tok.lefts if c.ent_type_ in ("GPE", "NORP", "ORG")), None)
        if gpe is not None:
            aff = gpe.text
    return " ".join(words), aff


def _title_case(role: str) -> str:
    return " ".join(w if w[:1].isupper() else w.capitalize() for w in role.split())


def _quoted_mask(doc: Doc, spans: list | None = None) -> list[bool]:
    if spans is None:
        from .quotes import pair_quote_marks

        spans, _ = pair_quote_marks(doc_text(doc))
    mask = [False] * len(doc)
    for qs in spans:
        span = doc.char_span(qs.start, qs.end, alignment_mode="expand")
        if span is not None:
            for t in span:
                mask[t.i] = True
    return mask
