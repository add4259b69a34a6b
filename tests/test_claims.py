"""Claim stage: features and the check-worthiness head (pure functions), claim records on small texts
parsed with the ``nlp`` fixture, the evaluation and the NewsClaims converter, and the seed article."""

from __future__ import annotations

import json

import pytest

from stancekit.claims import (DEFAULT_HEAD, FEATURES, ClaimDetector, claim_kind, claim_units,
                              find_claims, load_training_data, sentence_features, train_default_head)
from stancekit.errors import StancekitError
from stancekit.evaluate.claims import evaluate_claims, newsclaims_to_gold, same_name, same_quantity
from stancekit.records import validate
from tests.conftest import SEED

STATISTICS = [
    "Hospital admissions for asthma rose by 28 percent in the winter of 2023.",
    "The port shipped 1.9 million containers last year, up from 1.4 million in 2019.",
    "Only 9 of the 31 bridges inspected in March met the safety standard.",
]
NOT_CLAIMS = [
    "“I just want my family to be safe,” said a mother of three waiting outside.",
    "The square was quiet in the evening light as pigeons gathered near the fountain.",
    "We should all be ashamed of how this city treats its poorest residents.",
]


@pytest.fixture(scope="module")
def detector() -> ClaimDetector:
    return ClaimDetector()


# -- features and the head ---------------------------------------------------------------------------

def test_features_read_numbers_comparisons_and_hedges():
    f = dict(zip(FEATURES, sentence_features("Exports fell 40% in 2023, the lowest level since 1990.")))
    assert f["has_digit"] == 1.0 and f["percent"] == 1.0 and f["year"] > 0 and f["superlative"] > 0
    assert f["change"] > 0 and f["hedge"] == 0
    g = dict(zip(FEATURES, sentence_features("I think we should be proud of our city, don't you?")))
    assert g["has_digit"] == 0 and g["hedge"] > 0 and g["first_person"] > 0 and g["question"] == 1.0
    # "one of the most" is not a number
    assert dict(zip(FEATURES, sentence_features("one of the most violent towns")))["number_words"] == 0
    h = dict(zip(FEATURES, sentence_features("“As the deadline approaches, the capital holds its breath.")))
    assert h["scene"] == 1.0 and h["analysis"] == 0
    k = dict(zip(FEATURES, sentence_features("The row underscored how fragile the truce has long been.")))
    assert k["scene"] == 0.0 and k["analysis"] > 0
    assert dict(zip(FEATURES, sentence_features("As prices rose 5% in May, sales fell.")))["scene"] == 0.0


def test_shipped_head_separates_statistics_from_opinion_and_scene(detector):
    scores = detector.score_sentences(STATISTICS + NOT_CLAIMS)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert min(scores[:3]) > 0.5 > max(scores[3:])
    assert detector.predict(STATISTICS[:1] + NOT_CLAIMS[:1]) == [True, False]
    assert detector.score_sentences([]) == []


def test_shipped_head_is_json_and_rebuilds_deterministically(tmp_path):
    shipped = json.loads(DEFAULT_HEAD.read_text(encoding="utf-8"))
    assert shipped["features"] == list(FEATURES)
    assert shipped["cv"]["f1"] >= 0.85
    card = train_default_head(tmp_path / "head.json")
    rebuilt = json.loads((tmp_path / "head.json").read_text(encoding="utf-8"))
    assert rebuilt == shipped
    assert card["n"] == len(load_training_data()[0]) >= 300


def test_training_data_is_balanced_and_unique():
    texts, labels = load_training_data()
    assert len(texts) == len(set(texts))
    assert 0.4 < sum(labels) / len(labels) < 0.6


def test_train_save_and_reload_give_the_same_scores(tmp_path):
    texts = STATISTICS + ["Sales doubled to 4 million units in 2022.", "Prices rose 7% in May."] + \
        NOT_CLAIMS + ["What a wonderful evening it was.", "She smiled and waved at the crowd."]
    labels = [1] * 5 + [0] * 5
    det = ClaimDetector.train(texts, labels, threshold=0.6)
    path = det.save(tmp_path / "tiny.json")
    again = ClaimDetector(head_path=path, threshold=0.6)
    probe = ["Profits rose 12% in 2021.", "It was a lovely day."]
    assert again.score_sentences(probe) == det.score_sentences(probe)
    a, b = again.score_sentences(probe)
    assert a > b


def test_bad_inputs_raise_coded_errors(tmp_path):
    with pytest.raises(StancekitError) as exc:
        ClaimDetector(threshold=1.5)
    assert exc.value.code == "E012"
    with pytest.raises(StancekitError) as exc:
        ClaimDetector.train(["a b c", "d e f"], [1, 1])
    assert exc.value.code == "E012"
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}', encoding="utf-8")
    with pytest.raises(StancekitError) as exc:
        ClaimDetector(head_path=bad)
    assert exc.value.code == "E010"
    with pytest.raises(StancekitError) as exc:
        ClaimDetector(head_path=tmp_path / "missing.json")
    assert exc.value.code == "E010"


def test_claim_kind():
    assert claim_kind("Exports fell 40%.", [{"unit": "percent", "value": 40}]) == "statistic"
    assert claim_kind("It was the deadliest storm on record.", []) == "comparison"
    assert claim_kind("The fire was caused by a faulty cable.", []) == "causal"
    assert claim_kind("The plant will open next spring.", []) == "prediction"
    assert claim_kind("The treaty was signed in 1987.", [{"unit": "year", "value": 1987, "date": "1987"}]) == "event"
    assert claim_kind("The mood was tense.", []) == "other"


# -- records on parsed text --------------------------------------------------------------------------

ARTICLE = (
    "Sales of new cars dropped by 30 percent in 2023, the steepest fall since 2009.\n"
    "“We seized 40 tonnes of cocaine in 2023,” Police Chief Ana Ruiz said.\n"
    "According to the World Bank, poverty fell to 12 percent in 2023.\n"
    "The square was quiet in the evening light as pigeons gathered near the fountain.\n"
)


def test_find_claims_records(nlp, detector):
    doc = nlp(ARTICLE)
    claims = find_claims(doc, doc_id="d1", ref_date="2024-05-01", detector=detector)
    by_text = {c["text"]: c for c in claims}
    assert set(by_text) == {
        "Sales of new cars dropped by 30 percent in 2023, the steepest fall since 2009.",
        "We seized 40 tonnes of cocaine in 2023",  # the words inside the marks
        "According to the World Bank, poverty fell to 12 percent in 2023.",
    }
    author = by_text["Sales of new cars dropped by 30 percent in 2023, the steepest fall since 2009."]
    assert author["claimer"] == {"name": None, "kind": "author"}
    assert author["kind"] == "statistic" and author["sentence"] == 0
    assert [(q["value"], q["unit"], q["approx"]) for q in author["quantities"]] == \
        [(30, "percent", "exact"), (2023, "year", "exact"), (2009, "year", "exact")]
    quoted = by_text["We seized 40 tonnes of cocaine in 2023"]
    assert quoted["claimer"]["name"] == "Ana Ruiz" and quoted["claimer"]["kind"] == "speaker"
    sourced = by_text["According to the World Bank, poverty fell to 12 percent in 2023."]
    assert sourced["claimer"]["name"] == "World Bank"
    assert {"name": "World Bank", "label": "ORG"} in sourced["entities"]
    for c in claims:
        assert c["claim_id"] == f"d1#c{c['start']}-{c['end']}"
        assert ARTICLE[c["start"]:c["end"]] == c["text"]
        assert c["stances"] == [] and 0.5 <= c["checkworthiness"] <= 1
        for q in c["quantities"]:
            assert ARTICLE[q["start"]:q["end"]] == q["text"]
        assert validate(c, "claim") == [], validate(c, "claim")


def test_min_score_and_default_detector(nlp):
    doc = nlp(ARTICLE)
    assert find_claims(doc, doc_id="d1", min_score=1.01) == []
    everything = find_claims(doc, doc_id="d1", min_score=0.0)
    assert len(everything) == 4


def test_units_split_at_line_breaks_and_semicolons(nlp):
    text = ("FILE/Handout\nThe mayor resigned in 2019 after an audit; his deputy took over the same week.\n"
            "Short one.")
    doc = nlp(text)
    units = [text[a:b] for a, b, _ in claim_units(doc)]
    assert units == ["The mayor resigned in 2019 after an audit", "his deputy took over the same week."]


def test_schema_rejects_unknown_fields():
    record = {"doc_id": "d", "claim_id": "d#c0-5", "text": "abcde", "start": 0, "end": 5,
              "claimer": {"name": None, "kind": "author"}, "quantities": [], "entities": [],
              "checkworthiness": 0.7, "stances": []}
    assert validate(record, "claim") == []
    assert validate(dict(record, schema_version="claim.v1"), "claim") != []
    assert validate(dict(record, kind="rumour"), "claim") != []


# -- evaluation --------------------------------------------------------------------------------------

def test_name_and_quantity_matching():
    assert same_name(None, None) and not same_name(None, "Ana Ruiz")
    assert same_name("the World Bank", "World Bank") and same_name("Ana Ruiz", "Ruiz")
    assert not same_name("Ana Ruiz", "Luis Mendoza")
    gold = {"value": 850, "unit": "tonne", "approx": "approximate"}
    assert same_quantity(gold, {"value": 850.0, "unit": "tonne", "approx": "approximate"})
    assert not same_quantity(gold, {"value": 850, "unit": "tonne", "approx": "exact"})
    assert same_quantity(gold, {"value": 850, "unit": "tonne", "approx": "exact"}, approx=False)


def _gold_corpus(tmp_path):
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "d1.txt").write_text(ARTICLE, encoding="utf-8")
    claims = [
        {"text": "Sales of new cars dropped by 30 percent in 2023", "claimer": None,
         "quantities": [{"text": "30 percent", "value": 30, "unit": "percent", "approx": "exact"},
                        {"text": "2023", "value": 2023, "unit": "year", "approx": "exact"}]},
        {"text": "We seized 40 tonnes of cocaine in 2023", "claimer": "Ana Ruiz",
         "quantities": [{"text": "40 tonnes", "value": 40, "unit": "tonne", "approx": "approximate"}]},
        {"text": "pigeons gathered near the fountain", "claimer": None, "quantities": []},
    ]
    for c in claims:
        c["start"] = ARTICLE.index(c["text"])
        c["end"] = c["start"] + len(c["text"])
    rows = [{"doc_id": "d1", "quotes": [], "claims": claims}, {"doc_id": "absent", "claims": []}]
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return gold


def test_evaluate_claims(tmp_path, nlp):
    gold = _gold_corpus(tmp_path)
    m = evaluate_claims(gold, tmp_path / "articles", nlp=nlp)
    assert m["missing_articles"] == ["absent"] and m["documents"] == 1
    assert (m["n_gold"], m["n_pred"]) == (3, 3)
    # 2 of 3 predictions share a sentence with gold (the World Bank one does not); 2 of 3 gold found
    assert m["claims"] == {"precision": 0.6667, "recall": 0.6667, "f1": 0.6667}
    assert m["claimer"]["accuracy"] == 1.0 and m["claimer"]["n"] == 2
    # 3 gold quantities, "40 tonnes" is annotated approximate on purpose: 2 of 3 right
    assert m["quantities"]["accuracy"] == 0.6667 and m["quantities"]["value_unit_accuracy"] == 1.0
    with pytest.raises(StancekitError):
        evaluate_claims(tmp_path / "nope.jsonl", tmp_path, nlp=nlp)


def test_newsclaims_converter(tmp_path, nlp):
    sents = ["Officials met on Monday.", "Cases rose by 40 percent in a week, the WHO said.",
             "Masks cut transmission by half, according to a new study."]
    text = "Officials met on Monday.  Cases rose by 40 percent in a week, the WHO said.\n" \
           "Masks cut transmission by half, according to a new study."
    src = tmp_path / "nc"
    (src / "text").mkdir(parents=True)
    (src / "text" / "doc 1.txt").write_text(text, encoding="utf-8")
    (src / "all_sents.json").write_text(json.dumps({"doc 1": sents}), encoding="utf-8")
    gold = {"doc 1": {"1": {"sentence": sents[1], "has_claimer": True, "claimer": "WHO",
                            "claimer_in_sentence": True, "claim_span": [0, 33], "stance": "affirm"},
                      "2": {"sentence": sents[2], "has_claimer": False, "claimer": "<AUTHOR>"}}}
    (src / "dev.json").write_text(json.dumps(gold), encoding="utf-8")
    out = newsclaims_to_gold(src / "dev.json", src / "all_sents.json", tmp_path / "out", text_dir=src / "text")
    row = json.loads(out.read_text(encoding="utf-8"))
    assert row["doc_id"] == "doc_1"
    article = (tmp_path / "out" / "articles" / "doc_1.txt").read_text(encoding="utf-8")
    assert article == text
    c1, c2 = row["claims"]
    assert article[c1["start"]:c1["end"]] == sents[1] and c1["claimer"] == "WHO"
    assert c2["text"] == sents[2] and c2["claimer"] is None
    assert c1["newsclaims"]["stance"] == "affirm"
    spans = newsclaims_to_gold(src / "dev.json", src / "all_sents.json", tmp_path / "out2",
                               text_dir=src / "text", span="claim_span")
    assert json.loads(spans.read_text(encoding="utf-8"))["claims"][0]["text"] == "Cases rose by 40 percent in a week"
    m = evaluate_claims(out, tmp_path / "out" / "articles", nlp=nlp)
    assert m["n_gold"] == 2 and m["quantities"]["n_gold"] == 0


# -- the seed article --------------------------------------------------------------------------------

@pytest.mark.skipif(not SEED.exists(), reason="seed article not available")
def test_seed_article_claims(nlp, detector):
    text = SEED.read_text(encoding="utf-8")
    claims = find_claims(nlp(text), doc_id="seed", ref_date="2025-09-01", detector=detector)

    def claim_with(fragment: str) -> dict:
        hits = [c for c in claims if fragment in c["text"]]
        assert len(hits) == 1, (fragment, [c["text"] for c in claims])
        return hits[0]

    seized = claim_with("some 850 tonnes")
    assert {(q["value"], q["unit"], q["approx"]) for q in seized["quantities"]} >= {
        (850, "tonne", "approximate"), (2024, "year", "exact"), (2, None, "upper_bound"), (5, "year", "exact")}
    assert next(q for q in seized["quantities"] if q["text"] == "five years")["date"] == "2020"
    coca = claim_with("250,000 hectares")
    assert (250000, "hectare", "lower_bound") in {(q["value"], q["unit"], q["approx"]) for q in coca["quantities"]}
    decertified = claim_with("in 1996")
    assert (1996, "year", "exact") in {(q["value"], q["unit"], q["approx"]) for q in decertified["quantities"]}
    for c in (seized, coca, decertified):
        assert c["claimer"] == {"name": None, "kind": "author"}
        assert c["checkworthiness"] >= 0.85
    assert seized["kind"] == coca["kind"] == "statistic" and decertified["kind"] == "event"
    # the rest of a 2,000-word article: a few extras, no flood
    assert len(claims) <= 8
    # scene-setting and interpretation are not claims, dates and decades notwithstanding
    for fragment in ("As September 15 approaches", "a relic of the drug wars", "The standoff escalated"):
        assert not any(fragment in c["text"] for c in claims), fragment
    # opinion and quoted warnings are not claims
    assert not any("reward the criminals" in c["text"] for c in claims)


def test_train_claims_command_writes_a_head_the_pipeline_config_can_use(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from stancekit.config import load_config

    rows = [{"text": t, "label": 1} for t in STATISTICS + ["Sales doubled to 4 million units in 2022.",
                                                           "Prices rose 7% in May."]]
    rows += [{"text": t, "label": 0} for t in NOT_CLAIMS + ["What a wonderful evening it was.",
                                                          "She smiled and waved at the crowd."]]
    data = tmp_path / "claims.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    exe = Path(sys.executable).with_name("stancekit")
    out = tmp_path / "head.json"
    res = subprocess.run([str(exe), "train", "claims", "--data", str(data), "--out", str(out)],
                         capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert res.returncode == 0, res.stderr
    card = json.loads(res.stdout)
    assert card["n"] == 10 and card["positives"] == 5 and 0.0 <= card["cv"]["f1"] <= 1.0
    det = ClaimDetector(head_path=out)
    a, b = det.score_sentences(["Profits rose 12% in 2021.", "It was a lovely day."])
    assert a > 0.5 > b
    # the trained head is selected by configuration
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[claims]\nmodel = "{out}"\n', encoding="utf-8")
    assert load_config(cfg).claims_model == str(out)
    # bad training data: a coded error, no traceback
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"sentence": "no text key"}\n', encoding="utf-8")
    res = subprocess.run([str(exe), "train", "claims", "--data", str(bad), "--out", str(tmp_path / "x.json")],
                         capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert res.returncode == 2 and "E012" in res.stderr and "Traceback" not in res.stderr


def test_claimer_of_according_to_and_by_his_account(nlp):
    from stancekit.claims import claimer_of

    text = ("President Gustavo Petro spoke on Monday. It is, by his own account, the country that pays the highest "
            "price in the drug war. By the ministry's account, 40 soldiers died. Exports rose 5%, according to the "
            "central bank. Exports rose 5% in May.")
    doc = nlp(text)

    def claimer(fragment: str) -> dict:
        a = text.index(fragment)
        return claimer_of(doc, a, text.index(".", a + 8) + 1)

    assert claimer("It is,")["name"] == "Gustavo Petro" and claimer("It is,")["kind"] == "source"
    assert claimer("By the ministry")["name"] == "ministry"
    assert claimer("Exports rose 5%,")["name"] == "central bank"
    assert claimer("Exports rose 5% in") == {"name": None, "kind": "author"}
