"""The orchestrator: documents in, records out, in bounded batches.

    ingest → spaCy (tokens, parse, NER) → stancekit_entities → stancekit_quotes
           → stance (one batched call per document batch) → claims → records

:class:`Pipeline` is what ``stancekit.load()`` returns: call it on one text for a notebook, or use
:meth:`Pipeline.process` / :func:`run_corpus` to stream a corpus. One failing document becomes an
error record; it never stops the batch.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from . import __version__
from .config import Config, load_config
from .errors import DocumentError, Errors, StancekitError
from .ingest import Document, check_inputs, iter_documents
from .records import RunWriter, SCHEMA_VERSIONS, completed_ids, prune_incomplete
from .stance import StanceInput, aggregate, get_backend
from .targets import Target, load_target


@dataclass
class Result:
    """The records of one document."""

    document: dict
    quotes: list[dict] = field(default_factory=list)
    speakers: list[dict] = field(default_factory=list)
    claims: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"document": self.document, "quotes": self.quotes, "speakers": self.speakers,
                "claims": self.claims}


class Pipeline:
    def __init__(self, config: Config | None = None, *, nlp=None, backend=None,
                 targets: Sequence[Target] | None = None):
        from .ner import load_spacy

        self.config = config or load_config()
        self.targets = list(targets) if targets is not None else [load_target(t) for t in self.config.targets]
        self.nlp = nlp if nlp is not None else load_spacy(self.config.spacy_model or None)
        self.nlp.max_length = max(self.nlp.max_length, self.config.chunk_chars + 1)
        if self.config.ner_model and "stancekit_hf_ner" not in self.nlp.pipe_names:
            self.nlp.add_pipe("stancekit_hf_ner", config={"model": self.config.ner_model,
                                                          "device": self.config.device,
                                                          "max_tokens": self.config.max_tokens})
        if "stancekit_entities" not in self.nlp.pipe_names:
            self.nlp.add_pipe("stancekit_entities")
        if self.config.quotes_model and "stancekit_quote_tagger" not in self.nlp.pipe_names:
            from .attribution import component  # noqa: F401 - registers the learned quote component

            self.nlp.add_pipe("stancekit_quote_tagger", config={"model": self.config.quotes_model,
                                                                "device": self.config.device,
                                                                "max_tokens": self.config.max_tokens})
        elif "stancekit_quotes" not in self.nlp.pipe_names and not self.config.quotes_model:
            self.nlp.add_pipe("stancekit_quotes", config={"indirect": self.config.indirect_quotes})
        self._backend = backend
        self._detector = None
        self.timings: dict[str, float] = {"spacy": 0.0, "stance": 0.0, "claims": 0.0}

    # -- models, loaded on first use ---------------------------------------------------------------
    @property
    def backend(self):
        if self._backend is None:
            cfg = self.config
            options = {"device": cfg.device, "max_tokens": cfg.max_tokens, "threads": cfg.threads}
            if cfg.stance_backend == "fewshot":
                options["encoder"] = cfg.stance_encoder or None
            elif cfg.stance_model:
                options["model"] = cfg.stance_model
            self._backend = get_backend(cfg.stance_backend, **options)
        return self._backend

    @property
    def detector(self):
        if self._detector is None:
            from .claims import ClaimDetector

            self._detector = ClaimDetector(head_path=self.config.claims_model or None)
        return self._detector

    def describe(self) -> dict:
        return {"spacy": f"{self.nlp.meta.get('lang')}_{self.nlp.meta.get('name')}-{self.nlp.meta.get('version')}",
                "pipes": self.nlp.pipe_names, "stance": self.backend.describe(),
                "targets": [t.id for t in self.targets]}

    # -- one text ---------------------------------------------------------------------------------
    def __call__(self, text: str, *, doc_id: str = "doc", title: str | None = None, date: str | None = None,
                 url: str | None = None) -> Result:
        item = next(self.process([Document(doc_id=doc_id, text=text, title=title, date=date, url=url)]))
        if isinstance(item, DocumentError):
            raise item
        return item

    # -- many documents -----------------------------------------------------------------------------
    def process(self, docs: Iterable[Document | DocumentError]) -> Iterator[Result | DocumentError]:
        """Yield a :class:`Result` or a :class:`DocumentError` per input, in input order."""
        batch: list = []
        for item in docs:
            batch.append(item)
            if len(batch) >= self.config.batch_size:
                yield from self._process_batch(batch)
                batch = []
        if batch:
            yield from self._process_batch(batch)

    def _process_batch(self, batch: list) -> list:
        out: list = [None] * len(batch)
        pending: list[tuple[int, Document, list]] = []
        chunks: list[tuple[int, int, str]] = []  # (batch index, offset, text)
        for i, item in enumerate(batch):
            if isinstance(item, DocumentError):
                out[i] = item
                continue
            warnings = list(item.meta.pop("warnings", []))
            if not item.text.strip():
                warnings.append({"code": "W001", "message": Errors.W001.format()})
            pieces = split_chunks(item.text, self.config.chunk_chars)
            if len(pieces) > 1:
                warnings.append({"code": "W002", "message": Errors.W002.format(limit=self.config.chunk_chars,
                                                                               n=len(pieces))})
            pending.append((i, item, warnings))
            chunks.extend((i, off, piece) for off, piece in pieces)
        t0, claims_before = time.perf_counter(), self.timings["claims"]
        extracted: dict[int, dict] = {}
        with self._memory_zone():
            for (i, off, piece) in chunks:
                if i in extracted and extracted[i].get("failed"):
                    continue
                try:
                    doc = self.nlp(piece)
                    part = _extract(doc, off)
                    if self.config.claims:
                        part["claims"] = self._claims(doc, batch[i], off)
                except Exception as exc:  # one bad document never stops the batch
                    extracted[i] = {"failed": exc}
                    continue
                acc = extracted.setdefault(i, {"entities": [], "quotes": [], "warnings": [], "claims": []})
                for key in ("entities", "quotes", "warnings", "claims"):
                    acc[key].extend(part.get(key, []))
        # the spaCy pipeline (entities, quotes, speakers) alone: claim extraction is timed apart
        self.timings["spacy"] += time.perf_counter() - t0 - (self.timings["claims"] - claims_before)
        # stance for every quote and claim of the batch in one engine call
        stance_jobs = []
        for i, item, warnings in pending:
            acc = extracted.get(i)
            if acc is None or "failed" in acc:
                continue
            for q in acc["quotes"]:
                q["quote_id"] = f"{item.doc_id}#q{q['start']}-{q['end']}"
                for t in self.targets:
                    stance_jobs.append((q, StanceInput(text=q["text"], target=t,
                                                       speaker=(q.get("speaker") or {}).get("name"),
                                                       context=_context(item.text, q))))
            for c in acc["claims"]:
                for t in self.targets:
                    stance_jobs.append((c, StanceInput(text=c["text"], target=t)))
        t0 = time.perf_counter()
        if stance_jobs and self.targets:
            preds = self.backend.predict([job for _, job in stance_jobs])
            for (rec, job), pred in zip(stance_jobs, preds):
                rec.setdefault("stances", []).append({"target": job.target.id, **pred})
        self.timings["stance"] += time.perf_counter() - t0
        for i, item, warnings in pending:
            acc = extracted.get(i)
            if acc is None:
                acc = {"entities": [], "quotes": [], "warnings": [], "claims": []}
            if "failed" in acc:
                exc = acc["failed"]
                out[i] = DocumentError(Errors.E120, doc_id=item.doc_id, source=item.source, stage="nlp",
                                       detail=f"{type(exc).__name__}: {exc}")
                continue
            out[i] = self._records(item, acc, warnings)
        return out

    def _claims(self, doc, item: Document, offset: int) -> list[dict]:
        from .claims import find_claims

        t0 = time.perf_counter()
        claims = find_claims(doc, doc_id=item.doc_id, ref_date=item.date, detector=self.detector,
                             min_score=self.config.min_claim_score)
        if offset:
            for c in claims:
                c["start"] += offset
                c["end"] += offset
                c["claim_id"] = f"{item.doc_id}#c{c['start']}-{c['end']}"
                for qn in c.get("quantities", []):
                    for k in ("start", "end"):
                        if k in qn and qn[k] is not None:
                            qn[k] += offset
        self.timings["claims"] += time.perf_counter() - t0
        return claims

    def _records(self, item: Document, acc: dict, warnings: list) -> Result:
        quotes = []
        for q in acc["quotes"]:
            quotes.append({"doc_id": item.doc_id, "quote_id": q["quote_id"], "text": q["text"],
                           "start": q["start"], "end": q["end"], "kind": q["kind"], "cue": q["cue"],
                           "speaker": q["speaker"], "confidence": round(float(q.get("confidence", 0.0)), 4),
                           "stances": q.get("stances", [])})
        speakers = [{"doc_id": item.doc_id, **s} for s in aggregate(quotes, self.targets)]
        all_warnings = warnings + [_warning(w) for w in acc["warnings"]]
        document = {"doc_id": item.doc_id, "source": item.source, "title": item.title, "url": item.url,
                    "date": item.date, "status": "ok", "n_chars": len(item.text), "n_quotes": len(quotes),
                    "n_speakers": len(speakers), "n_claims": len(acc["claims"]),
                    "entities": acc["entities"], "warnings": all_warnings}
        return Result(document=document, quotes=quotes, speakers=speakers, claims=acc["claims"])

    def _memory_zone(self):
        import contextlib

        zone = getattr(self.nlp, "memory_zone", None)
        return zone() if zone is not None else contextlib.nullcontext()


def _extract(doc, offset: int) -> dict:
    """Plain-data results of one spaCy Doc, with offsets shifted by ``offset``."""
    def shift(d: dict | None) -> dict | None:
        if d is None:
            return None
        d = dict(d)
        d["start"] += offset
        d["end"] += offset
        return d

    entities = [shift(e) for e in (doc._.stancekit_entities or [])]
    quotes = []
    for q in doc._.stancekit_quotes or []:
        q = shift(q)
        q["cue"] = shift(q["cue"])
        if q["speaker"]:
            q["speaker"] = dict(q["speaker"], mention=shift(q["speaker"]["mention"]))
        q.pop("marks", None)
        quotes.append(q)
    warnings = [dict(w, offset=(w.get("offset") or 0) + offset) for w in (doc._.stancekit_warnings or [])]
    if len(doc) and not any(t.is_alpha for t in doc):
        warnings.append({"code": "W004"})
    return {"entities": entities, "quotes": quotes, "warnings": warnings}


def _warning(w: dict) -> dict:
    code = w["code"]
    kwargs = {"offset": w.get("offset")}
    try:
        message = getattr(Errors, code).format(**kwargs)
    except (AttributeError, KeyError):
        message = code
    return {"code": code, "message": message, "offset": w.get("offset")}


def _context(text: str, quote: dict) -> str:
    """The paragraph around a quote, for relevance."""
    a = text.rfind("\n", 0, quote["start"]) + 1
    b = text.find("\n", quote["end"])
    return text[a: b if b != -1 else len(text)]


def split_chunks(text: str, limit: int) -> list[tuple[int, str]]:
    """Split at paragraph (else sentence, else hard) boundaries into pieces of at most ``limit`` chars."""
    if len(text) <= limit:
        return [(0, text)]
    pieces = []
    start = 0
    while start < len(text):
        end = min(start + limit, len(text))
        if end < len(text):
            cut = text.rfind("\n", start + limit // 2, end)
            if cut == -1:
                cut = text.rfind(". ", start + limit // 2, end)
                cut = cut + 1 if cut != -1 else end
            end = cut if cut > start else end
        pieces.append((start, text[start:end]))
        start = end
    return pieces


# ---------------------------------------------------------------------------------------------
# corpus runs
# ---------------------------------------------------------------------------------------------

def check_out_dir(out_dir: Path, *, force: bool, resume: bool) -> None:
    """Raise E002 when ``out_dir`` holds files and neither --force nor --resume was given."""
    out_dir = Path(out_dir)
    if resume and (out_dir / "documents.jsonl").exists():
        return
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not force:
        raise StancekitError(Errors.E002, path=out_dir)


def prepare_out_dir(out_dir: Path, *, force: bool, resume: bool) -> set[str]:
    out_dir = Path(out_dir)
    check_out_dir(out_dir, force=force, resume=resume)
    if resume and (out_dir / "documents.jsonl").exists():
        done = completed_ids(out_dir)
        prune_incomplete(out_dir, done)
        return done
    if out_dir.exists() and force:
        for name in ("documents", "quotes", "speakers", "claims", "errors"):
            for suffix in (".jsonl", ".parquet"):
                p = out_dir / f"{name}{suffix}"
                if p.exists():
                    p.unlink()
        if (out_dir / "manifest.json").exists():
            (out_dir / "manifest.json").unlink()
    return set()


def run_corpus(inputs: Sequence[str | Path], out_dir: str | Path, *, config: Config | None = None,
               pipeline: Pipeline | None = None, force: bool = False, resume: bool = False,
               parquet: bool = False, on_result: Callable | None = None, stdin=None) -> dict:
    """Stream ``inputs`` through the pipeline into ``out_dir``; return the manifest.

    Records are appended batch by batch: a crash leaves every finished batch on disk, and
    ``resume=True`` skips the documents already finished.
    """
    out_dir = Path(out_dir)
    check_inputs(inputs)
    done = prepare_out_dir(out_dir, force=force, resume=resume)
    pipe = pipeline or Pipeline(config)
    writer = RunWriter(out_dir, append=bool(done))
    started = time.time()
    t0 = time.perf_counter()
    n_docs = n_errors = n_skipped = 0

    def todo():
        nonlocal n_skipped
        for item in iter_documents(inputs, stdin=stdin):
            if item.doc_id in done:
                n_skipped += 1
                continue
            yield item

    batch_out: list = []
    try:
        for res in pipe.process(todo()):
            batch_out.append(res)
            if isinstance(res, DocumentError):
                n_errors += 1
            else:
                n_docs += 1
            if on_result is not None:
                on_result(res)
            if len(batch_out) >= pipe.config.batch_size:
                _write_batch(writer, batch_out)
                batch_out = []
        _write_batch(writer, batch_out)
    finally:
        writer.close()
    elapsed = time.perf_counter() - t0
    counts = {name: _count_lines(out_dir / f"{name}.jsonl") for name in writer.counts}
    manifest = {
        "stancekit_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "inputs": [str(i) for i in inputs],
        "config": pipe.config.to_dict(),
        "models": pipe.describe(),
        "schemas": SCHEMA_VERSIONS,
        "counts": counts,
        "this_run": {"documents": n_docs, "errors": n_errors, "skipped_done": n_skipped},
        "timings_s": {"total": round(elapsed, 3), **{k: round(v, 3) for k, v in pipe.timings.items()}},
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if parquet:
        from .records import to_parquet

        manifest["parquet"] = [p.name for p in to_parquet(out_dir)]
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return manifest


def _write_batch(writer: RunWriter, results: list) -> None:
    for res in results:
        if isinstance(res, DocumentError):
            writer.write("errors", [res.to_record()])
        else:
            writer.write("quotes", res.quotes)
            writer.write("speakers", res.speakers)
            writer.write("claims", res.claims)
            writer.write("documents", [res.document])
    writer.flush()


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())
