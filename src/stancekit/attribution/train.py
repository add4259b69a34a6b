"""``stancekit train quotes``: fine-tune a token tagger (BIO over source / cue / content).

Windows of every training document (:mod:`.data`) are shuffled, grouped by length into batches
(:func:`stancekit.train.bucketed_batches`) and trained by the shared loop
(:func:`stancekit.trainloop.train_loop`: AdamW, linear warm-up/decay, clipping, mixed precision:
bf16 autocast where the CPU or GPU computes it natively, fp16 with a gradient scaler on older GPUs).
The output folder describes itself: ``model.safetensors``, ``config.json`` (with the label map), the
tokenizer, ``stancekit_tagger.json`` (labels, window settings, data, dev metrics, versions, timings)
and a model card ``README.md``.
"""

from __future__ import annotations

import json
import math
import platform
import random
import time
from pathlib import Path
from typing import Callable, Sequence

from ..errors import Errors, StancekitError
from .data import LABELS, ROLES, AttributionDoc, encode_document, read_documents
from ..train import bucketed_batches

TRIM = " \t\n\r.,;:!?\"'“”‘’«»()[]—–-―"



def _collate(feats: list[dict], pad_id: int):
    import torch

    n = max(len(f["input_ids"]) for f in feats)
    ids = torch.full((len(feats), n), pad_id, dtype=torch.long)
    labels = torch.full((len(feats), n), -100, dtype=torch.long)
    mask = torch.zeros((len(feats), n), dtype=torch.long)
    for i, f in enumerate(feats):
        k = len(f["input_ids"])
        ids[i, :k] = torch.tensor(f["input_ids"])
        labels[i, :k] = torch.tensor(f["labels"])
        mask[i, :k] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def train_precision(device, precision: str | None) -> str:
    """What the training forward passes run in: ``fp32``, ``bf16`` or ``fp16`` (CUDA without bf16).
    ``precision`` is a request: auto, fp32 or bf16 (see :func:`stancekit.device.effective_precision`)."""
    from .. import device as dev

    return dev.effective_precision(device, dev.check_precision(precision or dev.default_precision()))


def train_tagger(data: str | Path, *, fmt: str = "polnear", base: str, out: str | Path,
                 dev: str | Path | None = None, dev_fmt: str | None = None, epochs: float = 1.0,
                 batch_size: int = 16, lr: float = 5e-5, max_length: int = 256, stride: int = 64,
                 device: str = "auto", precision: str | None = None, seed: int = 13,
                 threads: int | None = None, limit: int | None = None, time_budget_min: float | None = None,
                 layers: int | None = None, paragraphs: bool = False,
                 progress: Callable[[dict], None] | None = None, log_every: int = 20) -> dict:
    """Train a tagger on ``data`` and write it to ``out`` (see the module doc). Returns the metadata.

    The optimisation is :func:`stancekit.trainloop.train_loop` (the loop stance training uses).
    ``time_budget_min`` stops training after that many minutes (the card says how far it got); the
    learning rate then decays to 0 with the time as well as with the steps.
    """
    import torch

    from .. import device as devmod
    from ..engine import load_hf
    from ..sources import resolve_source
    from ..trainloop import LoopConfig, train_loop

    out = Path(out)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    dev_device = devmod.resolve_device(device, threads=threads)
    request = devmod.check_precision(precision or devmod.default_precision())
    docs = read_documents(data, fmt, limit)
    if not docs:
        raise StancekitError(Errors.E001, path=data)
    tokenizer, model = load_hf(resolve_source(base), task="token-classification", num_labels=len(LABELS))
    base_layers = keep_layers(model, layers) if layers is not None else None
    model.config.id2label = dict(enumerate(LABELS))
    model.config.label2id = {lab: i for i, lab in enumerate(LABELS)}
    feats = [f for d in docs for f in encode_document(tokenizer, d, max_length=max_length, stride=stride,
                                                        paragraphs=paragraphs)]
    lengths = [len(f["input_ids"]) for f in feats]
    model.to(dev_device)
    steps_per_epoch = math.ceil(len(feats) / batch_size)
    total = max(1, int(round(steps_per_epoch * epochs)))
    pad_id = tokenizer.pad_token_id or 0
    epoch_times: list[float] = []
    seen_tokens = [0]

    def epoch_batches():
        t_epoch = time.perf_counter()
        yield from bucketed_batches(lengths, batch_size, rng)
        epoch_times.append(round(time.perf_counter() - t_epoch, 1))

    def loss_fn(idx: list[int]):
        batch = devmod.to_device(_collate([feats[i] for i in idx], pad_id), dev_device)
        seen_tokens[0] += int(batch["attention_mask"].sum())
        return model(**batch).loss

    def report(p: dict) -> None:
        if progress is not None:
            progress(dict(p, tokens_per_s=round(seen_tokens[0] / max(p["elapsed_s"], 1e-9), 1)))

    loop = train_loop(model, epoch_batches, loss_fn,
                      LoopConfig(total_steps=total, lr=lr, warmup=0.06, weight_decay=0.01, log_every=log_every,
                                 time_budget_s=60 * time_budget_min if time_budget_min else None),
                      device=dev_device, precision=request, progress=report)
    train_s = loop.seconds
    step = loop.steps
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.bin"):
        stale.unlink()
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    meta = {
        "kind": "stancekit-quote-tagger", "labels": list(LABELS), "max_length": max_length, "stride": stride,
        "paragraph_windows": paragraphs, "base": str(base),
        "layers": {"kept": model.config.num_hidden_layers, "of": base_layers} if base_layers else None,
        "data": {"path": str(data), "format": fmt, "documents": len(docs), "windows": len(feats),
                 "tokens": sum(lengths)},
        "training": {"epochs": epochs, "steps": step, "total_steps": total, "batch_size": batch_size, "lr": lr,
                     "seed": seed, "device": str(dev_device), "precision": loop.compute_precision,
                     "threads": torch.get_num_threads(), "seconds": round(train_s, 1),
                     "tokens_per_s": round(seen_tokens[0] / max(train_s, 1e-9), 1),
                     "seconds_per_epoch": round(train_s / max(step / steps_per_epoch, 1e-9), 1),
                     "epoch_seconds": epoch_times, "final_loss": loop.recent_loss(),
                     "stopped_early": loop.stopped},
        "versions": _versions(),
    }
    _write_meta(out, meta)
    if dev is not None:
        meta["dev"] = evaluate_tagger(out, dev, fmt=dev_fmt or fmt, device=device)
        _write_meta(out, meta)
    return meta


def keep_layers(model, n: int) -> int:
    """Cut a Hugging Face encoder model down to its first ``n`` transformer layers, in place, and set
    ``config.num_hidden_layers`` so that the saved folder reloads at that depth. Returns the depth it
    had. E012 when ``n`` is not between 1 and that depth or the model's layer list cannot be found."""
    import torch

    encoder = getattr(model.base_model, "encoder", None)
    stack = next((getattr(encoder, name) for name in ("layer", "layers")
                  if isinstance(getattr(encoder, name, None), torch.nn.ModuleList)), None)
    if stack is None:
        raise StancekitError(Errors.E012, name="layers",
                             detail=f"no encoder layer list found in {type(model.base_model).__name__}")
    depth = len(stack)
    if not 1 <= n <= depth:
        raise StancekitError(Errors.E012, name="layers", detail=f"{n} (the base has {depth} layers)")
    del stack[n:]
    model.config.num_hidden_layers = n
    return depth


def _write_meta(out: Path, meta: dict) -> None:
    (out / "stancekit_tagger.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").write_text(model_card(meta), encoding="utf-8")


def _versions() -> dict:
    import torch
    import transformers

    from .. import __version__

    return {"stancekit": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
            "python": platform.python_version()}


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a] in TRIM:
        a += 1
    while b > a and text[b - 1] in TRIM:
        b -= 1
    return a, b


def span_scores(docs: Sequence[AttributionDoc], predicted: Sequence[Sequence]) -> dict:
    """Exact-match P/R/F1 per role of the tagger's own spans (trimmed of punctuation and spaces)."""
    out = {}
    for role in ROLES:
        tp = n_pred = n_gold = 0
        for d, spans in zip(docs, predicted):
            gold = {_trim(d.text, s.start, s.end) for s in d.spans if s.role == role}
            pred = {_trim(d.text, s.start, s.end) for s in spans if s.role == role}
            tp, n_pred, n_gold = tp + len(gold & pred), n_pred + len(pred), n_gold + len(gold)
        p = tp / n_pred if n_pred else 0.0
        r = tp / n_gold if n_gold else 0.0
        out[role] = {"precision": round(p, 4), "recall": round(r, 4),
                     "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0, "gold": n_gold, "pred": n_pred}
    return out


def evaluate_tagger(model_dir: str | Path, data: str | Path, *, fmt: str = "polnear", device: str = "auto",
                    limit: int | None = None) -> dict:
    """The tagger's span scores on labelled data (no parser, no speaker resolution) and its speed."""
    from .tagger import AttributionTagger

    docs = read_documents(data, fmt, limit)
    tagger = AttributionTagger(model_dir, device=device)
    t0 = time.perf_counter()
    predicted = tagger.tag([d.text for d in docs])
    seconds = time.perf_counter() - t0
    st = tagger.engine.stats
    return {"path": str(data), "format": fmt, "documents": len(docs), "spans_exact": span_scores(docs, predicted),
            "seconds": round(seconds, 1), "tokens_per_s": round(st.real_tokens / max(seconds, 1e-9), 1),
            "precision": tagger.engine.compute_precision}


def model_card(meta: dict) -> str:
    tr, data = meta["training"], meta["data"]
    lines = [
        "---", "library_name: stancekit", "pipeline_tag: token-classification", "---", "",
        "# stancekit quote tagger", "",
        "A token tagger for attribution (BIO over source / cue / content), trained with "
        "`stancekit train quotes`. Use it with `stancekit run --quotes-model DIR` or "
        "`[pipeline] quotes_model = \"DIR\"`.", "",
        f"- Base model: `{meta['base']}`"
        + (f", first {meta['layers']['kept']} of its {meta['layers']['of']} layers" if meta.get("layers") else ""),
        f"- Training data: `{data['path']}` (format `{data['format']}`): {data['documents']} documents, "
        f"{data['windows']} windows, {data['tokens']} word pieces",
        f"- Windows: {meta['max_length']} word pieces, stride {meta['stride']}"
        + ("; each paragraph also as a window of its own" if meta.get("paragraph_windows") else ""),
        f"- Training: {tr['steps']}/{tr['total_steps']} steps ({tr['epochs']} epochs asked), batch {tr['batch_size']}, "
        f"lr {tr['lr']}, seed {tr['seed']}, {tr['device']} {tr['precision']}, {tr['threads']} threads, "
        f"{tr['seconds']} s ({tr['seconds_per_epoch']} s per epoch, {tr['tokens_per_s']} tokens/s)"
        + (f"; stopped early: {tr['stopped_early']}" if tr.get("stopped_early") else ""),
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()), "",
    ]
    if meta.get("dev"):
        d = meta["dev"]
        lines += [f"## Dev metrics (tagger spans, exact match): `{d['path']}`", "",
                  "| role | precision | recall | F1 | gold | predicted |", "|---|---|---|---|---|---|"]
        for role, s in d["spans_exact"].items():
            lines.append(f"| {role} | {s['precision']} | {s['recall']} | {s['f1']} | {s['gold']} | {s['pred']} |")
        lines += ["", f"Inference: {d['tokens_per_s']} tokens/s ({d['precision']}).", ""]
    lines += ["## Licence of the data", "",
              "Weights inherit the terms of the training data; weights trained on research-only corpora "
              "(PolNeAR) must not be redistributed.", ""]
    return "\n".join(lines)
