"""The attribution tagger at inference: windows through the engine, stitched, decoded, linked.

1. Each document is tokenised once and cut into overlapping windows (:func:`~.data.make_windows`);
   the windows of *all* documents of a call go through one :class:`~stancekit.engine.InferenceEngine`
   run (token-budget, length-sorted batches across documents, bf16 where it pays, OOM split).
2. Stitching: a word piece seen by several windows takes the logits of the window where it lies
   farthest from an edge (most context on both sides); pieces are keyed by document character
   offsets, so the result is one label sequence over the whole document.
3. Decoding: the best label sequence under the BIO constraints (:func:`viterbi`: an ``I-`` piece
   only after ``B-`` or ``I-`` of its role; the per-piece log-probabilities are the scores), so a
   piece or two the tagger doubts inside a long content no longer break it when the pieces around
   say "inside"; then BIO to character spans: an ``I-`` piece continues a span of the same role
   across whitespace and line breaks (content runs over paragraphs). With ``decoding="argmax"``
   each piece takes its likeliest label and an ``I-`` piece continues a span across up to
   :data:`BRIDGE` ``O`` pieces instead; an ``I-`` after another role starts one.
4. Linking (cue-centred, :func:`link`): every content goes to the nearest cue; a cue keeps the
   nearest source in reach. A cue with several contents ("“A,” she said. “B.”") has one head
   content, the others are its continuations. Cues without content are dropped.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import Errors, StancekitError
from .data import LABELS, ROLES, Window, make_windows

#: cost, in characters, of a paragraph break between a content or source and its cue
PARAGRAPH_COST = 400
#: the farthest a content may be from its cue (characters, with the paragraph cost)
MAX_CUE_GAP = 600
#: the farthest a source may be from its cue (characters, with the paragraph cost)
MAX_SOURCE_GAP = 200


@dataclass
class TaggedSpan:
    start: int
    end: int
    role: str
    score: float = 0.0


@dataclass
class Attribution:
    """One linked attribution: content with its cue and source (either may be missing)."""

    content: TaggedSpan
    cue: TaggedSpan | None = None
    source: TaggedSpan | None = None
    head: int | None = None  # index of the attribution this one continues (same cue)
    extra: dict = field(default_factory=dict)


#: an ``I-`` piece continues the span before it across at most this many ``O`` pieces (a content
#: the tagger breaks into pieces; chosen on PolNeAR dev, see benchmarks/RESULTS.md)
BRIDGE = 4
#: how :class:`AttributionTagger` turns per-piece probabilities into labels (module doc, step 3)
DECODINGS = ("viterbi", "argmax")


def decode(pieces: Sequence[tuple[int, int]], label_ids: Sequence[int], probs: Sequence[float] | None = None,
           labels: Sequence[str] = LABELS, bridge: int = BRIDGE) -> list[TaggedSpan]:
    """Character spans from per-piece BIO labels (see the module doc, step 3)."""
    spans: list[TaggedSpan] = []
    scores: list[list[float]] = []
    prev_role = None
    outside = 0  # O pieces since the last span piece
    for k, ((a, b), lab) in enumerate(zip(pieces, label_ids)):
        if a == b:
            continue
        tag = labels[int(lab)]
        if tag == "O":
            outside += 1
            continue
        prefix, _, role = tag.partition("-")
        p = float(probs[k]) if probs is not None else 1.0
        if prefix == "I" and prev_role == role and spans and outside <= bridge:
            spans[-1].end = b
            scores[-1].append(p)
        else:
            spans.append(TaggedSpan(a, b, role))
            scores.append([p])
        prev_role = role
        outside = 0
    for s, sc in zip(spans, scores):
        s.score = round(float(np.mean(sc)), 4)
    return spans


def transitions(labels: Sequence[str] = LABELS) -> np.ndarray:
    """``[prev, cur]`` scores of the BIO constraints: 0 where allowed, ``-inf`` where ``cur`` is an
    ``I-`` label and ``prev`` is neither ``B-`` nor ``I-`` of the same role."""
    n = len(labels)
    out = np.zeros((n, n))
    for j, cur in enumerate(labels):
        if cur.startswith("I-"):
            role = cur[2:]
            for i, prev in enumerate(labels):
                if prev[2:] != role or prev == "O":
                    out[i, j] = -np.inf
    return out


def viterbi(logp: np.ndarray, labels: Sequence[str] = LABELS) -> np.ndarray:
    """Label ids of the best-scoring sequence (sum of per-piece ``logp``, ``[pieces, labels]``) that
    obeys the BIO constraints (:func:`transitions`); a sequence may not open with ``I-``."""
    n = len(logp)
    if n == 0:
        return np.zeros(0, dtype=int)
    trans = transitions(labels)
    opening = np.array([-np.inf if lab.startswith("I-") else 0.0 for lab in labels])
    score = logp[0] + opening
    back = np.zeros((n, len(labels)), dtype=np.int64)
    for k in range(1, n):
        cand = score[:, None] + trans  # [prev, cur]
        back[k] = cand.argmax(0)
        score = cand[back[k], np.arange(len(labels))] + logp[k]
    ids = np.zeros(n, dtype=np.int64)
    ids[-1] = int(score.argmax())
    for k in range(n - 1, 0, -1):
        ids[k - 1] = back[k, ids[k]]
    return ids


class _Gaps:
    """Gaps between spans of one text (:meth:`gap`), and the spans of a role near a span
    (:meth:`nearest`), in time that does not grow with the text: line breaks are counted from their
    sorted positions, and only spans within the largest allowed gap are looked at (a gap is never
    smaller than the characters between the spans)."""

    def __init__(self, text: str):
        self.breaks = [i for i, ch in enumerate(text) if ch == "\n"]

    def gap(self, x: TaggedSpan, y: TaggedSpan) -> int:
        """Characters between two spans, plus :data:`PARAGRAPH_COST` per line break between them."""
        a, b = (x.end, y.start) if x.end <= y.start else (y.end, x.start)
        if a >= b:
            return 0
        return (b - a) + PARAGRAPH_COST * (bisect_left(self.breaks, b) - bisect_left(self.breaks, a))

    def nearest(self, span: TaggedSpan, others: Sequence[TaggedSpan], ends: Sequence[int], limit: int):
        """Index of the span of ``others`` (sorted by start; ``ends`` the running maximum of their end
        offsets) with the smallest gap to ``span``, the first of equals; ``None`` when none is within
        ``limit``."""
        best, best_gap = None, limit + 1
        for k in range(bisect_left(ends, span.start - limit), len(others)):
            if others[k].start > span.end + limit:
                break
            g = self.gap(span, others[k])
            if g < best_gap:
                best, best_gap = k, g
        return best


def link(text: str, spans: Sequence[TaggedSpan]) -> list[Attribution]:
    """Attributions from decoded spans: cue-centred nearest-neighbour linking (module doc, step 4)."""
    gaps = _Gaps(text)
    cues = sorted((s for s in spans if s.role == "cue"), key=lambda s: s.start)
    contents = [s for s in spans if s.role == "content"]
    sources = sorted((s for s in spans if s.role == "source"), key=lambda s: s.start)
    cue_ends = list(accumulate((s.end for s in cues), max))
    source_ends = list(accumulate((s.end for s in sources), max))
    out: list[Attribution] = []
    by_cue: dict[int, int] = {}
    for c in sorted(contents, key=lambda s: s.start):
        best = gaps.nearest(c, cues, cue_ends, MAX_CUE_GAP)
        if best is None:
            out.append(Attribution(content=c))
            continue
        if best in by_cue:  # a further content of the same cue: a continuation of its head
            out.append(Attribution(content=c, cue=cues[best], head=by_cue[best]))
            continue
        by_cue[best] = len(out)
        out.append(Attribution(content=c, cue=cues[best]))
    for att in out:
        if att.cue is None or att.head is not None:
            continue
        src = gaps.nearest(att.cue, sources, source_ends, MAX_SOURCE_GAP)
        if src is not None:
            att.source = sources[src]
    for att in out:
        if att.head is not None:
            att.source = out[att.head].source
    return out


class AttributionTagger:
    """A trained tagger folder (``stancekit train quotes``) ready for inference through the engine."""

    def __init__(self, path: str | Path, *, device: str = "auto", max_tokens: int = 16384,
                 precision: str | None = None, stride: int | None = None, decoding: str = "viterbi"):
        from ..engine import InferenceEngine, load_hf, token_logits_head

        path = Path(path)
        meta_path = path / "stancekit_tagger.json"
        if not meta_path.exists():
            raise StancekitError(Errors.E010, source=str(path),
                                 detail="not a quote tagger folder (no stancekit_tagger.json)")
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        self.labels = tuple(self.meta["labels"])
        self.max_length = int(self.meta.get("max_length", 256))
        self.stride = int(stride if stride is not None else self.meta.get("stride", 64))
        self.tokenizer, model = load_hf(str(path), task="token-classification")
        self.engine = InferenceEngine(model, self.tokenizer, device=device, max_tokens=max_tokens,
                                      max_length=self.max_length, head=token_logits_head, precision=precision)
        if decoding not in DECODINGS:
            raise StancekitError(Errors.E012, name="decoding", detail=f"{decoding!r}; one of {', '.join(DECODINGS)}")
        self.decoding = decoding
        self.path = path
        #: when a dict, :meth:`tag` keeps each text's spans here (an evaluation that scores the raw
        #: spans as well as the records reads them back instead of tagging twice)
        self.keep_spans: dict[str, list[TaggedSpan]] | None = None

    # -- public ----------------------------------------------------------------------------------
    def windows(self, text: str) -> list[Window]:
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return make_windows(text, [tuple(o) for o in enc["offset_mapping"]], self.max_length - 2, self.stride)

    def tag(self, texts: Sequence[str]) -> list[list[TaggedSpan]]:
        """Role spans (document character offsets) of each text; one engine run for all windows."""
        jobs = [(i, w) for i, t in enumerate(texts) for w in self.windows(t)]
        if not jobs:
            return [[] for _ in texts]
        pieces = [texts[i][w.start:w.end] for i, w in jobs]
        logits = self.engine.run(pieces, stack=False)
        enc = self.tokenizer(pieces, truncation=True, max_length=self.max_length, return_offsets_mapping=True)
        per_doc: list[dict[int, tuple[float, int, np.ndarray]]] = [{} for _ in texts]
        for (i, w), rows, offsets in zip(jobs, logits, enc["offset_mapping"]):
            stitch(per_doc[i], rows, offsets, w.start)
        out = [self._decode(seen) for seen in per_doc]
        if self.keep_spans is not None:
            self.keep_spans.update(zip(texts, out))
        return out

    def attributions(self, texts: Sequence[str]) -> list[list[Attribution]]:
        return [link(t, spans) for t, spans in zip(texts, self.tag(texts))]

    # -- internals -------------------------------------------------------------------------------
    def _decode(self, seen: dict[int, tuple[float, int, np.ndarray]]) -> list[TaggedSpan]:
        keys = sorted(seen)
        if not keys:
            return []
        rows = np.stack([seen[k][2] for k in keys])
        z = rows - rows.max(-1, keepdims=True)
        probs = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
        if self.decoding == "viterbi":
            ids = viterbi(np.log(np.maximum(probs, 1e-12)), self.labels)
        else:
            ids = probs.argmax(-1)
        return decode([(k, seen[k][1]) for k in keys], ids, probs[np.arange(len(ids)), ids], self.labels)


def stitch(seen: dict[int, tuple[float, int, np.ndarray]], rows: np.ndarray, offsets, shift: int) -> None:
    """Merge one window's per-piece logits into ``seen`` (start char → (centrality, end char, logits)):
    a piece keeps the window where it is farthest from an edge (module doc, step 2)."""
    real = [k for k, (a, b) in enumerate(offsets) if b > a]
    n = len(real)
    for pos, k in enumerate(real):
        a, b = offsets[k]
        centrality = min(pos, n - 1 - pos)
        key = a + shift
        if key not in seen or centrality > seen[key][0]:
            seen[key] = (centrality, b + shift, rows[k])


def roles_summary(spans: Sequence[TaggedSpan]) -> dict[str, int]:
    return {r: sum(s.role == r for s in spans) for r in ROLES}
