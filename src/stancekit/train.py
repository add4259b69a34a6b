"""Fine-tune a (text, target) → favor / against / neutral cross-encoder.

A plain PyTorch loop over a Hugging Face ``datasets.Dataset`` (no ``accelerate`` needed): length-
bucketed shuffled batches with dynamic padding, AdamW with linear warm-up and decay, gradient
clipping, mixed precision where the device has it (bf16 autocast on CUDA and on CPUs with native bf16;
``precision="fp32"`` turns it off). The output folder is self-describing: ``model.safetensors``,
``config.json`` (labels favor / against / neutral), the tokenizer, ``README.md`` (a model card with
data, metrics and intended use) and ``meta.json`` (library versions, data hashes, settings).
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import random
import time
from pathlib import Path
from typing import Callable, Sequence

from .errors import Errors, StancekitError
from .evaluate.datasets import StanceRow, detect_format, read_stance_data
from .targets import LABELS


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _bucketed_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: shuffle, sort inside chunks of 50 batches, shuffle batches."""
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(idx), chunk):
        part = sorted(idx[start:start + chunk], key=lambda i: lengths[i])
        batches.extend(part[k:k + batch_size] for k in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def train_stance(data: Sequence[str | Path], *, fmt: str = "jsonl", base: str, out: str | Path,
                 epochs: float = 3.0, batch_size: int = 16, lr: float = 3e-5, max_length: int = 256,
                 warmup: float = 0.1, weight_decay: float = 0.01, dev: str | Path | None = None,
                 dev_format: str | None = None, device: str = "auto", seed: int = 13,
                 threads: int | None = None, precision: str | None = None, arch: str = "cross",
                 probe_c: float = 0.3, similarity: bool = True, focus: bool = False,
                 progress: Callable[[dict], None] | None = None) -> dict:
    """Fine-tune ``base`` on the rows of ``data`` and write the model folder ``out``; returns meta.json.

    ``arch`` is ``cross`` (a cross-encoder over the pair), ``biencoder`` (a linear head over
    ``[u, v, u*v, |u-v|]`` of the normalised mean-pooled text and target embeddings) or ``hybrid`` (the
    same features plus the pair embedding). These two are trained in two phases ("linear probe, then
    fine-tune"): the head is first fitted as a logistic regression (``C = probe_c``) on the frozen
    encoder's features, then ``epochs`` of fine-tuning move encoder and head together;
    ``epochs=0`` keeps the linear probe alone. ``similarity`` adds the cosine of the text and target
    embeddings and its square to the head's input (:func:`stancekit.stance.embedding_pair_features`);
    ``focus`` (``biencoder`` linear probe alone) adds the topic-focused sentence pooling of
    :func:`stancekit.stance.focus_features`.
    """
    import datasets
    import numpy as np
    import torch
    import transformers
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    from . import __version__
    from . import device as dev_mod
    from .engine import check_safetensors_only
    from .sources import resolve_source
    from .stance import SIMILARITY_SCALE

    rows: list[StanceRow] = []
    files = []
    for path in data:
        part = [r for r in read_stance_data(path, fmt) if r.label in LABELS]
        rows.extend(part)
        files.append({"path": Path(path).name, "format": detect_format(Path(path)) if fmt == "auto" else fmt, "rows": len(part), "sha256": _sha256(Path(path))})
    if not rows:
        raise StancekitError(Errors.E012, name="--data", detail="no labelled rows")
    from .stance import ARCHS

    if arch not in ARCHS:
        raise StancekitError(Errors.E012, name="--arch", detail=f"'{arch}' (use {', '.join(ARCHS)})")
    if epochs < 0 or (epochs == 0 and arch == "cross") or batch_size < 1:
        raise StancekitError(Errors.E012, name="--epochs/--batch-size", detail="must be positive")
    if focus and (arch != "biencoder" or epochs != 0):
        raise StancekitError(Errors.E012, name="--focus",
                             detail="topic-focused features work with --arch biencoder --epochs 0 (the linear probe alone)")

    datasets.disable_progress_bars()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    run_device = dev_mod.resolve_device(device, threads=threads)
    precision = dev_mod.effective_precision(run_device, precision or dev_mod.default_precision())
    base_name, base = base, resolve_source(base)
    check_safetensors_only(base)
    label2id = {lab: i for i, lab in enumerate(LABELS)}
    try:
        tokenizer = AutoTokenizer.from_pretrained(base)
        if arch == "cross":
            model = AutoModelForSequenceClassification.from_pretrained(
                base, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id=label2id,
                use_safetensors=True, trust_remote_code=False, ignore_mismatched_sizes=True)
        else:
            model = PairEmbeddingClassifier(base, arch, len(LABELS), similarity=similarity, focus=focus)
    except Exception as exc:
        raise StancekitError(Errors.E010, source=base, detail=str(exc).splitlines()[0][:300]) from exc
    model.to(run_device)

    ds = datasets.Dataset.from_dict({"text": [r.text for r in rows], "target": [r.target for r in rows],
                                     "label": [label2id[r.label] for r in rows]})
    ds = ds.map(lambda b: tokenizer(b["text"], b["target"], truncation="longest_first", max_length=max_length),
                batched=True, remove_columns=["text", "target"])
    ds = ds.map(lambda b: {"length": [len(x) for x in b["input_ids"]]}, batched=True)
    features = [c for c in ("input_ids", "attention_mask", "token_type_ids") if c in ds.column_names]
    lengths = ds["length"]

    sim = similarity and arch != "cross"
    probe = None
    if arch != "cross":  # phase 1: the head as a logistic regression on the frozen encoder's features
        probe = model.fit_probe(tokenizer, rows, [label2id[r.label] for r in rows], max_length=max_length,
                                device=run_device, precision=precision, c=probe_c)
        if epochs == 0 and not probe["fitted"]:
            raise StancekitError(Errors.E012, name="--epochs",
                                 detail=f"0 keeps the linear probe alone, but {probe['reason']}")
    steps_per_epoch = math.ceil(len(ds) / batch_size)
    total_steps = math.ceil(epochs * steps_per_epoch)  # 0 only for a linear probe alone
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    optim = torch.optim.AdamW(groups, lr=lr)
    sched = get_linear_schedule_with_warmup(optim, int(warmup * total_steps), max(1, total_steps))
    rng = random.Random(seed)

    model.train()
    step, t0, losses = 0, time.perf_counter(), []
    while step < total_steps:
        for idx in _bucketed_batches(lengths, batch_size, rng):
            if step >= total_steps:
                break
            items = ds.select(idx)
            labels = torch.tensor(items["label"]).to(run_device)
            if arch == "cross":
                feats = [{k: items[k][j] for k in features} for j in range(len(idx))]
                batch = dict(tokenizer.pad(feats, padding=True, return_tensors="pt"))
                batch = dev_mod.to_device(batch, run_device)
                with dev_mod.autocast(run_device, precision):
                    loss = torch.nn.functional.cross_entropy(model(**batch).logits.float(), labels)
            else:
                texts, targets = [rows[i].text for i in idx], [rows[i].target for i in idx]
                with dev_mod.autocast(run_device, precision):
                    logits = model(*model.tokenize(tokenizer, texts, targets, max_length, run_device))
                    loss = torch.nn.functional.cross_entropy(logits.float(), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            sched.step()
            optim.zero_grad(set_to_none=True)
            step += 1
            losses.append(float(loss.detach()))
            if progress and (step % 20 == 0 or step == total_steps):
                progress({"step": step, "total_steps": total_steps, "loss": float(np.mean(losses[-20:])),
                          "elapsed_s": round(time.perf_counter() - t0, 1)})
    train_seconds = time.perf_counter() - t0
    model.eval()

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.bin"):
        stale.unlink()
    if arch == "cross":
        model.save_pretrained(out, safe_serialization=True)
    else:
        model.save(out)
    tokenizer.save_pretrained(out)

    dev_metrics, temperature = None, None
    if dev is not None:
        from .evaluate.stance import evaluate_stance
        from .stance import get_backend

        # what the backend needs to load the folder; the full meta.json replaces it below
        (out / "meta.json").write_text(json.dumps({"arch": arch, "labels": list(LABELS),
                                                   "settings": {"max_length": max_length, "similarity": sim,
                                                                "focus": focus}})
                                       + "\n", encoding="utf-8")
        backend = get_backend("classifier", model=str(out), device=str(run_device), threads=threads)
        dev_rows = [r for r in read_stance_data(dev, dev_format or fmt) if r.label in LABELS]
        logits = backend.logits([(r.text, r.target) for r in dev_rows])
        temperature = fit_temperature(logits, [label2id[r.label] for r in dev_rows])
        backend.temperature = temperature
        dev_metrics = evaluate_stance(dev, fmt=dev_format or fmt, backend_obj=backend)
    sim_note = f", then {SIMILARITY_SCALE:g} x [cos(u, v), cos(u, v)^2]" if sim else ""
    if focus:
        sim_note += (f", then [a, a*v, |a-v|, {SIMILARITY_SCALE:g} m, {SIMILARITY_SCALE:g} m^2] of the sentences' "
                     "embeddings pooled by their similarity to the target (a) and the largest sentence-target "
                     "cosine (m)")
    meta = {
        "schema": "stancekit-model.v1",
        "task": "stance",
        "arch": arch,
        "labels": list(LABELS),
        "input": {"cross": "pair (text, target); truncation longest_first",
                  "biencoder": "text and target encoded apart; head over [u, v, u*v, |u-v|] of normalised "
                               "mean-pooled embeddings" + sim_note,
                  "hybrid": "text, target and the pair encoded; head over [u, v, u*v, |u-v|, p] of normalised "
                            "mean-pooled embeddings" + sim_note}[arch],
        "base": base_name,
        "base_path": base if base != base_name else None,
        "data": files,
        "rows": len(rows),
        "label_counts": {lab: sum(r.label == lab for r in rows) for lab in LABELS},
        "linear_probe": probe,
        "settings": {"arch": arch, "probe_c": probe_c if arch != "cross" else None, "similarity": sim,
                     "focus": focus, "epochs": epochs,
                     "batch_size": batch_size, "lr": lr, "max_length": max_length,
                     "warmup": warmup, "weight_decay": weight_decay, "seed": seed, "steps": total_steps,
                     "precision": precision},
        "temperature": temperature,
        "device": str(run_device),
        "train_seconds": round(train_seconds, 1),
        "final_loss": round(float(np.mean(losses[-20:])), 4) if losses else None,
        "dev": {"path": Path(dev).name, "sha256": _sha256(Path(dev)), "metrics": _summary(dev_metrics)} if dev_metrics else None,
        "versions": {"stancekit": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
                     "datasets": datasets.__version__, "python": platform.python_version()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").write_text(model_card(meta), encoding="utf-8")
    return {"out": str(out), **meta}


def PairEmbeddingClassifier(base: str, arch: str, num_labels: int, *,  # noqa: N802 - a class factory
                            similarity: bool = True, focus: bool = False):
    """An encoder with a linear head over :func:`stancekit.stance.embedding_pair_features` (built lazily so
    that importing this module does not import torch)."""
    import torch
    from transformers import AutoModel

    from .engine import mean_pool
    from .stance import PAIR_HEAD_FILE, embedding_pair_features

    class _PairEmbeddingClassifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = AutoModel.from_pretrained(base, use_safetensors=True, trust_remote_code=False)
            hidden = self.encoder.config.hidden_size
            width = hidden * (5 if arch == "hybrid" else 4) + (2 if similarity else 0) + (3 * hidden + 2 if focus else 0)
            self.dropout = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(width, num_labels)

        def tokenize(self, tokenizer, texts, targets, max_length, device):
            from . import device as dev_mod

            enc = [tokenizer(texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt"),
                   tokenizer(targets, truncation=True, max_length=max_length, padding=True, return_tensors="pt")]
            if arch == "hybrid":
                enc.append(tokenizer(texts, targets, truncation="longest_first", max_length=max_length,
                                     padding=True, return_tensors="pt"))
            return [dev_mod.to_device(dict(b), device) for b in enc]

        def embed(self, batch):
            pooled = mean_pool(self.encoder(**batch).last_hidden_state.float(), batch["attention_mask"])
            return torch.nn.functional.normalize(pooled, dim=-1)

        @torch.no_grad()
        def fit_probe(self, tokenizer, rows, labels, *, max_length, device, precision, c) -> dict:
            """Fit the head as a multinomial logistic regression on the frozen encoder's features, computed
            by the inference engine exactly as the classifier backend computes them."""
            import numpy as np
            from sklearn.linear_model import LogisticRegression

            from .engine import InferenceEngine, mean_pool_head
            from .stance import embedding_features

            engine = InferenceEngine(self.encoder, tokenizer, device=device, max_length=max_length,
                                     head=mean_pool_head, precision=precision)
            X = embedding_features(engine, [(r.text, r.target) for r in rows], hybrid=arch == "hybrid",
                                   similarity=similarity, focus=focus)
            y = np.asarray(labels)
            self.train()  # the engine put the encoder in eval mode
            if len(set(y.tolist())) < self.head.out_features:
                return {"fitted": False, "reason": "not every label occurs in the training data"}
            lr = LogisticRegression(C=c, max_iter=5000).fit(X, y)
            self.head.weight.copy_(torch.as_tensor(lr.coef_, dtype=self.head.weight.dtype))
            self.head.bias.copy_(torch.as_tensor(lr.intercept_, dtype=self.head.bias.dtype))
            return {"fitted": True, "C": c, "train_accuracy": round(float(lr.score(X, y)), 4)}

        def forward(self, texts, targets, pairs=None):
            p = self.embed(pairs) if pairs is not None else None
            feats = embedding_pair_features(self.embed(texts), self.embed(targets), p, similarity=similarity)
            return self.head(self.dropout(feats))

        def save(self, out: Path) -> None:
            from safetensors.torch import save_file

            self.encoder.save_pretrained(out, safe_serialization=True)
            save_file({"weight": self.head.weight.detach().float().cpu().contiguous(),
                       "bias": self.head.bias.detach().float().cpu().contiguous()}, str(Path(out) / PAIR_HEAD_FILE))

    return _PairEmbeddingClassifier()


def fit_temperature(logits, labels: Sequence[int]) -> float:
    """The softmax temperature that minimises held-out negative log-likelihood (calibration)."""
    import numpy as np

    z = np.asarray(logits, dtype=float)
    y = np.asarray(labels)
    best, best_nll = 1.0, float("inf")
    for t in np.exp(np.linspace(np.log(0.25), np.log(8.0), 61)):
        s = z / t
        s = s - s.max(axis=1, keepdims=True)
        nll = float(np.mean(np.log(np.exp(s).sum(axis=1)) - s[np.arange(len(y)), y]))
        if nll < best_nll:
            best, best_nll = float(t), nll
    return round(best, 4)


def _summary(metrics: dict | None) -> dict | None:
    if not metrics:
        return None
    keep = ("n", "macro_f1", "f_avg", "accuracy", "splits")
    return {k: metrics[k] for k in keep if k in metrics}


def model_card(meta: dict) -> str:
    data = "\n".join(f"- `{d['path']}` ({d['format']}, {d['rows']} labelled rows, sha256 `{d['sha256'][:12]}…`)"
                     for d in meta["data"])
    s = meta["settings"]
    if meta.get("dev"):
        m = meta["dev"]["metrics"]
        metrics = (f"Scored after training on `{meta['dev']['path']}` (probabilities calibrated there by "
                   f"temperature scaling, T = {meta.get('temperature')}, stored in `meta.json`):\n\n"
                   f"```json\n{json.dumps(m, indent=2)}\n```")
    else:
        metrics = "No held-out file was scored at training time (`--dev`); run `stancekit eval stance --model`."
    v = meta["versions"]
    probe = meta.get("linear_probe") or {}
    head = (f"head fitted first as a logistic regression on the frozen encoder's features (C = {probe.get('C')}, "
            f"train accuracy {probe.get('train_accuracy')}); " if probe.get("fitted") else "")
    if s["steps"] == 0:
        training = (f"Base model `{meta['base']}`; architecture `{meta['arch']}`; {head}no fine-tuning (the linear "
                    f"probe alone), max length {s['max_length']}, precision {s['precision']}; device {meta['device']}.")
    else:
        training = (f"Base model `{meta['base']}`; architecture `{meta['arch']}`; {head}{s['epochs']} epochs "
                    f"({s['steps']} steps), batch size {s['batch_size']}, learning rate {s['lr']}, max length "
                    f"{s['max_length']}, warm-up {s['warmup']}, seed {s['seed']}, precision {s['precision']}; "
                    f"device {meta['device']}; {meta['train_seconds']} s.")
    return f"""---
library_name: transformers
pipeline_tag: text-classification
tags: [stance-detection, stancekit]
---

# Stance model (stancekit, `{meta['arch']}`)

Classifies the stance of a text toward a target as **favor**, **against** or **neutral**. Input: {meta['input']}.
Labels, in output order: {', '.join(meta['labels'])}. Trained with `stancekit train stance --arch {meta['arch']}`.

## Intended use
Stance of quotes or short texts toward a free-text target, with stancekit's `classifier` backend
(`[stance] backend = "classifier"`, `model = "<this folder>"`) or `stancekit eval stance --model <this folder>`.
Not for decisions about people without human review; expect lower accuracy on domains and targets far from the
training data.

## Training data
{data}

Label counts: {meta['label_counts']}. If the data has no redistribution licence (as SemEval-2016 and VAST),
neither do these weights: keep them on the machine that trained them.

## Training
{training}

## Metrics
{metrics}

## Versions
stancekit {v['stancekit']}, torch {v['torch']}, transformers {v['transformers']}, datasets {v['datasets']},
Python {v['python']}. Created {meta['created']}.
"""
