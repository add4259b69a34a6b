"""Evaluate quote extraction and attribution on labelled data.

Three protocols (``fmt``):

``polnear``
    A PolNeAR split folder (``text/*.txt`` + ``attributions/*.ann``, BRAT standoff; one annotator
    per article: the first alphabetically). Each gold attribution has a cue, a content and usually a
    source. Scored per role (cue, source, content) with *exact* match (same character span after
    trimming whitespace and punctuation at both ends) and *overlap* match (character Jaccard ≥ 0.5),
    both one-to-one. *Attribution*: a gold content matched by overlap whose predicted speaker mention
    overlaps the gold Source span. A gold attribution without a source (``Attribution-no-source``)
    counts as attributed when its content is matched: there is no span to check the speaker against.
    A second content span (``Content2``) is a gold content of its own with the same source and cue.
``cofenet``
    CofeNet's sentence-level BIO file (JSON lines with ``tokens`` and ``labels``). The pipeline runs
    on the tokens joined by spaces; predicted character spans are mapped back to tokens (every token
    the span overlaps) and spans are scored by exact token match per role, micro over instances.
    With a learned tagger (``model``) the tagger's own decoded spans are scored the same way too
    (``exact_tagger_spans``: every span, linked into a quote record or not).
``sample``
    stancekit's own ``gold.jsonl`` (+ ``articles/<doc_id>.txt``): content P/R/F1 by overlap and the
    accuracy of the speaker name on matched quotes (case-insensitive, a leading "the" dropped), also
    per ``speaker_type`` (person / group), ``speaker_label`` and gold ``tags`` when the gold has them,
    and how many of the gold ``not_quotes`` (pseudo-quotes) a predicted quote overlaps.

Predictions: content = the quote span, cue = ``quote["cue"]``, source = ``quote["speaker"]["mention"]``.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..errors import Errors, StancekitError

FORMATS = ("polnear", "cofenet", "sample")
JACCARD = 0.5
_TRIM = " \t\n\r.,;:!?\"'“”‘’«»()[]—–-―"
# PTB-style quote tokens in the CofeNet files, turned back into marks the quote stage pairs
_PTB = {"``": "“", "''": "”", "-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]"}


# ---------------------------------------------------------------------------------------------
# spans and matching
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Span:
    """A possibly discontinuous character span: ``frags`` are (start, end) pairs."""

    frags: tuple[tuple[int, int], ...]

    @property
    def start(self) -> int:
        return self.frags[0][0]

    @property
    def end(self) -> int:
        return self.frags[-1][1]

    def chars(self) -> set[int]:
        out: set[int] = set()
        for a, b in self.frags:
            out.update(range(a, b))
        return out

    def overlaps(self, other: "Span") -> bool:
        return any(a < d and c < b for a, b in self.frags for c, d in other.frags)


def _trimmed(text: str, span: Span) -> tuple[int, int]:
    """The span without the spaces and punctuation at its ends; a span of punctuation alone (a colon as
    the cue of "Rubio: …") stays as it is."""
    a, b = span.start, span.end
    while a < b and text[a] in _TRIM:
        a += 1
    while b > a and text[b - 1] in _TRIM:
        b -= 1
    return (a, b) if a < b else (span.start, span.end)


def jaccard(x: Span, y: Span) -> float:
    cx, cy = x.chars(), y.chars()
    if not cx or not cy:
        return 0.0
    inter = len(cx & cy)
    return inter / (len(cx) + len(cy) - inter)


def match(gold: list[Span], pred: list[Span], *, text: str, mode: str) -> dict[int, int]:
    """One-to-one matching gold index → pred index. ``exact``: same trimmed span; ``overlap``:
    character Jaccard ≥ 0.5, best pairs first."""
    pairs = []
    if mode == "exact":
        tg = [_trimmed(text, g) for g in gold]
        tp = [_trimmed(text, p) for p in pred]
        for i, g in enumerate(tg):
            for j, p in enumerate(tp):
                if g == p and g[0] < g[1]:
                    pairs.append((1.0, i, j))
    else:
        for i, g in enumerate(gold):
            for j, p in enumerate(pred):
                if g.overlaps(p):
                    jac = jaccard(g, p)
                    if jac >= JACCARD:
                        pairs.append((jac, i, j))
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    used_g, used_p, out = set(), set(), {}
    for _, i, j in pairs:
        if i not in used_g and j not in used_p:
            used_g.add(i)
            used_p.add(j)
            out[i] = j
    return out


@dataclass
class Counts:
    tp: int = 0
    n_pred: int = 0
    n_gold: int = 0

    def add(self, tp: int, n_pred: int, n_gold: int) -> None:
        self.tp += tp
        self.n_pred += n_pred
        self.n_gold += n_gold

    def scores(self) -> dict:
        p = self.tp / self.n_pred if self.n_pred else 0.0
        r = self.tp / self.n_gold if self.n_gold else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "tp": self.tp,
                "pred": self.n_pred, "gold": self.n_gold}


@dataclass
class GoldAttribution:
    content: Span
    cue: Span | None
    source: Span | None


@dataclass
class Scorer:
    """Accumulates PolNeAR-style scores over documents."""

    counts: dict[str, Counts] = field(default_factory=dict)

    def c(self, key: str) -> Counts:
        return self.counts.setdefault(key, Counts())

    def add_document(self, text: str, gold: list[GoldAttribution], quotes: list[dict]) -> None:
        quotes, pred_content = attributions(text, quotes)
        pred_cue = [Span(((q["cue"]["start"], q["cue"]["end"]),)) for q in quotes if q.get("cue")]
        pred_src = [Span(((q["speaker"]["mention"]["start"], q["speaker"]["mention"]["end"]),))
                    for q in quotes if (q.get("speaker") or {}).get("mention")]
        gold_content = [g.content for g in gold]
        gold_cue = _unique(g.cue for g in gold if g.cue is not None)
        gold_src = _unique(g.source for g in gold if g.source is not None)
        for role, gs, ps in (("content", gold_content, pred_content), ("cue", gold_cue, pred_cue),
                             ("source", gold_src, pred_src)):
            for mode in ("exact", "overlap"):
                m = match(gs, ps, text=text, mode=mode)
                self.c(f"{role}_{mode}").add(len(m), len(ps), len(gs))
        m = match(gold_content, pred_content, text=text, mode="overlap")
        tp = 0
        for gi, pj in m.items():
            g, q = gold[gi], quotes[pj]
            if g.source is None:
                tp += 1
                continue
            mention = (q.get("speaker") or {}).get("mention")
            if mention and g.source.overlaps(Span(((mention["start"], mention["end"]),))):
                tp += 1
        self.c("attribution").add(tp, len(quotes), len(gold))
        for q in quotes:
            self.c("kind_" + q.get("kind", "?")).add(0, 1, 0)

    def report(self) -> dict:
        return {k: v.scores() for k, v in sorted(self.counts.items()) if not k.startswith("kind_")} | {
            "predicted_kinds": {k[5:]: v.n_pred for k, v in sorted(self.counts.items())
                                if k.startswith("kind_")}}


def attributions(text: str, quotes: list[dict]) -> tuple[list[dict], list[Span]]:
    """Group predicted quotes into attributions, PolNeAR's unit (one cue each): in the same paragraph,
    a continuation quote ("“A,” she said. “B.”") joins the quote it continues, and the two halves of a
    quote split around its cue ("“A,” she said, “B.”": one cue for both) are one attribution. Returns
    the heads of the groups and their (possibly discontinuous) content spans."""
    heads: list[dict] = []
    frags: list[list[tuple[int, int]]] = []
    for q in sorted(quotes, key=lambda q: (q["start"], q["end"])):
        sp = q.get("speaker") or {}
        if heads and "\n" not in text[frags[-1][-1][1]:q["start"]] and (
                (q.get("cue") is None and sp.get("resolution") == "continuation"
                 and (heads[-1].get("speaker") or {}).get("name") == sp.get("name"))
                or _cue_range(q) is not None and _cue_range(q) == _cue_range(heads[-1])):
            frags[-1].append((q["start"], q["end"]))
            continue
        heads.append(q)
        frags.append([(q["start"], q["end"])])
    return heads, [Span(tuple(f)) for f in frags]


def _cue_range(q: dict) -> tuple[int, int] | None:
    cue = q.get("cue")
    return (cue["start"], cue["end"]) if cue else None


def _unique(spans: Iterable[Span]) -> list[Span]:
    seen, out = set(), []
    for s in spans:
        if s.frags not in seen:
            seen.add(s.frags)
            out.append(s)
    return out


# ---------------------------------------------------------------------------------------------
# PolNeAR (BRAT)
# ---------------------------------------------------------------------------------------------

def read_brat(ann: str) -> list[GoldAttribution]:
    """Gold attributions from a BRAT ``.ann`` text (see the module doc)."""
    spans: dict[str, tuple[str, Span]] = {}
    events: list[dict[str, str]] = []
    for line in ann.splitlines():
        parts = line.split("\t")
        if line.startswith("T") and len(parts) >= 2:
            typ, _, offs = parts[1].partition(" ")
            frags = []
            for frag in offs.split(";"):
                a, b = frag.split()
                frags.append((int(a), int(b)))
            spans[parts[0]] = (typ, Span(tuple(sorted(frags))))
        elif line.startswith("E") and len(parts) >= 2:
            roles = {}
            for item in parts[1].split():
                role, _, tid = item.partition(":")
                roles[role] = tid
            events.append(roles)
    out = []
    for roles in events:
        src = spans.get(roles.get("Source", ""), (None, None))[1]
        cue = spans.get(roles.get("Cue", ""), (None, None))[1]
        for key in ("Content", "Content2", "Content3"):
            if key in roles and roles[key] in spans:
                out.append(GoldAttribution(content=spans[roles[key]][1], cue=cue, source=src))
    return out


def polnear_documents(folder: Path, limit: int | None = None) -> list[tuple[str, str, list[GoldAttribution]]]:
    folder = Path(folder)
    texts = sorted((folder / "text").glob("*.txt"))
    if not texts:
        raise StancekitError(Errors.E001, path=folder / "text")
    anns: dict[str, Path] = {}
    for ann in sorted((folder / "attributions").glob("*.ann")):
        stem = ann.stem.rsplit("_", 1)[0]
        anns.setdefault(stem, ann)  # sorted: the first annotator alphabetically
    docs = []
    for path in texts:
        if path.stem not in anns:
            continue
        docs.append((path.stem, path.read_text(encoding="utf-8"),
                     read_brat(anns[path.stem].read_text(encoding="utf-8"))))
        if limit is not None and len(docs) >= limit:
            break
    return docs


def build_nlp(model: str | Path | None = None, device: str = "auto"):
    """spaCy + entities + the quote rules, or with ``model`` the learned quote tagger in their place."""
    from ..ner import load_spacy

    nlp = load_spacy()
    nlp.add_pipe("stancekit_entities")
    if model:
        from ..attribution import component  # noqa: F401 - registers stancekit_quote_tagger

        nlp.add_pipe("stancekit_quote_tagger", config={"model": str(model), "device": device})
    else:
        nlp.add_pipe("stancekit_quotes")
    return nlp


def titled(nlp, text: str):
    """A ``.txt`` text as ``stancekit run`` reads it: the title-line rule of
    :func:`stancekit.ingest.title_span` marks its title before the parse."""
    from ..headlines import apply_title_span, title_span

    span = title_span(text)
    if span is None or not hasattr(nlp, "make_doc"):  # a stand-in for a pipeline takes the text
        return text
    return apply_title_span(nlp.make_doc(text), span)


def evaluate_polnear(folder: Path, *, limit: int | None = None, nlp=None) -> dict:
    nlp = nlp or build_nlp()
    docs = polnear_documents(folder, limit)
    scorer = Scorer()
    failures = []
    t0 = time.perf_counter()
    for doc_id, text, gold in docs:
        try:
            doc = nlp(titled(nlp, text))
            quotes = list(doc._.stancekit_quotes or [])
        except Exception as exc:  # reported, never hidden
            failures.append({"doc_id": doc_id, "error": f"{type(exc).__name__}: {exc}"})
            quotes = []
        scorer.add_document(text, gold, quotes)
    out = {"format": "polnear", "path": str(folder), "documents": len(docs), "failures": failures,
           "seconds": round(time.perf_counter() - t0, 1)}
    out.update(scorer.report())
    return out


# ---------------------------------------------------------------------------------------------
# CofeNet BIO
# ---------------------------------------------------------------------------------------------

def bio_spans(labels: list[str]) -> dict[str, set[tuple[int, int]]]:
    """Role → set of (first, last+1) token spans from BIO labels."""
    out: dict[str, set[tuple[int, int]]] = {"source": set(), "cue": set(), "content": set()}
    start, role = None, None
    for i, lab in enumerate(list(labels) + ["O"]):
        tag, _, r = lab.partition("-")
        if tag == "I" and role == r:
            continue
        if role is not None:
            out.setdefault(role, set()).add((start, i))
        start, role = (i, r) if tag in ("B", "I") else (None, None)
    return out


def join_tokens(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    parts, offs, pos = [], [], 0
    for tok in tokens:
        t = _PTB.get(tok, tok)
        offs.append((pos, pos + len(t)))
        parts.append(t)
        pos += len(t) + 1
    return " ".join(parts), offs


def char_to_tokens(offs: list[tuple[int, int]], a: int, b: int) -> tuple[int, int] | None:
    idx = [i for i, (s, e) in enumerate(offs) if s < b and a < e]
    return (idx[0], idx[-1] + 1) if idx else None


def evaluate_cofenet(path: Path, *, limit: int | None = None, nlp=None) -> dict:
    nlp = nlp or build_nlp()
    rows = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rows.append(json.loads(line))
            if limit is not None and len(rows) >= limit:
                break
    counts = {r: Counts() for r in ("source", "cue", "content")}
    failures = []
    t0 = time.perf_counter()
    texts = [join_tokens(r["tokens"]) for r in rows]
    tagger = nlp.get_pipe("stancekit_quote_tagger").tagger if "stancekit_quote_tagger" in nlp.pipe_names else None
    if tagger is not None:
        tagger.keep_spans = {}
    for row, (text, offs), doc in zip(rows, texts, nlp.pipe(t for t, _ in texts)):
        gold = bio_spans(row["labels"])
        pred: dict[str, set] = {"source": set(), "cue": set(), "content": set()}
        try:
            for q in doc._.stancekit_quotes or []:
                pairs = [("content", q)]
                if q.get("cue"):
                    pairs.append(("cue", q["cue"]))
                if (q.get("speaker") or {}).get("mention"):
                    pairs.append(("source", q["speaker"]["mention"]))
                for role, s in pairs:
                    a, b = s["start"], s["end"]
                    if role == "content":  # the marks belong to the content in CofeNet's labels
                        a, b = _with_marks(text, a, b)
                    span = char_to_tokens(offs, a, b)
                    if span is not None:
                        pred[role].add(span)
        except Exception as exc:
            failures.append({"id": row.get("id"), "error": f"{type(exc).__name__}: {exc}"})
        for role in counts:
            counts[role].add(len(gold[role] & pred[role]), len(pred[role]), len(gold[role]))
    out = {"format": "cofenet", "path": str(path), "instances": len(rows), "failures": failures,
           "seconds": round(time.perf_counter() - t0, 1),
           "exact": {r: c.scores() for r, c in counts.items()},
           "cofenet_test_reference": {"source": 83.2, "cue": 75.3, "content": 72.9}}
    if tagger is not None:
        out["exact_tagger_spans"] = cofenet_tagger_spans(tagger, rows, texts)
        tagger.keep_spans = None
    return out


def cofenet_tagger_spans(tagger, rows: list[dict], texts: list[tuple[str, list]]) -> dict:
    """The learned tagger's own spans (every decoded span, linked or not, as a sequence labeller such
    as CofeNet is scored), mapped to tokens and scored by exact token match per role."""
    counts = {r: Counts() for r in ("source", "cue", "content")}
    t0 = time.perf_counter()
    kept = tagger.keep_spans or {}
    missing = [t for t, _ in texts if t not in kept]
    if missing:
        kept = dict(kept, **dict(zip(missing, tagger.tag(missing))))
    tagged = [kept[t] for t, _ in texts]
    for row, (text, offs), spans in zip(rows, texts, tagged):
        gold = bio_spans(row["labels"])
        pred: dict[str, set] = {r: set() for r in counts}
        for s in spans:
            span = char_to_tokens(offs, s.start, s.end)
            if span is not None and s.role in pred:
                pred[s.role].add(span)
        for role in counts:
            counts[role].add(len(gold[role] & pred[role]), len(pred[role]), len(gold[role]))
    return {r: c.scores() for r, c in counts.items()} | {"seconds": round(time.perf_counter() - t0, 1)}


def _with_marks(text: str, a: int, b: int) -> tuple[int, int]:
    """A content span in CofeNet's convention. stancekit's content of a direct quote lies inside the
    marks without the comma before the closing mark, and an indirect content starts after the
    complementizer; CofeNet's (PolNeAR's) content holds the marks, that comma and a leading "that".
    So: widen to the quotation marks right around the span ("“ … , ”" with the joining spaces), else
    take in a "that" right before it."""
    m = re.match(r"[\s,]*[”\"'’]", text[b:])
    if m and re.search(r"[“\"'‘]\s*$", text[:a]):
        a = a - len(text[:a]) + len(text[:a].rstrip()) - 1
        b = b + m.end()
    else:
        t = re.search(r"(?<![\w'’-])[Tt]hat\s+$", text[:a])
        if t:
            a = t.start()
    return a, b


# ---------------------------------------------------------------------------------------------
# stancekit sample gold
# ---------------------------------------------------------------------------------------------

def evaluate_sample(gold_path: Path, *, limit: int | None = None, nlp=None) -> dict:
    gold_path = Path(gold_path)
    if not gold_path.exists():
        raise StancekitError(Errors.E001, path=gold_path)
    articles = gold_path.parent / "articles"
    nlp = nlp or build_nlp()
    content = Counts()
    speakers = SpeakerTally()
    pseudo = Counts()
    failures, n = [], 0
    t0 = time.perf_counter()
    with gold_path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            if limit is not None and n >= limit:
                break
            row = json.loads(line)
            n += 1
            try:
                text = (articles / f"{row['doc_id']}.txt").read_text(encoding="utf-8")
                quotes = list(nlp(titled(nlp, text))._.stancekit_quotes or [])
            except Exception as exc:
                failures.append({"doc_id": row.get("doc_id"), "error": f"{type(exc).__name__}: {exc}"})
                quotes = []
                text = ""
            gq = row.get("quotes", [])
            gs = [Span(((q["start"], q["end"]),)) for q in gq]
            ps = [Span(((q["start"], q["end"]),)) for q in quotes]
            m = match(gs, ps, text=text, mode="overlap")
            content.add(len(m), len(ps), len(gs))
            speakers.add(gq, quotes, m)
            if "not_quotes" in row:
                # pseudo-quotes: spans that must not be a quote's content ("echoed the criticism")
                bad = [Span(((q["start"], q["end"]),)) for q in row["not_quotes"]]
                hit = sum(any(b.overlaps(p) for p in ps) for b in bad)
                pseudo.add(hit, 0, len(bad))
    out = {"format": "sample", "path": str(gold_path), "documents": n, "failures": failures,
           "seconds": round(time.perf_counter() - t0, 1), "content_overlap": content.scores()}
    out.update(speakers.report())
    if pseudo.n_gold:
        out["pseudo_quotes"] = {"extracted": pseudo.tp, "gold": pseudo.n_gold}
    return out


def same_speaker(got: str | None, want: str) -> bool:
    """Speaker names match case-insensitively, with a leading article dropped ("the White House")."""
    if not got:
        return False
    def norm(s: str) -> str:
        return re.sub(r"^(the|a|an)\s+", "", " ".join(str(s).split()).lower())
    return norm(got) == norm(want)


@dataclass
class SpeakerTally:
    """Speaker accuracy on matched quotes, overall and broken down by ``speaker_type`` (person/group,
    when the gold has it), by ``speaker_label`` and by each of the gold quote's ``tags``."""

    named: int = 0
    right: int = 0
    gold_named: int = 0
    groups: dict[str, list[int]] = field(default_factory=dict)  # key -> [gold, matched, right]

    def add(self, gold: list[dict], pred: list[dict], m: dict[int, int]) -> None:
        for gi, g in enumerate(gold):
            want = g.get("speaker")
            if not want:
                continue
            self.gold_named += 1
            found = gi in m
            ok = found and same_speaker((pred[m[gi]].get("speaker") or {}).get("name"), want)
            self.named += found
            self.right += ok
            keys = [f"type:{g['speaker_type']}"] if g.get("speaker_type") else []
            keys += [f"label:{g['speaker_label']}"] if g.get("speaker_label") else []
            keys += [f"tag:{t}" for t in g.get("tags", [])]
            for k in keys:
                c = self.groups.setdefault(k, [0, 0, 0])
                c[0] += 1
                c[1] += found
                c[2] += ok

    def report(self) -> dict:
        def block(prefix: str) -> dict:
            return {k.split(":", 1)[1]: {"gold": g, "matched": f, "right": r,
                                         "accuracy": round(r / f, 4) if f else None}
                    for k, (g, f, r) in sorted(self.groups.items()) if k.startswith(prefix)}

        out = {"speaker_accuracy": round(self.right / self.named, 4) if self.named else None,
               "speaker_matched": self.named,
               "speaker_right_of_gold": round(self.right / self.gold_named, 4) if self.gold_named else None}
        for name, prefix in (("speaker_by_type", "type:"), ("speaker_by_label", "label:"),
                             ("speaker_by_tag", "tag:")):
            if any(k.startswith(prefix) for k in self.groups):
                out[name] = block(prefix)
        return out


def evaluate_quotes(path: Path | str, *, fmt: str = "polnear", limit: int | None = None, nlp=None,
                    model: str | Path | None = None, device: str = "auto") -> dict:
    """Score the quote stage on ``path`` with protocol ``fmt`` (see the module doc); ``model``: a quote
    tagger folder (``stancekit train quotes``) run in place of the rules."""
    path = Path(path)
    if fmt not in FORMATS:
        raise StancekitError(Errors.E014, fmt=fmt, known=", ".join(FORMATS))
    if not path.exists():
        raise StancekitError(Errors.E001, path=path)
    if nlp is None and model:
        nlp = build_nlp(model, device)
    if fmt == "polnear":
        return evaluate_polnear(path, limit=limit, nlp=nlp)
    if fmt == "cofenet":
        return evaluate_cofenet(path, limit=limit, nlp=nlp)
    return evaluate_sample(path, limit=limit, nlp=nlp)
