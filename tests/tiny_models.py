"""Tiny random-weight BERT models and a WordPiece tokenizer, built offline for engine and stance tests.

Import the fixtures into a test module (``from tiny_models import tiny_classifier``); each is built
once per session into a temporary folder with ``save_pretrained(safe_serialization=True)``.
"""

from __future__ import annotations

import string
from pathlib import Path

import pytest

WORDS = """the a an of to in and or is are was be not no we they he she it this that will would should must
support supports oppose opposes against favor neutral about speaker government colombia certification
decertify decertification coca cocaine traffickers farmers policy peace deal minister president said says
good bad great terrible agree disagree love hate i you our their plan law tax vote nuclear power climate
change wage minimum trade weather today tomorrow rain sun football match won lost""".split()


def build_tokenizer(folder: Path):
    """A lower-casing WordPiece tokenizer: specials, some words, single characters and ``##`` pieces."""
    from transformers import BertTokenizerFast

    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + chars + ["##" + c for c in chars]
    seen, uniq = set(), []
    for tok in vocab:
        if tok not in seen:
            seen.add(tok)
            uniq.append(tok)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(uniq) + "\n", encoding="utf-8")
    tok = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    tok.save_pretrained(folder)
    return tok


def _config(tokenizer, **kwargs):
    from transformers import BertConfig

    return BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=48, max_position_embeddings=128, hidden_dropout_prob=0.0,
                      attention_probs_dropout_prob=0.0, **kwargs)


def build_classifier(folder: Path, labels=("favor", "against", "neutral"), seed: int = 0) -> Path:
    import torch
    from transformers import BertForSequenceClassification

    tok = build_tokenizer(folder)
    torch.manual_seed(seed)
    cfg = _config(tok, num_labels=len(labels), id2label=dict(enumerate(labels)),
                  label2id={lab: i for i, lab in enumerate(labels)})
    BertForSequenceClassification(cfg).save_pretrained(folder, safe_serialization=True)
    return folder


def build_encoder(folder: Path, seed: int = 0) -> Path:
    import torch
    from transformers import BertModel

    tok = build_tokenizer(folder)
    torch.manual_seed(seed)
    BertModel(_config(tok)).save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory) -> Path:
    """A (text, target) → favor/against/neutral classifier with random weights."""
    return build_classifier(tmp_path_factory.mktemp("tiny-classifier"))


@pytest.fixture(scope="session")
def tiny_nli(tmp_path_factory) -> Path:
    """An MNLI-style model (entailment / neutral / contradiction) with random weights."""
    return build_classifier(tmp_path_factory.mktemp("tiny-nli"), labels=("entailment", "neutral", "contradiction"))


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """A sentence encoder (plain BertModel) with random weights."""
    return build_encoder(tmp_path_factory.mktemp("tiny-encoder"))
