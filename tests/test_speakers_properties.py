"""Property tests: every function of the speaker stage ends and returns well-typed records, on random
hand-built parses (self-headed roots at any position, random entities) and on random sentences."""

from __future__ import annotations

import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc

from timeouts import deadline
from stancekit import speakers as sp
from stancekit.headlines import first_line_title, title_range

WORDS = ["he", "she", "they", "it", "I", "you", "we", "who", "that", "his", "its", "their", "Mr.", "Ms.",
         "Gov.", "governor", "minister", "campaign", "officials", "lawmakers", "union", "Ann", "Lee", "Tom",
         "Ruiz", "White", "House", "said", "told", "added", "the", "a", "of", "in", "and", ",", ".", "“", "”",
         "members", "Democratic", "ministry", "agency", "spokesman", "Councilwoman", "\n"]
POS = ["NOUN", "PROPN", "PRON", "VERB", "AUX", "ADP", "DET", "ADJ", "PUNCT", "CCONJ", "NUM", "SPACE"]
TAGS = ["NN", "NNS", "NNP", "NNPS", "PRP", "VBD", "IN", "DT", "JJ", ",", "CD", "_SP"]
DEPS = ["ROOT", "nsubj", "nsubjpass", "dobj", "appos", "conj", "compound", "amod", "poss", "prep", "pobj",
        "relcl", "acl", "ccomp", "det", "punct", "cc", "attr", "nmod", "case"]
LABELS = ["PERSON", "ORG", "GPE", "NORP"]
RESOLUTIONS = {"name", "title", "pronoun", "relative", "nominal", "group", "continuation"}


@pytest.fixture(scope="module")
def vocab():
    return spacy.blank("en").vocab


def check_record(rec, doc) -> None:
    if rec is None:
        return
    assert set(rec) >= {"name", "mention", "label", "role", "affiliation", "resolution", "confidence"}
    assert rec["name"] is None or (isinstance(rec["name"], str) and rec["name"].strip())
    if rec["name"] is not None:
        assert rec["name"].lower() not in sp.LOCAL_PRONOUNS
        assert rec["name"].lower() not in sp.PERSON_PRONOUNS | sp.GROUP_PRONOUNS
    assert isinstance(rec["label"], str) and rec["label"]
    assert rec["resolution"] in RESOLUTIONS
    assert 0.0 <= rec["confidence"] <= 1.0
    m = rec["mention"]
    assert 0 <= m["start"] <= m["end"] <= len(doc.text)
    assert doc.text[m["start"]:m["end"]] == m["text"]


def exercise(doc) -> None:
    """Call every function of the stage on every token of ``doc``."""
    r = sp.SpeakerResolver(doc)
    title_range(doc)
    first_line_title(doc.text)
    for tok in doc:
        check_record(r.resolve(tok), doc)
        check_record(r.subject_of(tok), doc)
        r.in_title(tok)
        r._weight(tok)
        r._candidates(tok)
        check_record(r._pronoun(tok), doc)
        check_record(r._nominal(tok), doc)
        check_record(r._group(tok), doc)
        check_record(r._group_phrase(tok, extend=True), doc)
        r._coordinated_people(tok)
        r._most_recent([e["canonical"] for e in r.entities], tok)
        r._salient_org(tok)
        assert isinstance(sp._named(tok), type(tok))
        assert isinstance(sp._is_subject(tok), bool)
        phrase = sp._phrase(tok)
        assert phrase and phrase[-1] is tok and all(b.i == a.i + 1 for a, b in zip(phrase, phrase[1:]))
        ext = sp._extended_phrase(tok, phrase)
        assert ext[:len(phrase)] == phrase and len(ext) <= max(len(phrase), sp.MAX_PHRASE)
        assert sp._phrase_text(phrase)
        sp._mention(tok)
        sp._mention_span(phrase)
        sp._affiliation_before(doc, tok.i)
        role, _ = sp._title_phrase(tok)
        assert isinstance(sp._title_case(role), str) and isinstance(sp._role_words(role), set)
        assert sp.pronoun_gender(tok.lower_) in (None, "m", "f")
        assert sp.first_name_gender(tok.text) in (None, "m", "f")
    assert len(sp._quoted_mask(doc)) == len(doc)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_parses(vocab, data):
    n = data.draw(st.integers(1, 16))
    words = [data.draw(st.sampled_from(WORDS)) for _ in range(n)]
    # a forest: tokens are attached in a random order, each to one attached before it or to itself
    # (a self-headed root, at any position; several roots are allowed). Cycles are left out: spaCy's
    # own tree walks (subtree, sentence bounds) never end on them, so no parser makes them.
    order = data.draw(st.permutations(list(range(n))))
    heads = [0] * n
    for k, i in enumerate(order):
        heads[i] = i if k == 0 or data.draw(st.booleans()) and data.draw(st.booleans()) \
            else order[data.draw(st.integers(0, k - 1))]
    pos = [data.draw(st.sampled_from(POS)) for _ in range(n)]
    tags = [data.draw(st.sampled_from(TAGS)) for _ in range(n)]
    deps = ["ROOT" if heads[i] == i else data.draw(st.sampled_from(DEPS)) for i in range(n)]
    lemmas = [w.lower() for w in words]
    try:
        doc = Doc(vocab, words=words, heads=heads, deps=deps, pos=pos, tags=tags, lemmas=lemmas)
    except (ValueError, KeyError):  # spaCy refuses some head layouts (cycles without a root)
        return
    ents = []
    for _ in range(data.draw(st.integers(0, 3))):
        a = data.draw(st.integers(0, n - 1))
        b = data.draw(st.integers(a + 1, n))
        span = doc[a:b]
        name = data.draw(st.sampled_from(["Ann Lee", "Tom Ruiz", "White House", "Lee", span.text or "x"]))
        ents.append({"text": span.text, "label": data.draw(st.sampled_from(LABELS)), "start": span.start_char,
                     "end": span.end_char, "canonical": name})
    doc._.stancekit_entities = ents
    if data.draw(st.booleans()):
        doc.user_data[("stancekit", "title")] = (0, data.draw(st.integers(0, len(doc.text) + 2)))
    with deadline(10, "speaker resolution"):
        exercise(doc)


SENTENCE_WORDS = st.sampled_from(["Mr.", "Ms.", "Ann", "Lee", "Tom", "Ruiz", "said", "told", "the", "governor",
                                  "officials", "campaign", "he", "she", "they", "I", "you", "we", "that",
                                  "the", "plan", "was", "wrong", "Democratic", "lawmakers", "who", "and",
                                  "ministry", "its", "members", ",", ".", "“", "”", "\n\n", "Senator"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(SENTENCE_WORDS, min_size=1, max_size=30))
def test_random_sentences_through_the_parser(nlp, words):
    text = " ".join(words)
    with deadline(20, "speaker resolution"):
        doc = nlp(text)
        exercise(doc)
        for q in doc._.stancekit_quotes or []:
            check_record(q["speaker"], doc)
