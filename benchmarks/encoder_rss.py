"""Resident memory of the sentence encoder over many batches of different shapes.

The default encoder (MiniLM, CPU) encodes the sentences of a synthetic corpus in batches of 8 to 96
sentences, as a corpus run does, and the process's RSS is read every ``--every`` batches. Each setting of the
kernel cache capacity runs in a fresh process (the caches are sized when torch first runs a kernel):
``1024`` is torch's own default, ``32`` is what ``import stancekit`` sets.

    python benchmarks/encoder_rss.py --sentences 20000 --capacity 1024 32
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def probe(corpus: str, sentences: int, every: int) -> None:
    """Encode ``sentences`` sentences of ``corpus``; print one JSON line per checkpoint."""
    from stancekit.device import host_memory_mb
    from stancekit.stance import shared_encoder

    texts = [json.loads(line)["text"] for line in open(corpus, encoding="utf-8")]
    pool = [s for t in texts for s in t.split(". ") if s.strip()]
    random.Random(0).shuffle(pool)
    enc = shared_encoder(device="cpu")
    enc.encode(pool[:8])
    rng = random.Random(1)
    done, batches, start = 0, 0, time.perf_counter()
    print(json.dumps({"sentences": 0, "rss_mb": round(host_memory_mb("VmRSS")), "s": 0.0}), flush=True)
    while done < min(sentences, len(pool)):
        n = rng.randint(8, 96)
        enc.encode(pool[done:done + n])
        done += n
        batches += 1
        if batches % every == 0:
            print(json.dumps({"sentences": done, "rss_mb": round(host_memory_mb("VmRSS")),
                              "s": round(time.perf_counter() - start, 1)}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=20000)
    ap.add_argument("--every", type=int, default=40, help="batches between two RSS readings")
    ap.add_argument("--capacity", nargs="+", default=["1024", "32"], help="kernel cache capacities to compare")
    ap.add_argument("--probe", help=argparse.SUPPRESS)  # the child's corpus path
    args = ap.parse_args()
    if args.probe:
        probe(args.probe, args.sentences, args.every)
        return
    from stancekit.bench_pipeline import write_corpus

    with tempfile.TemporaryDirectory() as tmp:
        corpus = str(Path(tmp) / "corpus.jsonl")
        write_corpus(Path(corpus), max(200, args.sentences // 12), seed=3)
        for cap in args.capacity:
            env = dict(os.environ, ONEDNN_PRIMITIVE_CACHE_CAPACITY=cap, LRU_CACHE_CAPACITY=cap)
            out = subprocess.run([sys.executable, __file__, "--probe", corpus, "--sentences", str(args.sentences),
                                  "--every", str(args.every)], env=env, capture_output=True, text=True, check=True)
            rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
            curve = " ".join(f"{r['sentences']}:{r['rss_mb']}" for r in rows)
            print(f"capacity {cap}: {rows[-1]['s']} s; RSS MB by sentences encoded: {curve}", flush=True)


if __name__ == "__main__":
    main()
