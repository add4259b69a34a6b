"""Training data for the attribution tagger: documents with role spans, token windows, BIO labels.

A document is its text and a list of :class:`RoleSpan` (character offsets, a role out of
``source`` / ``cue`` / ``content`` and the attribution it belongs to). Readers turn the three input
formats into documents:

* ``polnear``: a PolNeAR split folder (BRAT standoff; one annotator per article);
* ``cofenet``: CofeNet's sentence-level BIO file (JSON lines); each instance is a one-sentence document;
* ``sample``: stancekit's ``gold.jsonl`` + ``articles/``; a quote may carry ``cue`` and ``source``
  offsets (``{"start": .., "end": ..}``), otherwise only its content is labelled.

A document is cut into *windows* of at most ``max_length - 2`` word pieces that overlap by
``stride`` pieces; a window starts at a sentence start where one lies in the overlap, so that a
window holds several whole sentences and content can run across sentences and paragraphs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import Errors, StancekitError

ROLES = ("source", "cue", "content")
LABELS = ("O",) + tuple(f"{p}-{r}" for r in ROLES for p in ("B", "I"))
FORMATS = ("polnear", "cofenet", "sample")
_SENT_END = re.compile(r"[.?!…][\"'”’)\]]*$")


@dataclass(frozen=True)
class RoleSpan:
    start: int
    end: int
    role: str
    attribution: int = 0


@dataclass
class AttributionDoc:
    doc_id: str
    text: str
    spans: list[RoleSpan] = field(default_factory=list)


@dataclass(frozen=True)
class Window:
    """Word pieces ``[first, last)`` of a document tokenisation and their character range."""

    first: int
    last: int
    start: int
    end: int


# ---------------------------------------------------------------------------------------------
# readers
# ---------------------------------------------------------------------------------------------

def read_documents(path: str | Path, fmt: str = "polnear", limit: int | None = None) -> list[AttributionDoc]:
    """Documents with role spans from ``path`` in format ``fmt`` (see the module doc)."""
    path = Path(path)
    if fmt not in FORMATS:
        raise StancekitError(Errors.E014, fmt=fmt, known=", ".join(FORMATS))
    if not path.exists():
        raise StancekitError(Errors.E001, path=path)
    if fmt == "polnear":
        return _read_polnear(path, limit)
    if fmt == "cofenet":
        return _read_cofenet(path, limit)
    return _read_sample(path if path.is_file() else path / "gold.jsonl", limit)


def _read_polnear(folder: Path, limit: int | None) -> list[AttributionDoc]:
    from ..evaluate.quotes import polnear_documents

    docs = []
    for doc_id, text, gold in polnear_documents(folder, limit):
        spans: list[RoleSpan] = []
        seen: set[tuple[int, int]] = set()
        for k, g in enumerate(gold):
            for role, span in (("content", g.content), ("cue", g.cue), ("source", g.source)):
                if span is None:
                    continue
                for a, b in span.frags:
                    if (a, b) not in seen:  # a cue and source shared by Content and Content2: once
                        seen.add((a, b))
                        spans.append(RoleSpan(a, b, role, k))
        docs.append(AttributionDoc(doc_id, text, sorted(spans, key=lambda s: (s.start, s.end))))
    return docs


def _read_cofenet(path: Path, limit: int | None) -> list[AttributionDoc]:
    from ..evaluate.quotes import bio_spans, join_tokens

    docs = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if not line.strip():
                continue
            row = json.loads(line)
            text, offs = join_tokens(row["tokens"])
            spans = [RoleSpan(offs[a][0], offs[b - 1][1], role, 0)
                     for role, found in bio_spans(row["labels"]).items() for a, b in found]
            docs.append(AttributionDoc(f"{row.get('id', 'row')}#{n}", text, sorted(spans, key=lambda s: s.start)))
            if limit is not None and len(docs) >= limit:
                break
    return docs


def _read_sample(gold: Path, limit: int | None) -> list[AttributionDoc]:
    if not gold.exists():
        raise StancekitError(Errors.E001, path=gold)
    docs = []
    with gold.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            text = row.get("text")
            if text is None:
                text = (gold.parent / "articles" / f"{row['doc_id']}.txt").read_text(encoding="utf-8")
            spans = []
            for k, q in enumerate(row.get("quotes", [])):
                spans.append(RoleSpan(q["start"], q["end"], "content", k))
                for role in ("cue", "source"):
                    if isinstance(q.get(role), dict):
                        spans.append(RoleSpan(q[role]["start"], q[role]["end"], role, k))
            docs.append(AttributionDoc(row["doc_id"], text, sorted(spans, key=lambda s: (s.start, s.end))))
            if limit is not None and len(docs) >= limit:
                break
    return docs


# ---------------------------------------------------------------------------------------------
# windows and labels
# ---------------------------------------------------------------------------------------------

def sentence_starts(text: str, offsets: Sequence[tuple[int, int]]) -> list[bool]:
    """Per word piece: does a sentence (or paragraph) start here? A cheap rule, no parser: after a
    line break, or after a piece that ends a sentence (".", "?", "!", with closing marks)."""
    out = [True]
    for k in range(1, len(offsets)):
        gap = text[offsets[k - 1][1]:offsets[k][0]]
        prev = text[offsets[k - 1][0]:offsets[k - 1][1]]
        out.append("\n" in gap or (bool(gap) and bool(_SENT_END.search(prev))))
    return out


def make_windows(text: str, offsets: Sequence[tuple[int, int]], size: int, stride: int) -> list[Window]:
    """Overlapping windows of at most ``size`` pieces; consecutive windows share at least ``stride``
    pieces (fewer only when a sentence start lets the next one begin later). See the module doc."""
    n = len(offsets)
    if n == 0:
        return []
    size = max(2, size)
    stride = max(0, min(stride, size // 2))
    starts = sentence_starts(text, offsets)
    out: list[Window] = []
    first = 0
    while True:
        last = min(first + size, n)
        out.append(Window(first, last, offsets[first][0], offsets[last - 1][1]))
        if last >= n:
            break
        nxt = last - stride
        # begin at a sentence start inside the overlap, the earliest one that keeps half of it
        for k in range(nxt - stride // 2, nxt + 1):
            if first < k < last and starts[k]:
                nxt = k
                break
        first = max(nxt, first + 1)
    return out


def token_labels(offsets: Sequence[tuple[int, int]], spans: Sequence[RoleSpan]) -> list[int]:
    """BIO label ids (index into :data:`LABELS`) of word pieces with character ``offsets``: a piece
    takes the role of the span its first character lies in; the first piece of a span is ``B-``."""
    index = {lab: i for i, lab in enumerate(LABELS)}
    owner: dict[int, int] = {}
    for k, s in enumerate(spans):
        for c in range(s.start, s.end):
            owner.setdefault(c, k)
    out, prev = [], None
    for a, b in offsets:
        k = next((owner[c] for c in range(a, b) if c in owner), None) if b > a else None
        if k is None:
            out.append(0)
        else:
            out.append(index[("I-" if k == prev else "B-") + spans[k].role])
        prev = k
    return out


def paragraph_ranges(text: str, offsets: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Word pieces ``[first, last)`` of each paragraph: a paragraph starts after a blank line, unless
    the text before it does not end a sentence ("He added:"), where it runs on."""
    out, first = [], 0
    for k in range(1, len(offsets)):
        end = offsets[k - 1][1]
        if re.search(r"\n\s*\n", text[end:offsets[k][0]]) and _SENT_END.search(text[max(0, end - 4):end]):
            out.append((first, k))
            first = k
    if offsets:
        out.append((first, len(offsets)))
    return out


def encode_document(tokenizer, doc: AttributionDoc, *, max_length: int, stride: int,
                    paragraphs: bool = False) -> list[dict]:
    """Training features of one document: one dict per window with ``input_ids`` (with the
    tokenizer's special tokens) and ``labels`` (-100 on special tokens).

    ``paragraphs`` adds every paragraph that fits one window, alone, as a window of its own (a span
    that runs in from the paragraph before starts there with ``B-``): the tagger then also sees
    inputs as short as one paragraph, the unit a sentence-level benchmark or a one-paragraph user
    gives it, besides the long windows of whole documents."""
    enc = tokenizer(doc.text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], [tuple(o) for o in enc["offset_mapping"]]
    labels = token_labels(offsets, doc.spans)
    head, tail = special_affixes(tokenizer)
    size = max_length - len(head) - len(tail)
    ranges = [(w.first, w.last, False) for w in make_windows(doc.text, offsets, size, stride)]
    if paragraphs:
        ranges += [(a, b, True) for a, b in paragraph_ranges(doc.text, offsets)
                   if b - a <= size and (a, b, False) not in ranges]
    feats = []
    for first, last, alone in ranges:
        lab = labels[first:last]
        if alone and lab and LABELS[lab[0]].startswith("I-"):
            lab = [LABELS.index("B-" + LABELS[lab[0]][2:])] + lab[1:]
        feats.append({"input_ids": head + ids[first:last] + tail,
                      "labels": [-100] * len(head) + lab + [-100] * len(tail)})
    return feats


def special_affixes(tokenizer) -> tuple[list[int], list[int]]:
    """The special token ids a tokenizer puts before and after one text (``[CLS]`` … ``[SEP]``)."""
    bare = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a")["input_ids"]
    k = next(i for i in range(len(full)) if full[i:i + len(bare)] == bare)
    return list(full[:k]), list(full[k + len(bare):])


def iter_role_spans(docs: Iterable[AttributionDoc], role: str) -> Iterable[tuple[str, int, int]]:
    for d in docs:
        for s in d.spans:
            if s.role == role:
                yield d.doc_id, s.start, s.end
