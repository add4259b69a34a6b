"""Cost of the learned quote stage (``stancekit_quote_tagger``) on top of spaCy parsing, on CPU.

Times, on the same documents and in the same process: (a) spaCy parsing alone, (b) ``stancekit_entities``
+ ``stancekit_quotes`` (the rules) on the parsed Docs, (c) ``stancekit_entities`` +
``stancekit_quote_tagger`` (the tagger, its windows of a whole batch in one engine run) on the parsed
Docs. Reports the overheads (b)/(a) and (c)/(a), the tagger's word pieces per second and the
precision its passes ran in. Best of ``--repeat`` runs.

    python benchmarks/bench_quote_tagger.py --model models/quotes-minilm [--data DIR] [--limit N] [--precision int8]

Documents: ``DIR/*.txt``, by default the PolNeAR dev texts (../shared, read at run time only). The
speed does not depend on the weights, only on the architecture and window settings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[1] / "../shared/eval-data/polnear/dev/text"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="quote tagger folder")
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="", help="the tagger's: auto, fp32, bf16 or int8 (default: auto)")
    args = ap.parse_args()

    from spacy.tokens import Doc

    from stancekit.attribution import component  # noqa: F401 - registers the tagger component
    from stancekit.ner import load_spacy

    files = sorted(args.data.rglob("*.txt"))[: args.limit] if args.limit else sorted(args.data.rglob("*.txt"))
    if not files:
        raise SystemExit(f"no .txt documents in {args.data}")
    texts = [f.read_text(encoding="utf-8") for f in files]
    nlp = load_spacy()
    list(nlp.pipe(texts[:2]))  # warm up
    ent = nlp.add_pipe("stancekit_entities")
    rules = nlp.add_pipe("stancekit_quotes")
    tagger = nlp.add_pipe("stancekit_quote_tagger", config={"model": str(args.model), "device": args.device,
                                                            "precision": args.precision})
    tagger.tagger.tag(texts[:1])  # warm up

    def parse() -> tuple[float, list[Doc]]:
        t0 = time.perf_counter()
        with nlp.select_pipes(disable=["stancekit_entities", "stancekit_quotes", "stancekit_quote_tagger"]):
            docs = list(nlp.pipe(texts))
        return time.perf_counter() - t0, docs

    def stage(parsed: list[Doc], quote_stage) -> float:
        docs = [d.copy() for d in parsed]
        t0 = time.perf_counter()
        docs = [ent(d) for d in docs]
        for d in (quote_stage.pipe(docs) if hasattr(quote_stage, "pipe") else map(quote_stage, docs)):
            pass
        return time.perf_counter() - t0

    t_parse, t_rules, t_tagger, docs = [], [], [], None
    for _ in range(args.repeat):
        t, docs = parse()
        t_parse.append(t)
        t_rules.append(stage(docs, rules))
        before = tagger.tagger.engine.stats.real_tokens
        t_tagger.append(stage(docs, tagger))
        pieces = tagger.tagger.engine.stats.real_tokens - before
    a, b, c = min(t_parse), min(t_rules), min(t_tagger)
    n_tokens = sum(len(d) for d in docs)
    print(json.dumps({
        "documents": len(texts), "spacy_tokens": n_tokens, "data": str(args.data.resolve()),
        "model": str(args.model), "repeat": args.repeat,
        "seconds": {"spacy_parse": round(a, 2), "entities+rules": round(b, 2), "entities+tagger": round(c, 2)},
        "overhead": {"rules": round(b / a, 3), "tagger": round(c / a, 3)},
        "tagger_pieces": pieces, "tagger_pieces_per_s": round(pieces / c, 1),
        "tagger_precision": tagger.tagger.engine.compute_precision,
        "machine": {"cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2),
                    "python": platform.python_version()},
    }, indent=2))


if __name__ == "__main__":
    main()
