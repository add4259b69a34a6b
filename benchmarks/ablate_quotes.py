"""Ablate quote rules and cue verbs: parse once, score many variants of the quote stage.

    python benchmarks/ablate_quotes.py --polnear ../shared/eval-data/polnear/dev \
        --sample corpora/news-dev/gold.jsonl --cache /tmp/ablate-cache [--variants base,no_echo,...]

The spaCy parse and ``stancekit_entities`` run once per corpus and are cached as a DocBin (with user
data) under ``--cache``; each variant then runs only the quote component on the cached parses, so a
variant costs seconds. Scores are the ones of ``stancekit eval quotes`` (PolNeAR: content / attribution
/ source F1; sample format: content F1 and speaker accuracy), computed by the same scorers. A parse
cached before a change to the parser side (sentence starts set from a title) does not see that change:
final numbers come from ``stancekit eval quotes``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

CUE_VERBS = ("echo",)  # "post", "lament" and "frame" were dropped after this ablation


def _nlp():
    from stancekit.ner import load_spacy

    nlp = load_spacy()
    nlp.add_pipe("stancekit_entities")
    return nlp


def _cached(nlp, key: str, texts: list[str], cache: Path):
    from spacy.tokens import DocBin

    path = cache / f"{key}.spacy"
    if path.exists():
        docs = list(DocBin().from_disk(path).get_docs(nlp.vocab))
        if len(docs) == len(texts):
            return docs
    docs = list(nlp.pipe(texts, batch_size=8))
    cache.mkdir(parents=True, exist_ok=True)
    DocBin(store_user_data=True, docs=docs).to_disk(path)
    return docs


def finder_for(nlp, variant: str):
    from stancekit.quotes import QuoteFinder

    f = QuoteFinder(nlp)
    flags = {"no_transcripts": "transcripts", "no_participial": "participial",
             "no_back_reference": "back_reference", "no_object_rule": "object_needs_proposition"}
    if variant in flags:
        setattr(f.settings, flags[variant], False)
    elif variant.startswith("no_"):
        f.lexicon = f.lexicon.without(variant[3:])
    elif variant != "base":
        raise SystemExit(f"unknown variant {variant}")
    return f


def score_polnear(docs, items, finder) -> dict:
    from stancekit.evaluate.quotes import Scorer

    scorer = Scorer()
    slow, longest = [], 0.0
    for doc, (doc_id, text, gold) in zip(docs, items):
        t0 = time.perf_counter()
        quotes = [q.to_dict() for q in finder.find(doc)]
        dt = time.perf_counter() - t0
        longest = max(longest, dt)
        if dt > 10:
            slow.append((doc_id, round(dt, 1)))
        scorer.add_document(text, gold, quotes)
    r = scorer.report()
    return {"content_f1": r["content_overlap"]["f1"], "attribution_f1": r["attribution"]["f1"],
            "source_f1": r["source_exact"]["f1"], "slow_docs": slow, "longest_doc_s": round(longest, 3)}


def score_sample(docs, rows, finder) -> dict:
    from stancekit.evaluate.quotes import Counts, Span, SpeakerTally, match

    content, speakers, pseudo = Counts(), SpeakerTally(), Counts()
    for doc, row in zip(docs, rows):
        quotes = [q.to_dict() for q in finder.find(doc)]
        gq = row.get("quotes", [])
        gs = [Span(((q["start"], q["end"]),)) for q in gq]
        ps = [Span(((q["start"], q["end"]),)) for q in quotes]
        m = match(gs, ps, text=doc.text, mode="overlap")
        content.add(len(m), len(ps), len(gs))
        speakers.add(gq, quotes, m)
        bad = [Span(((q["start"], q["end"]),)) for q in row.get("not_quotes", [])]
        pseudo.add(sum(any(b.overlaps(p) for p in ps) for b in bad), 0, len(bad))
    rep = speakers.report()
    return {"content_f1": content.scores()["f1"], "speaker_accuracy": rep["speaker_accuracy"],
            "by_type": {k: v["accuracy"] for k, v in rep.get("speaker_by_type", {}).items()},
            "pseudo_quotes": f"{pseudo.tp}/{pseudo.n_gold}"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--polnear", type=Path)
    ap.add_argument("--sample", type=Path, action="append", default=[])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/stancekit-ablate"))
    ap.add_argument("--variants", default="base," + ",".join(f"no_{v}" for v in CUE_VERBS))
    args = ap.parse_args(argv)
    from stancekit.quotes import apply_title_span

    nlp = _nlp()
    corpora = []
    if args.polnear:
        from stancekit.evaluate.quotes import polnear_documents

        items = polnear_documents(args.polnear)
        docs = _cached(nlp, "polnear-" + args.polnear.name, [t for _, t, _ in items], args.cache)
        corpora.append(("polnear:" + str(args.polnear), lambda f, d=docs, i=items: score_polnear(d, i, f)))
    for gold in args.sample:
        from stancekit.ingest import title_span as find_title

        rows = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line.strip()]
        texts = [(gold.parent / "articles" / f"{r['doc_id']}.txt").read_text(encoding="utf-8") for r in rows]
        docs = _cached(nlp, "sample-" + gold.parent.name, texts, args.cache)
        for doc, text in zip(docs, texts):
            apply_title_span(doc, find_title(text))
        corpora.append(("sample:" + str(gold), lambda f, d=docs, r=rows: score_sample(d, r, f)))
    for variant in args.variants.split(","):
        finder = finder_for(nlp, variant)
        for name, run in corpora:
            t0 = time.perf_counter()
            out = run(finder)
            print(json.dumps({"variant": variant, "corpus": name, **out,
                              "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
