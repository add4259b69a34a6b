"""Fine-tune a (text, target) → favor / against / neutral model: ``stancekit train stance``.

:class:`StanceTraining` holds the settings; :func:`train_stance` reads the data, builds the model
(a cross-encoder, or the pair-embedding model of :mod:`stancekit.pairmodel`), fits the linear probe
where the architecture has one, and runs the shared loop of :mod:`stancekit.trainloop` over
length-bucketed shuffled batches with dynamic padding (AdamW with linear warm-up and decay, gradient
clipping, bf16 autocast where native, fp16 with loss scaling on CUDA without bf16, ``precision="fp32"``
turns it off; no ``accelerate`` needed). The output folder is self-describing: ``model.safetensors``,
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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .errors import Errors, StancekitError
from .evaluate.datasets import StanceRow, detect_format, read_stance_data
from .stance import fit_temperature
from .targets import LABELS
from .trainloop import LoopConfig, LoopResult, train_loop


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def bucketed_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
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


@dataclass
class StanceTraining:
    """Settings of one ``stancekit train stance`` run (the fields are the CLI options).

    ``arch`` is ``cross`` (a cross-encoder over the pair), ``biencoder`` (a linear head over
    ``[u, v, u*v, |u-v|]`` of the normalised mean-pooled text and target embeddings) or ``hybrid`` (the
    same features plus the pair embedding). These two are trained in two phases ("linear probe, then
    fine-tune"): the head is first fitted as a logistic regression (``C = probe_c``) on the frozen
    encoder's features, then ``epochs`` of fine-tuning move encoder and head together;
    ``epochs=0`` keeps the linear probe alone. ``similarity`` adds the cosine of the text and target
    embeddings and its square to the head's input (:func:`stancekit.stance.embedding_pair_features`);
    ``focus`` (``biencoder`` linear probe alone) adds the topic-focused sentence pooling of
    :func:`stancekit.stance.focus_features`. ``precision`` is auto (bf16 where native), bf16 or fp32.
    """

    data: Sequence[str | Path]
    base: str
    out: str | Path
    fmt: str = "jsonl"
    epochs: float = 3.0
    batch_size: int = 16
    lr: float = 3e-5
    max_length: int = 256
    warmup: float = 0.1
    weight_decay: float = 0.01
    dev: str | Path | None = None
    dev_format: str | None = None
    device: str = "auto"
    seed: int = 13
    threads: int | None = None
    precision: str | None = None
    arch: str = "cross"
    probe_c: float = 0.3
    similarity: bool = True
    focus: bool = False

    def check(self) -> None:
        """Refuse settings that cannot train (E012), before anything is loaded."""
        from .stance import ARCHS

        if self.arch not in ARCHS:
            raise StancekitError(Errors.E012, name="--arch", detail=f"'{self.arch}' (use {', '.join(ARCHS)})")
        if self.epochs < 0 or (self.epochs == 0 and self.arch == "cross") or self.batch_size < 1:
            raise StancekitError(Errors.E012, name="--epochs/--batch-size", detail="must be positive")
        if self.focus and (self.arch != "biencoder" or self.epochs != 0):
            raise StancekitError(Errors.E012, name="--focus", detail="topic-focused features work with --arch "
                                                                     "biencoder --epochs 0 (the linear probe alone)")

    @property
    def uses_similarity(self) -> bool:
        return self.similarity and self.arch != "cross"


def train_stance(data: "Sequence[str | Path] | StanceTraining", *,
                 progress: Callable[[dict], None] | None = None, **settings) -> dict:
    """Fine-tune a (text, target) stance model and write its folder; returns meta.json.

    ``data`` is a :class:`StanceTraining` or the training files, with the other fields of
    :class:`StanceTraining` as keyword arguments (``base=``, ``out=`` required). ``progress`` receives
    ``{step, total_steps, loss, elapsed_s}`` every 20 steps.
    """
    if isinstance(data, StanceTraining):
        cfg = data
    else:
        try:
            cfg = StanceTraining(data=list(data), **settings)
        except TypeError as exc:
            raise StancekitError(Errors.E012, name="train_stance", detail=str(exc)) from None
    rows, files = _read_rows(cfg)
    cfg.check()
    from . import device as dev_mod
    from .sources import resolve_source

    _quiet_libraries()
    _seed_everything(cfg.seed)
    run_device = dev_mod.resolve_device(cfg.device, threads=cfg.threads)
    precision = dev_mod.check_precision(cfg.precision or dev_mod.default_precision())  # a request: auto/fp32/bf16
    base = resolve_source(cfg.base)
    tokenizer, model = _build_model(cfg, base)
    model.to(run_device)
    labels = [LABEL2ID[r.label] for r in rows]
    probe = None
    if cfg.arch != "cross":  # phase 1: the head as a logistic regression on the frozen encoder's features
        probe = model.fit_probe(tokenizer, rows, labels, max_length=cfg.max_length, device=run_device,
                                precision=precision, c=cfg.probe_c)
        if cfg.epochs == 0 and not probe["fitted"]:
            raise StancekitError(Errors.E012, name="--epochs",
                                 detail=f"0 keeps the linear probe alone, but {probe['reason']}")
    epoch_batches, loss_fn = _stance_batches(cfg, rows, labels, tokenizer, model, run_device)
    total_steps = math.ceil(cfg.epochs * math.ceil(len(rows) / cfg.batch_size))  # 0: a linear probe alone
    loop = train_loop(model, epoch_batches, loss_fn,
                      LoopConfig(total_steps=total_steps, lr=cfg.lr, warmup=cfg.warmup,
                                 weight_decay=cfg.weight_decay),
                      device=run_device, precision=precision, progress=progress)
    model.eval()
    out = Path(cfg.out)
    _save(model, tokenizer, out, cfg.arch)
    dev_metrics, temperature = _score_dev(cfg, out, run_device) if cfg.dev is not None else (None, None)
    meta = _meta(cfg, base, files, rows, probe, loop, precision, temperature, dev_metrics, run_device)
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").write_text(model_card(meta), encoding="utf-8")
    return {"out": str(out), **meta}


LABEL2ID = {lab: i for i, lab in enumerate(LABELS)}


def _read_rows(cfg: StanceTraining) -> tuple[list[StanceRow], list[dict]]:
    """The labelled rows of every training file, and a description of each file (name, rows, SHA-256)."""
    rows: list[StanceRow] = []
    files = []
    for path in cfg.data:
        part = [r for r in read_stance_data(path, cfg.fmt) if r.label in LABELS]
        rows.extend(part)
        files.append({"path": Path(path).name, "format": detect_format(Path(path)) if cfg.fmt == "auto" else cfg.fmt,
                      "rows": len(part), "sha256": _sha256(Path(path))})
    if not rows:
        raise StancekitError(Errors.E012, name="--data", detail="no labelled rows")
    return rows, files


def _quiet_libraries() -> None:
    from .extras import require

    datasets = require("datasets", "train")
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def _seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _build_model(cfg: StanceTraining, base: str):
    """The tokenizer and the untrained model of ``cfg.arch`` from the resolved base folder (E010/E011)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from .engine import check_safetensors_only

    check_safetensors_only(base)
    try:
        tokenizer = AutoTokenizer.from_pretrained(base)
        if cfg.arch == "cross":
            model = AutoModelForSequenceClassification.from_pretrained(
                base, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id=LABEL2ID,
                use_safetensors=True, trust_remote_code=False, ignore_mismatched_sizes=True)
        else:
            from .pairmodel import PairEmbeddingClassifier

            model = PairEmbeddingClassifier(base, cfg.arch, len(LABELS), similarity=cfg.similarity,
                                            focus=cfg.focus)
    except Exception as exc:
        raise StancekitError(Errors.E010, source=base, detail=str(exc).splitlines()[0][:300]) from exc
    return tokenizer, model


def _stance_batches(cfg: StanceTraining, rows: Sequence[StanceRow], labels: Sequence[int], tokenizer, model,
                    device):
    """``(epoch_batches, loss_fn)`` for :func:`train_loop`: length-bucketed shuffled batches of row
    indices (one shared generator seeded with ``cfg.seed``) and the cross-entropy of one batch."""
    import torch

    from . import device as dev_mod

    if cfg.arch == "cross":
        encoded = tokenizer([r.text for r in rows], [r.target for r in rows], truncation="longest_first",
                            max_length=cfg.max_length)
        features = [c for c in ("input_ids", "attention_mask", "token_type_ids") if c in encoded]
        lengths = [len(x) for x in encoded["input_ids"]]
    else:
        lengths = [len(x) for x in tokenizer([r.text for r in rows], [r.target for r in rows],
                                             truncation="longest_first", max_length=cfg.max_length)["input_ids"]]
    rng = random.Random(cfg.seed)

    def epoch_batches():
        return iter(bucketed_batches(lengths, cfg.batch_size, rng))

    def loss_fn(idx: list[int]):
        y = torch.tensor([labels[i] for i in idx]).to(device)
        if cfg.arch == "cross":
            feats = [{k: encoded[k][i] for k in features} for i in idx]
            batch = dev_mod.to_device(dict(tokenizer.pad(feats, padding=True, return_tensors="pt")), device)
            logits = model(**batch).logits
        else:
            logits = model(*model.tokenize(tokenizer, [rows[i].text for i in idx], [rows[i].target for i in idx],
                                           cfg.max_length, device))
        return torch.nn.functional.cross_entropy(logits.float(), y)

    return epoch_batches, loss_fn


def _save(model, tokenizer, out: Path, arch: str) -> None:
    """safetensors weights (no stale ``*.bin``), config and tokenizer into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.bin"):
        stale.unlink()
    if arch == "cross":
        model.save_pretrained(out, safe_serialization=True)
    else:
        model.save(out)
    tokenizer.save_pretrained(out)


def _score_dev(cfg: StanceTraining, out: Path, device) -> tuple[dict, float]:
    """Load the saved folder as the classifier backend, fit its temperature on ``cfg.dev`` and score it."""
    from .evaluate.stance import evaluate_stance
    from .stance import get_backend

    # what the backend needs to load the folder; the full meta.json replaces it
    (out / "meta.json").write_text(json.dumps({"arch": cfg.arch, "labels": list(LABELS),
                                               "settings": {"max_length": cfg.max_length,
                                                            "similarity": cfg.uses_similarity,
                                                            "focus": cfg.focus}})
                                   + "\n", encoding="utf-8")
    backend = get_backend("classifier", model=str(out), device=str(device), threads=cfg.threads)
    dev_rows = [r for r in read_stance_data(cfg.dev, cfg.dev_format or cfg.fmt) if r.label in LABELS]
    logits = backend.logits([(r.text, r.target) for r in dev_rows])
    temperature = fit_temperature(logits, [LABEL2ID[r.label] for r in dev_rows])
    backend.temperature = temperature
    return evaluate_stance(cfg.dev, fmt=cfg.dev_format or cfg.fmt, backend_obj=backend), temperature


def _input_description(cfg: StanceTraining) -> str:
    from .stance import SIMILARITY_SCALE

    sim_note = f", then {SIMILARITY_SCALE:g} x [cos(u, v), cos(u, v)^2]" if cfg.uses_similarity else ""
    if cfg.focus:
        sim_note += (f", then [a, a*v, |a-v|, {SIMILARITY_SCALE:g} m, {SIMILARITY_SCALE:g} m^2] of the sentences' "
                     "embeddings pooled by their similarity to the target (a) and the largest sentence-target "
                     "cosine (m)")
    return {"cross": "pair (text, target); truncation longest_first",
            "biencoder": "text and target encoded apart; head over [u, v, u*v, |u-v|] of normalised "
                         "mean-pooled embeddings" + sim_note,
            "hybrid": "text, target and the pair encoded; head over [u, v, u*v, |u-v|, p] of normalised "
                      "mean-pooled embeddings" + sim_note}[cfg.arch]


def _meta(cfg: StanceTraining, base: str, files: list, rows: Sequence[StanceRow], probe: dict | None,
          loop: LoopResult, precision: str, temperature: float | None, dev_metrics: dict | None, device) -> dict:
    """meta.json: what was trained on what, how, with which library versions, and the dev score."""
    import datasets
    import torch
    import transformers

    from . import __version__

    final = loop.recent_loss(20)
    return {
        "schema": "stancekit-model.v1",
        "task": "stance",
        "arch": cfg.arch,
        "labels": list(LABELS),
        "input": _input_description(cfg),
        "base": cfg.base,
        "base_path": base if base != cfg.base else None,
        "data": files,
        "rows": len(rows),
        "label_counts": {lab: sum(r.label == lab for r in rows) for lab in LABELS},
        "linear_probe": probe,
        "settings": {"arch": cfg.arch, "probe_c": cfg.probe_c if cfg.arch != "cross" else None,
                     "similarity": cfg.uses_similarity, "focus": cfg.focus, "epochs": cfg.epochs,
                     "batch_size": cfg.batch_size, "lr": cfg.lr, "max_length": cfg.max_length,
                     "warmup": cfg.warmup, "weight_decay": cfg.weight_decay, "seed": cfg.seed,
                     "steps": loop.steps,
                     # the request (auto, fp32, bf16: what --precision and the engine accept) and what ran
                     "precision": precision, "compute_precision": loop.compute_precision},
        "temperature": temperature,
        "device": str(device),
        "train_seconds": round(loop.seconds, 1),
        "final_loss": round(float(final), 4) if final is not None else None,
        "dev": {"path": Path(cfg.dev).name, "sha256": _sha256(Path(cfg.dev)),
                "metrics": _summary(dev_metrics)} if dev_metrics else None,
        "versions": {"stancekit": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
                     "datasets": datasets.__version__, "python": platform.python_version()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _summary(metrics: dict | None) -> dict | None:
    if not metrics:
        return None
    keep = ("n", "macro_f1", "f_avg", "accuracy", "splits")
    return {k: metrics[k] for k in keep if k in metrics}


def _precision(settings: dict) -> str:
    """'bf16 (auto)': what the passes ran in, and the request when it differs (older folders: one value)."""
    ran, asked = settings.get("compute_precision", settings["precision"]), settings["precision"]
    return ran if ran == asked else f"{ran} ({asked})"


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
                    f"probe alone), max length {s['max_length']}, precision {_precision(s)}; device {meta['device']}.")
    else:
        training = (f"Base model `{meta['base']}`; architecture `{meta['arch']}`; {head}{s['epochs']} epochs "
                    f"({s['steps']} steps), batch size {s['batch_size']}, learning rate {s['lr']}, max length "
                    f"{s['max_length']}, warm-up {s['warmup']}, seed {s['seed']}, precision {_precision(s)}; "
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
