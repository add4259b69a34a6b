"""The batched inference engine: every transformer stage runs through :class:`InferenceEngine`.

What it does for a list of inputs (single texts or (text, text) pairs):

* identical inputs are computed once;
* inputs are tokenised once, in windows of ``window`` items: the next window is tokenised on a
  worker thread while the model runs the current one;
* each window is sorted by length and cut into *token-budget* batches
  (``batch_len × longest ≤ max_tokens``), each padded only to its own longest item (dynamic padding);
* the next batch is collated (and pinned, on CUDA) on a worker thread while the model runs the current one;
* the model runs under ``torch.inference_mode()`` with bf16/fp16 autocast on CUDA and bf16 autocast on
  CPUs that compute bf16 natively (``precision="auto"``; ``"fp32"`` or ``STANCEKIT_PRECISION=fp32`` for
  bit-exact fp32; ``"int8"`` quantises the linear layers for CPU inference), pinned memory and
  non-blocking copies (:mod:`stancekit.device`); on CPU the token budget is capped at
  ``device.CPU_MAX_TOKENS``;
* a batch that runs out of memory is split in two and retried, down to single items: no item is lost;
* outputs come back in the original order.

The engine wraps a Hugging Face model, it does not subclass it; ``head`` turns the model output of
a batch into one numpy row per input (logits, or mean-pooled normalised embeddings).

Inputs that are already tensors (the fused stance reader reads an encoder's hidden states, not text) go
through :meth:`InferenceEngine.run_prepared`: the same token-budget batches, inference mode, autocast and
out-of-memory halving, with a caller's ``collate`` in place of the tokenizer.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence, Union

import numpy as np

from . import device as dev

Input = Union[str, tuple]


def logits_head(outputs, batch) -> "np.ndarray":
    return outputs.logits.float().cpu().numpy()


def token_logits_head(outputs, batch) -> list:
    """Per-token logits of each input, without its padding (token classification)."""
    logits = outputs.logits.float().cpu().numpy()
    lengths = batch["attention_mask"].sum(1).cpu().numpy()
    return [logits[i, : int(n)] for i, n in enumerate(lengths)]


def mean_pool(hidden, attention_mask):
    """Mean of ``hidden`` (batch × tokens × dim) over the real tokens of ``attention_mask``."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def mean_pool_head(outputs, batch) -> "np.ndarray":
    """Mean of the last hidden states over real tokens, L2-normalised (sentence embeddings)."""
    import torch

    pooled = mean_pool(outputs.last_hidden_state.float(), batch["attention_mask"])
    return torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy()


def vector_and_states_head(layer: int) -> Callable:
    """A head giving, for each input, its sentence embedding (as :func:`mean_pool_head`) and the hidden
    states after ``layer`` of its real tokens (float16, tokens × dim); the engine must run the model with
    ``output_hidden_states=True``."""

    def head(outputs, batch) -> list:
        vecs = mean_pool_head(outputs, batch)
        states = outputs.hidden_states[layer].float().cpu().numpy().astype(np.float16)
        lengths = batch["attention_mask"].sum(1).cpu().numpy()
        return [(v, states[i, : int(n)]) for i, (v, n) in enumerate(zip(vecs, lengths))]

    return head


@dataclass
class EngineStats:
    items: int = 0
    unique: int = 0
    batches: int = 0
    oom_splits: int = 0
    padded_tokens: int = 0
    real_tokens: int = 0


class InferenceEngine:
    """Run a Hugging Face model over many inputs fast, in bounded memory (see the module doc)."""

    def __init__(self, model, tokenizer, *, device="auto", max_tokens: int = 16384, max_batch: int = 256,
                 max_length: int = 256, head: Callable = logits_head, threads: int | None = None,
                 overlap: bool = True, window: int = 4096, precision: str | None = None,
                 model_kwargs: dict | None = None):
        self.device = dev.resolve_device(device, threads=threads) if isinstance(device, str) or device is None \
            else device
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        # on CPU the budget is capped: smaller batches pad less and run faster there
        self.max_tokens = min(max_tokens, dev.CPU_MAX_TOKENS) if self.device.type == "cpu" else max_tokens
        self.precision = precision or dev.default_precision()
        #: what the forward passes really run in (``fp32``, ``bf16``, ``fp16`` or ``int8``)
        self.compute_precision = dev.effective_precision(self.device, self.precision)
        if self.compute_precision == "int8":
            self.model = dev.quantize_int8(self.model)
        self.max_batch = max_batch
        self.max_length = max_length
        self.head = head
        self.model_kwargs = dict(model_kwargs or {})  # e.g. ``output_hidden_states=True`` for a head that reads them
        self.overlap = overlap
        self.window = max(1, int(window))
        self.stats = EngineStats()
        self._fail_hook: Callable[[int], None] | None = None  # tests inject OOM here

    # -- public ----------------------------------------------------------------------------------
    def run(self, inputs: Sequence[Input], *, stack: bool = True):
        """Outputs for ``inputs`` (one row each, original order).

        With ``stack=False`` a list of per-input arrays is returned instead of one array, for heads
        whose rows differ in shape (per-token logits of a token classifier).
        """
        if len(inputs) == 0:
            return np.zeros((0, 0), dtype=np.float32) if stack else []
        index: dict = {}
        order = []
        unique: list[Input] = []
        for item in inputs:
            key = item if isinstance(item, str) else tuple(item)
            if key not in index:
                index[key] = len(unique)
                unique.append(item)
            order.append(index[key])
        self.stats.items += len(inputs)
        self.stats.unique += len(unique)
        results: list = [None] * len(unique)
        windows = [list(range(s, min(s + self.window, len(unique)))) for s in range(0, len(unique), self.window)]
        if not self.overlap:
            for win in windows:
                encoded = self._tokenize([unique[i] for i in win])
                collate = functools.partial(self._collate, encoded)
                for idx in self.plan_batches([len(ids) for ids in encoded["input_ids"]]):
                    self._run_batch(idx, collate(idx), collate, results, win)
        else:
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="stancekit-engine") as pool:
                next_tok = pool.submit(self._tokenize, [unique[i] for i in windows[0]])
                for w, win in enumerate(windows):
                    encoded = next_tok.result()
                    if w + 1 < len(windows):  # tokenise the next window while this one computes
                        next_tok = pool.submit(self._tokenize, [unique[i] for i in windows[w + 1]])
                    batches = self.plan_batches([len(ids) for ids in encoded["input_ids"]])
                    collate = functools.partial(self._collate, encoded)
                    future = pool.submit(collate, batches[0])
                    for k, idx in enumerate(batches):
                        batch = future.result()
                        if k + 1 < len(batches):  # collate the next batch while this one computes
                            future = pool.submit(collate, batches[k + 1])
                        self._run_batch(idx, batch, collate, results, win)
        if not stack:
            return [results[k] for k in order]
        out = np.stack(results)
        return out[np.asarray(order)]

    def run_prepared(self, lengths: Sequence[int], collate: Callable[[list[int]], dict]) -> np.ndarray:
        """Outputs (one row each, original order) for inputs that need no tokenizer: ``lengths`` gives each
        input's token count (for the batch plan) and ``collate(idx)`` the model's keyword arguments (a dict
        of tensors) for the inputs at ``idx``. The model is called as ``model(**batch)`` and ``head(outputs,
        batch)`` makes the rows, as in :meth:`run`."""
        if len(lengths) == 0:
            return np.zeros((0, 0), dtype=np.float32)
        self.stats.items += len(lengths)
        self.stats.unique += len(lengths)
        results: list = [None] * len(lengths)
        order = list(range(len(lengths)))
        for idx in self.plan_batches(lengths):
            self._run_batch(idx, collate(idx), collate, results, order)
        return np.stack(results)

    def plan_batches(self, lengths: Sequence[int]) -> list[list[int]]:
        """Longest first, each batch under the token budget and the item cap."""
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        batches: list[list[int]] = []
        current: list[int] = []
        longest = 0
        for i in order:
            new_longest = max(longest, lengths[i])
            if current and (new_longest * (len(current) + 1) > self.max_tokens or len(current) >= self.max_batch):
                batches.append(current)
                current, new_longest = [], lengths[i]
            current.append(i)
            longest = new_longest
        if current:
            batches.append(current)
        return batches

    # -- internals -------------------------------------------------------------------------------
    def _tokenize(self, items: list[Input]) -> dict:
        if isinstance(items[0], str):
            return self.tokenizer(list(items), truncation=True, max_length=self.max_length)
        first = [a for a, _ in items]
        second = [b for _, b in items]
        return self.tokenizer(first, second, truncation="longest_first", max_length=self.max_length)

    def _collate(self, encoded: dict, idx: list[int]) -> dict:
        feats = [{k: encoded[k][i] for k in encoded.keys()} for i in idx]
        batch = dict(self.tokenizer.pad(feats, padding=True, return_tensors="pt"))
        n_real = sum(len(f["input_ids"]) for f in feats)
        self.stats.real_tokens += n_real
        self.stats.padded_tokens += batch["input_ids"].numel() - n_real
        return dev.pin(batch, self.device)

    def _forward(self, batch: dict) -> np.ndarray:
        import torch

        if self._fail_hook is not None:
            self._fail_hook(len(next(iter(batch.values()))))
        batch = dev.to_device(batch, self.device)
        with torch.inference_mode(), dev.autocast(self.device, self.precision):
            outputs = self.model(**batch, **self.model_kwargs)
        return self.head(outputs, batch)

    def _run_batch(self, idx: list[int], batch: dict, collate: Callable[[list[int]], dict], results: list,
                   win: list[int]) -> None:
        """Run one batch and store its rows at ``results[win[i]]``; on out-of-memory, halve it (``collate``
        rebuilds each half) and retry, down to single items."""
        try:
            out = self._forward(batch)
        except Exception as exc:
            if not dev.is_oom(exc) or len(idx) == 1:
                raise
            dev.empty_cache(self.device)
            self.stats.oom_splits += 1
            half = len(idx) // 2
            for part in (idx[:half], idx[half:]):
                self._run_batch(part, collate(part), collate, results, win)
            return
        self.stats.batches += 1
        for row, i in zip(out, idx):
            results[win[i]] = row


def check_safetensors_only(source: str) -> None:
    """Refuse a local model folder whose weights are only pickle files (``*.bin``, ``*.pt``, ``*.pth``)."""
    from pathlib import Path

    from .errors import Errors, StancekitError

    path = Path(source)
    if path.is_dir() and not any(path.glob("*.safetensors")) and \
            any(any(path.glob(pat)) for pat in ("*.bin", "*.pt", "*.pth", "*.ckpt")):
        raise StancekitError(Errors.E011, path=path)


def load_hf(source: str, *, task: str = "sequence-classification", num_labels: int | None = None):
    """Load a tokenizer and model from a hub id, a local folder or a known offline copy
    (:func:`stancekit.sources.resolve_source`): safetensors only, no remote code.

    SDPA attention is asked for (BERT, RoBERTa, ModernBERT have it) and eager attention used where a
    model has none (DeBERTa). ``num_labels`` puts a fresh classification head on an encoder.
    """
    from transformers import (AutoModel, AutoModelForSequenceClassification, AutoModelForTokenClassification,
                              AutoTokenizer)
    from transformers.utils import logging as hf_logging

    from .errors import Errors, StancekitError
    from .sources import resolve_source

    source = resolve_source(source)
    check_safetensors_only(source)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    cls = {"sequence-classification": AutoModelForSequenceClassification,
           "token-classification": AutoModelForTokenClassification}.get(task, AutoModel)
    extra = {"num_labels": num_labels} if num_labels else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        try:
            model = cls.from_pretrained(source, use_safetensors=True, trust_remote_code=False,
                                        attn_implementation="sdpa", **extra)
        except (ValueError, ImportError):  # the architecture has no SDPA path
            model = cls.from_pretrained(source, use_safetensors=True, trust_remote_code=False, **extra)
    except Exception as exc:
        raise StancekitError(Errors.E010, source=source, detail=str(exc).splitlines()[0][:300]) from exc
    return tokenizer, model
