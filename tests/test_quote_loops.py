"""Property tests: every function of the quote stage ends, on random text and on random hand-built
parses (self-headed roots at any position, random labels, quote marks and line breaks anywhere)."""

from __future__ import annotations

import pytest
import spacy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc

from timeouts import deadline
from stancekit.headlines import mark_paragraphs, paragraph_starts, title_span
from stancekit.quotes import QuoteFinder, apply_title_span, pair_quote_marks, transcript_turns
from stancekit.syntax import finite_acl, left_subject, subject

WORDS = ["said", "told", "Calling", "criticised", "backs", "that", "so", "the", "plan", "Ruiz", "Ana",
         "she", "I", "you", "according", "to", "of", "as", "a", "“", "”", '"', ",", ".", ":", "Q", "A",
         "SMITH", "MR.", "\n", "\n\n", "on", "Monday", "was", "reckless", "after", "claim", "put", "it",
         "hoped", "asked", "if", "for", "found", "referred", "blamed", "by", "saying"]
POS = ["NOUN", "PROPN", "ADP", "VERB", "ADV", "AUX", "PART", "PRON", "DET", "PUNCT", "SCONJ", "ADJ", "SPACE"]
TAGS = ["NN", "NNP", "IN", "VBD", "VBG", "VBN", "VBZ", "RB", "DT", "PRP", ",", "''", "JJ", "_SP"]
DEPS = ["ROOT", "nsubj", "nsubjpass", "dobj", "prep", "pobj", "compound", "ccomp", "xcomp", "advcl", "acl",
        "relcl", "conj", "pcomp", "oprd", "appos", "mark", "attr", "npadvmod", "advmod", "punct", "det",
        "poss", "parataxis", "aux", "neg", "agent", "auxpass"]
TEXT = st.lists(st.sampled_from(list("ab AB:.,;\n\"“”«»'-—QSMITH") + ["said ", "Ruiz ", "MR. ", "Calling ",
                                                                     "that ", "\n\n", "SMITH: ", "Q: "]),
                max_size=80).map("".join)


@pytest.fixture(scope="module")
def blank():
    return spacy.blank("en")


@st.composite
def parses(draw, vocab):
    n = draw(st.integers(1, 16))
    words = [draw(st.sampled_from(WORDS)) for _ in range(n)]
    # a random forest: tokens join in a random order, each headed by one that joined before it or by
    # itself (a self-headed root, at any position; several roots make several sentences)
    order = draw(st.permutations(range(n)))
    heads = list(range(n))
    for k, i in enumerate(order):
        if k and not draw(st.integers(0, 4)) == 0:
            heads[i] = order[draw(st.integers(0, k - 1))]
    try:
        doc = Doc(vocab, words=words, spaces=[draw(st.booleans()) for _ in range(n)], heads=heads,
                  deps=[draw(st.sampled_from(DEPS)) for _ in range(n)],
                  pos=[draw(st.sampled_from(POS)) for _ in range(n)],
                  tags=[draw(st.sampled_from(TAGS)) for _ in range(n)],
                  lemmas=[w.lower() for w in words])
    except ValueError:  # spaCy refuses some head layouts (a cycle without a root): not parses
        return None
    ents = []
    for i, tok in enumerate(doc):
        if tok.pos_ == "PROPN" and draw(st.booleans()):
            ents.append({"text": tok.text, "start": tok.idx, "end": tok.idx + len(tok), "label": "PERSON",
                         "canonical": tok.text})
    doc._.stancekit_entities = ents
    if draw(st.booleans()) and len(doc.text) > 1:
        a = draw(st.integers(0, len(doc.text) - 1))
        doc._.stancekit_title = (a, draw(st.integers(a + 1, len(doc.text))))
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_quote_finder_ends_on_random_parses(blank, data):
    doc = data.draw(parses(blank.vocab))
    assume(doc is not None)
    finder = QuoteFinder(blank)
    with deadline(5, "a quote-stage loop"):
        quotes = finder.find(doc)
        for tok in doc:
            left_subject(tok)
            subject(tok)
            finite_acl(tok)
    text = doc.text
    for q in quotes:
        assert 0 <= q.start <= q.end <= len(text) and q.text == text[q.start:q.end]


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_text_functions_end(text):
    with deadline(5, "a quote-stage loop"):
        spans, _ = pair_quote_marks(text)
        span = title_span(text)
        turns = transcript_turns(text, span)
        starts = paragraph_starts(text)
    for i in starts:  # the first character after a run of white space that holds a line break
        assert 0 < i < len(text) and not text[i].isspace() and "\n" in text[len(text[:i].rstrip()):i]
    for s in spans:
        assert 0 <= s.open_at < s.start <= s.end <= s.close_at < len(text)
    for t in turns:
        assert t.start <= t.end and "\n" not in text[t.start:t.end]


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_paragraph_marks_start_sentences_at_paragraphs_only(text):
    doc = spacy.blank("en")(text)
    mark_paragraphs(doc)
    starts = set(paragraph_starts(text))
    for tok in doc:
        if tok.is_sent_start and tok.i > 0:
            assert tok.idx in starts


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(TEXT)
def test_real_pipeline_ends_on_random_text(nlp, text):
    span = title_span(text)
    with deadline(20, "a quote-stage loop"):
        doc = nlp(apply_title_span(nlp.make_doc(text), span)) if span else nlp(text)
    for q in doc._.stancekit_quotes:
        assert q["text"] == text[q["start"]:q["end"]]
