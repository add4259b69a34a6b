"""Stage components on hand-built Docs: no statistical model, so the rules alone are tested."""

import pytest
import spacy
from spacy.tokens import Doc


@pytest.fixture(scope="module")
def blank():
    nlp = spacy.blank("en")
    nlp.add_pipe("stancekit_entities")
    nlp.add_pipe("stancekit_quotes")
    return nlp


def _doc(nlp, rows, ents):
    """rows: (word, space_after, head, dep, pos, lemma); heads are absolute token indexes."""
    words, spaces, heads, deps, pos, lemmas = map(list, zip(*rows))
    sent_starts = [True] + [None] * (len(words) - 1)
    return Doc(nlp.vocab, words=words, spaces=spaces, heads=heads, deps=deps, pos=pos, lemmas=lemmas,
               ents=ents, sent_starts=sent_starts)


def _run(nlp, doc):
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    return doc


def test_direct_quote_with_title_speaker(blank):
    rows = [("“", False, 3, "punct", "PUNCT", "“"), ("We", True, 3, "nsubj", "PRON", "we"),
            ("will", True, 3, "aux", "AUX", "will"), ("win", False, 6, "ccomp", "VERB", "win"),
            (",", False, 3, "punct", "PUNCT", ","), ("”", True, 6, "punct", "PUNCT", "”"),
            ("said", True, 6, "ROOT", "VERB", "say"), ("Mayor", True, 9, "compound", "PROPN", "Mayor"),
            ("Ana", True, 9, "compound", "PROPN", "Ana"), ("Ruiz", False, 6, "nsubj", "PROPN", "Ruiz"),
            (".", False, 6, "punct", "PUNCT", ".")]
    ents = ["O"] * 8 + ["B-PERSON", "I-PERSON", "O"]
    doc = _run(blank, _doc(blank, rows, ents))
    assert doc.text == "“We will win,” said Mayor Ana Ruiz."
    (q,) = doc._.stancekit_quotes
    assert (q["kind"], q["text"], q["cue"]["text"]) == ("direct", "We will win", "said")
    assert q["speaker"]["name"] == "Ana Ruiz"
    assert q["speaker"]["role"] == "Mayor"
    assert q["speaker"]["resolution"] == "title"


def test_surname_mention_joins_full_name_and_takes_its_label(blank):
    rows = [("Gustavo", True, 1, "compound", "PROPN", "Gustavo"), ("Petro", True, 2, "nsubj", "PROPN", "Petro"),
            ("spoke", False, 2, "ROOT", "VERB", "speak"), (".", True, 2, "punct", "PUNCT", "."),
            ("Petro", True, 5, "nsubj", "PROPN", "Petro"), ("left", False, 5, "ROOT", "VERB", "leave"),
            (".", False, 5, "punct", "PUNCT", ".")]
    ents = ["B-PERSON", "I-PERSON", "O", "O", "B-GPE", "O", "O"]
    doc = _doc(blank, rows, ents)
    doc = _run(blank, doc)
    recs = doc._.stancekit_entities
    assert [(r["text"], r["label"], r["canonical"]) for r in recs] == [
        ("Gustavo Petro", "PERSON", "Gustavo Petro"), ("Petro", "PERSON", "Gustavo Petro")]
    for r in recs:
        assert doc.text[r["start"]:r["end"]] == r["text"]


def test_unbalanced_mark_on_a_doc_without_parse_is_a_warning_not_an_error(blank):
    doc = blank("He said “this never closes and nothing else follows")
    doc = _run(blank, doc)  # no parser: no sentences, no dependencies
    assert doc._.stancekit_quotes == []
    assert {w["code"] for w in doc._.stancekit_warnings} & {"W003", "W004"}
