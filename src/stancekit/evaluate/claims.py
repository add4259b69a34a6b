"""Evaluate the claim stage on gold claims (``stancekit eval claims``).

Gold format (one article a line, as in ``corpora/sample/gold.jsonl``)::

    {"doc_id": "river_dam", "quotes": [...],
     "claims": [{"text", "start", "end", "claimer": name or null,
                 "quantities": [{"text", "value", "unit", "approx"}, ...]}]}

with the article in ``<articles_dir>/<doc_id>.txt``. The article date (for "five years ago") is
read from a ``date`` field of the gold line, or from ``sample.jsonl`` beside the gold file.

Metrics, all by *sentence overlap* (sentences as :func:`stancekit.claims.sentence_spans` cuts them):

``claims``
    a predicted claim is correct when it shares a sentence with a gold claim; a gold claim is found
    when a prediction shares a sentence with it. Precision = correct / predicted, recall = found /
    gold, F1 their harmonic mean.
``sentences``
    the NewsClaims protocol: P/R/F1 over the sets of (document, sentence) pairs holding a claim.
``claimer``
    on found gold claims: the claimer of the best-overlapping prediction names the gold claimer
    (case-insensitive, one name inside the other counts), or both are the author (null).
``quantities``
    on found gold claims that list quantities: a gold quantity is right when a predicted quantity
    of the overlapping predictions has the same value (relative tolerance 1e-6), unit and
    approximation; ``value_unit_accuracy`` ignores the approximation; ``precision`` is the share of
    predicted quantities inside gold claim spans that match a gold quantity.

:func:`newsclaims_to_gold` turns a NewsClaims download (Reddy et al., 2022) into this format.

Check-worthiness ranking (``stancekit eval claims PATH --format clef``, :func:`evaluate_clef`) reads
CLEF CheckThat! 2019 task 1 TSV files (``line <TAB> speaker <TAB> sentence <TAB> label``, one file a
debate or speech): each file becomes one document of lines ``SPEAKER: sentence`` run through the
spaCy pipeline and :func:`stancekit.claims.find_claims` with no score cut; a line's score is the best
score of the claims in it. Metrics over whole documents: MAP (mean over documents of the average
precision), R-precision, P@k (k = 1, 3, 5, 10, 20, 50), F1 of the lines at or above the threshold,
claimer accuracy on the check-worthy lines (the claimer names the line's speaker, names compared
case-insensitively, one inside the other counts) and the "has a digit, longer first" baseline.
:func:`clef_split` holds out every fourth document (sorted by file name) as the dev split.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import Errors, StancekitError

REL_TOL = 1e-6
P_AT = (1, 3, 5, 10, 20, 50)
CLEF_DEV_EVERY = 4


# ---------------------------------------------------------------------------------------------
# evaluation
# ---------------------------------------------------------------------------------------------

def evaluate_claims(gold_path: str | Path, articles_dir: str | Path, *, nlp, detector=None,
                    min_score: float = 0.5, dates: dict[str, str] | None = None,
                    limit: int | None = None) -> dict:
    """Precision / recall / F1 of claim detection, claimer and quantity accuracy (see module doc)."""
    from ..claims import find_claims, sentence_spans

    gold_path, articles_dir = Path(gold_path), Path(articles_dir)
    if not gold_path.is_file():
        raise StancekitError(Errors.E001, path=str(gold_path))
    if not articles_dir.is_dir():
        raise StancekitError(Errors.E001, path=str(articles_dir))
    rows = _read_jsonl(gold_path)[:limit] if limit else _read_jsonl(gold_path)
    dates = dict(dates) if dates is not None else _sample_dates(gold_path.parent / "sample.jsonl")
    totals = _Counts()
    per_doc, missing = [], []
    for row in rows:
        doc_id = row["doc_id"]
        path = articles_dir / f"{doc_id}.txt"
        if not path.is_file():
            missing.append(doc_id)
            continue
        text = path.read_text(encoding="utf-8")
        doc = nlp(text)
        preds = find_claims(doc, doc_id=doc_id, ref_date=row.get("date") or dates.get(doc_id),
                            detector=detector, min_score=min_score)
        golds = [g for g in (_locate(text, g) for g in row.get("claims", [])) if g is not None]
        counts = score_document(golds, preds, sentence_spans(doc))
        totals.add(counts)
        per_doc.append({"doc_id": doc_id, **counts.summary()})
    return {"gold": str(gold_path), "documents": len(per_doc), "missing_articles": missing,
            "min_score": min_score, **totals.summary(), "per_document": per_doc}


class _Counts:
    """Running counts of one document or a whole corpus."""

    def __init__(self):
        self.n = {k: 0 for k in ("gold", "pred", "pred_correct", "gold_found", "sent_gold", "sent_pred",
                                 "sent_both", "claimer_n", "claimer_ok", "author_n", "author_ok",
                                 "q_gold", "q_ok", "q_value_unit_ok", "q_pred", "q_pred_ok")}

    def add(self, other: "_Counts") -> None:
        for k, v in other.n.items():
            self.n[k] += v

    def summary(self) -> dict:
        n = self.n
        claims = _prf(n["pred_correct"], n["pred"], n["gold_found"], n["gold"])
        sentences = _prf(n["sent_both"], n["sent_pred"], n["sent_both"], n["sent_gold"])
        return {
            "n_gold": n["gold"], "n_pred": n["pred"],
            "claims": claims,
            "sentences": sentences,
            "claimer": {"accuracy": _ratio(n["claimer_ok"], n["claimer_n"]), "n": n["claimer_n"],
                        "author_accuracy": _ratio(n["author_ok"], n["author_n"]), "n_author": n["author_n"],
                        "speaker_accuracy": _ratio(n["claimer_ok"] - n["author_ok"], n["claimer_n"] - n["author_n"]),
                        "n_speaker": n["claimer_n"] - n["author_n"]},
            "quantities": {"accuracy": _ratio(n["q_ok"], n["q_gold"]),
                           "value_unit_accuracy": _ratio(n["q_value_unit_ok"], n["q_gold"]),
                           "precision": _ratio(n["q_pred_ok"], n["q_pred"]),
                           "n_gold": n["q_gold"], "n_pred": n["q_pred"]},
        }


def score_document(golds: list[dict], preds: list[dict], sentences: list[tuple[int, int]]) -> _Counts:
    """Counts for one document: gold and predicted claims with character offsets."""
    c = _Counts()
    gold_sents = [_sentences_of(g, sentences) for g in golds]
    pred_sents = [_sentences_of(p, sentences) for p in preds]
    c.n["gold"], c.n["pred"] = len(golds), len(preds)
    c.n["pred_correct"] = sum(1 for ps in pred_sents if any(ps & gs for gs in gold_sents))
    all_gold = set().union(*gold_sents) if gold_sents else set()
    all_pred = set().union(*pred_sents) if pred_sents else set()
    c.n["sent_gold"], c.n["sent_pred"], c.n["sent_both"] = len(all_gold), len(all_pred), len(all_gold & all_pred)
    for g, gs in zip(golds, gold_sents):
        matched = [p for p, ps in zip(preds, pred_sents) if ps & gs]
        if not matched:
            continue
        c.n["gold_found"] += 1
        best = max(matched, key=lambda p: (_overlap(p, g), -abs(p["start"] - g["start"])))
        gold_claimer = g.get("claimer")
        c.n["claimer_n"] += 1
        ok = same_name(gold_claimer, (best.get("claimer") or {}).get("name"))
        c.n["claimer_ok"] += ok
        if gold_claimer is None:
            c.n["author_n"] += 1
            c.n["author_ok"] += ok
        if "quantities" not in g:
            continue
        predicted = [q for p in matched for q in p.get("quantities", [])]
        for gq in g["quantities"]:
            c.n["q_gold"] += 1
            c.n["q_ok"] += any(same_quantity(gq, q) for q in predicted)
            c.n["q_value_unit_ok"] += any(same_quantity(gq, q, approx=False) for q in predicted)
        inside = [q for q in predicted if "start" in q and g["start"] <= q["start"] and q["end"] <= g["end"]]
        c.n["q_pred"] += len(inside)
        c.n["q_pred_ok"] += sum(1 for q in inside if any(same_quantity(gq, q) for gq in g["quantities"]))
    return c


def same_name(gold: str | None, pred: str | None) -> bool:
    """Claimer names agree: both the author (None), or equal up to case, "the" and one inside the other."""
    if gold is None or pred is None:
        return gold is None and pred is None
    a, b = _norm_name(gold), _norm_name(pred)
    return bool(a) and bool(b) and (a == b or a in b or b in a)


def same_quantity(gold: dict, pred: dict, *, approx: bool = True) -> bool:
    gv, pv = gold.get("value"), pred.get("value")
    if (gv is None) != (pv is None):
        return False
    if gv is not None and not math.isclose(float(gv), float(pv), rel_tol=REL_TOL, abs_tol=1e-9):
        return False
    if (gold.get("unit") or "").lower() != (pred.get("unit") or "").lower():
        return False
    return not approx or gold.get("approx", "exact") == pred.get("approx", "exact")


def _norm_name(name: str) -> str:
    name = re.sub(r"^the\s+", "", name.strip().lower())
    return re.sub(r"['’]s$", "", name).strip(" .,")


def _sentences_of(claim: dict, sentences: list[tuple[int, int]]) -> set[int]:
    return {k for k, (a, b) in enumerate(sentences) if a < claim["end"] and claim["start"] < b}


def _overlap(a: dict, b: dict) -> int:
    return max(0, min(a["end"], b["end"]) - max(a["start"], b["start"]))


def _locate(text: str, claim: dict) -> dict | None:
    """Trust gold offsets when ``text[start:end]`` matches, else find the text in the article."""
    start, end = claim.get("start"), claim.get("end")
    if isinstance(start, int) and isinstance(end, int) and text[start:end] == claim.get("text", text[start:end]):
        return claim
    found = text.find(claim.get("text", "\0"))
    if found < 0:
        return None
    return dict(claim, start=found, end=found + len(claim["text"]))


def _prf(tp_p: int, n_pred: int, tp_g: int, n_gold: int) -> dict:
    p, r = _ratio(tp_p, n_pred), _ratio(tp_g, n_gold)
    f = round(2 * p * r / (p + r), 4) if p and r else 0.0
    return {"precision": p, "recall": r, "f1": f}


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise StancekitError(Errors.E101, line=i, source=str(path), detail=str(exc)) from exc
    return rows


def _sample_dates(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    return {row.get("id") or row.get("doc_id"): row["date"] for row in _read_jsonl(path) if row.get("date")}


# ---------------------------------------------------------------------------------------------
# NewsClaims
# ---------------------------------------------------------------------------------------------

def newsclaims_to_gold(gold_file: str | Path, all_sents_file: str | Path, out_dir: str | Path, *,
                       text_dir: str | Path | None = None, span: str = "sentence") -> Path:
    """Convert a NewsClaims split (``dev.json`` or ``test.json``) to stancekit's gold format.

    ``gold_file`` maps ``doc_id → segment_id → annotation`` (``sentence``, ``claimer``,
    ``has_claimer``, ``claim_span``, ``stance``, ``claim_object``, ``topic``); ``all_sents_file``
    maps ``doc_id`` to its list of sentences (the segment id indexes it); ``text_dir`` holds the
    raw articles as ``<doc_id>.txt`` (without it, the sentences joined by newlines are the article).
    With ``span="claim_span"`` the claim is the annotated span, read as character offsets into the
    sentence with an inclusive end (the convention of NewsClaims' span scorer); the default is the
    whole sentence, which is what NewsClaims scores for claim detection.

    Writes ``out_dir/gold.jsonl`` and ``out_dir/articles/<doc_id>.txt``; returns the gold path.
    Score it with ``stancekit eval claims out_dir/gold.jsonl``. NewsClaims has no quantities, so
    only claim and claimer metrics apply.
    """
    if span not in ("sentence", "claim_span"):
        raise StancekitError(Errors.E012, name="span", detail="use 'sentence' or 'claim_span'")
    gold = _read_json(Path(gold_file))
    all_sents = _read_json(Path(all_sents_file))
    out_dir = Path(out_dir)
    (out_dir / "articles").mkdir(parents=True, exist_ok=True)
    lines = []
    for doc_id, segments in gold.items():
        sentences = [_sentence_text(s) for s in all_sents.get(doc_id, [])]
        raw = Path(text_dir) / f"{doc_id}.txt" if text_dir is not None else None
        text = raw.read_text(encoding="utf-8") if raw is not None and raw.is_file() else "\n".join(sentences)
        offsets = _sentence_offsets(text, sentences)
        claims = []
        for seg_id, ann in sorted(segments.items(), key=lambda kv: _seg_key(kv[0])):
            located = _segment_span(text, sentences, offsets, seg_id, ann)
            if located is None:
                continue
            a, b = located
            if span == "claim_span" and isinstance(ann.get("claim_span"), (list, tuple)) and len(ann["claim_span"]) == 2:
                cs, ce = int(ann["claim_span"][0]), int(ann["claim_span"][1]) + 1
                if 0 <= cs < ce <= b - a:
                    a, b = a + cs, a + ce
            claimer = ann.get("claimer") if ann.get("has_claimer", bool(ann.get("claimer"))) else None
            if claimer in ("<AUTHOR>", "", None):
                claimer = None
            claims.append({"text": text[a:b], "start": a, "end": b, "claimer": claimer,
                           "newsclaims": {k: ann[k] for k in ("topic", "claim_object", "stance",
                                                               "claimer_in_sentence") if k in ann}})
        safe_id = re.sub(r"[^\w.-]", "_", str(doc_id))
        (out_dir / "articles" / f"{safe_id}.txt").write_text(text, encoding="utf-8")
        lines.append(json.dumps({"doc_id": safe_id, "quotes": [], "claims": claims}, ensure_ascii=False))
    path = out_dir / "gold.jsonl"
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    return path


def _read_json(path: Path):
    if not path.is_file():
        raise StancekitError(Errors.E001, path=str(path))
    return json.loads(path.read_text(encoding="utf-8"))


def _sentence_text(s) -> str:
    if isinstance(s, dict):
        return str(s.get("sentence") or s.get("text") or "")
    return str(s)


def _seg_key(seg_id) -> tuple:
    return (0, int(seg_id), "") if str(seg_id).isdigit() else (1, 0, str(seg_id))


def _sentence_offsets(text: str, sentences: Iterable[str]) -> list[tuple[int, int] | None]:
    """Offsets of each sentence in the article, searched in order (whitespace-tolerant)."""
    out: list[tuple[int, int] | None] = []
    pos = 0
    for s in sentences:
        s = s.strip()
        if not s:
            out.append(None)
            continue
        i = text.find(s, pos)
        if i < 0:
            pattern = r"\s+".join(re.escape(w) for w in s.split())
            m = re.compile(pattern).search(text, pos)
            if m is None:
                out.append(None)
                continue
            out.append((m.start(), m.end()))
            pos = m.end()
        else:
            out.append((i, i + len(s)))
            pos = i + len(s)
    return out


def _segment_span(text: str, sentences: list[str], offsets: list, seg_id, ann: dict) -> tuple[int, int] | None:
    k = int(seg_id) if str(seg_id).isdigit() else None
    if k is not None and 0 <= k < len(offsets) and offsets[k] is not None:
        return offsets[k]
    sentence = (ann.get("sentence") or "").strip()
    if sentence:
        i = text.find(sentence)
        if i >= 0:
            return i, i + len(sentence)
    return None


# ---------------------------------------------------------------------------------------------
# CLEF CheckThat! check-worthiness ranking
# ---------------------------------------------------------------------------------------------

@dataclass
class ClefDocument:
    """One CLEF file: ``lines`` are ``(line_number, speaker, sentence, label)`` in document order."""

    doc_id: str
    lines: list[tuple[int, str, str, int]] = field(default_factory=list)

    def layout(self) -> tuple[str, list[tuple[int, int]]]:
        """The document as transcript lines ``SPEAKER: sentence`` and each sentence's character span."""
        parts, spans, pos = [], [], 0
        for _, speaker, sentence, _ in self.lines:
            line = f"{speaker}: {sentence}"
            spans.append((pos + len(speaker) + 2, pos + len(line)))
            parts.append(line)
            pos += len(line) + 1
        return "\n".join(parts) + "\n", spans


def clef_split(names: Sequence[str], split: str = "all") -> list[str]:
    """Document names of a split: ``dev`` is every fourth name in sorted order (the 4th, 8th, …),
    ``train`` the rest, ``all`` everything."""
    if split not in ("all", "train", "dev"):
        raise StancekitError(Errors.E012, name="--split", detail=f"{split!r}: use all, train or dev")
    ordered = sorted(names)
    if split == "all":
        return ordered
    dev = {n for i, n in enumerate(ordered) if i % CLEF_DEV_EVERY == CLEF_DEV_EVERY - 1}
    return [n for n in ordered if (n in dev) == (split == "dev")]


def read_clef(path: str | Path, *, split: str = "all") -> list[ClefDocument]:
    """CLEF CheckThat! 2019 task 1 documents from a ``.tsv`` file or a folder of them."""
    path = Path(path)
    if not path.exists():
        raise StancekitError(Errors.E001, path=str(path))
    files = {f.stem: f for f in (sorted(path.glob("*.tsv")) if path.is_dir() else [path])}
    if not files:
        raise StancekitError(Errors.E012, name="--data", detail=f"no .tsv files in {path}")
    docs = []
    for name in clef_split(list(files), split if path.is_dir() else "all"):
        doc = ClefDocument(doc_id=name)
        for i, line in enumerate(files[name].read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.rstrip("\r").split("\t")
            if len(parts) < 4 or parts[3].strip() not in ("0", "1"):
                raise StancekitError(Errors.E012, name=str(files[name]),
                                     detail=f"line {i}: expected line_number, speaker, sentence, 0/1 label")
            number = int(parts[0]) if parts[0].strip().isdigit() else i
            doc.lines.append((number, parts[1].strip(), parts[2].strip(), int(parts[3])))
        docs.append(doc)
    return docs


def average_precision(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """Average precision of one ranking (ties keep document order); None without positives."""
    order = sorted(range(len(labels)), key=lambda i: -scores[i])
    hits, total = 0, 0.0
    for rank, i in enumerate(order, 1):
        if labels[i]:
            hits += 1
            total += hits / rank
    return total / hits if hits else None


def ranking_metrics(docs: Sequence[tuple[Sequence[int], Sequence[float]]]) -> dict:
    """MAP, mean R-precision and mean P@k over documents given as (labels, scores)."""
    aps, rps, pks = [], [], {k: [] for k in P_AT}
    for labels, scores in docs:
        ap = average_precision(labels, scores)
        if ap is None:
            continue
        order = sorted(range(len(labels)), key=lambda i: -scores[i])
        ranked = [labels[i] for i in order]
        r = sum(labels)
        aps.append(ap)
        rps.append(sum(ranked[:r]) / r)
        for k in P_AT:
            pks[k].append(sum(ranked[:k]) / k)
    mean = (lambda xs: round(sum(xs) / len(xs), 4) if xs else 0.0)
    return {"map": mean(aps), "r_precision": mean(rps), **{f"p@{k}": mean(v) for k, v in pks.items()},
            "documents": len(aps)}


def digit_length_baseline(sentence: str) -> float:
    """The trivial ranking: sentences with a digit first, longer ones first within each group."""
    return float(any(ch.isdigit() for ch in sentence)) * 1000 + len(sentence.split())


def trained_on(detector) -> list[str]:
    """CLEF document ids listed in a head's training card (empty for heads trained on team data only)."""
    params = getattr(detector, "params", None) or {}
    return list((params.get("training") or {}).get("clef_documents") or [])


def evaluate_clef(path: str | Path, *, nlp, detector=None, split: str = "all", min_score: float | None = None,
                  limit: int | None = None) -> dict:
    """Check-worthiness ranking on CLEF documents through the claim stage (see the module doc)."""
    from ..claims import _default_detector, find_claims

    detector = detector if detector is not None else _default_detector()
    threshold = detector.threshold if min_score is None else min_score
    docs = read_clef(path, split=split)[:limit] if limit else read_clef(path, split=split)
    seen = sorted({d.doc_id for d in docs} & set(trained_on(detector)))
    ranked, baseline, per_doc = [], [], []
    tp = fp = fn = 0
    claimer_n = claimer_ok = tagged = n_claims = 0
    for cdoc in docs:
        text, spans = cdoc.layout()
        doc = nlp(text)
        claims = find_claims(doc, doc_id=cdoc.doc_id, detector=detector, min_score=0.0)
        best: list[dict | None] = [None] * len(spans)
        k = 0
        for c in sorted(claims, key=lambda c: c["start"]):
            while k < len(spans) and spans[k][1] <= c["start"]:
                k += 1
            if k < len(spans) and spans[k][0] - 40 <= c["start"] < spans[k][1]:
                if best[k] is None or c["checkworthiness"] > best[k]["checkworthiness"]:
                    best[k] = c
        n_claims += len(claims)
        speakers = {sp for _, sp, _, _ in cdoc.lines}
        tagged += sum(1 for c in claims if c["text"].split(":", 1)[0] in speakers)
        labels = [y for *_, y in cdoc.lines]
        scores = [b["checkworthiness"] if b is not None else 0.0 for b in best]
        ranked.append((labels, scores))
        baseline.append((labels, [digit_length_baseline(s) for _, _, s, _ in cdoc.lines]))
        for (_, speaker, _, y), b, s in zip(cdoc.lines, best, scores):
            pred = s >= threshold
            tp += y and pred
            fp += (not y) and pred
            fn += y and not pred
            if y:
                claimer_n += 1
                claimer_ok += b is not None and same_name(speaker, (b.get("claimer") or {}).get("name"))
        per_doc.append({"doc_id": cdoc.doc_id, "sentences": len(labels), "positives": sum(labels),
                        **{k: v for k, v in ranking_metrics([ranked[-1]]).items() if k != "documents"}})
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {"data": str(path), "split": split, "documents": len(docs), "threshold": threshold,
            "seen_in_training": seen,
            "sentences": sum(len(d.lines) for d in docs), "positives": sum(sum(l) for l, _ in ranked),
            **ranking_metrics(ranked),
            "f1": {"precision": p, "recall": r, "f1": round(2 * p * r / (p + r), 4) if p and r else 0.0},
            "claimer": {"accuracy": _ratio(claimer_ok, claimer_n), "n": claimer_n},
            "claims_with_layout_tag": tagged, "claims_scored": n_claims,
            "baseline_digit_longer_first": ranking_metrics(baseline),
            "detector": detector.describe(), "per_document": per_doc}
