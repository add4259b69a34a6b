"""A synthetic run directory (records only, no models): for report tests at scale and benchmarks.

Every document gets a generated text whose quotes, cues and mentions sit at real offsets, so that a
record's ``text`` equals ``document_text[start:end]``; the texts are written to a ``.jsonl`` input
next to the run so that the report can find them again.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

NAMES = ["Ana Ruiz", "Tom Berg", "Lena Koch", "Omar Haddad", "Mia Chen", "Ravi Patel", "Sara Lind",
         "Jon Park", "Eva Novak", "Ken Ito", "Port Authority", "Farmers Union", "City Council"]
ROLES = ["Mayor", "Senator", "Minister", "Spokeswoman", None, None]
OUTLETS = ["example-news.org", "daily.example.com", "www.gazette.example", "wire.example.net", None]
LABELS = ["favor", "against", "neutral"]


def write_synthetic_run(out_dir: Path, n_docs: int, *, seed: int = 0, targets=("certification", "dam"),
                        n_errors: int | None = None, inputs_name: str = "inputs.jsonl") -> Path:
    rng = random.Random(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = out_dir.parent / inputs_name
    files = {k: (out_dir / f"{k}.jsonl").open("w", encoding="utf-8")
             for k in ("documents", "quotes", "speakers", "claims", "errors")}
    n_errors = n_docs // 50 if n_errors is None else n_errors
    counts = dict.fromkeys(files, 0)
    with inputs.open("w", encoding="utf-8") as inp:
        for i in range(n_docs):
            doc_id = f"doc{i:05d}"
            if i < n_errors:
                rec = {"doc_id": doc_id, "source": f"{inputs}:{i + 1}", "stage": "ingest", "code": "E102",
                       "message": f"[E102] Record has no usable 'text' field (line {i + 1} of {inputs})."}
                files["errors"].write(json.dumps(rec) + "\n")
                counts["errors"] += 1
                inp.write(json.dumps({"id": doc_id}) + "\n")
                continue
            text, quotes, claims = _article(rng, doc_id, list(targets))
            outlet = rng.choice(OUTLETS)
            day = f"2026-{rng.randint(1, 9):02d}-{rng.randint(1, 28):02d}"
            doc = {"doc_id": doc_id, "source": f"{inputs}:{i + 1}", "title": f"Story {i}",
                   "url": f"https://{outlet}/story/{i}" if outlet else None, "date": day, "status": "ok",
                   "n_chars": len(text), "n_quotes": len(quotes), "n_speakers": 0, "n_claims": len(claims),
                   "entities": [], "warnings": [{"code": "W003", "message": "[W003] x", "offset": 0}] if i % 7 == 0
                   else []}
            speakers = _speakers(doc_id, quotes, list(targets))
            doc["n_speakers"] = len(speakers)
            for name, recs in (("quotes", quotes), ("speakers", speakers), ("claims", claims),
                               ("documents", [doc])):
                for r in recs:
                    files[name].write(json.dumps(r, ensure_ascii=False) + "\n")
                counts[name] += len(recs)
            inp.write(json.dumps({"id": doc_id, "text": text, "title": doc["title"], "url": doc["url"],
                                  "date": day}, ensure_ascii=False) + "\n")
    for fh in files.values():
        fh.close()
    manifest = {"stancekit_version": "0.1.0", "created": "2026-01-01T00:00:00Z", "inputs": [str(inputs)],
                "config": {}, "models": {"spacy": "synthetic", "stance": {"backend": "synthetic"}},
                "counts": counts, "this_run": {}, "timings_s": {"total": 0.0}}
    (out_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return out_dir


def _article(rng: random.Random, doc_id: str, targets: list[str]):
    parts, quotes, claims, pos = [], [], [], 0

    def add(s: str) -> tuple[int, int]:
        nonlocal pos
        parts.append(s)
        pos += len(s)
        return pos - len(s), pos

    add("A synthetic story for the report tests.\n\n")
    for _ in range(rng.randint(2, 6)):
        name, role = rng.choice(NAMES), rng.choice(ROLES)
        add("\u201c")
        content = f"The plan will {rng.choice(['work', 'fail', 'cost more', 'help'])} in {rng.randint(2, 9)} years,"
        qa, qb = add(content)
        add("\u201d ")
        ca, cb = add("said")
        add(" ")
        pronoun = rng.random() < 0.3
        ma, mb = add("she" if pronoun else name)
        add(f", the {role.lower()}.\n" if role else ".\n")
        stances = []
        for t in targets:
            probs = [rng.random() for _ in LABELS]
            total = sum(probs)
            probs = [p / total for p in probs]
            k = max(range(3), key=probs.__getitem__)
            stances.append({"target": t, "label": LABELS[k], "score": round(probs[k], 4), "relevance": 0.8,
                            "probs": dict(zip(LABELS, [round(p, 4) for p in probs]))})
        speaker = {"name": None if pronoun and rng.random() < 0.3 else name,
                   "mention": {"text": "".join(parts)[ma:mb], "start": ma, "end": mb},
                   "label": "GROUP" if name in ("Farmers Union", "City Council") else "PERSON", "role": role,
                   "affiliation": None, "resolution": "pronoun" if pronoun else "name", "confidence": 0.8}
        quotes.append({"doc_id": doc_id, "quote_id": f"{doc_id}#q{qa}-{qb}", "text": content, "start": qa, "end": qb,
                       "kind": "direct", "cue": {"text": "said", "start": ca, "end": cb}, "speaker": speaker,
                       "confidence": 0.9, "stances": stances})
    sent = f"Officials said exports rose {rng.randint(2, 60)} percent to ${rng.randint(1, 900)} million last year."
    a, b = add(sent + "\n")
    claims.append({"doc_id": doc_id, "claim_id": f"{doc_id}#c{a}-{b - 1}", "text": sent, "start": a, "end": b - 1,
                   "claimer": {"name": None, "kind": "author"}, "entities": [],
                   "quantities": [{"text": "percent", "value": rng.randint(2, 60), "unit": "percent",
                                   "approx": "exact"}], "checkworthiness": round(rng.random(), 3), "stances": []})
    return "".join(parts), quotes, claims


def _speakers(doc_id: str, quotes: list[dict], targets: list[str]) -> list[dict]:
    by: dict[str, list[dict]] = {}
    for q in quotes:
        if q["speaker"]["name"]:
            by.setdefault(q["speaker"]["name"], []).append(q)
    out = []
    for name, qs in by.items():
        stances = []
        for t in targets:
            labels = [next(s for s in q["stances"] if s["target"] == t)["label"] for q in qs]
            top = max(set(labels), key=labels.count)
            stances.append({"target": t, "label": top, "score": 0.6, "n_quotes": len(qs),
                            "evidence": [q["quote_id"] for q in qs][:3]})
        out.append({"doc_id": doc_id, "name": name, "label": qs[0]["speaker"]["label"],
                    "roles": [qs[0]["speaker"]["role"]] if qs[0]["speaker"]["role"] else [], "affiliation": None,
                    "quote_ids": [q["quote_id"] for q in qs], "stances": stances})
    return out
