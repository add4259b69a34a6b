"""Speaker-level stance: each speaker's quotes toward a target, pooled into one stance per target.

A quote counts toward its speaker's stance only when the speaker is known: quotes whose speaker has no
``name`` (an unresolved pronoun, an anonymous source) or whose speaker resolution ``confidence`` is below
``min_confidence`` (:data:`MIN_SPEAKER_CONFIDENCE`) are left out, so that a guess about who spoke never
moves a named person's stance. A pronoun whose antecedent is not clear (confidence below
:data:`stancekit.speakers.PRONOUN_MIN_CONFIDENCE`) has no name, and "I", "you", "we" never have one, so
unresolved pronouns are never pooled into one speaker. The quotes themselves keep their own stances
either way.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .targets import LABELS, Target

# below a noun-phrase fallback speaker ("officials", confidence 0.4) and above an unresolved pronoun (0.15)
MIN_SPEAKER_CONFIDENCE = 0.25


def aggregate(quotes: Sequence[dict], targets: Sequence[Target], *,
              min_confidence: float = MIN_SPEAKER_CONFIDENCE) -> list[dict]:
    """Speaker-level stance per target: quote probabilities averaged, weighted by relevance × confidence.

    Each speaker gets ``{target, label, score, n_quotes, evidence}`` per target, where ``evidence``
    lists the quote ids that weigh most (highest weight first). Quotes of an unnamed speaker or of a
    speaker resolved with confidence below ``min_confidence`` are not aggregated (module doc).
    """
    speakers: dict[str, dict] = {}
    for q in quotes:
        sp = q.get("speaker")
        if not sp or not sp.get("name") or float(sp.get("confidence", 0.5)) < min_confidence:
            continue
        rec = speakers.setdefault(sp["name"], {"name": sp["name"], "label": sp.get("label"), "roles": [],
                                               "affiliation": sp.get("affiliation"), "quote_ids": [], "_st": []})
        if sp.get("role") and sp["role"] not in rec["roles"]:
            rec["roles"].append(sp["role"])
        rec["quote_ids"].append(q["quote_id"])
        rec["_st"].append((q["quote_id"], float(sp.get("confidence", 0.5)), q.get("stances", [])))
    out = []
    for rec in speakers.values():
        rec["stances"] = [s for s in (_pool(rec["_st"], target) for target in targets) if s is not None]
        del rec["_st"]
        out.append(rec)
    return out


def _pool(items: list, target: Target) -> dict | None:
    """One speaker's stance toward ``target`` from ``(quote_id, confidence, stances)`` items, or None."""
    total = np.zeros(3)
    wsum = 0.0
    evidence = []
    n = 0
    for qid, conf, sts in items:
        st = next((s for s in sts if s["target"] == target.id), None)
        if st is None:
            continue
        n += 1
        w = st["relevance"] * max(conf, 0.05)
        probs = np.array([st["probs"][lab] for lab in LABELS]) if "probs" in st else \
            np.eye(3)[LABELS.index(st["label"])]
        total += w * probs
        wsum += w
        evidence.append((w, qid))
    if n == 0:
        return None
    probs = total / wsum if wsum > 0 else np.array([0.0, 0.0, 1.0])
    k = int(np.argmax(probs))
    return {"target": target.id, "label": LABELS[k], "score": round(float(probs[k]), 4), "n_quotes": n,
            "evidence": [qid for w, qid in sorted(evidence, reverse=True) if w > 0][:5]}
