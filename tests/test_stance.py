"""Stance backends on tiny models, speaker aggregation, data readers and evaluation metrics."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from stancekit.errors import StancekitError
from stancekit.targets import LABELS, Target
from tiny_models import build_classifier, tiny_classifier, tiny_encoder, tiny_nli  # noqa: F401  (fixtures)

TARGET = Target(id="certification", name="certification", aliases=["certification", "decertify"],
                keywords=["coca"])


def inputs():
    from stancekit.stance import StanceInput

    return [StanceInput(text="we support certification", target=TARGET, speaker="the minister"),
            StanceInput(text="the football match was lost", target=TARGET),
            StanceInput(text="coca farmers will lose", target=TARGET, context="decertify colombia")]


def check_results(results, n):
    assert len(results) == n
    for r in results:
        assert r["label"] in LABELS
        assert abs(sum(r["probs"].values()) - 1.0) < 1e-3
        assert r["score"] == max(r["probs"].values())
        assert 0.0 <= r["relevance"] <= 1.0


def test_classifier_backend_runs_on_tiny_model(tiny_classifier):  # noqa: F811
    from stancekit.stance import get_backend

    be = get_backend("classifier", model=str(tiny_classifier), device="cpu")
    check_results(be.predict(inputs()), 3)
    assert be.predict([]) == []
    assert be.describe() == {"backend": "classifier", "model": str(tiny_classifier),
                             "precision": be.engine.compute_precision}
    assert be.engine.compute_precision in ("fp32", "bf16")


def test_classifier_with_unmappable_labels_is_refused(tmp_path):
    from stancekit.stance import get_backend

    folder = build_classifier(tmp_path / "m", labels=("LABEL_0", "LABEL_1", "LABEL_2"))
    with pytest.raises(StancekitError) as err:
        get_backend("classifier", model=str(folder), device="cpu")
    assert err.value.code == "E010"


def test_nli_backend_runs_on_tiny_model(tiny_nli):  # noqa: F811
    from stancekit.stance import get_backend

    be = get_backend("nli", model=str(tiny_nli), device="cpu")
    assert be.entail == 0
    check_results(be.predict(inputs()), 3)


def test_ensemble_averages_fewshot_and_classifier(tiny_encoder, tiny_classifier, general_file, tmp_path,  # noqa: F811
                                                   monkeypatch):
    from stancekit.stance import ClassifierBackend, FewShotBackend, get_backend

    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache"))
    be = get_backend("ensemble", model=str(tiny_classifier), encoder=str(tiny_encoder), device="cpu",
                     general_data=str(general_file))
    got = be.predict(inputs())
    check_results(got, 3)
    fs = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file)).predict(inputs())
    ce = ClassifierBackend(str(tiny_classifier), device="cpu").predict(inputs())
    for g, a, b in zip(got, fs, ce):
        for lab in LABELS:
            assert g["probs"][lab] == pytest.approx((a["probs"][lab] + b["probs"][lab]) / 2, abs=2e-4)
        assert g["relevance"] == max(a["relevance"], b["relevance"])
    assert [m["backend"] for m in be.describe()["members"]] == ["fewshot", "classifier"]
    assert be.predict([]) == []


def test_pipeline_builds_the_ensemble_from_config(tiny_encoder, tiny_classifier):  # noqa: F811
    import stancekit
    from stancekit.ner import load_spacy

    pipe = stancekit.load(nlp=load_spacy(), backend="ensemble", stance_model=str(tiny_classifier),
                          stance_encoder=str(tiny_encoder), device="cpu")
    fewshot, classifier = pipe.backend.members
    assert fewshot.encoder.source == str(tiny_encoder) and classifier.source == str(tiny_classifier)


def test_ensemble_without_a_model_is_a_coded_error():
    from stancekit.stance import get_backend

    with pytest.raises(StancekitError) as err:
        get_backend("ensemble", device="cpu")
    assert err.value.code == "E012"


def test_unknown_backend():
    from stancekit.stance import get_backend

    with pytest.raises(StancekitError) as err:
        get_backend("magic")
    assert err.value.code == "E006"


@pytest.fixture()
def general_file(tmp_path):
    rows = []
    for topic in ("nuclear power", "the minimum wage", "climate change"):
        rows += [{"target": topic, "text": f"i support {topic} it is good", "label": "favor"},
                 {"target": topic, "text": f"i oppose {topic} it is terrible", "label": "against"},
                 {"target": topic, "text": f"the vote on {topic} is tomorrow", "label": "neutral"}]
    path = tmp_path / "general.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_fewshot_head_is_cached_on_disk_and_shared(tiny_encoder, general_file, tmp_path, monkeypatch):  # noqa: F811
    from stancekit.stance import FewShotBackend

    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache"))
    be = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file))
    check_results(be.predict(inputs()), 3)
    other = Target.adhoc("nuclear power")
    be.predict([inputs()[0].__class__(text="nuclear power is bad", target=other)])
    heads = sorted(p.name for p in (tmp_path / "cache").glob("head-*.npz"))
    assert len(heads) == 1 and heads[0].startswith("head-general-")  # targets without examples share a head
    with np.load(tmp_path / "cache" / heads[0], allow_pickle=False) as data:
        assert set(data.files) == {"coef", "intercept", "classes", "temperature"}
    own = Target(id="t2", name="certification", aliases=["certification"],
                 examples=[{"text": "we support certification", "label": "favor"}])
    be.predict([inputs()[0].__class__(text="certification now", target=own)])
    assert any(p.name.startswith("head-t2-") for p in (tmp_path / "cache").glob("*.npz"))
    again = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file))
    assert again.predict(inputs()) == be.predict(inputs())


class CountingEncoder:
    """Stands in for ``backend.encoder.encode``: counts the strings it is asked to encode."""

    def __init__(self, encode):
        self.encode, self.calls, self.strings = encode, 0, 0

    def __call__(self, texts):
        self.calls += 1
        self.strings += len(texts)
        return self.encode(texts)


def test_fewshot_head_cache_hit_encodes_nothing(tiny_encoder, general_file, tmp_path, monkeypatch):  # noqa: F811
    from stancekit.stance import FewShotBackend

    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache"))
    own = Target(id="t2", name="certification", aliases=["certification"],
                 examples=[{"text": "we support certification", "label": "favor"}])
    first = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file))
    miss = CountingEncoder(first.encoder.encode)
    first.encoder.encode = miss
    first.head_for(TARGET)
    first.head_for(own)
    assert miss.strings > 0  # a miss encodes the general set (and the target's examples)
    again = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file))
    hit = CountingEncoder(again.encoder.encode)
    again.encoder.encode = hit
    for target in (TARGET, own):
        head = again.head_for(target)
        assert head.coef.shape == first.head_for(target).coef.shape
    assert hit.calls == 0  # both heads read from the disk cache: nothing encoded
    # other training data: a miss again
    changed = tmp_path / "general2.jsonl"
    changed.write_text(general_file.read_text() + json.dumps(
        {"target": "taxes", "text": "taxes are theft", "label": "against"}) + "\n")
    other = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(changed))
    assert other.head_key(TARGET) != again.head_key(TARGET)


def test_fewshot_cache_keys_tell_same_named_encoder_folders_apart(general_file, tmp_path, monkeypatch):
    from stancekit.stance import FewShotBackend, StanceInput, encoder_identity
    from tiny_models import build_encoder

    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache"))
    a = build_encoder(tmp_path / "a" / "model", seed=0)
    b = build_encoder(tmp_path / "b" / "model", seed=1)
    assert encoder_identity(str(a)) != encoder_identity(str(b))
    be_a = FewShotBackend(str(a), device="cpu", general_data=str(general_file))
    be_b = FewShotBackend(str(b), device="cpu", general_data=str(general_file))
    assert be_a.head_key(TARGET) != be_b.head_key(TARGET)
    x = [StanceInput(text="we support certification", target=TARGET)]
    be_a.predict(x)
    be_b.predict(x)
    heads = sorted(p.name for p in (tmp_path / "cache").glob("head-general-*.npz"))
    assert heads == sorted(f"head-general-{be.head_key(TARGET)}.npz" for be in (be_a, be_b))  # one head each


def test_stance_backend_and_claims_detector_share_one_loaded_encoder(general_file, tmp_path, monkeypatch):
    from stancekit.claims import ClaimDetector
    from stancekit.stance import Encoder, FewShotBackend, shared_encoder
    from tiny_models import build_encoder

    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache"))
    a = build_encoder(tmp_path / "a" / "model", seed=0)
    b = build_encoder(tmp_path / "b" / "model", seed=1)
    backend = FewShotBackend(str(a), device="cpu", general_data=str(general_file))
    params = {"format": "stancekit.claims_head.v2", "features": [], "coef": [], "intercept": 0.0,
              "embedding": {"encoder": str(a), "dim": 32, "coef": [0.0] * 32}}
    detector = ClaimDetector(params=params, device="cpu")
    assert detector.encoder is backend.encoder  # one copy of the weights in the process
    assert shared_encoder(str(b), device="cpu") is not backend.encoder  # other weights, other encoder
    texts = ["we support certification", "The port strike entered its third day."]
    alone = Encoder(str(a), device="cpu")  # loaded on its own: the same vectors
    assert np.array_equal(backend.encoder.encode(texts), alone.encode(texts))


def test_fewshot_reuses_a_given_vector_of_the_same_encoder(tiny_encoder, general_file, tmp_path, monkeypatch):  # noqa: F811
    """A claim's embedding from the claims stage stands in for encoding it again, and only where it is
    the vector of the text as read, from the same encoder."""
    from stancekit.stance import FewShotBackend, StanceInput

    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache"))
    be = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file))
    texts = ["Exports fell by 12 percent last year.", "we support certification"]
    plain = [StanceInput(text=t, target=TARGET) for t in texts]
    expected = be.predict(plain)
    vecs = be.encoder.encode(texts)
    counter = CountingEncoder(be.encoder.encode)
    monkeypatch.setattr(be.encoder, "encode", counter)
    given = [StanceInput(text=t, target=TARGET, vector=v, vector_key=be.encoder.key) for t, v in zip(texts, vecs)]
    assert be.predict(given) == expected
    assert counter.strings == 0  # nothing encoded: both vectors were used
    other_key = [StanceInput(text=texts[0], target=TARGET, vector=vecs[1], vector_key="another|fp32"), given[1]]
    assert be.predict(other_key)[0] == expected[0]  # a vector from another encoder is not used ...
    assert counter.strings == 1  # ... its text is encoded
    wrong_vector = np.zeros_like(vecs[0])
    short = StanceInput(text="the plan had failed", target=TARGET, vector=wrong_vector, vector_key=be.encoder.key,
                        context="Talks resumed. The minister denied that the plan had failed. Officials left.")
    reread = StanceInput(text=short.text, target=TARGET, context=short.context)
    assert be.predict([short]) == be.predict([reread])  # read in its sentence: the span's vector does not fit


def test_old_heads_without_temperature_still_load(tmp_path):
    from stancekit.stance import LinearHead

    path = tmp_path / "old.npz"
    np.savez(path, coef=np.eye(3, 4), intercept=np.zeros(3), classes=np.array(["against", "favor", "neutral"]))
    head = LinearHead.load(path)
    assert head.temperature == 1.0
    p = head.proba(np.array([[0.0, 5.0, 0.0, 0.0]]))  # class 1 of the head = favor
    assert p.shape == (1, 3) and int(np.argmax(p[0])) == LABELS.index("favor")


def test_heads_are_saved_whole_under_their_name(tmp_path):
    """The cache is shared by processes: a head is written under a temporary name, then renamed."""
    from stancekit.stance import LinearHead

    head = LinearHead(np.eye(3, 4), np.zeros(3), ["against", "favor", "neutral"], 2.0)
    path = tmp_path / "head-x.npz"
    head.save(path)
    head.save(path)  # a second writer of the same head replaces it
    assert [p.name for p in tmp_path.iterdir()] == ["head-x.npz"]
    again = LinearHead.load(path)
    assert again.temperature == 2.0 and np.array_equal(again.coef, head.coef)


def test_short_span_is_read_in_its_sentence_with_the_cue():
    from stancekit.stance import StanceInput, stance_text

    ctx = "Talks resumed on Monday. The minister denied that the plan had failed. Officials left."
    x = StanceInput(text="the plan had failed", target=TARGET, context=ctx)
    assert stance_text(x) == "The minister denied that the plan had failed."
    long = StanceInput(text=" ".join(["word"] * 30), target=TARGET, context="x " + " ".join(["word"] * 30))
    assert stance_text(long) == long.text
    cue = StanceInput(text="the plan had failed", target=TARGET, speaker="Ana", cue="denied")
    assert stance_text(cue) == "Ana denied that the plan had failed"


def test_propositions_get_agree_disagree_hypotheses():
    from stancekit.stance import hypothesis_texts, is_proposition

    assert is_proposition("the minimum wage should rise") and not is_proposition("the minimum wage")
    assert hypothesis_texts("the minimum wage should rise")[0] == "I agree that the minimum wage should rise."
    assert hypothesis_texts("nuclear power")[:2] == ["I support nuclear power.", "I am against nuclear power."]


def test_unrelated_text_is_pulled_to_neutral(tiny_encoder, general_file):  # noqa: F811
    from stancekit.stance import FewShotBackend, StanceInput

    be = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file), use_cache=False,
                        rel_low=2.0)  # no text is similar enough: relevance is lexical only
    res = be.predict([StanceInput(text="the football match was lost", target=TARGET)])[0]
    assert res["relevance"] == 0.0 and res["label"] == "neutral" and res["probs"]["neutral"] == 1.0
    hit = be.predict([StanceInput(text="we support certification", target=TARGET)])[0]
    assert hit["relevance"] == 0.9


def test_fewshot_without_any_examples_fails_clearly(tiny_encoder, tmp_path):  # noqa: F811
    from stancekit.stance import FewShotBackend, StanceInput

    be = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(tmp_path / "none.jsonl"), use_cache=False)
    with pytest.raises(StancekitError) as err:
        be.predict([StanceInput(text="x", target=TARGET)])
    assert err.value.code == "E004"


def test_aggregate_weights_quotes_and_lists_evidence():
    from stancekit.aggregate import aggregate
    from stancekit.stance import aggregate as same

    assert same is aggregate

    def st(label, p, rel):
        probs = {lab: (p if lab == label else (1 - p) / 2) for lab in LABELS}
        return [{"target": "certification", "label": label, "probs": probs, "relevance": rel}]

    quotes = [
        {"quote_id": "q1", "speaker": {"name": "Ana", "confidence": 0.9}, "stances": st("favor", 0.9, 0.9)},
        {"quote_id": "q2", "speaker": {"name": "Ana", "confidence": 0.9}, "stances": st("against", 0.6, 0.1)},
        {"quote_id": "q3", "speaker": {"name": "Bo", "confidence": 0.8}, "stances": st("neutral", 0.7, 0.0)},
        {"quote_id": "q4", "speaker": None, "stances": st("favor", 0.9, 0.9)},
        {"quote_id": "q5", "speaker": {"name": None, "confidence": 0.9}, "stances": st("favor", 0.9, 0.9)},
        {"quote_id": "q6", "speaker": {"name": "Cy", "confidence": 0.15}, "stances": st("favor", 0.9, 0.9)},
        {"quote_id": "q7", "speaker": {"name": "Bo", "confidence": 0.1}, "stances": st("favor", 0.99, 1.0)},
    ]
    speakers = {s["name"]: s for s in aggregate(quotes, [TARGET])}
    assert set(speakers) == {"Ana", "Bo"}  # no name, or a guess below the threshold: not aggregated
    assert speakers["Bo"]["quote_ids"] == ["q3"]
    assert "Cy" in {s["name"] for s in aggregate(quotes, [TARGET], min_confidence=0.1)}
    ana = speakers["Ana"]["stances"][0]
    assert ana["label"] == "favor" and ana["n_quotes"] == 2 and ana["evidence"] == ["q1", "q2"]
    bo = speakers["Bo"]["stances"][0]
    assert bo["label"] == "neutral" and bo["evidence"] == []  # zero relevance: no evidence, neutral


# -- readers -------------------------------------------------------------------------------------------

def test_semeval_reader_handles_cp1252_crlf_and_marker(tmp_path):
    from stancekit.evaluate.datasets import read_stance_data

    raw = "ID\tTarget\tTweet\tStance\r\n101\tAtheism\tGod is great \u2013 amen #SemST\tAGAINST\r\n" \
          "102\tAtheism\tno comment #SemST\tNONE\r\n"
    path = tmp_path / "s.txt"
    path.write_bytes(raw.encode("cp1252"))
    rows = read_stance_data(path, "semeval")
    assert [(r.id, r.label) for r in rows] == [("101", "against"), ("102", "neutral")]
    assert rows[0].text == "God is great \u2013 amen"


def test_vast_reader_maps_labels_and_splits(tmp_path):
    from stancekit.evaluate.datasets import read_stance_data

    path = tmp_path / "v.csv"
    path.write_text('Tweet,Target,Stance,seen?\n"a ""quoted"", text",nuclear power,0,0\nb,wage,1,1\nc,tax,2,0\n')
    rows = read_stance_data(path, "vast")
    assert [(r.id, r.label, r.split) for r in rows] == [(0, "against", "zero-shot"), (1, "favor", "few-shot"),
                                                       (2, "neutral", "zero-shot")]
    assert rows[0].text == 'a "quoted", text'


def test_unknown_format():
    from stancekit.evaluate.datasets import read_stance_data

    with pytest.raises(StancekitError) as err:
        read_stance_data("x", "csv")
    assert err.value.code == "E014"


# -- metrics -------------------------------------------------------------------------------------------

def test_metrics_by_hand():
    from stancekit.evaluate.stance import stance_metrics

    gold = ["favor", "favor", "against", "against", "neutral", "neutral"]
    pred = ["favor", "against", "against", "against", "favor", "neutral"]
    m = stance_metrics(gold, pred, ["A", "A", "A", "B", "B", "B"])
    # favor: tp 1, fp 1, fn 1 -> P = R = F = 0.5; against: tp 2, fp 1, fn 0 -> P 2/3, R 1, F 0.8
    # neutral: tp 1, fp 0, fn 1 -> P 1, R 0.5, F 2/3
    assert m["per_class"]["favor"]["f1"] == 0.5
    assert m["per_class"]["against"]["f1"] == 0.8
    assert m["per_class"]["neutral"]["f1"] == pytest.approx(0.6667, abs=1e-4)
    assert m["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3, abs=1e-4)
    assert m["f_avg"] == 65.0  # SemEval: (F_favor + F_against) / 2, x100
    assert m["accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert m["confusion"]["matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    # target A: gold f f a, pred f a a -> favor F 2/3, against F 2/3, neutral 0
    assert m["per_target"]["A"]["f_avg"] == pytest.approx(66.67, abs=0.01)
    assert m["per_target"]["B"]["n"] == 3


def test_calibration_metrics_by_hand():
    from stancekit.evaluate.stance import calibration_metrics

    def p(f, a, n):
        return {"favor": f, "against": a, "neutral": n}

    gold = ["favor", "against", "neutral", "favor"]
    probs = [p(0.9, 0.05, 0.05), p(0.6, 0.3, 0.1), p(0.2, 0.2, 0.6), p(0.65, 0.25, 0.1)]
    m = calibration_metrics(gold, probs)
    # bins of 0.1: [0.9, 1) holds row 0 (conf 0.9, right); [0.6, 0.7) rows 1-3 (conf 0.6, 0.6, 0.65; right 2 of 3)
    assert m["ece"] == pytest.approx((abs(1 - 0.9) + abs(2 - 1.85)) / 4, abs=1e-4)
    assert [(b["bin"], b["n"]) for b in m["reliability"]] == [([0.6, 0.7], 3), ([0.9, 1.0], 1)]
    assert m["reliability"][0]["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    brier = [0.01 + 0.0025 + 0.0025, 0.36 + 0.49 + 0.01, 0.04 + 0.04 + 0.16, 0.1225 + 0.0625 + 0.01]
    assert m["brier"] == pytest.approx(sum(brier) / 4, abs=1e-4)
    assert m["nll"] == pytest.approx(-(math.log(0.9) + math.log(0.3) + math.log(0.6) + math.log(0.65)) / 4, abs=1e-4)
    assert m["accuracy"] == 0.75 and m["mean_confidence"] == pytest.approx(0.6875, abs=1e-4)
    with pytest.raises(ValueError):
        calibration_metrics(gold, probs[:2])


class FixedBackend:
    """Predicts favor for texts containing 'yes', against for 'no', else neutral."""

    def describe(self):
        return {"backend": "fixed"}

    def predict(self, inputs):
        out = []
        for x in inputs:
            lab = "favor" if "yes" in x.text else "against" if "no" in x.text else "neutral"
            out.append({"label": lab, "score": 1.0, "probs": {k: float(k == lab) for k in LABELS}, "relevance": 1})
        return out


def test_evaluate_vast_splits_and_predictions_file(tmp_path):
    from stancekit.evaluate.stance import evaluate_stance

    path = tmp_path / "v.csv"
    path.write_text("Tweet,Target,Stance,seen?\nyes,t1,1,0\nno,t1,0,0\nmeh,t2,2,1\nyes,t2,0,1\n")
    out = tmp_path / "pred.jsonl"
    m = evaluate_stance(path, fmt="vast", backend_obj=FixedBackend(), predictions=out)
    assert m["splits"]["zero-shot"]["macro_f1"] == pytest.approx(2 / 3, abs=1e-4)  # neutral has no support
    assert m["splits"]["few-shot"]["n"] == 2 and m["splits"]["all"]["n"] == 4
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(x["id"], x["gold"], x["label"]) for x in lines] == [
        (0, "favor", "favor"), (1, "against", "against"), (2, "neutral", "neutral"), (3, "against", "favor")]
    assert lines[3]["target"] == "t2" and lines[3]["probs"] == {"favor": 1.0, "against": 0.0, "neutral": 0.0}
    # all-or-nothing probabilities, 3 of 4 right: ECE = |0.75 - 1| = 0.25; one row's Brier 2, its NLL -ln 1e-4
    assert m["calibration"]["ece"] == 0.25 and m["calibration"]["brier"] == 0.5
    assert m["calibration"]["nll"] == pytest.approx(math.log(1e4) / 4, abs=1e-4)


def test_evaluate_semeval_ids_and_shots(tmp_path):
    from stancekit.evaluate.stance import draw_shots, evaluate_stance
    from stancekit.evaluate.datasets import read_stance_data

    path = tmp_path / "s.txt"
    path.write_text("ID\tTarget\tTweet\tStance\n7\tX\tyes #SemST\tFAVOR\n9\tX\tno\tAGAINST\n11\tY\tmeh\tNONE\n")
    out = tmp_path / "p.jsonl"
    m = evaluate_stance(path, fmt="semeval", backend_obj=FixedBackend(), predictions=out)
    assert m["f_avg"] == 100.0 and m["macro_f1"] == 1.0
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["7", "9", "11"]
    shots = draw_shots(read_stance_data(path, "semeval"), {"X"}, 1)
    assert sorted(e["label"] for e in shots["X"]) == ["against", "favor"] and "Y" not in shots
    with pytest.raises(StancekitError):
        evaluate_stance(path, fmt="semeval", backend_obj=FixedBackend(), shots=2)  # --shots needs --train


def test_configured_target_needs_its_words_for_full_relevance(tiny_encoder, general_file):  # noqa: F811
    from stancekit.stance import SEMANTIC_CAP, FewShotBackend, StanceInput

    be = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file), use_cache=False,
                        rel_low=-1.0)  # every text counts as semantically similar
    plain = Target.adhoc("certification")
    configured = Target(id="c", name="certification", aliases=["certification"], keywords=["coca"])
    text = "the football match was lost"
    assert be.predict([StanceInput(text=text, target=plain)])[0]["relevance"] == 1.0
    assert be.predict([StanceInput(text=text, target=configured)])[0]["relevance"] == SEMANTIC_CAP
    assert be.predict([StanceInput(text="coca farmers", target=configured)])[0]["relevance"] == 0.5


def test_split_sentences():
    from stancekit.stance import split_sentences

    assert split_sentences("Taxes are high. Cut them! Why not? ok") == ["Taxes are high.", "Cut them!", "Why not?"]
    assert split_sentences("no end mark at all") == ["no end mark at all"]
    assert split_sentences("Hi.") == ["Hi."]  # nothing longer than 3 characters: the whole text


class _TableEngine:
    """Stands in for the inference engine: fixed unit vectors per text, and a record of what was run."""

    def __init__(self, table):
        self.table, self.calls = table, []

    def run(self, items):
        self.calls.append(list(items))
        return np.stack([self.table[x] for x in items]).astype(np.float32)


def test_focus_features_weigh_the_sentence_about_the_target():
    from stancekit.stance import FOCUS_TEMPERATURE, SIMILARITY_SCALE, focus_features

    on, off = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    engine = _TableEngine({"The dam will flood the valley.": on, "My cat sleeps all day.": off})
    v = np.array([[0.8, 0.6, 0.0]])  # the target is nearer the first sentence
    out = focus_features(engine, ["My cat sleeps all day. The dam will flood the valley."], v)
    assert out.shape == (1, 3 * 3 + 2)
    assert engine.calls == [["My cat sleeps all day.", "The dam will flood the valley."]]
    w = np.exp(np.array([0.6, 0.8]) / FOCUS_TEMPERATURE)
    w = w / w.sum()
    a = w[0] * off + w[1] * on
    a = a / np.linalg.norm(a)
    np.testing.assert_allclose(out[0, :3], a, rtol=1e-5)           # pooled toward the dam sentence
    assert out[0, 0] > 0.95
    np.testing.assert_allclose(out[0, 3:6], a * v[0], rtol=1e-5)
    np.testing.assert_allclose(out[0, 6:9], np.abs(a - v[0]), rtol=1e-5)
    np.testing.assert_allclose(out[0, 9:], [SIMILARITY_SCALE * 0.8, SIMILARITY_SCALE * 0.64], rtol=1e-5)


def test_shared_encodings_encode_each_text_once_per_block(tiny_encoder, monkeypatch):  # noqa: F811
    """Inside ``shared_encodings()`` a text met by an earlier call is not encoded again and gets the same vector;
    outside the block (or after it) every call encodes all its texts."""
    from stancekit.stance import Encoder, shared_encodings

    monkeypatch.setenv("STANCEKIT_PRECISION", "fp32")  # vectors comparable across batch shapes
    enc = Encoder(str(tiny_encoder), device="cpu")
    seen: list[list[str]] = []
    run = enc.engine.run
    monkeypatch.setattr(enc.engine, "run", lambda items, **kw: seen.append(list(items)) or run(items, **kw))
    first, second = ["the vote is tomorrow", "prices rose 4%"], ["prices rose 4%", "a new text", "a new text"]
    alone = enc.encode(second)
    seen.clear()
    with shared_encodings():
        enc.encode(first)
        with shared_encodings():  # a nested block shares the outer one's vectors
            shared = enc.encode(second)
        assert enc.encode(first).shape == (2, alone.shape[1])
    assert seen == [first, ["a new text"]]
    np.testing.assert_allclose(shared, alone, atol=1e-5)
    enc.encode(first)  # the block is over: encoded again
    assert seen[-1] == first
    assert enc.encode([]).size == 0


def test_negation_words_are_found():
    from stancekit.stance import negates

    assert negates("The minister denied that the plan had failed")
    assert negates("Unions say the reform won't help anyone")
    assert negates("She never backed the tax")
    assert not negates("The mayor praised the new bridge")
    assert not negates("Notably, the knot held")  # words are matched whole


def test_negation_lets_a_linear_head_turn_a_difference_around():
    """Texts whose favor-minus-against hypothesis similarity is the same, with the label flipped by a
    negation: only the negation columns of :func:`pair_features` let a linear head fit both."""
    from stancekit.stance import LinearHead, pair_features

    rng = np.random.default_rng(0)
    n, dim = 400, 8
    g = np.tile(np.eye(dim)[0], (n, 1))
    h = np.tile(np.stack([np.eye(dim)[1], -np.eye(dim)[1]] * 3), (n, 1, 1))  # favor / against hypotheses
    lean = rng.choice([-1.0, 0.0, 1.0], size=n)  # 0: about something else (neutral)
    t = np.eye(dim)[1] * lean[:, None] * 0.5 + rng.normal(0, 0.05, (n, dim))
    neg = rng.integers(0, 2, n).astype(np.float32)
    y = ["neutral" if lv == 0 else "favor" if (lv > 0) != bool(ng) else "against" for lv, ng in zip(lean, neg)]
    with_neg = LinearHead.fit(pair_features(t, g, h, neg), y, C=10.0)
    without = LinearHead.fit(pair_features(t, g, h), y, C=10.0)
    acc = lambda head, X: np.mean([LABELS[k] == lab for k, lab in zip(head.proba(X).argmax(1), y)])  # noqa: E731
    assert acc(with_neg, pair_features(t, g, h, neg)) > 0.95
    assert acc(without, pair_features(t, g, h)) < 0.75
    assert pair_features(t, g, h, neg).shape[1] == pair_features(t, g, h).shape[1]


def test_backend_options_are_decided_in_one_place():
    from stancekit.stance import backend_options

    assert backend_options("fewshot", encoder="enc", fused=False, model="m") == {"encoder": "enc", "fused": False}
    assert backend_options("ensemble", model="m") == {"encoder": None, "fused": True, "model": "m"}
    assert backend_options("nli", model="m", fused=False) == {"model": "m"}
    assert backend_options("classifier") == {}
    with pytest.raises(StancekitError) as err:  # an encoder the backend would not use is refused, not ignored
        backend_options("nli", encoder="all-mpnet-base-v2")
    assert err.value.code == "E012"
