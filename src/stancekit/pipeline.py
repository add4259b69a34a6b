"""The orchestrator: documents in, records out, in bounded batches.

    ingest → Analyser: nlp.pipe (tokens, parse, NER, stancekit_entities, stancekit_quotes, stancekit_claims)
           → stance (one batched engine call per document batch, one device) → records

:class:`Pipeline` is what ``stancekit.load()`` returns: call it on one text for a notebook, or use
:meth:`Pipeline.process` / :func:`run_corpus` to stream a corpus. The spaCy stages run in this
process or, with ``workers > 1``, on a pool of worker processes, while the stance model batches in
this process. One failing or over-budget document becomes an error record; it never stops the batch.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from . import __version__
from .config import Config, load_config
from .budget import DocTimeout, budget
from .errors import DocumentError, Errors, StancekitError
from .ingest import Document, check_inputs, inputs_digest, iter_documents
from .records import COMMIT_FILE, RunWriter, SCHEMA_VERSIONS, recover, write_json_atomic
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

    def _repr_html_(self) -> str:  # shown inline by Jupyter
        from .render import render

        return render(self)


class Analyser:
    """The spaCy side of the pipeline: parse, entities, quotes, speakers and claims, as plain data.

    It runs in the main process or in a worker process (``workers > 1``); what it returns is plain
    data (no ``Doc``), cheap to send between processes. Documents go through
    ``nlp.pipe(as_tuples=True)``; a batch in which a component fails is retried one document at a
    time, so one bad document costs one error record and no other document is lost.
    """

    def __init__(self, nlp, config: Config):
        self.nlp = nlp
        self.config = config
        self.timings: dict[str, float] = {"spacy": 0.0, "claims": 0.0}

    @property
    def claims(self):
        """The ``stancekit_claims`` component, or None when claims are off."""
        if not self.config.claims or "stancekit_claims" not in self.nlp.pipe_names:
            return None
        return self.nlp.get_pipe("stancekit_claims")

    @property
    def detector(self):
        """The claims stage's check-worthiness model (:class:`stancekit.claims.ClaimDetector`)."""
        return self.claims.detector if self.claims is not None else None

    def analyse(self, docs: Sequence[Document]) -> list[dict]:
        """One analysis per document: ``entities``, ``quotes``, ``claims``, ``warnings`` or ``failed``."""
        t0, claims = time.perf_counter(), self.claims
        claims_before = claims.seconds if claims is not None else 0.0
        pre: list[list[dict]] = []
        chunks: list[tuple[str, tuple[int, int]]] = []
        n_pieces: list[int] = []
        for i, item in enumerate(docs):
            warnings = list(item.meta.get("warnings", []))
            if not item.text.strip():
                warnings.append({"code": "W001", "message": Errors.W001.format()})
            pieces = split_chunks(item.text, self.config.chunk_chars)
            if len(pieces) > 1:
                warnings.append({"code": "W002", "message": Errors.W002.format(limit=self.config.chunk_chars,
                                                                               n=len(pieces))})
            pre.append(warnings)
            n_pieces.append(len(pieces))
            chunks.extend((piece, (i, off)) for off, piece in pieces)
        with self._memory_zone():
            parts, failures = self._run_nlp(chunks, docs)
        out: list[dict] = []
        for i, item in enumerate(docs):
            keys = sorted(k for k in parts if k[0] == i) if n_pieces[i] > 1 else [(i, 0)]
            failed = next((failures[k] for k in sorted(failures) if k[0] == i), None)
            if failed is not None:
                out.append({"failed": failed})
                continue
            acc: dict = {"entities": [], "quotes": [], "warnings": [], "claims": [], "pre_warnings": pre[i]}
            for k in keys:
                for key in ("entities", "quotes", "warnings", "claims"):
                    acc[key].extend(parts[k].get(key, []))
            out.append(acc)
        # the spaCy stages (entities, quotes, speakers) alone: the claims component is timed apart
        claims_s = claims.seconds - claims_before if claims is not None else 0.0
        self.timings["claims"] += claims_s
        self.timings["spacy"] += time.perf_counter() - t0 - claims_s
        return out

    def _run_nlp(self, chunks: list[tuple[str, tuple[int, int]]], docs: Sequence[Document]):
        """``nlp.pipe`` over all chunks; what fails (or runs over budget) is retried alone."""
        nlp, limit = self.nlp, self.config.doc_timeout
        parts: dict[tuple[int, int], dict] = {}
        failures: dict[tuple[int, int], dict] = {}

        def batch_handler(name, proc, batch_docs, exc):
            if isinstance(exc, DocTimeout):
                raise exc  # the batch is over budget: stop it, retry its documents one at a time
            # the documents of a failing (mini)batch are dropped by spaCy and retried alone below

        def single_handler(name, proc, batch_docs, exc):
            raise _StageFailure(name, exc)

        previous = getattr(nlp, "default_error_handler", None)
        try:
            _set_error_handler(nlp, batch_handler)
            # nlp.pipe runs each minibatch of ``batch_size`` chunks through every component before it
            # yields them, so the batch gets ``limit`` seconds per chunk of its next minibatch, counted
            # again from each yield: normal documents are never cut (and run twice) for being batched
            size = max(1, min(self.config.batch_size, len(chunks)))
            try:
                with budget(limit * size if limit else limit) as timer:
                    inputs = ((_with_title(nlp, text, docs[key[0]], key[1]), key) for text, key in chunks)
                    for n, (doc, key) in enumerate(nlp.pipe(inputs, as_tuples=True,
                                                            batch_size=self.config.batch_size), start=1):
                        try:
                            parts[key] = self._part(doc, docs[key[0]], key[1])
                        except DocTimeout:
                            raise
                        except Exception:  # retried alone below, where the failure is recorded
                            continue
                        timer.rearm(limit * max(1, min(size, len(chunks) - n)) if limit else 0)
            except Exception:  # over budget, or a failure outside any component (e.g. the tokenizer)
                pass
            _set_error_handler(nlp, single_handler)
            for text, key in chunks:
                if key in parts:
                    continue
                try:
                    with budget(limit):
                        parts[key] = self._part(nlp(_with_title(nlp, text, docs[key[0]], key[1])), docs[key[0]],
                                                key[1])
                except Exception as exc:  # noqa: BLE001 - one document, one error record
                    failures[key] = _failure(exc, limit)
        finally:
            if previous is not None:
                _set_error_handler(nlp, previous)
        return parts, failures

    def _part(self, doc, item: Document, offset: int) -> dict:
        try:
            part = _extract(doc, offset)
        except DocTimeout:
            raise
        except Exception as exc:
            raise _StageFailure("nlp", exc) from exc
        if self.claims is not None:
            part["claims"] = _shift_claims(doc._.stancekit_claims or [], item.doc_id, offset)
        return part

    def _memory_zone(self):
        import contextlib

        zone = getattr(self.nlp, "memory_zone", None)
        return zone() if zone is not None else contextlib.nullcontext()


def _with_title(nlp, text: str, item: Document, offset: int):
    """The chunk as it enters spaCy: a tokenised Doc with the title marked when the chunk holds the
    document's title (:func:`stancekit.headlines.apply_title_span`), else marked as having none, and
    the document's id and date in ``doc.user_data`` (read by the claims component)."""
    doc = nlp.make_doc(text)
    doc.user_data["doc_id"] = item.doc_id
    doc.user_data["date"] = item.date
    span = item.title_span
    if span is None and item.title:
        from .headlines import title_span

        span = item.title_span = title_span(item.text, item.title)
    from .headlines import apply_title_span

    if span is None or offset > span[0] or span[1] - offset > len(text):
        # no title in this chunk (or none at all, e.g. --no-title-line): say so, so that no stage guesses one
        return apply_title_span(doc, None)
    return apply_title_span(doc, (span[0] - offset, span[1] - offset))


def _set_error_handler(nlp, handler) -> None:
    """``nlp.set_error_handler`` for the components that accept one.

    spaCy's Cython parsers (``parser``, ``ner``) cannot store a handler; their failures reach
    :meth:`Analyser._run_nlp` as exceptions, which retries the batch one document at a time too.
    """
    nlp.default_error_handler = handler
    for _, pipe in nlp.pipeline:
        if hasattr(pipe, "set_error_handler"):
            try:
                pipe.set_error_handler(handler)
            except AttributeError:
                continue


# error records name a stage; a component is named by the stage it runs
STAGE_NAMES = {"stancekit_claims": "claims"}


class _StageFailure(Exception):
    def __init__(self, stage: str, exc: BaseException):
        super().__init__(stage)
        self.stage, self.exc = stage, exc


def _failure(exc: BaseException, limit: float) -> dict:
    """A failure as plain data: the stage that failed, the code, a one-line detail."""
    stage = "nlp"
    if isinstance(exc, _StageFailure):
        stage, exc = STAGE_NAMES.get(exc.stage, exc.stage), exc.exc
    if isinstance(exc, DocTimeout):
        return {"stage": stage, "code": "E121", "detail": f"over {limit:g} s"}
    return {"stage": stage, "code": "E120", "detail": f"{type(exc).__name__}: {exc}"}


# -- worker processes ------------------------------------------------------------------------------

_WORKER: Analyser | None = None


def _init_worker(analyser_or_config) -> None:
    """Worker start: a forked worker inherits the parent's loaded Analyser; a spawned one loads its own."""
    global _WORKER
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    config = analyser_or_config.config if isinstance(analyser_or_config, Analyser) else analyser_or_config
    _one_torch_thread(config)
    if isinstance(analyser_or_config, Analyser):
        _WORKER = analyser_or_config
    else:
        _WORKER = Pipeline(analyser_or_config, backend=_NoBackend()).analyser


def _one_torch_thread(config: Config) -> None:
    """A worker is one of several processes sharing the cores: its torch (the claims encoder) uses one
    thread, unless ``threads`` is set. Several processes each running a thread pool per core
    oversubscribe the CPU (measured: 4× slower transformer stages; benchmarks/RESULTS.md)."""
    import os
    import sys

    n = config.threads or 1
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    else:
        os.environ.setdefault("OMP_NUM_THREADS", str(n))


def _work(docs: list[Document]) -> tuple[list[dict], dict]:
    assert _WORKER is not None
    before = dict(_WORKER.timings)
    out = _WORKER.analyse(docs)
    return out, {k: _WORKER.timings[k] - before.get(k, 0.0) for k in _WORKER.timings}


class _NoBackend:
    """Stands in for the stance model in processes that never run it."""

    def predict(self, inputs):  # pragma: no cover - never called
        raise RuntimeError("stance runs in the main process")

    def describe(self) -> dict:  # pragma: no cover
        return {}


class Pipeline:
    """ingest → :class:`Analyser` (spaCy stages, on ``workers`` processes) → stance (one device) → records."""

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
        if self.config.claims and "stancekit_claims" not in self.nlp.pipe_names:
            from . import claims  # noqa: F401 - registers stancekit_claims

            self.nlp.add_pipe("stancekit_claims", config={"model": self.config.claims_model or "",
                                                         "min_score": self.config.min_claim_score})
        self.analyser = Analyser(self.nlp, self.config)
        self._backend = backend
        self._pool = None
        self.timings: dict[str, float] = {"spacy": 0.0, "stance": 0.0, "claims": 0.0}

    # -- models, loaded on first use ---------------------------------------------------------------
    @property
    def backend(self):
        if self._backend is None:
            cfg = self.config
            threads = cfg.threads
            if threads is None and cfg.workers > 1:  # the spaCy workers have their cores: leave them free
                import os

                threads = max(1, (os.cpu_count() or 1) - cfg.workers)
            options = {"device": cfg.device, "max_tokens": cfg.max_tokens, "threads": threads}
            if cfg.stance_backend == "fewshot":
                options["encoder"] = cfg.stance_encoder or None
            elif cfg.stance_model:
                options["model"] = cfg.stance_model
            self._backend = get_backend(cfg.stance_backend, **options)
        return self._backend

    @property
    def detector(self):
        return self.analyser.detector

    def describe(self) -> dict:
        return {"spacy": f"{self.nlp.meta.get('lang')}_{self.nlp.meta.get('name')}-{self.nlp.meta.get('version')}",
                "pipes": self.nlp.pipe_names, "stance": self.backend.describe(),
                "targets": [t.id for t in self.targets]}

    # -- one text ---------------------------------------------------------------------------------
    def __call__(self, text: str, *, doc_id: str = "doc", title: str | None = None, date: str | None = None,
                 url: str | None = None) -> Result:
        from .headlines import title_span

        span = title_span(text, title, title_line=self.config.title_line)
        if title is None and span is not None:
            title = text[span[0]:span[1]]
        item = next(self.process([Document(doc_id=doc_id, text=text, title=title, date=date, url=url,
                                           title_span=span)]))
        if isinstance(item, DocumentError):
            raise item
        return item

    # -- many documents -----------------------------------------------------------------------------
    def process(self, docs: Iterable[Document | DocumentError]) -> Iterator[Result | DocumentError]:
        """Yield a :class:`Result` or a :class:`DocumentError` per input, in input order."""
        if self.config.workers > 1:
            yield from self._process_parallel(docs)
            return
        for batch in batched(docs, self.config.batch_size):
            docs_only = [x for x in batch if isinstance(x, Document)]
            yield from _merge(batch, self.finish(docs_only, self.analyse(docs_only)))

    def analyse(self, docs: Sequence[Document]) -> list[dict]:
        """The spaCy stages of ``docs`` in this process (see :class:`Analyser`)."""
        before = dict(self.analyser.timings)
        out = self.analyser.analyse(docs) if docs else []
        for k, v in self.analyser.timings.items():
            self.timings[k] = self.timings.get(k, 0.0) + v - before.get(k, 0.0)
        return out

    def finish(self, docs: Sequence[Document], analyses: Sequence[dict]) -> list[Result | DocumentError]:
        """Stance for every quote and claim of ``docs`` in one engine call, then the records."""
        stance_jobs = []
        for item, acc in zip(docs, analyses):
            if "failed" in acc:
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
        out: list[Result | DocumentError] = []
        for item, acc in zip(docs, analyses):
            if "failed" in acc:
                f = acc["failed"]
                error = Errors.E121 if f["code"] == "E121" else Errors.E120
                kwargs = {"limit": f"{self.config.doc_timeout:g}"} if f["code"] == "E121" else {"detail": f["detail"]}
                out.append(DocumentError(error, doc_id=item.doc_id, source=item.source, stage=f["stage"], **kwargs))
            else:
                out.append(self._records(item, acc))
        return out

    def _records(self, item: Document, acc: dict) -> Result:
        quotes = []
        for q in acc["quotes"]:
            quotes.append({"doc_id": item.doc_id, "quote_id": q["quote_id"], "text": q["text"],
                           "start": q["start"], "end": q["end"], "kind": q["kind"], "cue": q["cue"],
                           "speaker": q["speaker"], "confidence": round(float(q.get("confidence", 0.0)), 4),
                           "stances": q.get("stances", [])})
        speakers = [{"doc_id": item.doc_id, **s} for s in aggregate(quotes, self.targets)]
        all_warnings = list(acc.get("pre_warnings", [])) + [_warning(w) for w in acc["warnings"]]
        document = {"doc_id": item.doc_id, "source": item.source, "title": item.title, "url": item.url,
                    "date": item.date, "status": "ok", "n_chars": len(item.text), "n_quotes": len(quotes),
                    "n_speakers": len(speakers), "n_claims": len(acc["claims"]),
                    "entities": acc["entities"], "warnings": all_warnings}
        return Result(document=document, quotes=quotes, speakers=speakers, claims=acc["claims"])

    # -- worker processes ---------------------------------------------------------------------------
    def start_workers(self):
        """Start the spaCy worker processes (``workers > 1``); call before the stance model loads."""
        if self._pool is None and self.config.workers > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            if "fork" in mp.get_all_start_methods():  # workers inherit the loaded spaCy pipeline
                ctx, arg = mp.get_context("fork"), self.analyser
            else:  # pragma: no cover - platforms without fork load the models once per worker
                ctx, arg = mp.get_context("spawn"), self.config
            self._pool = ProcessPoolExecutor(self.config.workers, mp_context=ctx, initializer=_init_worker,
                                             initargs=(arg,))
            self._pool.submit(int).result()  # a forking pool starts all its processes on the first task
        return self._pool

    def close(self) -> None:
        """Stop the worker processes (they restart on the next :meth:`process`)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _kill_workers(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            for proc in list(getattr(pool, "_processes", {}).values()):  # no public API to kill a stuck worker
                proc.kill()
            pool.shutdown(wait=False, cancel_futures=True)

    def _process_parallel(self, items: Iterable[Document | DocumentError]) -> Iterator[Result | DocumentError]:
        window: deque = deque()
        for batch in batched(items, self.config.batch_size):
            docs = [x for x in batch if isinstance(x, Document)]
            window.append((batch, docs, self.start_workers().submit(_work, docs) if docs else None))
            while len(window) > self.config.workers:  # every worker busy while this process runs stance
                yield from self._finish_parallel(*window.popleft())
        while window:
            yield from self._finish_parallel(*window.popleft())

    def _finish_parallel(self, batch: list, docs: list[Document], future) -> list:
        analyses: list[dict] = []
        if future is not None:
            limit = self.config.doc_timeout
            try:  # a hard limit for code the in-worker budget cannot interrupt
                analyses, timings = future.result(timeout=limit * (len(docs) + 2) + 30 if limit else None)
                for k, v in timings.items():
                    self.timings[k] = self.timings.get(k, 0.0) + v
            except Exception:  # a worker died or hung: each document alone, in fresh workers
                self._kill_workers()
                analyses = [self._analyse_alone(d) for d in docs]
        return _merge(batch, self.finish(docs, analyses))

    def _analyse_alone(self, doc: Document) -> dict:
        limit = self.config.doc_timeout
        try:
            (analysis,), timings = self.start_workers().submit(_work, [doc]).result(
                timeout=limit + 30 if limit else None)
            return analysis
        except Exception as exc:  # noqa: BLE001 - this document kills or hangs its worker
            self._kill_workers()
            if isinstance(exc, TimeoutError):
                return {"failed": {"stage": "worker", "code": "E121", "detail": f"over {limit:g} s"}}
            return {"failed": {"stage": "worker", "code": "E120", "detail": f"worker process died: {exc!r}"}}


def batched(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _merge(batch: list, results: list) -> list:
    """Results of a batch's documents back in input order, with its ingest errors in place."""
    it = iter(results)
    return [item if isinstance(item, DocumentError) else next(it) for item in batch]


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


def _shift_claims(claims: list[dict], doc_id: str, offset: int) -> list[dict]:
    """Claim records of a chunk, with offsets (and so ids) relative to the whole document."""
    if not offset:
        return claims
    for c in claims:
        c["start"] += offset
        c["end"] += offset
        c["claim_id"] = f"{doc_id}#c{c['start']}-{c['end']}"
        for qn in c.get("quantities", []):
            for k in ("start", "end"):
                if k in qn and qn[k] is not None:
                    qn[k] += offset
    return claims


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

# options that change how a run executes, never its records: a resumed run may change them
EXECUTION_KEYS = ("workers", "doc_timeout", "batch_size", "threads")
RECORD_FILES = ("documents", "quotes", "speakers", "claims", "errors")


def check_out_dir(out_dir: Path, *, force: bool, resume: bool) -> None:
    """Raise E002 when ``out_dir`` holds files and neither --force nor --resume was given."""
    out_dir = Path(out_dir)
    if resume and (out_dir / "documents.jsonl").exists():
        return
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not force \
            and not is_empty_run(out_dir):
        raise StancekitError(Errors.E002, path=out_dir)


RUN_FILES = ("manifest.json", COMMIT_FILE) + tuple(f"{name}.jsonl" for name in RECORD_FILES)


def is_empty_run(out_dir: Path) -> bool:
    """Whether ``out_dir`` holds only what a run writes before its first record (a start that failed
    or was killed): a manifest, a commit marker, empty record files. Such a folder is reused freely."""
    try:
        entries = list(Path(out_dir).iterdir())
    except OSError:
        return False
    try:  # records past a commit of nothing are an unfinished first batch: nothing is done
        sizes = json.loads((Path(out_dir) / COMMIT_FILE).read_text(encoding="utf-8")).get("sizes")
        nothing_committed = isinstance(sizes, dict) and not any(sizes.values())
    except (OSError, ValueError):
        nothing_committed = False
    for p in entries:
        name = p.name[:-4] if p.name.endswith(".tmp") else p.name
        if name not in RUN_FILES or not p.is_file():
            return False
        if name.endswith(".jsonl") and p.stat().st_size and not nothing_committed:
            return False
    return bool(entries)


def _remove_empty_run(out_dir: Path, created: bool) -> None:
    """After a failed start: remove the files of a run that committed no record."""
    if not is_empty_run(out_dir):
        return
    for p in Path(out_dir).iterdir():
        p.unlink()
    if created:
        Path(out_dir).rmdir()


def prepare_out_dir(out_dir: Path, *, force: bool, resume: bool) -> set[str]:
    """Make ``out_dir`` ready; with ``resume``, cut back to the last commit and return the finished ids."""
    out_dir = Path(out_dir)
    check_out_dir(out_dir, force=force, resume=resume)
    if resume and (out_dir / "documents.jsonl").exists() and not is_empty_run(out_dir):
        return recover(out_dir)
    if out_dir.exists() and (force or is_empty_run(out_dir)):
        for name in RECORD_FILES:
            for suffix in (".jsonl", ".parquet"):
                p = out_dir / f"{name}{suffix}"
                if p.exists():
                    p.unlink()
        for name in ("manifest.json", COMMIT_FILE):
            for p in (out_dir / name, out_dir / f"{name}.tmp"):
                if p.exists():
                    p.unlink()
    return set()


def run_fingerprint(pipe: Pipeline, inputs: Sequence[str | Path]) -> dict:
    """What a run's records depend on: configuration, targets, models and inputs (checked by --resume)."""
    config = {k: v for k, v in pipe.config.to_dict().items() if k not in EXECUTION_KEYS}
    return {"config": config, "targets": target_digests(pipe.targets), "models": pipe.describe(),
            "inputs": inputs_digest(inputs)}


def target_digests(targets: Sequence[Target]) -> dict[str, str]:
    """A digest of each target's definition (id, description, examples …)."""
    return {t.id: hashlib.sha256(json.dumps(asdict(t), sort_keys=True, default=str).encode()).hexdigest()[:16]
            for t in targets}


def check_resume(out_dir: Path, fingerprint: dict) -> None:
    """Raise E015 when the run in ``out_dir`` was made with other config, targets, models or inputs."""
    path = Path(out_dir) / "manifest.json"
    try:
        old = json.loads(path.read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError):
        old = None
    if old is None:
        raise StancekitError(Errors.E015, path=out_dir, what="run", detail="the manifest records no fingerprint")
    differ = [part for part in ("config", "targets", "models", "inputs")
              if json.loads(json.dumps(old.get(part), default=str)) != json.loads(json.dumps(fingerprint[part], default=str))]
    if differ:
        details = []
        for part in differ:
            a, b = old.get(part) or {}, fingerprint[part]
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)) if isinstance(a, dict) else []
            details.append(f"{part}: {', '.join(map(str, keys[:4])) or 'changed'}")
        raise StancekitError(Errors.E015, path=out_dir, what=" and ".join(differ), detail="; ".join(details))


def run_corpus(inputs: Sequence[str | Path], out_dir: str | Path, *, config: Config | None = None,
               pipeline: Pipeline | None = None, force: bool = False, resume: bool = False,
               resume_anyway: bool = False, parquet: bool = False, on_result: Callable | None = None,
               on_start: Callable | None = None, stdin=None, writer_class=None, strict: bool = False) -> dict:
    """Stream ``inputs`` through the pipeline into ``out_dir``; return the manifest.

    Nothing is written until the models have loaded and the arguments were checked, so a failed
    start leaves no files. Records are appended batch by batch and committed (fsync, then the byte
    size of every file in ``commit.json``): a document counts as done only once its batch is
    committed, and ``resume=True`` cuts the files back to the last commit and skips the documents
    already done. A resumed run must have the same configuration, targets, models and inputs as the
    manifest's (E015), unless ``resume_anyway``. ``strict=True`` validates every record against its
    model (:mod:`stancekit.schema`) before writing it and stops at the first invalid one (E020).
    """
    out_dir = Path(out_dir)
    check_inputs(inputs)
    check_out_dir(out_dir, force=force, resume=resume)
    own_pipe = pipeline is None
    pipe = pipeline or Pipeline(config)
    try:
        pipe.start_workers()  # fork the spaCy workers before the stance model loads in this process
        fingerprint = run_fingerprint(pipe, inputs)
        return write_run(inputs, out_dir, config=pipe.config, fingerprint=fingerprint, process=pipe.process,
                         timings=pipe.timings, force=force, resume=resume, resume_anyway=resume_anyway,
                         parquet=parquet, on_result=on_result, on_start=on_start, stdin=stdin,
                         writer_class=writer_class, strict=strict)
    finally:
        if own_pipe:
            pipe.close()


def write_run(inputs: Sequence[str | Path], out_dir: Path, *, config: Config, fingerprint: dict,
              process: Callable[[Iterable], Iterable], timings: dict | None = None, force: bool = False,
              resume: bool = False, resume_anyway: bool = False, parquet: bool = False,
              on_result: Callable | None = None, on_start: Callable | None = None, stdin=None,
              writer_class=None, strict: bool = False, engine: str = "local") -> dict:
    """The record files and manifest of a run whose models are loaded (any engine).

    ``process`` turns the documents still to do (an iterator of ingest items) into one
    :class:`Result` or :class:`DocumentError` each, in any order; this function checks a resume,
    cuts the files back to the last commit, writes and commits batch by batch, and writes the manifest.
    """
    out_dir = Path(out_dir)
    timings = timings if timings is not None else {}
    resuming = resume and (out_dir / "documents.jsonl").exists() and not is_empty_run(out_dir)
    if resuming and not resume_anyway:
        check_resume(out_dir, fingerprint)
    started = time.time()
    done = prepare_out_dir(out_dir, force=force, resume=resume)
    manifest = {
        "stancekit_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "status": "running",
        "inputs": [str(i) for i in inputs],
        "engine": engine,
        "config": config.to_dict(),
        "models": fingerprint["models"],
        "schemas": SCHEMA_VERSIONS,
        "fingerprint": fingerprint,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if resuming:
        manifest["resumed"] = True
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / "manifest.json", manifest)
    from .schema import check_record

    writer = (writer_class or RunWriter)(out_dir, append=resuming, validate=check_record if strict else None)
    if on_start is not None:
        on_start({"already_done": len(done)})
    t0 = time.perf_counter()
    n_docs = n_errors = n_skipped = 0

    def todo():
        nonlocal n_skipped
        for item in iter_documents(inputs, stdin=stdin, title_line=config.title_line):
            if item.doc_id in done:
                n_skipped += 1
                continue
            yield item

    batch_out: list = []
    try:
        for res in process(todo()):
            batch_out.append(res)
            if isinstance(res, DocumentError):
                n_errors += 1
            else:
                n_docs += 1
            if on_result is not None:
                on_result(res)
            if len(batch_out) >= config.batch_size:
                write_results(writer, batch_out)
                batch_out = []
        write_results(writer, batch_out)
    except BaseException:
        writer.close()
        if not resuming:  # a start that failed before its first record leaves nothing behind
            _remove_empty_run(out_dir, created)
        raise
    writer.close()
    elapsed = time.perf_counter() - t0
    manifest.update({
        "status": "complete",
        "counts": {name: _count_lines(out_dir / f"{name}.jsonl") for name in RECORD_FILES},
        "this_run": {"documents": n_docs, "errors": n_errors, "skipped_done": n_skipped},
        "timings_s": {"total": round(elapsed, 3), **{k: round(v, 3) for k, v in timings.items()}},
    })
    if parquet:
        from .records import to_parquet

        manifest["parquet"] = [p.name for p in to_parquet(out_dir)]
    write_json_atomic(out_dir / "manifest.json", manifest)
    return manifest


def write_results(writer: RunWriter, results: list) -> None:
    """Write one batch of results and commit it."""
    for res in results:
        if isinstance(res, DocumentError):
            writer.write("errors", [res.to_record()])
        else:
            writer.write("quotes", res.quotes)
            writer.write("speakers", res.speakers)
            writer.write("claims", res.claims)
            writer.write("documents", [res.document])
    writer.commit()


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())
