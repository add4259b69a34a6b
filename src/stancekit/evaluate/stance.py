"""Stance evaluation: macro-F1, per-class and per-target F1, confusion matrix, SemEval's F_avg, VAST splits.

Metrics are pure functions of (gold, predicted) label lists (:func:`stance_metrics`), so they can be
checked by hand; :func:`evaluate_stance` reads a data set, runs a backend and scores it.

* ``macro_f1`` — mean F1 over favor, against and neutral (VAST's metric).
* ``f_avg`` — SemEval-2016's official score: (F1(favor) + F1(against)) / 2, with counts pooled over
  all targets (as the organisers' script does), reported ×100 like the published table.
* ``splits`` — for VAST: the same metrics on zero-shot rows, few-shot rows and all rows.
* ``calibration`` — how far the backend's probabilities can be trusted as probabilities
  (:func:`calibration_metrics`): expected calibration error of the top label, Brier score, negative
  log-likelihood and the reliability table behind the ECE.
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from pathlib import Path
from typing import Sequence

from ..targets import LABELS, Target
from .datasets import StanceRow, read_stance_data


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": tp + fn}


def stance_metrics(gold: Sequence[str], pred: Sequence[str], targets: Sequence[str] | None = None) -> dict:
    """Scores of ``pred`` against ``gold`` (labels favor / against / neutral), per target when given."""
    if len(gold) != len(pred):
        raise ValueError("gold and pred differ in length")
    confusion = {g: {p: 0 for p in LABELS} for g in LABELS}
    for g, p in zip(gold, pred):
        confusion[g][p] += 1
    per_class = {}
    for lab in LABELS:
        tp = confusion[lab][lab]
        fp = sum(confusion[g][lab] for g in LABELS if g != lab)
        fn = sum(confusion[lab][p] for p in LABELS if p != lab)
        per_class[lab] = _prf(tp, fp, fn)
    f1 = {lab: per_class[lab]["f1"] for lab in LABELS}
    out = {
        "n": len(gold),
        "macro_f1": round(sum(f1.values()) / len(LABELS), 4),
        "f_avg": round(50 * (f1["favor"] + f1["against"]), 2),
        "accuracy": round(sum(g == p for g, p in zip(gold, pred)) / len(gold), 4) if gold else 0.0,
        "per_class": per_class,
        "confusion": {"rows": "gold", "cols": "predicted", "labels": list(LABELS),
                      "matrix": [[confusion[g][p] for p in LABELS] for g in LABELS]},
    }
    if targets is not None:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, t in enumerate(targets):
            groups[t].append(i)
        out["per_target"] = {}
        for t in sorted(groups, key=lambda k: (-len(groups[k]), k)):
            sub = stance_metrics([gold[i] for i in groups[t]], [pred[i] for i in groups[t]])
            out["per_target"][t] = {"n": sub["n"], "macro_f1": sub["macro_f1"], "f_avg": sub["f_avg"],
                                    "f1": {lab: sub["per_class"][lab]["f1"] for lab in LABELS}}
    return out


#: equal-width confidence bins of the expected calibration error (the usual choice in the literature)
ECE_BINS = 10


def calibration_metrics(gold: Sequence[str], probs: Sequence[dict], bins: int = ECE_BINS) -> dict:
    """Calibration of class probabilities (``{"favor": p, "against": p, "neutral": p}`` per row) against gold.

    * ``ece`` — expected calibration error of the top label: rows grouped by their top probability in
      ``bins`` equal-width bins; the mean over rows of |bin accuracy − bin mean confidence|.
    * ``brier`` — the multi-class Brier score: mean over rows of Σ_k (p_k − [k = gold])² (0 best, 2 worst).
    * ``nll`` — mean −ln p(gold), with p floored at 1e-4 (records round probabilities to 4 places).
    * ``reliability`` — per non-empty bin: its range, rows, mean confidence and accuracy.
    * ``mean_confidence`` and ``accuracy`` — over all rows (their gap is the overall over-confidence)."""
    if len(gold) != len(probs):
        raise ValueError("gold and probs differ in length")
    if not gold:
        return {"n": 0, "ece": 0.0, "brier": 0.0, "nll": 0.0, "mean_confidence": 0.0, "accuracy": 0.0,
                "reliability": []}
    table = [[0, 0.0, 0] for _ in range(bins)]  # rows, summed confidence, right
    brier = nll = 0.0
    for g, p in zip(gold, probs):
        top = max(LABELS, key=lambda lab: p[lab])
        conf = float(p[top])
        b = table[min(int(conf * bins), bins - 1)]
        b[0] += 1
        b[1] += conf
        b[2] += top == g
        brier += sum((float(p[lab]) - (lab == g)) ** 2 for lab in LABELS)
        nll -= math.log(max(float(p[g]), 1e-4))
    n = len(gold)
    ece = sum(abs(right - conf) for _, conf, right in table) / n
    return {
        "n": n, "ece": round(ece, 4), "brier": round(brier / n, 4), "nll": round(nll / n, 4),
        "mean_confidence": round(sum(b[1] for b in table) / n, 4),
        "accuracy": round(sum(b[2] for b in table) / n, 4),
        "reliability": [{"bin": [round(i / bins, 3), round((i + 1) / bins, 3)], "n": k,
                         "confidence": round(conf / k, 4), "accuracy": round(right / k, 4)}
                        for i, (k, conf, right) in enumerate(table) if k],
    }


def draw_shots(rows: Sequence[StanceRow], targets: set[str], k: int, *, seed: int = 13) -> dict[str, list[dict]]:
    """Up to ``k`` labelled examples per class for each target, drawn reproducibly from ``rows``."""
    rng = random.Random(seed)
    pool: dict[tuple[str, str], list[StanceRow]] = defaultdict(list)
    for r in rows:
        if r.target in targets and r.label in LABELS:
            pool[(r.target, r.label)].append(r)
    shots: dict[str, list[dict]] = defaultdict(list)
    for (target, label), items in sorted(pool.items()):
        items = sorted(items, key=lambda r: str(r.id))
        rng.shuffle(items)
        shots[target].extend({"text": r.text, "label": label} for r in items[:k])
    return dict(shots)


def make_backend(backend: str, *, model: str | None = None, device: str = "auto", threads: int | None = None,
                 encoder: str | None = None, fused: bool = True):
    """The backend ``eval stance`` scores (:func:`stancekit.stance.backend_options` decides its options);
    ``fewshot`` with a ``model`` is the ``classifier`` backend (``eval --model PATH`` scores a trained folder)."""
    from ..stance import backend_options, get_backend

    if model and backend == "fewshot":
        backend = "classifier"
    return get_backend(backend, device=device, threads=threads,
                       **backend_options(backend, encoder=encoder, fused=fused, model=model))


def match_target_files(row_targets: Sequence[str], files: Sequence[str | Path]) -> dict[str, Target]:
    """Which data-set target strings each target file (``configs/targets/*.toml`` or a shipped name) stands
    for: a row's target matches a file when it equals (case and outer spaces aside) the file's ``name``,
    ``id``, file stem or one of its ``aliases``; rows without a target take the file when only one is given.
    A file that no row matches is an error (``E012``), so a misspelt target cannot pass unnoticed."""
    from ..errors import Errors, StancekitError
    from ..targets import load_target

    loaded = [(str(f), load_target(f)) for f in files]
    keys: dict[str, Target] = {}
    for f, t in loaded:
        for k in [t.name, t.id, Path(f).stem, *t.aliases]:
            keys.setdefault(k.strip().lower(), t)
    out: dict[str, Target] = {}
    for name in dict.fromkeys(row_targets):
        key = name.strip().lower()
        if key in keys:
            out[name] = keys[key]
        elif not key and len(loaded) == 1:
            out[name] = loaded[0][1]
    for f, t in loaded:
        if not any(v is t for v in out.values()):
            known = ", ".join(sorted({n for n in row_targets if n})[:8])
            raise StancekitError(Errors.E012, name="--target",
                                 detail=f"'{f}' (name '{t.name}') matches no target of the data ({known})")
    return out


def evaluate_stance(data: str | Path, *, fmt: str = "jsonl", backend: str = "fewshot", model: str | None = None,
                    shots: int | None = None, train: str | Path | None = None, train_format: str | None = None,
                    predictions: str | Path | None = None, device: str = "auto", limit: int | None = None,
                    threads: int | None = None, backend_obj=None, seed: int = 13,
                    target_files: Sequence[str | Path] | None = None, encoder: str | None = None,
                    fused: bool = True) -> dict:
    """Run a stance backend over a data set and score it (see the module doc for the metrics).

    ``target_files``: target TOML files (or shipped target names) used in place of the bare target phrase
    for the rows they match (:func:`match_target_files`): their name, aliases, keywords and examples count
    as in a run. Rows no file matches keep a free-text target made from their target string.
    ``encoder``: the ``fewshot`` backend's sentence encoder (a known name such as ``all-mpnet-base-v2``,
    a folder or a hub id; default the bundled MiniLM). ``fused=False``: the ``fewshot`` / ``ensemble``
    backend without its fused reader (a baseline)."""
    from ..errors import Errors, StancekitError
    from ..stance import StanceInput
    from ..targets import Target

    rows = [r for r in read_stance_data(data, fmt) if r.label in LABELS]
    if limit:
        rows = rows[:limit]
    if not rows:
        raise StancekitError(Errors.E012, name="--data", detail="no labelled rows")
    examples: dict[str, list[dict]] = {}
    if shots:
        if train is None:
            raise StancekitError(Errors.E012, name="--shots", detail="needs --train FILE to draw examples from")
        train_rows = read_stance_data(train, train_format or fmt)
        examples = draw_shots(train_rows, {r.target for r in rows}, shots, seed=seed)
    from_files = match_target_files([r.target for r in rows], target_files) if target_files else {}
    if any(not r.target and r.target not in from_files for r in rows):
        raise StancekitError(Errors.E012, name="--data", detail="rows without a target (give one --target FILE)")
    targets: dict[str, Target] = {}
    for r in rows:
        if r.target not in targets:
            if r.target in from_files:
                src = from_files[r.target]
                t = Target.from_dict({"id": src.id, "name": src.name, "aliases": src.aliases,
                                      "keywords": src.keywords, "hypotheses": src.hypotheses,
                                      "description": src.description, "examples": list(src.examples)},
                                     source=src.source)
                t.examples = t.examples + examples.get(r.target, [])
            else:
                t = Target.adhoc(r.target)
                t.examples = examples.get(r.target, [])
            t.id = f"t{len(targets)}_{t.id}"[:60]  # ids stay unique even when names differ only in punctuation
            targets[r.target] = t
    be = backend_obj or make_backend(backend, model=model, device=device, threads=threads, encoder=encoder,
                                     fused=fused)
    preds = be.predict([StanceInput(text=r.text, target=targets[r.target]) for r in rows])
    gold = [r.label for r in rows]
    labels = [p["label"] for p in preds]
    metrics = stance_metrics(gold, labels, [r.target for r in rows])
    # a backend of one's own that gives labels alone (no three class probabilities) is scored on them alone
    with_probs = all(set(LABELS) <= set(p.get("probs") or {}) for p in preds)
    metrics["calibration"] = calibration_metrics(gold, [p["probs"] for p in preds]) if with_probs else None
    if any(r.split for r in rows):
        metrics["splits"] = {}
        for split in ("zero-shot", "few-shot"):
            idx = [i for i, r in enumerate(rows) if r.split == split]
            if idx:
                sub = stance_metrics([gold[i] for i in idx], [labels[i] for i in idx])
                metrics["splits"][split] = {k: sub[k] for k in ("n", "macro_f1", "accuracy", "per_class")}
        metrics["splits"]["all"] = {k: metrics[k] for k in ("n", "macro_f1", "accuracy")}
    if predictions:
        path = Path(predictions)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            for r, p in zip(rows, preds):
                fh.write(json.dumps({"id": r.id, "target": r.target, "gold": r.label, "label": p["label"],
                                     "probs": p.get("probs"), "relevance": p.get("relevance")}) + "\n")
    metrics = {"data": str(data), "format": fmt, "backend": be.describe(), "shots": shots or 0, **metrics}
    if from_files:
        metrics["target_files"] = {name: {"file": t.source, "name": t.name, "n": sum(r.target == name for r in rows),
                                          "examples": len(t.examples)} for name, t in from_files.items()}
    if len(metrics.get("per_target", {})) > 50:  # VAST: hundreds of topics; keep the summary readable
        metrics["per_target"] = dict(list(metrics["per_target"].items())[:50])
        metrics["per_target_truncated"] = True
    return metrics
