"""CofeNet's instances scored with and without their document: how much of the tagger's loss in the
sentence-level protocol comes from seeing one paragraph at a time.

The CofeNet file (``valid.txt``) holds PolNeAR dev cut into paragraph instances. This script rebuilds the
instances of each dev article with the project's converter (:func:`stancekit.attribution.cofenet.instances`,
character offsets included), aligns them to the file's instances of the same article on their tokens, and
scores the tagger's own spans (as ``exact_tagger_spans`` of ``stancekit eval quotes --format cofenet``) two
ways on the aligned instances:

* ``instance alone``: the tagger reads each instance's text by itself (what the protocol gives a model);
* ``document context``: the tagger reads the whole article; its spans are clipped to each instance.

Only the first is comparable with CofeNet's published numbers; the second is how the tagger runs in
``stancekit run``. Instances whose tokens our converter splits differently are left out (counted).

    python benchmarks/cofenet_context.py --model models/quotes-mpnet [--data ../shared/eval-data] [--json FILE]

The evaluation data is read from ``../shared`` at run time only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[1] / "../shared/eval-data"


def main() -> None:
    from stancekit.attribution.cofenet import align_instances, instances, polnear_articles, read_cofenet
    from stancekit.attribution.tagger import AttributionTagger
    from stancekit.evaluate.quotes import Counts, bio_spans, char_to_tokens, cofenet_tagger_spans, join_tokens

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="quote tagger folder")
    ap.add_argument("--data", type=Path, default=DEFAULT, help="folder with polnear/dev and polnear-cofenet-bio")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    tagger = AttributionTagger(args.model, device=args.device)
    reference = read_cofenet(args.data / "polnear-cofenet-bio" / "valid.txt")
    articles = list(polnear_articles(args.data / "polnear" / "dev"))
    whole = tagger.tag([text for _, text, _ in articles])
    aligned = []  # (reference row, our instance's tokens with offsets, the article's spans)
    for (key, text, _), spans in zip(articles, whole):
        rows, ours = reference.get(key, []), instances(text)
        pairs = align_instances([r["tokens"] for r in rows], [[t for t, _, _ in toks] for toks in ours])
        aligned += [(rows[i], ours[j], spans) for i, j in pairs]
    rows = [row for row, _, _ in aligned]
    texts = [join_tokens(row["tokens"]) for row in rows]

    roles = ("source", "cue", "content")
    alone = cofenet_tagger_spans(tagger, rows, texts)  # each instance's text by itself, as `eval quotes` scores it
    context = {r: Counts() for r in roles}
    for row, toks, spans in aligned:
        gold = bio_spans(row["labels"])
        a, b = toks[0][1], toks[-1][2]
        tok_offsets = [(s, e) for _, s, e in toks]
        predicted: dict[str, set] = {r: set() for r in roles}
        for s in spans:
            if s.role in roles and s.start < b and a < s.end:
                span = char_to_tokens(tok_offsets, max(s.start, a), min(s.end, b))
                if span is not None:
                    predicted[s.role].add(span)
        for r in roles:
            context[r].add(len(gold[r] & predicted[r]), len(predicted[r]), len(gold[r]))
    out = {"model": str(args.model), "instances": sum(len(v) for v in reference.values()),
           "instances_aligned": len(aligned),
           "exact_f1": {"instance alone": {r: alone[r] for r in roles},
                        "document context": {r: c.scores() for r, c in context.items()}}}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"instances_aligned": out["instances_aligned"], "instances": out["instances"]}))
    for mode, counts in out["exact_f1"].items():
        print(mode, " / ".join(f"{r} {100 * counts[r]['f1']:.1f}" for r in roles))


if __name__ == "__main__":
    main()
