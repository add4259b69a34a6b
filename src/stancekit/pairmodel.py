"""The pair-embedding stance model: an encoder with a linear head over the text's and target's embeddings.

``biencoder`` encodes text and target apart and classifies ``[u, v, u*v, |u-v|]`` of their normalised
mean-pooled embeddings (plus ``cos(u, v)`` and its square with ``similarity``, and the topic-focused
sentence features with ``focus``); ``hybrid`` adds the embedding of the pair encoded together. The
features are :func:`stancekit.stance.embedding_pair_features`, the same code the ``classifier``
backend runs at inference, so a trained folder predicts exactly what it was trained to.

This module imports torch at import time; only training imports it (lazily, from :mod:`stancekit.train`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from .engine import mean_pool


def head_width(hidden: int, arch: str, *, similarity: bool, focus: bool) -> int:
    """Input width of the linear head: 4 (5 for ``hybrid``) embeddings, +2 similarity, +3h+2 focus."""
    return hidden * (5 if arch == "hybrid" else 4) + (2 if similarity else 0) + (3 * hidden + 2 if focus else 0)


class PairEmbeddingClassifier(torch.nn.Module):
    """An encoder (``AutoModel`` from ``base``, safetensors only) with a dropout + linear head."""

    def __init__(self, base: str, arch: str, num_labels: int, *, similarity: bool = True, focus: bool = False):
        from transformers import AutoModel

        super().__init__()
        self.arch, self.similarity, self.focus = arch, similarity, focus
        self.encoder = AutoModel.from_pretrained(base, use_safetensors=True, trust_remote_code=False)
        width = head_width(self.encoder.config.hidden_size, arch, similarity=similarity, focus=focus)
        self.dropout = torch.nn.Dropout(0.1)
        self.head = torch.nn.Linear(width, num_labels)

    def tokenize(self, tokenizer, texts: Sequence[str], targets: Sequence[str], max_length: int,
                 device: torch.device) -> list[dict]:
        """Padded batches for the text, the target and (``hybrid``) the pair, on ``device``."""
        from . import device as dev_mod

        enc = [tokenizer(list(texts), truncation=True, max_length=max_length, padding=True, return_tensors="pt"),
               tokenizer(list(targets), truncation=True, max_length=max_length, padding=True, return_tensors="pt")]
        if self.arch == "hybrid":
            enc.append(tokenizer(list(texts), list(targets), truncation="longest_first", max_length=max_length,
                                 padding=True, return_tensors="pt"))
        return [dev_mod.to_device(dict(b), device) for b in enc]

    def embed(self, batch: dict) -> torch.Tensor:
        pooled = mean_pool(self.encoder(**batch).last_hidden_state.float(), batch["attention_mask"])
        return torch.nn.functional.normalize(pooled, dim=-1)

    def forward(self, texts: dict, targets: dict, pairs: dict | None = None) -> torch.Tensor:
        from .stance import embedding_pair_features

        p = self.embed(pairs) if pairs is not None else None
        feats = embedding_pair_features(self.embed(texts), self.embed(targets), p, similarity=self.similarity)
        return self.head(self.dropout(feats))

    @torch.no_grad()
    def fit_probe(self, tokenizer, rows, labels: Sequence[int], *, max_length: int, device: torch.device,
                  precision: str, c: float) -> dict:
        """Fit the head as a multinomial logistic regression on the frozen encoder's features, computed by
        the inference engine exactly as the classifier backend computes them (phase 1 of "linear probe,
        then fine-tune"). ``precision`` is a request (auto, fp32, bf16), as the engine accepts."""
        import numpy as np
        from sklearn.linear_model import LogisticRegression

        from .engine import InferenceEngine, mean_pool_head
        from .stance import embedding_features

        engine = InferenceEngine(self.encoder, tokenizer, device=device, max_length=max_length,
                                 head=mean_pool_head, precision=precision)
        X = embedding_features(engine, [(r.text, r.target) for r in rows], hybrid=self.arch == "hybrid",
                               similarity=self.similarity, focus=self.focus)
        y = np.asarray(labels)
        self.train()  # the engine put the encoder in eval mode
        if len(set(y.tolist())) < self.head.out_features:
            return {"fitted": False, "reason": "not every label occurs in the training data"}
        lr = LogisticRegression(C=c, max_iter=5000).fit(X, y)
        self.head.weight.copy_(torch.as_tensor(lr.coef_, dtype=self.head.weight.dtype))
        self.head.bias.copy_(torch.as_tensor(lr.intercept_, dtype=self.head.bias.dtype))
        return {"fitted": True, "C": c, "train_accuracy": round(float(lr.score(X, y)), 4)}

    def save(self, out: Path) -> None:
        """The encoder as a transformers folder and the head as ``PAIR_HEAD_FILE`` (safetensors, fp32)."""
        from safetensors.torch import save_file

        from .stance import PAIR_HEAD_FILE

        self.encoder.save_pretrained(out, safe_serialization=True)
        save_file({"weight": self.head.weight.detach().float().cpu().contiguous(),
                   "bias": self.head.bias.detach().float().cpu().contiguous()}, str(Path(out) / PAIR_HEAD_FILE))
