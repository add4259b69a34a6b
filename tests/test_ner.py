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


def test_mislabelled_person_in_title_appositive_joins_surname_and_gets_role(nlp):
    text = ("The union's general secretary, Marcus Reyes, spoke at the rally. "
            "Reyes said the operator planned to cut jobs. "
            "The trial's principal investigator, Dr. Marta Villanueva, said the vaccine worked.")
    doc = nlp(text)
    speakers = {q["speaker"]["name"]: q["speaker"] for q in doc._.stancekit_quotes if q["speaker"]}
    assert "Marcus Reyes" in speakers and "Reyes" not in speakers
    assert speakers["Marcus Reyes"]["label"] == "PERSON"
    assert speakers["Marcus Reyes"]["role"] == "General Secretary"
    assert speakers["Marta Villanueva"]["role"] == "Principal Investigator"  # not the honorific "Dr."


def test_an_entity_with_nothing_to_name_is_skipped(nlp):
    # "Mr. ." can be tagged as an entity; its canonical text is empty, which once failed the document (E120)
    doc = nlp("Mr. . said")
    assert all(e["canonical"] for e in doc._.stancekit_entities)
