"""NER stage: titled names, clustering of mentions and canonical names."""

from __future__ import annotations

from stancekit.ner import canonical_text, title_before


def test_canonical_text_strips_article_and_possessive():
    assert canonical_text("The Colombian Embassy") == "Colombian Embassy"
    assert canonical_text("Petro’s") == "Petro"
    assert canonical_text("  the   U.N. ") == "U.N."


def test_title_before(nlp):
    doc = nlp.make_doc("Defense Minister Pedro Sánchez spoke.")
    assert title_before(doc, 2) == (0, 2)
    assert title_before(doc, 1) is None


def test_surname_joins_full_name_cluster(nlp):
    doc = nlp("President Gustavo Petro spoke on Monday. Later, Petro said the plan had failed.")
    ents = doc._.stancekit_entities
    petro = [e for e in ents if e["text"] in ("Gustavo Petro", "Petro")]
    assert len(petro) == 2
    assert {e["canonical"] for e in petro} == {"Gustavo Petro"}
    assert all(doc.text[e["start"]:e["end"]] == e["text"] for e in ents)


def test_name_after_title_is_person(nlp):
    doc = nlp("Cali Mayor Alejandro Éder travelled north.")
    rec = [e for e in doc._.stancekit_entities if e["canonical"] == "Alejandro Éder"]
    assert rec and rec[0]["label"] == "PERSON"
