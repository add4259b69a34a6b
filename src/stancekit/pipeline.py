"""The orchestrator: documents in, records out, in bounded batches.

    ingest → Analyser: nlp.pipe (tokens, parse, NER, stancekit_entities, stancekit_quotes, stancekit_claims)
           → stance (one batched engine call per document batch, one device) → records

:class:`Pipeline` is what ``stancekit.load()`` returns: call it on one text for a notebook, or use
:meth:`Pipeline.process` / :func:`run_corpus` to stream a corpus. The spaCy stages run on a pool of
``workers`` worker processes in a corpus run (:meth:`Pipeline.start_workers`; always when ``workers > 1``),
else in this process, while the stance model batches in this process. One failing or over-budget
document becomes an error record; it never stops the batch.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

from .analysis import Analyser, _init_worker, _work, build_nlp
from .analysis import _NoBackend, split_chunks  # noqa: F401 - importable from here, as before
from .config import Config, load_config
from .errors import DocumentError, Errors
from .ingest import Document
from .stance import StanceInput, aggregate, backend_options, get_backend, shared_encodings
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


class Pipeline:
    """ingest → :class:`Analyser` (spaCy stages, on ``workers`` processes) → stance (one device) → records."""

    def __init__(self, config: Config | None = None, *, nlp=None, backend=None,
                 targets: Sequence[Target] | None = None):
        self.config = config or load_config()
        self.targets = list(targets) if targets is not None else [load_target(t) for t in self.config.targets]
        self.nlp = build_nlp(self.config, nlp)
        self.analyser = Analyser(self.nlp, self.config)
        self._backend = backend
        self._pool = None
        self._workers_started = False  # start_workers was called: the spaCy stages run on the pool
        self._lock = threading.Lock()  # timings are added to from both threads then
        self.timings: dict[str, float] = {"spacy": 0.0, "stance": 0.0, "claims": 0.0}

    # -- models, loaded on first use ---------------------------------------------------------------
    @property
    def backend(self):
        if self._backend is None:
            cfg = self.config
            threads = cfg.threads
            if threads is None and self._uses_workers:  # the spaCy workers have their cores: leave them free
                from .device import spare_cores

                threads = spare_cores(cfg.workers)
            options = backend_options(cfg.stance_backend, encoder=cfg.stance_encoder, fused=cfg.stance_fused,
                                      model=cfg.stance_model)
            self._backend = get_backend(cfg.stance_backend, device=cfg.device, max_tokens=cfg.max_tokens,
                                        threads=threads, **options)
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
        """Yield a :class:`Result` or a :class:`DocumentError` per input, in input order.

        With worker processes (``workers > 1``, or after :meth:`start_workers`, as a corpus run does) the
        spaCy stages of the next batches run on them while this process runs the transformer stages of
        the current one. Otherwise the spaCy stages run in this thread and, from the second batch on, the
        transformer stages of each batch (:meth:`finish`) run on one helper thread while this thread
        parses the next batch: torch computes outside the GIL, so the two overlap, but the Python parts
        of both take turns (one worker process is faster: benchmarks/RESULTS.md)."""
        if self._uses_workers:
            yield from self._process_parallel(docs)
            return
        from concurrent.futures import ThreadPoolExecutor

        from .device import spare_cores

        executor = None
        waiting = None  # a batch whose spaCy stages are done and whose transformer stages are not
        try:
            for batch in batched(docs, self.config.batch_size):
                running = None
                if waiting is not None:  # a next batch: the waiting one's transformer stages go to the thread
                    if executor is None:
                        executor = ThreadPoolExecutor(1, thread_name_prefix="stancekit-finish")
                    running = (waiting[0], executor.submit(self._finish_beside, waiting[1], waiting[2],
                                                           self.config.threads or spare_cores(1)))
                docs_only = [x for x in batch if isinstance(x, Document)]
                analyses = self.analyse(docs_only)  # while the previous batch's transformer stages run
                if running is not None:
                    yield from _merge(running[0], running[1].result())
                waiting = (batch, docs_only, analyses)
            if waiting is not None:  # the last (or only) batch: nothing left to overlap with
                yield from _merge(waiting[0], self.finish(waiting[1], waiting[2]))
        finally:
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)

    def _finish_beside(self, docs: Sequence[Document], analyses: Sequence[dict], threads: int):
        """:meth:`finish` on the helper thread, with torch on the cores spaCy leaves free (OpenMP's thread
        count is a per-thread setting: this sets the helper thread's)."""
        from .device import cpu_threads

        with cpu_threads(threads):
            return self.finish(docs, analyses)

    def analyse(self, docs: Sequence[Document]) -> list[dict]:
        """The spaCy stages of ``docs`` in this process (see :class:`Analyser`)."""
        before = dict(self.analyser.timings)
        out = self.analyser.analyse(docs) if docs else []
        for k, v in self.analyser.timings.items():
            self._add_time(k, v - before.get(k, 0.0))
        return out

    def _add_time(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.timings[stage] = self.timings.get(stage, 0.0) + seconds

    def finish(self, docs: Sequence[Document], analyses: Sequence[dict]) -> list[Result | DocumentError]:
        """The claims' scores (:func:`stancekit.claims.settle_claims`, one encoder call), then stance for
        every quote and claim of ``docs`` in one engine call, then the records. A text that both encode
        (a short quote is read inside its sentence, which may be a claim unit) is encoded once."""
        with shared_encodings():
            return self._finish(docs, analyses)

    def _finish(self, docs: Sequence[Document], analyses: Sequence[dict]) -> list[Result | DocumentError]:
        self._settle_claims(analyses)
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
            vectors = acc.get("claim_vectors") or []
            if len(vectors) != len(acc["claims"]):
                vectors = [None] * len(acc["claims"])
            for c, kv in zip(acc["claims"], vectors):
                key, vec = kv if kv is not None else (None, None)
                for t in self.targets:
                    stance_jobs.append((c, StanceInput(text=c["text"], target=t, vector=vec, vector_key=key)))
        t0 = time.perf_counter()
        if stance_jobs and self.targets:
            preds = self.backend.predict([job for _, job in stance_jobs])
            for (rec, job), pred in zip(stance_jobs, preds):
                rec.setdefault("stances", []).append({"target": job.target.id, **pred})
        self._add_time("stance", time.perf_counter() - t0)
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

    def _settle_claims(self, analyses: Sequence[dict]) -> None:
        component = self.analyser.claims
        if component is None:
            return
        from .claims import settle_claims

        t0 = time.perf_counter()
        settle_claims(component.detector, [acc for acc in analyses if "failed" not in acc])
        self._add_time("claims", time.perf_counter() - t0)

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
    @property
    def _uses_workers(self) -> bool:
        return self.config.workers > 1 or self._workers_started  # started only when workers >= 1

    def start_workers(self):
        """Start the ``workers`` spaCy worker processes (none with ``workers=0``); call before the stance
        model loads. A corpus run calls it; :meth:`process` starts them itself only when ``workers > 1``,
        so one text in a notebook never waits for a process."""
        self._workers_started = self.config.workers >= 1
        if self._pool is None and self.config.workers >= 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            if "fork" in mp.get_all_start_methods() and not _ray_connected():
                ctx, arg = mp.get_context("fork"), self.analyser  # workers inherit the loaded spaCy pipeline
            else:  # no fork here, or a Ray driver: each worker loads the models of the config itself
                ctx, arg = mp.get_context("spawn"), self.config
            self._pool = ProcessPoolExecutor(self.config.workers, mp_context=ctx, initializer=_init_worker,
                                             initargs=(arg,))
            self._pool.submit(int).result()  # a forking pool starts all its processes on the first task
        return self._pool

    @property
    def workers_running(self) -> bool:
        """Whether spaCy worker processes are running (until :meth:`close`)."""
        return self._pool is not None

    def close(self) -> None:
        """Stop the worker processes. With ``workers > 1`` they restart on the next :meth:`process`; with one,
        :meth:`process` parses in this process again until :meth:`start_workers`."""
        self._workers_started = False
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
            # every worker busy, one batch queued behind them, while this process runs the transformers
            while len(window) > self.config.workers + 1:
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
                    self._add_time(k, v)
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


def _ray_connected() -> bool:
    """Whether this process is a Ray driver. Forking one can hang it: in the test suite (Ray 2.60, local
    mode) a driver that had forked a spaCy worker waited forever on its next ``ray.get``, while the Ray
    node never saw the task. So a Ray driver's spaCy workers are spawned."""
    ray = sys.modules.get("ray")
    try:
        return bool(ray is not None and ray.is_initialized())
    except Exception:  # a module named ray that is not Ray
        return False


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
