"""Speed of the claim stage, in sentences per second.

Three timings over the same documents, each the best of R runs after one warm-up:

* ``head``: ``ClaimDetector.score_sentences`` on every sentence at once (features, hashed n-grams,
  MiniLM sentence embeddings, calibrated logistic regression);
* ``stage``: ``find_claims`` on already parsed Docs (units, scores, spans, claimers, quantities,
  entities: everything the claim stage adds to a run), one call per document;
* ``parse``: the spaCy pipeline with the entity and quote components, for scale (the claim stage runs
  on its output).

    python benchmarks/bench_claims.py [--data DIR] [--repeat R] [--copies K] [--limit N] [--model HEAD] [--threads T] [--json out.json]

Documents: ``DIR/*.txt``, or a folder of CLEF TSV files (one sentence per line, laid out as a transcript), by
default ``corpora/sample/articles`` repeated ``--copies`` times. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_texts(data: Path, copies: int, limit: int | None = None) -> list[str]:
    if any(data.glob("*.tsv")):
        from stancekit.evaluate.claims import read_clef

        texts = [d.layout()[0] for d in read_clef(data)]
    else:
        texts = [f.read_text(encoding="utf-8") for f in sorted(data.glob("*.txt"))]
    texts = texts[:limit] if limit else texts
    if not texts:
        raise SystemExit(f"no .txt or .tsv documents in {data}")
    return texts * copies


def best_of(repeat: int, fn) -> float:
    fn()  # warm-up (lazy model loads, caches)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "corpora" / "sample" / "articles")
    ap.add_argument("--copies", type=int, default=5, help="repeat the documents K times")
    ap.add_argument("--limit", type=int, default=None, help="only the first N documents (sorted by name)")
    ap.add_argument("--repeat", type=int, default=3, help="best of R runs")
    ap.add_argument("--model", type=Path, default=None, help="check-worthiness head JSON (default: bundled)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from stancekit.claims import ClaimDetector, _default_detector, claim_units, find_claims
    from stancekit.ner import load_spacy

    texts = load_texts(args.data, args.copies, args.limit)
    nlp = load_spacy()
    nlp.add_pipe("stancekit_entities")
    nlp.add_pipe("stancekit_quotes")
    detector = ClaimDetector(head_path=args.model) if args.model else _default_detector()

    docs = []
    parse_s = best_of(max(1, args.repeat - 1), lambda: docs.__setitem__(slice(None), list(nlp.pipe(texts))))
    units = [doc.text[s:e] for doc in docs for s, e, _ in claim_units(doc)]
    head_s = best_of(args.repeat, lambda: detector.score_sentences(units))
    n_claims = []
    stage_s = best_of(args.repeat, lambda: n_claims.__setitem__(
        slice(None), [len(find_claims(d, doc_id=f"d{i}", detector=detector)) for i, d in enumerate(docs)]))
    n = len(units)
    result = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "python": platform.python_version(),
                    "load_avg_1m_at_start": round(os.getloadavg()[0], 2)},
        "data": str(args.data), "documents": len(texts), "copies": args.copies, "units": n,
        "words": sum(len(t.split()) for t in texts), "head": detector.describe(),
        "head_scoring": {"seconds": round(head_s, 3), "sentences_per_s": round(n / head_s, 1)},
        "claim_stage": {"seconds": round(stage_s, 3), "sentences_per_s": round(n / stage_s, 1),
                        "claims": sum(n_claims)},
        "spacy_parse_with_entities_quotes": {"seconds": round(parse_s, 3), "sentences_per_s": round(n / parse_s, 1)},
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
