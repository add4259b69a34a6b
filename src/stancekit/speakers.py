"""Speaker resolution: from a speaker token to a canonical entity with label, role and confidence.

Used by the quote stage. A speaker token can be

* a name (inside an entity of ``doc._.stancekit_entities``): its cluster's canonical name;
* a title + name ("Minister Sánchez"): the same, resolution ``title``;
* a relative pronoun ("Petro, who accused …"): the noun it refers to, resolution ``relative``;
* a third-person pronoun ("he told reporters"): the most salient *agreeing* antecedent before it,
  resolution ``pronoun`` (see below); "he"/"she" take an unnamed person ("The senator rejected the
  bill. … she said") only where no named person is in reach;
* a first- or second-person pronoun ("I", "you", "we"): never a name. The record keeps the mention
  with ``name`` None (in a transcript the quote stage credits the line's speaker instead);
* a role noun ("the governor", "the Texas governor", "the minister"): the document's person who holds
  that role, resolution ``nominal``; without a holder the role phrase itself, still ``nominal``;
* an organisation noun ("the ministry", "the campaign", "the agency"): the organisation of the
  document it names ("Ministry of Trade", the "Reyes campaign" named before), else the phrase
  itself, label ORG, resolution ``nominal``;
* any other common-noun phrase ("Democratic lawmakers", "officials", "ranchers on the north side of
  town"): that group, label GROUP, its canonical phrase as the name, resolution ``group``; a name
  that only modifies the phrase ("Democratic", "Whitaker" in "the Whitaker campaign") is never
  taken for the speaker.

Pronouns agree with their antecedent:

* **gender** of a person, from an honorific or gendered title before any of its mentions ("Mr.",
  "Ms.", "Councilwoman"), from earlier pronouns already resolved to it with high confidence (a
  first pass over the document in reading order), and from the first name through the optional
  ``gender-guesser`` package (extra ``names``) when it is installed; a person of the other gender is
  never an antecedent, one of unknown gender costs confidence;
* **number**: "he"/"she" take persons; "they"/"them" take organisations, nationalities, places,
  plural or collective noun-phrase subjects ("Republican strategists") and coordinated persons
  ("Ana Ruiz and Tom Lee"); "it" takes organisations and places;
* **salience**: mentions in the previous sentences add up, subjects weigh more and the subjects of
  reporting verbs (speakers) most, mentions inside quotation marks less, older sentences decay.

Each resolution has a ``confidence``; a pronoun whose best antecedent is not clearly ahead of the
next (confidence below :data:`PRONOUN_MIN_CONFIDENCE`) keeps its mention with ``name`` None, so two
unresolved "he" are never merged into one speaker.

The document title (a headline) is never a speaker mention nor a pronoun antecedent: its range is
``doc.user_data[TITLE_KEY]`` (a ``(start, end)`` character range, set by whoever knows the title),
else the first line when it looks like a headline (:func:`title_range`).
"""

from __future__ import annotations

import re

from spacy.tokens import Doc, Token

from .ner import canonical_text, first_name_gender, is_honorific, is_title_token, is_title_word, title_before
from .headlines import title_range
from .quotemarks import pair_quote_marks
from .resources import cues, doc_text, speaker_nouns
from .syntax import NOMINAL_SUBJECT_DEPS, subject

MALE_PRONOUNS = frozenset({"he", "him", "his", "himself"})
FEMALE_PRONOUNS = frozenset({"she", "her", "hers", "herself"})
PERSON_PRONOUNS = MALE_PRONOUNS | FEMALE_PRONOUNS
GROUP_PRONOUNS = frozenset({"they", "them", "their", "themselves"})
THING_PRONOUNS = frozenset({"it", "its"})
# first and second person: the speaker of the words they stand in, never a name of their own
LOCAL_PRONOUNS = frozenset({"i", "me", "my", "myself", "we", "us", "our", "ourselves", "you", "your", "yourself"})
RELATIVE = {"who", "which", "that", "whom"}
NEVER_NAMES = LOCAL_PRONOUNS | PERSON_PRONOUNS | GROUP_PRONOUNS | THING_PRONOUNS | frozenset(RELATIVE)
TIME_LABELS = ("DATE", "TIME")
MODIFIER_DEPS = ("compound", "amod", "poss", "nmod")
DECAY = 0.35
WINDOW_SENTS = 4
# below this a pronoun's antecedent is a guess: the record keeps the mention, ``name`` is None
PRONOUN_MIN_CONFIDENCE = 0.5
MAX_PHRASE = 10

# honorifics and gendered titles before a name; gendered common nouns in an appositive
MALE_WORDS = frozenset({"mr", "mr.", "sir", "lord", "king", "prince", "councilman", "congressman", "spokesman",
                        "chairman", "assemblyman", "father", "brother", "husband", "son", "man", "businessman"})
FEMALE_WORDS = frozenset({"mrs", "mrs.", "ms", "ms.", "miss", "dame", "lady", "madam", "queen", "princess",
                          "councilwoman", "congresswoman", "spokeswoman", "chairwoman", "assemblywoman",
                          "mother", "sister", "wife", "daughter", "woman", "businesswoman"})
# abbreviated titles spelled out, so "the governor" finds "Gov. Patricia Wendt"
ROLE_ABBREVIATIONS = {"gov.": "Governor", "sen.": "Senator", "rep.": "Representative", "lt.": "Lieutenant",
                      "gen.": "General", "sec.": "Secretary", "supt.": "Superintendent", "atty.": "Attorney",
                      "pres.": "President", "col.": "Colonel", "capt.": "Captain", "sgt.": "Sergeant",
                      "det.": "Detective", "cmdr.": "Commander", "adm.": "Admiral", "amb.": "Ambassador",
                      "prof.": "Professor", "insp.": "Inspector", "asst.": "Assistant", "dep.": "Deputy"}
# heads of an organisation phrase ("the campaign", "the agency", "the mayor's office")
ORG_NOUNS = frozenset({"ministry", "embassy", "office", "department", "agency", "committee", "commission",
                       "council", "court", "company", "firm", "organization", "organisation", "association",
                       "coalition", "party", "campaign", "board", "bank", "university", "institute",
                       "hospital", "team", "club", "federation", "league", "union", "administration",
                       "government", "newspaper", "network", "authority", "bureau", "service", "district",
                       "foundation", "center", "centre", "group", "corporation", "school", "college",
                       "police", "army", "military", "navy", "legislature", "senate", "cabinet",
                       "regime", "utility", "city", "county", "state", "panel", "caucus", "chamber", "delegation",
                       "society", "fund", "alliance", "department", "secretariat", "directorate"})
# generic places whose possessive does not name an organisation ("the city's police department")
PLACE_OWNERS = frozenset({"state", "city", "county", "town", "country", "nation", "region", "province"})
# "its members said": the organisation speaks through them
MEMBER_NOUNS = frozenset({"member", "official", "leader", "representative", "spokesperson", "spokesman",
                          "spokeswoman", "staff", "lawyer", "attorney", "executive", "leadership"})
# speaker nouns that never name one person ("people", "the union" and the other organisation nouns)
NOT_PERSON_NOUNS = frozenset({"people", "white house", "kremlin", "pentagon"}) | ORG_NOUNS
# organisation nouns so generic that "the agency" means the organisation the text is about
GENERIC_ORG_NOUNS = frozenset({"agency", "company", "firm", "organization", "organisation", "group",
                               "corporation", "utility", "network", "authority", "government", "administration"})


# things that state findings or positions ("a CNN poll showed Trump with a lead", "the audit found that …"):
# sources as likely as a speaker noun, never a person a pronoun refers to
DOCUMENT_NOUNS = frozenset({"poll", "survey", "study", "report", "analysis", "audit", "review", "memo", "letter",
                            "statement", "filing", "lawsuit", "complaint", "ad", "advertisement", "editorial"})


def pronoun_gender(low: str) -> str | None:
    return "m" if low in MALE_PRONOUNS else "f" if low in FEMALE_PRONOUNS else None


class SpeakerResolver:
    def __init__(self, doc: Doc, quote_spans: list | None = None, *, entities: list[dict] | None = None):
        """``quote_spans``: the paired quotation marks of ``doc`` when the caller has them already;
        ``entities``: the entity records to resolve against (default ``doc._.stancekit_entities``)."""
        self.doc = doc
        self.title = title_range(doc)
        self.title_end = self.title[1] if self.title else -1
        self.entities = []
        self._span_of: list = []
        self._by_token: dict[int, dict] = {}
        for e in (doc._.stancekit_entities if entities is None else entities) or []:
            if e["label"] not in ("PERSON", "ORG", "GPE", "NORP") or e["start"] < self.title_end:
                continue  # a headline is never a mention
            span = doc.char_span(e["start"], e["end"], alignment_mode="expand")
            if span is None:
                continue
            self.entities.append(e)
            self._span_of.append(span)
            for t in span:
                self._by_token[t.i] = e
        self.quoted = _quoted_mask(doc, quote_spans)
        # sentence numbers for salience; a sentence that starts inside quotation marks ("We have
        # heard you. All of you,” she said.) continues the one before
        self.sent_index = {}
        k = -1
        for s in doc.sents:
            if k < 0 or not self.quoted[s.start]:
                k += 1
            for t in s:
                self.sent_index[t.i] = k
        self.speech = cues().get("speech", frozenset())
        self.roles = self._collect_roles()
        self.gender: dict[str, str] = {}
        self._collect_genders()
        self._pronoun_cache: dict[int, dict | None] = {}
        self._chain: list[tuple[int, str]] = []  # (token index, name) of pronouns already resolved
        self.groups: list[tuple[int, dict | None]] = []
        self.persons: list[tuple[int, dict]] = []
        self._collect_groups()
        self._collect_persons()
        self._link_pronouns()

    def in_title(self, tok: Token) -> bool:
        return tok.idx < self.title_end

    # -- roles ---------------------------------------------------------------------------------
    def _collect_roles(self) -> dict[str, dict]:
        """Roles and affiliations of each canonical name from titles and appositives."""
        doc = self.doc
        roles: dict[str, dict] = {}
        for e, span in zip(self.entities, self._span_of):
            if e["label"] != "PERSON":
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

    # -- gender ----------------------------------------------------------------------------------
    def _collect_genders(self) -> None:
        """Gender of each person from honorifics and gendered titles or appositives, then first names."""
        doc = self.doc
        votes: dict[str, dict[str, int]] = {}
        for e, span in zip(self.entities, self._span_of):
            if e["label"] != "PERSON":
                continue
            words = []
            if span.start > 0:
                words.append(doc[span.start - 1].lower_)
            if span.start > 1 and doc[span.start - 1].text == ".":
                words.append(doc[span.start - 2].lower_ + ".")
            root = span.root
            words += [c.lower_ for c in root.children if c.dep_ == "appos"]
            if root.dep_ == "appos":
                words.append(root.head.lower_)
            for w in words:
                g = "m" if w in MALE_WORDS else "f" if w in FEMALE_WORDS else None
                if g:
                    v = votes.setdefault(e["canonical"], {})
                    v[g] = v.get(g, 0) + 1
        for name, v in votes.items():
            if len(v) == 1:
                self.gender[name] = next(iter(v))
        for e in self.entities:
            name = e["canonical"]
            if e["label"] == "PERSON" and name not in self.gender and len(name.split()) >= 2:
                g = first_name_gender(name.split()[0])
                if g:
                    self.gender[name] = g

    # -- groups ----------------------------------------------------------------------------------
    def _collect_groups(self) -> None:
        """Noun-phrase groups of the body, as (token index, record) in reading order:

        * ``self.groups``: plural or organisation subjects ("Republican strategists", "the union",
          "Its members") and coordinated persons ("Ana Ruiz and Tom Lee"), antecedents of "they";
        * ``self.org_phrases``: organisation phrases with a name or possessive in any position ("paid
          for by the Reyes campaign"), what a later "the campaign" refers to.
        """
        self.groups: list[tuple[int, dict | None]] = []
        self.org_phrases: list[tuple[int, dict]] = []
        owned = []
        for tok in self.doc:
            if self.in_title(tok):
                continue
            if tok.pos_ == "NOUN" and tok.i not in self._by_token and tok.lemma_.lower() in ORG_NOUNS \
                    and tok.tag_ not in ("NNS", "NNPS"):
                phrase = _phrase(tok)
                if any(t.i in self._by_token or t.pos_ == "PROPN" or t.dep_ == "poss" and t.pos_ != "PRON"
                       for t in phrase if t is not tok):
                    rec = self._group_phrase(tok, owner=False)
                    if rec is not None:
                        self.org_phrases.append((tok.i, rec))
            if tok.dep_ not in NOMINAL_SUBJECT_DEPS:
                continue
            if tok.pos_ == "NOUN" and tok.i not in self._by_token and \
                    (tok.tag_ in ("NNS", "NNPS") or tok.lemma_.lower() in ORG_NOUNS) and \
                    not is_title_token(tok):
                appos = next((c for c in tok.children if c.dep_ == "appos" and c.i in self._by_token), None)
                names = self._coordinated_people(appos) if appos is not None else []
                if names:  # "two doctoral students, Ana Ruiz and Tom Lee, …"
                    rec = self._record(" and ".join(names), "GROUP", _mention_span(_phrase(tok)), "group", 0.8)
                elif any(t.dep_ == "poss" and t.lower_ in ("its", "their") for t in _phrase(tok)):
                    owned.append((len(self.groups), tok))  # "Its members": resolved below, in order
                    rec = None
                else:
                    rec = self._group_phrase(tok, extend=True, owner=False)
                if rec is not None or owned and owned[-1][1] is tok:
                    self.groups.append((tok.i, rec))
            elif tok.i in self._by_token:
                names = self._coordinated_people(tok)
                if names:
                    self.groups.append((tok.i, self._record(" and ".join(names), "GROUP", _mention_span(
                        sorted(tok.subtree, key=lambda t: t.i)), "group", 0.8)))
        for k, tok in owned:
            rec = self._group_phrase(tok, owner=True)
            if rec is not None and rec.get("name") and rec["resolution"] == "nominal":
                self.groups[k] = (tok.i, dict(rec, resolution="group"))

    def _collect_persons(self) -> None:
        """``self.persons``: unnamed people who are the subject of a clause ("The senator rejected the
        bill", "a State Department spokesperson declined to comment"), as (token index, record) in
        reading order: antecedents of "he" and "she" beside the named people. A role noun whose holder
        the document names is that holder ("the minister" after "Defense Minister Ana Ruiz"); a gendered
        noun ("spokeswoman", "a woman") gives the person's gender."""
        for tok in self.doc:
            if tok.dep_ not in NOMINAL_SUBJECT_DEPS or tok.pos_ != "NOUN" or tok.tag_ != "NN" \
                    or tok.i in self._by_token or self.in_title(tok) or not _person_noun(tok):
                continue
            rec = self._nominal(tok) if is_title_token(tok) else None
            if rec is None:
                rec = self._group_phrase(tok, owner=False)
                if rec is None or rec["label"] != "GROUP":
                    continue
                rec = dict(rec, label="PERSON", resolution="nominal", confidence=0.5)
            if not rec.get("name"):
                continue
            words = {t.lower_ for t in _phrase(tok)}
            gender = "f" if words & FEMALE_WORDS else "m" if words & MALE_WORDS else None
            if gender and rec["name"] not in self.gender:
                self.gender[rec["name"]] = gender
            self.persons.append((tok.i, rec))

    def _coordinated_people(self, tok: Token) -> list[str]:
        """"Ana Ruiz and Tom Lee said": both canonical names when ``tok`` heads such a coordination."""
        first = self._by_token.get(tok.i)
        if first is None or first["label"] != "PERSON":
            return []
        names = [first["canonical"]]
        for c in tok.children:
            if c.dep_ == "conj":
                e = self._by_token.get(c.i)
                if e is None or e["label"] != "PERSON":
                    return []
                names.append(e["canonical"])
        return names if len(names) > 1 else []

    # -- resolution ----------------------------------------------------------------------------
    def subject_of(self, verb: Token) -> dict | None:
        subj = subject(verb)
        if subj is not None and subj.ent_type_ in TIME_LABELS:
            # "…,” said Monday Chief Ana Ruiz: the name after the date
            subj = next((c for c in verb.children if c.i > verb.i and c.ent_type_ in ("PERSON", "ORG")
                         and c.dep_ in ("dobj", "attr", "npadvmod", "nsubj", "appos")), None)
        return self.resolve(subj) if subj is not None else None

    def resolve(self, tok: Token | None, _depth: int = 0) -> dict | None:
        """The speaker record of the phrase headed by ``tok``, or None. Its ``mention`` is the whole
        noun phrase as written ("Mr. McKinley", "Luis Rubio, who heads the center"), a pronoun's
        mention the pronoun."""
        rec = self._resolve(tok, _depth)
        if rec is not None and rec["resolution"] not in ("pronoun", "relative") and tok.lower_ not in NEVER_NAMES:
            np = _np_mention(tok)
            if np is not None:
                rec["mention"] = np
        return rec

    def _resolve(self, tok: Token | None, _depth: int = 0) -> dict | None:
        if tok is None or self.in_title(tok) or _depth > 3:
            return None
        if tok.ent_type_ in TIME_LABELS:
            return None  # "said Monday": a date is never a speaker
        tok = _named(tok)  # "the trial's principal investigator, Dr. Marta Villanueva" → the name
        if self.in_title(tok):
            return None
        low = tok.lower_
        if low in RELATIVE and tok.head.dep_ == "relcl" and tok.head.head is not tok.head:
            antecedent = _named(tok.head.head)
            found = self._resolve(antecedent, _depth + 1)
            if found is not None and found.get("name"):
                return dict(found, resolution="relative", mention=_mention(tok),
                            confidence=min(found["confidence"], 0.9))
            return None
        if low in LOCAL_PRONOUNS:
            label = "GROUP" if low in ("we", "us", "our", "ourselves") else "PERSON"
            return self._record(None, label, _mention(tok), "pronoun", 0.1)
        if low in PERSON_PRONOUNS or low in GROUP_PRONOUNS or low in THING_PRONOUNS:
            if tok.i not in self._pronoun_cache:
                self._pronoun_cache[tok.i] = self._pronoun(tok)
            found = self._pronoun_cache[tok.i]
            return dict(found) if found is not None else None
        ent = self._by_token.get(tok.i)
        if ent is not None:
            names = self._coordinated_people(tok) if tok.dep_ in NOMINAL_SUBJECT_DEPS else []
            if names:
                return self._record(" and ".join(names), "GROUP", _mention_span(sorted(tok.subtree, key=lambda t: t.i)),
                                    "group", 0.8)
            span = self.doc.char_span(ent["start"], ent["end"], alignment_mode="expand")
            titled = span is not None and title_before(self.doc, span.start) is not None
            return self._record(ent["canonical"], ent["label"], _span_mention(self.doc, ent),
                                "title" if titled else "name", 0.95 if not titled else 0.9)
        if tok.pos_ == "PROPN":
            inside = next((self._by_token[t.i] for t in _phrase(tok) if t.i in self._by_token
                           and self._by_token[t.i]["label"] in ("PERSON", "ORG")), None)
            if inside is not None and not is_title_token(tok):  # "the Colombian Embassy in Washington"
                return self._record(inside["canonical"], inside["label"], _span_mention(self.doc, inside),
                                    "name", 0.9)
            name = " ".join(t.text for t in _phrase(tok) if t.pos_ == "PROPN")
            canonical = self._match_surname(name) or canonical_text(name)
            if is_title_token(tok):
                found = self._nominal(tok)
                if found is not None:
                    return found
            label = "PERSON" if canonical in self.roles else "ORG"
            return self._record(canonical, label, _mention(tok), "name", 0.75)
        if tok.pos_ == "NOUN":
            return self._nominal(tok) or self._group(tok)
        if tok.pos_ in ("PRON", "NUM", "DET", "ADJ") and low not in RELATIVE and tok.dep_ in NOMINAL_SUBJECT_DEPS:
            return self._group(tok)  # "one", "many", "those close to him"
        return None

    def _group(self, tok: Token) -> dict:
        """Fallback: the noun phrase itself is the speaker ("sources", "a source", "the network")."""
        rec = self._group_phrase(tok, extend=True)
        if rec is not None:
            return rec
        phrase = _phrase(tok)
        text = _phrase_text(phrase)
        return self._record(canonical_text(text) or tok.text, "GROUP", _mention_span(phrase), "group", 0.4)

    def _group_phrase(self, tok: Token, extend: bool = False, owner: bool = True) -> dict | None:
        """The group a common noun heads, with its canonical phrase: "Democratic lawmakers",
        "Brandt's office", "ranchers on the north side of town" (``extend``: with its
        prepositional and participial modifiers, as the cue's subject is written)."""
        phrase = _phrase(tok)
        if extend:
            phrase = _extended_phrase(tok, phrase)
        named_part = phrase
        poss = next((t for t in phrase if t.dep_ == "poss" and t.lemma_.lower() in PLACE_OWNERS), None)
        if poss is not None and tok.lemma_.lower() in ORG_NOUNS:
            # "the state's education department" is named "education department"
            after = [t for t in phrase if t.i > max(x.i for x in poss.subtree)]
            named_part = [t for t in after if t.text not in ("'s", "’s", "'", "’")] or phrase
        text = canonical_text(_phrase_text(named_part))
        if not text or text.lower() in LOCAL_PRONOUNS:
            return None
        head = tok.lemma_.lower()
        poss = next((t for t in phrase if t.dep_ == "poss" and t.lower_ in ("its", "their")), None)
        if poss is not None and not owner:
            return None  # "its members": only as a speaker, through the organisation "its" is
        if poss is not None and head in MEMBER_NOUNS:
            org = self.resolve(poss, 1)
            if org is not None and org.get("name") and org["label"] in ("ORG", "GROUP", "GPE", "NORP"):
                # "Its members said …" after "The union condemned …": the union speaks
                return dict(org, mention=_mention_span(phrase), resolution="nominal",
                            confidence=round(min(org["confidence"], 0.7), 3))
        named = any(t.i in self._by_token or t.pos_ == "PROPN" for t in phrase if t is not tok)
        if head in ORG_NOUNS and (named or tok.tag_ not in ("NNS", "NNPS")):
            return self._record(text, "ORG", _mention_span(phrase), "nominal" if not named else "group", 0.7)
        # a plural or a known speaker noun ("officials", "a spokesman") is a likelier speaker than
        # another singular noun ("the report")
        conf = 0.6 if head in speaker_nouns() or head in DOCUMENT_NOUNS or is_title_token(tok) \
            or tok.tag_ in ("NNS", "NNPS") else 0.4
        return self._record(text, "GROUP", _mention_span(phrase), "group", conf)

    def _record(self, name: str | None, label: str, mention: dict, resolution: str, confidence: float) -> dict:
        if name is not None and (not name.strip() or name.lower() in NEVER_NAMES):
            name = None  # a pronoun is never a speaker's name
        info = self.roles.get(name) or {} if name else {}
        role = info.get("roles", [None])[0] if info.get("roles") else None
        return {"name": name, "mention": mention, "label": label, "role": role,
                "affiliation": info.get("affiliation"), "resolution": resolution,
                "confidence": round(confidence, 3)}

    def written_name(self, words: str, mention: dict, *, label: str | None = None) -> dict | None:
        """The speaker record of a name read without a parse (a headline's "Sanders:"): the document's
        person named so in full, or the one person whose full name ends with it ("Sanders", "SANDERS" →
        "Bernie Sanders"); else, when the entity recogniser found the name (``label``: PERSON or ORG),
        the name itself; else None (words that name nobody the document knows)."""
        parts = [w.title() if w.isupper() and len(w) > 3 else w for w in words.split()]
        while len(parts) > 1 and (is_title_word(parts[0]) or parts[0].isupper()):
            parts = parts[1:]  # "Gov Fallin", "AG Mukasey": the title is no part of the name
        words = " ".join(parts)
        if not words or words.lower() in NEVER_NAMES:
            return None
        low = words.lower()
        # the document's persons, as named outside this mention (a headline's "Gov Fallin" is no full name)
        a, b = mention.get("start", -1), mention.get("end", -1)
        full = next((p for p in sorted(self._persons(a, b)) if p.lower() == low), None) \
            or self._match_surname(words, (a, b))
        if full is not None and (full.lower() == low or len(words.split()) == 1
                                 or full.lower().endswith(" " + low)):
            return self._record(full, "PERSON", mention, "name", 0.9)
        # a name the recogniser found counts when the text names it again elsewhere: a section heading such as
        # "Limited Tools:" is no speaker, and neither is "Clinton Cash Debunks Hillary" (too long for a name)
        if label in ("PERSON", "ORG") and len(parts) <= 3 and self._named_elsewhere(parts[-1], a, b):
            return self._record(canonical_text(words), label, mention, "name", 0.75)
        return None

    def _named_elsewhere(self, word: str, a: int, b: int) -> bool:
        """Whether ``word`` stands in the document outside ``[a, b)`` (as a word of its own)."""
        text = doc_text(self.doc)
        return any(not (a <= m.start() < b) for m in re.finditer(r"\b%s\b" % re.escape(word), text))

    def _persons(self, a: int = -1, b: int = -1) -> set[str]:
        """The canonical names of the document's persons, counting only mentions outside ``[a, b)``."""
        return {e["canonical"] for e in self.entities if e["label"] == "PERSON" and (e["end"] <= a or e["start"] >= b)}

    def _match_surname(self, name: str, outside: tuple[int, int] = (-1, -1)) -> str | None:
        """The one person of the document (named outside the ``outside`` range) whose full name ends with
        the last word of ``name``; None when there is none or more than one."""
        parts = name.split()
        if not parts:
            return None
        hits = {p for p in self._persons(*outside) if len(p.split()) > 1 and p.split()[-1] == parts[-1]}
        return next(iter(hits)) if len(hits) == 1 else None

    # -- pronouns --------------------------------------------------------------------------------
    def _link_pronouns(self) -> None:
        """First pass in reading order: a "he"/"she" resolved with high confidence to a person of
        unknown gender gives the person that gender for the later pronouns."""
        for tok in self.doc:
            if tok.lower_ in PERSON_PRONOUNS and not self.in_title(tok):
                found = self._pronoun(tok)
                self._pronoun_cache[tok.i] = found
                if found is None or not found["name"] or found["label"] != "PERSON":
                    continue
                if found["confidence"] >= 0.6:
                    self._chain.append((tok.i, found["name"]))
                if found["confidence"] >= 0.75 and found["name"] not in self.gender:
                    self.gender[found["name"]] = pronoun_gender(tok.lower_)

    def _candidates(self, tok: Token) -> tuple[dict[str, float], dict[str, dict]]:
        low = tok.lower_
        here = self.sent_index.get(tok.i, 0)
        scores: dict[str, float] = {}
        best: dict[tuple[str, int], float] = {}  # (name, sentence distance) -> the best mention's weight
        records: dict[str, dict] = {}
        want = pronoun_gender(low)
        if low in PERSON_PRONOUNS:
            labels = ("PERSON",)
        elif low in THING_PRONOUNS:
            labels = ("ORG", "GPE")
        else:
            labels = ("ORG", "NORP", "GPE")
        for e, span in zip(self.entities, self._span_of):
            if e["label"] not in labels or span.start >= tok.i:
                continue
            if tok.i in range(span.start, span.end):
                continue
            dist = here - self.sent_index.get(span.start, 0)
            if dist > WINDOW_SENTS or dist < 0:
                continue
            if want and self.gender.get(e["canonical"]) not in (None, want):
                continue  # "she" never refers to a man
            root = span.root
            if root.dep_ in MODIFIER_DEPS and root.head.pos_ == "NOUN" and e["label"] != "PERSON":
                continue  # "Democratic" in "Democratic lawmakers" is no antecedent of "they"
            weight = self._weight(root)
            if root.dep_ in MODIFIER_DEPS and root.head.i not in range(span.start, span.end):
                weight *= 0.3  # "the Whitaker campaign": Whitaker is not what the sentence is about
            if self.quoted[span.start]:
                weight *= 0.2
            key = e["canonical"]
            _add(best, key, dist, weight)
            records.setdefault(key, {"label": e["label"]})
        if low in PERSON_PRONOUNS:
            # "Ann Lee … her … she": the chain's pronouns are mentions too
            for _, name, dist, weight in self._person_mentions(self._chain, tok, want):
                _add(best, name, dist, weight)
                records.setdefault(name, {"label": "PERSON"})
            # unnamed people ("The senator rejected the bill. … she said") only where no named person
            # is in reach: news refers back to a named person with epithets ("the candidate", "the
            # billionaire") that would otherwise take the pronoun from the name
            if not best:
                unnamed = dict(self.persons)
                for i, name, dist, weight in self._person_mentions(
                        [(i, rec["name"]) for i, rec in self.persons], tok, want):
                    _add(best, name, dist, weight)
                    rec = unnamed[i]
                    records.setdefault(name, {"label": "PERSON"} if rec["resolution"] != "nominal" or
                                       name in self.roles else rec)
        if low in GROUP_PRONOUNS or low in THING_PRONOUNS:
            for i, rec in self.groups:
                if i >= tok.i:
                    break
                if rec is None:
                    continue
                g = self.doc[i]
                dist = here - self.sent_index.get(i, 0)
                if dist > WINDOW_SENTS or dist < 0 or tok.i in range(g.left_edge.i, g.right_edge.i + 1):
                    continue
                singular = rec["label"] == "ORG" and g.tag_ not in ("NNS", "NNPS") and " and " not in rec["name"]
                if low in THING_PRONOUNS:
                    if not singular:
                        continue
                    weight = self._weight(g)
                elif singular:
                    weight = 0.6 * self._weight(g)  # "the union … they": possible, less likely
                else:
                    weight = self._weight(g)
                if self.quoted[i]:
                    weight *= 0.2
                key = rec["name"]
                _add(best, key, dist, weight)
                records[key] = rec
        for (key, dist), weight in best.items():
            if dist == 1 and weight >= 2.0:
                weight *= 1.5  # the subject of the previous sentence: what the text is about now
            scores[key] = scores.get(key, 0.0) + weight * DECAY ** dist
        return scores, records

    def _person_mentions(self, mentions, tok: Token, want: str | None):
        """(token index, name, sentence distance, salience) of the person ``mentions`` (token index, name;
        in reading order) before ``tok`` and within reach of it whose gender does not contradict ``want``."""
        here = self.sent_index.get(tok.i, 0)
        for i, name in mentions:
            if i >= tok.i:
                break
            dist = here - self.sent_index.get(i, 0)
            if dist > WINDOW_SENTS or dist < 0 or (want and self.gender.get(name) not in (None, want)):
                continue
            yield i, name, dist, self._weight(self.doc[i]) * (0.2 if self.quoted[i] else 1.0)

    def _weight(self, tok: Token) -> float:
        """Salience of one mention: the subject of a reporting verb (a speaker) 3, of a main clause 2,
        of another clause 1.3, any other mention 1."""
        if _is_subject(tok):
            verb = tok.head if tok.dep_ in NOMINAL_SUBJECT_DEPS else tok.head.head
            if verb.lemma_.lower() in self.speech:
                return 3.0
            return 2.0 if verb.dep_ in ("ROOT", "conj") or verb.head is verb else 1.3
        return 1.0

    def _pronoun(self, tok: Token) -> dict | None:
        low = tok.lower_
        scores, records = self._candidates(tok)
        label = "PERSON" if low in PERSON_PRONOUNS else "GROUP" if low in GROUP_PRONOUNS else "ORG"
        if not scores:
            return self._record(None, label, _mention(tok), "pronoun", 0.15)
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        name, top = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        confidence = 0.3 + 0.65 * (top - second) / top
        want = pronoun_gender(low)
        if want and self.gender.get(name) is None:
            confidence *= 0.85  # agreement not checked: the person's gender is unknown
        if top < 0.3:
            confidence *= 0.8  # a weak, distant antecedent
        rec = records[name]
        if "name" in rec:  # a group phrase
            out = dict(rec, mention=_mention(tok), resolution="pronoun", confidence=round(confidence, 3))
        else:
            out = self._record(name, rec["label"], _mention(tok), "pronoun", confidence)
        if confidence < PRONOUN_MIN_CONFIDENCE:
            out.update(name=None, role=None, affiliation=None, label=label)
        return out

    # -- nominals --------------------------------------------------------------------------------
    def _nominal(self, tok: Token) -> dict | None:
        """A role noun: its holder in the document; an organisation noun: the organisation it names."""
        head = tok.lemma_.lower()
        phrase = _phrase(tok)
        text = canonical_text(_phrase_text(phrase))
        mention = _mention_span(phrase)
        if is_title_token(tok) or head in {r.lower() for r in ROLE_ABBREVIATIONS.values()}:
            if tok.tag_ in ("NNS", "NNPS"):
                return None  # "Republican senators": a group, never one senator
            holders = [name for name, info in self.roles.items()
                       if any(head in _role_words(r) for r in info["roles"])]
            mods = {t.lower_ for t in phrase if t is not tok and t.pos_ in ("PROPN", "ADJ", "NOUN")}
            if len(holders) > 1 and mods:
                # "the Texas governor": the holder whose affiliation or role has the modifier
                fit = [n for n in holders if mods & set((self.roles[n]["affiliation"] or "").lower().split())
                       or any(mods & _role_words(r) for r in self.roles[n]["roles"])]
                holders = fit or holders
            if len(holders) > 1:
                holders = [self._most_recent(holders, tok)] if self._most_recent(holders, tok) else holders
            if len(holders) == 1:
                return self._record(holders[0], "PERSON", mention, "nominal", 0.8)
            rec = self._record(text, "PERSON", mention, "nominal", 0.5)
            if rec["role"] is None:  # nobody named holds it: the phrase is all we know ("the health minister")
                role, aff = _title_phrase(tok)
                rec.update(role=_title_case(role), affiliation=rec["affiliation"] or aff)
            return rec
        if head in ORG_NOUNS:
            named = any(t.i in self._by_token or t.pos_ == "PROPN" for t in phrase if t is not tok)
            if named or any(t.dep_ == "poss" for t in phrase):
                return None  # "the Whitaker campaign", "the mayor's office": a phrase of its own
            orgs = [e["canonical"] for e in self.entities if e["label"] == "ORG" and
                    head in e["canonical"].lower().split() and self.doc.char_span(
                        e["start"], e["end"], alignment_mode="expand").start < tok.i]
            if len(set(orgs)) == 1:
                return self._record(orgs[0], "ORG", mention, "nominal", 0.75)
            before = [rec for i, rec in self.org_phrases if i < tok.i and rec["label"] == "ORG"
                      and self.doc[i].lemma_.lower() == head and rec["name"].lower() != text.lower()]
            if before:
                return dict(before[-1], mention=mention, resolution="nominal", confidence=0.7)
            if head in GENERIC_ORG_NOUNS and tok.tag_ not in ("NNS", "NNPS"):
                org = self._salient_org(tok)
                if org is not None:
                    return self._record(org, "ORG", mention, "nominal", 0.6)
            if tok.tag_ in ("NNS", "NNPS"):
                return None
            return self._record(text, "ORG", mention, "nominal", 0.5)
        return None

    def _most_recent(self, names: list[str], tok: Token) -> str | None:
        best, where = None, -1
        for e, span in zip(self.entities, self._span_of):
            if e["canonical"] in names and where < span.start < tok.i:
                best, where = e["canonical"], span.start
        return best

    def _salient_org(self, tok: Token) -> str | None:
        here = self.sent_index.get(tok.i, 0)
        scores: dict[str, float] = {}
        for e, span in zip(self.entities, self._span_of):
            if e["label"] != "ORG" or span.start >= tok.i or _parenthesised(span):
                continue  # "(Northwest Wire)": a dateline's agency
            dist = here - self.sent_index.get(span.start, 0)
            if 0 <= dist <= 3:
                scores[e["canonical"]] = scores.get(e["canonical"], 0.0) + self._weight(span.root) * DECAY ** dist
        if not scores:
            return None
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if len(ranked) > 1 and ranked[1][1] * 1.5 > ranked[0][1]:
            return None
        return ranked[0][0]


def _person_noun(tok: Token) -> bool:
    """Whether a common noun names one person: a title ("senator", "spokeswoman"), a speaker noun that is
    no organisation ("official", "resident") or a gendered noun ("woman")."""
    lemma = tok.lemma_.lower()
    return is_title_token(tok) or lemma in MALE_WORDS or lemma in FEMALE_WORDS or \
        (lemma in speaker_nouns() and lemma not in NOT_PERSON_NOUNS)


def _add(best: dict, key: str, dist: int, weight: float) -> None:
    """Salience counts each candidate once per sentence: its best mention there."""
    if weight > best.get((key, dist), 0.0):
        best[(key, dist)] = weight


def _parenthesised(span) -> bool:
    doc = span.doc
    return span.start > 0 and span.end < len(doc) and doc[span.start - 1].text == "(" and doc[span.end].text == ")"


def _role_words(role: str) -> set[str]:
    return {ROLE_ABBREVIATIONS.get(w.lower(), w).lower() for w in role.split()}


def _named(tok: Token) -> Token:
    """Prefer the name in an apposition: "Petro, a leftist who …" and "the minister, Pedro Sánchez,
    who …" both refer to the name."""
    if tok.dep_ == "appos" and tok.pos_ != "PROPN" and tok.head.pos_ == "PROPN" and tok.head is not tok:
        return tok.head
    if tok.pos_ != "PROPN" or is_title_token(tok):
        appos = next((c for c in tok.children if c.dep_ == "appos" and c.pos_ == "PROPN"), None)
        if appos is not None:
            return appos
    return tok


def _is_subject(tok: Token) -> bool:
    if tok.dep_ in NOMINAL_SUBJECT_DEPS:
        return True
    # "Pedro Sánchez, who …" / an appositive of a subject / the head of a relative clause subject
    if tok.dep_ == "appos" and tok.head.dep_ in NOMINAL_SUBJECT_DEPS:
        return True
    return any(c.dep_ == "relcl" and any(g.dep_ in NOMINAL_SUBJECT_DEPS and g.lower_ in RELATIVE for g in c.children)
               for c in tok.children)


def _phrase(tok: Token) -> list[Token]:
    """The noun phrase of ``tok`` without relative clauses, appositives or prepositions."""
    left = [t for t in tok.lefts if t.dep_ in ("compound", "amod", "det", "poss", "nmod", "case", "nummod", "quantmod")]
    toks = []
    for t in left:
        toks.extend(t.subtree)
    toks.append(tok)
    toks = sorted(set(toks), key=lambda t: t.i)
    # a contiguous run ending at ``tok`` (a misparse can hang a far token under it)
    run = [tok]
    for t in reversed(toks[:-1]):
        if t.i == run[0].i - 1:
            run.insert(0, t)
        else:
            break
    return run


def _extended_phrase(tok: Token, phrase: list[Token]) -> list[Token]:
    """``phrase`` with the prepositional and participial modifiers right after ``tok`` ("ranchers on
    the north side of town"), when the whole stays short and holds no quotation mark or comma."""
    toks = list(phrase)
    for c in tok.rights:
        if c.dep_ not in ("prep", "acl") or c.i != toks[-1].i + 1:
            break
        sub = sorted(c.subtree, key=lambda t: t.i)
        if c.dep_ == "prep" and any(t.ent_type_ in ("GPE", "LOC") for t in sub):
            break  # "officials in Washington": a named place is no part of the group's name
        if any(t.is_punct or t.is_quote or "\n" in t.text for t in sub) or len(toks) + len(sub) > MAX_PHRASE:
            break
        if sub[0].i != toks[-1].i + 1 or sub[-1].i - sub[0].i + 1 != len(sub):
            break
        toks.extend(sub)
    return toks


def _np_mention(tok: Token) -> dict | None:
    """The noun phrase ``tok`` heads, with its determiner, titles, appositives and relative clauses
    (``tok.subtree``), when it is contiguous, short, on one line and free of quotation marks."""
    sub = sorted(tok.subtree, key=lambda t: t.i)
    if len(sub) > 40 or sub[-1].i - sub[0].i + 1 != len(sub):
        return None
    if any(t.is_quote or "\n" in t.text or t.dep_ in ("ccomp", "parataxis") for t in sub):
        return None
    # a time modifier at the end is no part of who spoke ("an arbitration panel in 2001")
    for c in reversed(list(tok.rights)):
        csub = sorted(c.subtree, key=lambda t: t.i)
        if csub[-1].i != sub[-1].i or not (c.dep_ in ("prep", "npadvmod") and
                                           any(t.ent_type_ in ("DATE", "TIME") for t in csub)):
            break
        sub = [t for t in sub if t.i < csub[0].i]
    while len(sub) > 1 and (sub[-1].is_punct or sub[-1].is_space or sub[-1].dep_ == "cc"):
        sub = sub[:-1]
    while len(sub) > 1 and (sub[0].is_punct or sub[0].is_space or sub[0].dep_ in ("cc", "preconj", "advmod")
                            and sub[0].head is tok):
        sub = sub[1:]
    return _mention_span(sub) if sub else None


def _phrase_text(toks: list[Token]) -> str:
    text = doc_text(toks[0].doc)
    return text[toks[0].idx:toks[-1].idx + len(toks[-1])]


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
        if gpe is not None:  # all of the name: "State Department spokesperson" → "State Department"
            aff = " ".join(t.text for t in gpe.subtree if t.ent_type_ == gpe.ent_type_) or gpe.text
    return " ".join(words), aff


_WORD = re.compile(r"\S+")


def _title_case(role: str) -> str:
    words = [ROLE_ABBREVIATIONS.get(w.lower(), w) for w in _WORD.findall(role)]
    return " ".join(w if w[:1].isupper() else w.capitalize() for w in words)


def _quoted_mask(doc: Doc, spans: list | None = None) -> list[bool]:
    if spans is None:
        spans, _ = pair_quote_marks(doc_text(doc))
    mask = [False] * len(doc)
    for qs in spans:
        span = doc.char_span(qs.start, qs.end, alignment_mode="expand")
        if span is not None:
            for t in span:
                mask[t.i] = True
    return mask
