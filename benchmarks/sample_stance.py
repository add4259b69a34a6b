"""Score the stances of a run against gold quotes in the sample format (``corpora/sample/gold.jsonl``).

    stancekit run corpora/sample/articles --out out/sample --target certification --force
    python benchmarks/sample_stance.py out/sample [--gold corpora/sample/gold.jsonl] [--target certification]

Each gold quote is matched to the predicted quote of the same document that overlaps it most (character
offsets); a gold quote without a match counts as missed. Reports, for the matched quotes, the confusion
matrix (rows gold), accuracy and macro-F1 over favor/against/neutral, and the list of stance-bearing
gold quotes with what the run gave them. The sample corpus is a smoke test (8 favor/against quotes), not a
benchmark: see corpora/sample/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LABELS = ("favor", "against", "neutral")


def _lines(path: Path) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def score(run_dir: Path, gold_path: Path, target: str) -> dict:
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("status") != "complete":
        raise SystemExit(f"{run_dir}: the run is not complete (status {manifest.get('status')!r})")
    pred_by_doc: dict[str, list[dict]] = defaultdict(list)
    for q in _lines(run_dir / "quotes.jsonl"):
        pred_by_doc[q["doc_id"]].append(q)
    confusion = {g: {p: 0 for p in LABELS + ("missed",)} for g in LABELS}
    rows = []
    for g in _lines(gold_path):
        for gq in g["quotes"]:
            gold = gq["stance"][target]
            best, best_overlap = None, 0
            for q in pred_by_doc.get(g["doc_id"], []):
                ov = min(q["end"], gq["end"]) - max(q["start"], gq["start"])
                if ov > best_overlap:
                    best, best_overlap = q, ov
            label = "missed"
            if best is not None:
                st = next((s for s in best.get("stances", []) if s["target"] == target), None)
                label = st["label"] if st else "missed"
            confusion[gold][label] += 1
            if gold != "neutral":
                rows.append({"doc_id": g["doc_id"], "speaker": gq["speaker"], "kind": gq["kind"], "gold": gold,
                             "pred": label, "text": gq["text"][:90]})
    matched = {g: sum(confusion[g][p] for p in LABELS) for g in LABELS}
    n = sum(matched.values())
    correct = sum(confusion[g][g] for g in LABELS)
    f1 = {}
    for lab in LABELS:
        tp = confusion[lab][lab]
        pred_n = sum(confusion[g][lab] for g in LABELS)
        p = tp / pred_n if pred_n else 0.0
        r = tp / matched[lab] if matched[lab] else 0.0
        f1[lab] = round(2 * p * r / (p + r), 4) if p + r else 0.0
    return {"run": str(run_dir), "gold": str(gold_path), "target": target,
            "gold_quotes": sum(sum(v.values()) for v in confusion.values()), "matched": n,
            "accuracy_matched": round(correct / n, 4) if n else None,
            "macro_f1_matched": round(sum(f1.values()) / 3, 4), "f1": f1,
            "stance_bearing_right": sum(r["gold"] == r["pred"] for r in rows), "stance_bearing": len(rows),
            "confusion_rows_gold": confusion, "stance_bearing_quotes": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--gold", type=Path, default=REPO / "corpora" / "sample" / "gold.jsonl")
    ap.add_argument("--target", default="certification")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    out = score(args.run_dir, args.gold, args.target)
    text = json.dumps(out, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
