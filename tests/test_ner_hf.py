"""The Hugging Face token-classification NER backend, on a tiny model built in the test."""

import pytest

from stancekit.ner import decode_bio
from tiny_models import _config, build_tokenizer

LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-ORG", 4: "I-ORG"}


def test_decode_bio_spans_word_pieces_and_specials():
    offsets = [(0, 0), (0, 5), (5, 8), (9, 14), (15, 17), (18, 22), (23, 26), (0, 0)]
    # [CLS] Pedro ##Sán chez said the UN [SEP]   (piece offsets as a fast tokenizer gives them)
    labels = [0, 1, 2, 2, 0, 0, 3, 0]
    assert decode_bio(offsets, labels, LABELS) == [(0, 14, "PERSON"), (23, 26, "ORG")]


def test_decode_bio_is_lenient_and_splits_types():
    offsets = [(0, 3), (4, 7), (8, 11), (12, 15)]
    assert decode_bio(offsets, [2, 2, 4, 1], LABELS) == [(0, 7, "PERSON"), (8, 11, "ORG"), (12, 15, "PERSON")]
    plain = {0: "O", 1: "PER", 2: "LOC"}
    assert decode_bio(offsets, [1, 1, 0, 2], plain) == [(0, 7, "PERSON"), (12, 15, "LOC")]


@pytest.fixture(scope="module")
def tiny_token_classifier(tmp_path_factory):
    """A token classifier whose head always says I-PER (zero weights, one large bias)."""
    import torch
    from transformers import BertForTokenClassification

    folder = tmp_path_factory.mktemp("tiny-ner")
    tok = build_tokenizer(folder)
    cfg = _config(tok, num_labels=len(LABELS), id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    model = BertForTokenClassification(cfg)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([0.0, 0.0, 10.0, 0.0, 0.0]))
    model.save_pretrained(folder, safe_serialization=True)
    return folder


def test_hf_ner_component_sets_entities_per_sentence_window(tiny_token_classifier):
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    comp = nlp.add_pipe("stancekit_hf_ner", config={"model": str(tiny_token_classifier), "device": "cpu",
                                                      "window_chars": 20})
    text = "the minister said no. the farmers said yes."
    doc = nlp(text)
    # every token is I-PER: one entity per window, and each window is one sentence here
    assert [(e.text, e.label_) for e in doc.ents] == [("the minister said no.", "PERSON"),
                                                      ("the farmers said yes.", "PERSON")]
    docs = list(comp.pipe([nlp.make_doc(text), nlp.make_doc("")]))
    assert len(docs) == 2 and list(docs[1].ents) == []


@pytest.mark.slow
def test_pipeline_uses_hf_ner_from_config(tiny_token_classifier):
    import stancekit
    from stancekit.ner import load_spacy

    pipe = stancekit.load(nlp=load_spacy(), ner_model=str(tiny_token_classifier), device="cpu", claims=False)
    assert pipe.nlp.pipe_names.index("stancekit_hf_ner") < pipe.nlp.pipe_names.index("stancekit_entities")
    res = pipe("Ana Ruiz spoke. “We will win,” she said.", doc_id="x")
    assert res.document["entities"] and all(e["label"] == "PERSON" for e in res.document["entities"])


def test_bin_only_model_is_refused(tmp_path):
    import spacy

    from stancekit.errors import StancekitError

    (tmp_path / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(StancekitError) as exc:
        spacy.blank("en").add_pipe("stancekit_hf_ner", config={"model": str(tmp_path)})
    assert exc.value.code == "E011"
