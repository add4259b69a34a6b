"""Every loop over the parse ends: self-headed roots anywhere, random heads, a real fragment parse."""

import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc

from timeouts import deadline
from stancekit.syntax import left_subject

POS = ["NOUN", "PROPN", "ADP", "VERB", "ADV", "AUX", "PART", "PRON", "DET", "PUNCT"]
DEPS = ["ROOT", "nsubj", "dobj", "prep", "pobj", "compound", "ccomp", "advmod", "punct", "det"]


@pytest.fixture(scope="module")
def vocab():
    return spacy.blank("en").vocab


def test_noun_root_before_the_verb_ends(vocab):
    # "Senator Smith took aides to task": the parser makes the name the root and the verb its child
    words = ["Senator", "Smith", "took", "aides", "to", "task"]
    doc = Doc(vocab, words=words, heads=[1, 1, 1, 2, 2, 4], deps=["compound", "ROOT", "acl", "dobj", "prep", "pobj"],
              pos=["PROPN", "PROPN", "VERB", "NOUN", "ADP", "NOUN"], sent_starts=[True] + [False] * 5)
    with deadline(5, "a parse loop"):
        subj = left_subject(doc[2])
    assert subj is not None and subj.text == "Smith"


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_random_parses_end(vocab, data):
    n = data.draw(st.integers(1, 14))
    heads = [data.draw(st.integers(0, n - 1)) for _ in range(n)]
    pos = [data.draw(st.sampled_from(POS)) for _ in range(n)]
    deps = [data.draw(st.sampled_from(DEPS)) for _ in range(n)]
    try:
        doc = Doc(vocab, words=[f"w{i}" for i in range(n)], heads=heads, deps=deps, pos=pos)
    except ValueError:  # spaCy refuses some head layouts (cycles without a root); those are not parses
        return
    with deadline(5, "a parse loop"):
        for tok in doc:
            left_subject(tok)


@pytest.mark.slow
def test_real_fragment_parse_runs_through_the_quote_stage():
    from stancekit.ner import load_spacy

    nlp = load_spacy(None)
    if "stancekit_entities" not in nlp.pipe_names:
        nlp.add_pipe("stancekit_entities")
    if "stancekit_quotes" not in nlp.pipe_names:
        nlp.add_pipe("stancekit_quotes")
    text = ("Council Budget Chair Under Fire\n\nLocal Parents Take Board to Task for Cuts\n\n"
            "Parents took the school board to task for the cuts on Tuesday, and the chair said, "
            "\"We will listen.\"")
    with deadline(30, "a parse loop"):
        doc = nlp(text)
    assert doc._.stancekit_quotes is not None
