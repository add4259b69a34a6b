"""Choose bi-encoder linear-probe settings by topic-grouped cross-validation on a stance training file.

The frozen encoder embeds every text, target and sentence once (through stancekit's inference engine,
exactly as ``stancekit train stance --arch biencoder --epochs 0`` and the ``classifier`` backend do); then,
for each setting (head features: plain ``[u, v, u*v, |u-v|]``, + similarity, + similarity and focus; × probe
``C``), a logistic regression is fitted on K-1 folds of
*topics* and scored (macro-F1) on the held-out fold, whose topics are all unseen in training: the
zero-shot condition of VAST. Only the training file is read: the test split plays no part in the choice.

    python benchmarks/stance_probe_cv.py --data ../shared/eval-data/vast/vast_dev.csv --format vast \
        --base all-mpnet-base-v2 [--folds 4] [--c 0.1 0.3 1] [--json OUT.json]

Folds: the sorted topics shuffled by ``random.Random(seed)`` and dealt round-robin. Prints a table and
one JSON object (per-fold and mean macro-F1 of each setting, the encoding time).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
import warnings
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--format", default="vast")
    ap.add_argument("--base", default="all-mpnet-base-v2", help="hub id, folder or `stancekit models` name")
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--c", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from stancekit.engine import InferenceEngine, load_hf, mean_pool_head
    from stancekit.evaluate.datasets import read_stance_data
    from stancekit.sources import resolve_source
    from stancekit.stance import embedding_pair_features, focus_features
    from stancekit.targets import LABELS

    rows = [r for r in read_stance_data(args.data, args.format) if r.label in LABELS]
    source = resolve_source(args.base)
    tokenizer, model = load_hf(source, task="feature-extraction")
    engine = InferenceEngine(model, tokenizer, device=args.device, max_length=args.max_length,
                             head=mean_pool_head)
    t0 = time.perf_counter()
    u = torch.from_numpy(engine.run([r.text for r in rows]))
    v = torch.from_numpy(engine.run([r.target for r in rows]))
    focus = focus_features(engine, [r.text for r in rows], v.numpy())
    encode_s = time.perf_counter() - t0
    feats = {"plain": embedding_pair_features(u, v).numpy(),
             "similarity": embedding_pair_features(u, v, similarity=True).numpy()}
    feats["similarity+focus"] = np.hstack([feats["similarity"], focus])
    y = np.array([LABELS.index(r.label) for r in rows])

    topics = sorted({r.target for r in rows})
    random.Random(args.seed).shuffle(topics)
    fold_of = {t: i % args.folds for i, t in enumerate(topics)}
    fold = np.array([fold_of[r.target] for r in rows])

    results = []
    warnings.filterwarnings("ignore", category=UserWarning)
    for kind in feats:
        for c in args.c:
            scores = []
            for k in range(args.folds):
                held = fold == k
                clf = LogisticRegression(C=c, max_iter=5000).fit(feats[kind][~held], y[~held])
                scores.append(float(f1_score(y[held], clf.predict(feats[kind][held]), average="macro")))
            results.append({"features": kind, "C": c, "folds": [round(s, 4) for s in scores],
                            "mean_macro_f1": round(float(np.mean(scores)), 4)})
            print(f"{kind:17}  C={c:<5g}  folds {' '.join(f'{s:.3f}' for s in scores)}  "
                  f"mean {np.mean(scores):.4f}", flush=True)
    best = max(results, key=lambda r: r["mean_macro_f1"])
    out = {"data": str(args.data), "rows": len(rows), "topics": len(topics), "folds": args.folds,
           "base": args.base, "encoder_path": source, "precision": engine.compute_precision,
           "encode_seconds": round(encode_s, 1), "results": results, "best": best,
           "machine": {"python": platform.python_version(), "torch": torch.__version__,
                       "processor": platform.processor() or platform.machine()},
           "date": time.strftime("%Y-%m-%d", time.gmtime())}
    text = json.dumps(out, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
