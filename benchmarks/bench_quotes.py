"""Cost of the quote stage on top of spaCy parsing.

Times, on the same documents, (a) the spaCy pipeline alone and (b) spaCy + ``stancekit_entities`` +
``stancekit_quotes``, and reports the overhead ratio (b - a) / a. The two stancekit components are
also timed alone on already parsed Docs, which is the steadier measurement of their cost.

    python benchmarks/bench_quotes.py [--data DIR] [--limit N] [--repeat R]

Documents: ``DIR/*.txt`` (recursively), by default the PolNeAR dev texts when present, else
``corpora/sample/articles``. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

DEFAULTS = (Path(__file__).resolve().parents[1] / "../shared/eval-data/polnear/dev/text",
            Path(__file__).resolve().parents[1] / "corpora/sample/articles")


def load_texts(data: Path | None, limit: int | None) -> tuple[Path, list[str]]:
    candidates = [data] if data else list(DEFAULTS)
    for folder in candidates:
        files = sorted(Path(folder).rglob("*.txt")) if folder and Path(folder).is_dir() else []
        if files:
            files = files[:limit] if limit else files
            return Path(folder).resolve(), [f.read_text(encoding="utf-8") for f in files]
    raise SystemExit(f"no .txt documents found in {', '.join(map(str, candidates))}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3, help="best of R runs")
    args = ap.parse_args()

    from stancekit.ner import load_spacy

    folder, texts = load_texts(args.data, args.limit)
    nlp = load_spacy()
    list(nlp.pipe(texts[:2]))  # warm up
    ent = nlp.add_pipe("stancekit_entities")
    quo = nlp.add_pipe("stancekit_quotes")

    def parse_only() -> float:
        t0 = time.perf_counter()
        with nlp.select_pipes(disable=["stancekit_entities", "stancekit_quotes"]):
            for _ in nlp.pipe(texts):
                pass
        return time.perf_counter() - t0

    def full() -> float:
        t0 = time.perf_counter()
        for _ in nlp.pipe(texts):
            pass
        return time.perf_counter() - t0

    with nlp.select_pipes(disable=["stancekit_entities", "stancekit_quotes"]):
        parsed = list(nlp.pipe(texts))

    def components_only() -> float:
        from spacy.tokens import Doc

        docs = [Doc(d.vocab).from_bytes(d.to_bytes()) for d in parsed]
        t0 = time.perf_counter()
        for d in docs:
            quo(ent(d))
        return time.perf_counter() - t0

    t_parse, t_full, t_comp = (min(f() for _ in range(args.repeat)) for f in (parse_only, full, components_only))
    words = sum(len(d) for d in parsed)
    n_quotes = sum(len(d._.stancekit_quotes or []) for d in nlp.pipe(texts))
    print(json.dumps({
        "data": str(folder), "documents": len(texts), "tokens": words, "quotes": n_quotes,
        "spacy_model": f"{nlp.meta.get('lang')}_{nlp.meta.get('name')}-{nlp.meta.get('version')}",
        "parse_s": round(t_parse, 3), "parse_plus_quotes_s": round(t_full, 3),
        "components_alone_s": round(t_comp, 3),
        "overhead_ratio_end_to_end": round((t_full - t_parse) / t_parse, 4),
        "overhead_ratio_components": round(t_comp / t_parse, 4),
        "tokens_per_s_parse": round(words / t_parse), "repeat": args.repeat,
        "cpu_count": os.cpu_count(), "machine": platform.platform(), "python": platform.python_version(),
    }, indent=2))


if __name__ == "__main__":
    main()
