"""A REST service over the pipeline: ``stancekit serve`` (FastAPI app, run by uvicorn).

Endpoints: ``POST /v1/analyze`` (one article, or a batch of up to ``max_docs``; targets per request),
``GET /v1/targets``, ``GET /health``; OpenAPI docs at ``/docs``.

Models are loaded once, when the app starts. Requests do not call the pipeline themselves: they put
their documents on a queue, and one worker takes everything that has arrived (waiting at most
``batch_wait_ms`` for more, up to ``batch_size`` documents) and runs it through the pipeline as one
batch, in one thread, so that concurrent requests share the batched inference engine. Documents that
asked for different targets are processed in one group per target set.

The worker also knows how many documents were waiting at once while the last batch ran (the
service's concurrency): while a new batch holds fewer than that, it waits a little longer
(``batch_gather_ms`` at most, and at most ``gather_share`` of the last batch's run time) for the
clients that were just answered to send their next request. Without that, concurrent clients
that each wait for their answer split into cohorts that take turns, and every batch holds a
fraction of them. Responses are encoded once, with :func:`json.dumps`, on the event loop.

Bad requests get a 4xx status and a coded error body ``{"error": {"code": "E2xx", "message": ...}}``
(codes in :mod:`stancekit.errors`); a document the pipeline cannot process is answered in place, in
the ``results`` list, with its error record.
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Optional

from pydantic import BaseModel, Field  # a dependency of spaCy

from . import __version__
from .errors import DocumentError, Errors, StancekitError


@dataclass
class ServiceLimits:
    """Request and batching limits of the service."""

    max_docs: int = 16            # documents in one request
    max_chars: int = 100_000      # characters of one document
    max_body_bytes: int = 4_000_000
    batch_size: int = 32          # documents per pipeline batch
    batch_wait_ms: float = 5.0    # how long the worker waits for more requests after the first
    batch_gather_ms: float = 100.0  # longest extra wait while a batch holds fewer than the concurrency seen
    gather_share: float = 0.05    # ... and at most this share of the last batch's run time
    max_queued: int = 1024        # documents waiting; more gets 503 E206


class Article(BaseModel):
    """One article of a request."""

    text: str = Field(..., description="The article text.")
    doc_id: Optional[str] = Field(None, description="Document id (default: doc<N> by position).")
    title: Optional[str] = None
    date: Optional[str] = Field(None, description="ISO date; resolves relative dates in claims.")
    url: Optional[str] = None


class AnalyzeRequest(BaseModel):
    """One article (``text`` and its fields) or a batch (``documents``), and the targets."""

    text: Optional[str] = Field(None, description="One article (or use documents).")
    doc_id: Optional[str] = None
    title: Optional[str] = None
    date: Optional[str] = None
    url: Optional[str] = None
    documents: Optional[list[Article]] = Field(None, description="A batch of articles (at most the service's "
                                                                 "max_docs, see /health).")
    targets: Optional[list[str]] = Field(None, description="Target ids (GET /v1/targets); default: the "
                                                           "service's default targets.")


_STATUS = {"E201": 422, "E202": 413, "E203": 413, "E204": 413, "E205": 422, "E206": 503}


class _Job:
    __slots__ = ("docs", "targets", "future")

    def __init__(self, docs, targets, future):
        self.docs, self.targets, self.future = docs, targets, future


class MicroBatcher:
    """Collects the documents of concurrent requests into pipeline batches (one worker, one thread)."""

    def __init__(self, pipeline, limits: ServiceLimits, targets: dict | None = None):
        self.pipeline = pipeline
        self.targets = dict(targets or {})  # id → Target that a request may name
        self.limits = limits
        self.queue: asyncio.Queue[_Job] = asyncio.Queue()
        self.queued_docs = 0
        self.in_flight = 0   # documents submitted and not yet answered
        self._peak = 0       # most documents in flight at once since the last batch started
        self._target = 0     # documents the next batch waits for (the last cycle's peak, capped)
        self._last_run_s = 0.0
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stancekit-batch")
        self.stats = {"batches": 0, "documents": 0, "requests": 0, "largest_batch": 0, "pipeline_s": 0.0,
                      "gather_s": 0.0}
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._worker())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self.executor.shutdown(wait=True)

    async def submit(self, docs: list, targets: tuple) -> list:
        """Queue ``docs`` (ingest Documents) for ``targets``; their results, in order, once processed."""
        if self.queued_docs + len(docs) > self.limits.max_queued:
            raise StancekitError(Errors.E206, n=self.queued_docs, limit=self.limits.max_queued)
        future = asyncio.get_running_loop().create_future()
        self.queued_docs += len(docs)
        self.in_flight += len(docs)
        self._peak = max(self._peak, self.in_flight)
        try:
            await self.queue.put(_Job(docs, targets, future))
            return await future
        finally:
            self.in_flight -= len(docs)

    def gather_s(self) -> float:
        """How long a batch that holds fewer documents than the last cycle's concurrency waits for more."""
        lim = self.limits
        return max(lim.batch_wait_ms, min(lim.batch_gather_ms, lim.gather_share * self._last_run_s * 1000.0)) / 1000.0

    async def _worker(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await self.queue.get()]
            n = len(jobs[0].docs)
            first = loop.time()
            deadline = first + self.limits.batch_wait_ms / 1000.0
            longest = first + self.gather_s()  # while fewer than ``_target`` documents have come
            while n < self.limits.batch_size:
                try:
                    job = self.queue.get_nowait()
                except asyncio.QueueEmpty:
                    timeout = (longest if n < self._target else deadline) - loop.time()
                    if timeout <= 0:
                        break
                    try:
                        job = await asyncio.wait_for(self.queue.get(), timeout)
                    except asyncio.TimeoutError:
                        break
                jobs.append(job)
                n += len(job.docs)
            self.queued_docs -= n
            started = loop.time()
            self.stats["gather_s"] += started - first
            self._peak = self.in_flight  # counted afresh while this batch runs
            try:
                outs = await loop.run_in_executor(self.executor, self._process, jobs)
            except Exception as exc:  # the pipeline itself failed: every waiting request gets it
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            finally:
                self._last_run_s = loop.time() - started
                self.stats["pipeline_s"] += self._last_run_s
                self._target = min(self.limits.batch_size, self._peak)
            for job, out in zip(jobs, outs):
                if not job.future.done():
                    job.future.set_result(out)
            self.stats["batches"] += 1
            self.stats["documents"] += n
            self.stats["requests"] += len(jobs)
            self.stats["largest_batch"] = max(self.stats["largest_batch"], n)

    def _process(self, jobs: list[_Job]) -> list[list]:
        """Runs in the worker thread: one pipeline pass per target set over the documents that asked for it."""
        groups: dict[tuple, list[int]] = {}
        for i, job in enumerate(jobs):
            groups.setdefault(job.targets, []).append(i)
        outs: list[list] = [[] for _ in jobs]
        pipe = self.pipeline
        default = pipe.targets
        try:
            for targets, idx in groups.items():
                pipe.targets = [self.targets[t] for t in targets]
                docs = [d for i in idx for d in jobs[i].docs]
                results = list(pipe.process(docs))
                pos = 0
                for i in idx:
                    k = len(jobs[i].docs)
                    outs[i] = results[pos:pos + k]
                    pos += k
        finally:
            pipe.targets = default
        return outs


def create_app(config=None, *, pipeline=None, limits: ServiceLimits | None = None, targets=None):
    """The FastAPI app. ``pipeline``: a ready :class:`~stancekit.pipeline.Pipeline` (else one is built
    from ``config`` / ``targets`` when the app starts); ``targets``: the default targets of a request."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response

    limits = limits or ServiceLimits()

    @asynccontextmanager
    async def lifespan(app):
        pipe = pipeline
        if pipe is None:
            pipe = await asyncio.get_running_loop().run_in_executor(None, _load_pipeline, config, targets)
        app.state.pipeline = pipe
        app.state.default_targets = tuple(t.id for t in pipe.targets)
        app.state.known_targets = _known_targets(pipe)
        app.state.batcher = MicroBatcher(pipe, limits, app.state.known_targets)
        app.state.batcher.start()
        app.state.started = time.time()
        try:
            yield
        finally:
            await app.state.batcher.stop()

    app = FastAPI(title="stancekit", version=__version__, lifespan=lifespan,
                  description="Who said what about a topic, and with which stance: quotes, speakers, "
                              "stance and claims of news articles.")
    app.add_middleware(_BodyLimit, limit=limits.max_body_bytes)

    @app.exception_handler(StancekitError)
    async def _coded(request: Request, exc: StancekitError):
        return _error(exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        detail = f"{where}: {first.get('msg', 'invalid')}" if where else first.get("msg", "invalid body")
        return _error("E201", Errors.E201.format(detail=detail))

    @app.get("/health")
    async def health():
        """Liveness and what is loaded: models, default targets, batching counters."""
        b = app.state.batcher
        return {"status": "ok", "version": __version__, "models": _describe(app.state.pipeline),
                "default_targets": list(app.state.default_targets), "queued_documents": b.queued_docs,
                "batching": {k: round(v, 3) if isinstance(v, float) else v for k, v in b.stats.items()},
                "uptime_s": round(time.time() - app.state.started, 1),
                "limits": {"max_docs": limits.max_docs, "max_chars": limits.max_chars,
                           "max_body_bytes": limits.max_body_bytes, "batch_size": limits.batch_size,
                           "batch_wait_ms": limits.batch_wait_ms, "batch_gather_ms": limits.batch_gather_ms}}

    @app.get("/v1/targets")
    async def list_targets():
        """The targets a request may name."""
        return {"targets": [{"id": t.id, "name": t.name, "description": t.description,
                             "examples": len(t.examples), "default": t.id in app.state.default_targets}
                            for t in app.state.known_targets.values()]}

    @app.post("/v1/analyze", response_class=JSONResponse)
    async def analyze(body: AnalyzeRequest):
        """Quotes, speakers, stance and claims of one article (``text``) or a batch (``documents``).

        ``results`` has one entry per article, in order: its records (``document``, ``quotes``,
        ``speakers``, ``claims``), or ``{"error": {...}}`` when that article could not be processed.
        """
        from .ingest import Document

        if (body.text is None) == (body.documents is None):
            raise StancekitError(Errors.E201, detail="give either 'text' (one article) or 'documents'")
        articles = [Article(text=body.text, doc_id=body.doc_id, title=body.title, date=body.date, url=body.url)] \
            if body.text is not None else body.documents
        if not articles:
            raise StancekitError(Errors.E201, detail="'documents' is empty")
        if len(articles) > limits.max_docs:
            raise StancekitError(Errors.E203, n=len(articles), limit=limits.max_docs)
        for i, a in enumerate(articles):
            if len(a.text) > limits.max_chars:
                raise StancekitError(Errors.E204, index=i, n=len(a.text), limit=limits.max_chars)
        names = tuple(dict.fromkeys(body.targets)) if body.targets is not None else app.state.default_targets
        known = app.state.known_targets
        for name in names:
            if name not in known:
                raise StancekitError(Errors.E205, name=name, known=", ".join(known) or "none")
        docs = [Document(doc_id=a.doc_id or f"doc{i}", text=a.text, title=a.title, date=a.date, url=a.url,
                         source="request") for i, a in enumerate(articles)]
        outs = await app.state.batcher.submit(docs, names)
        # the records are plain JSON data already: encoded once here, not walked by FastAPI's encoder first
        return Response(_dumps({"targets": list(names), "results": [_result_json(o) for o in outs]}),
                        media_type="application/json")

    return app


class _BodyLimit:
    """ASGI middleware: refuse a request body over ``limit`` bytes with 413 / E202, before parsing it."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._drain(receive, int(declared))
            return await self._refuse(send, int(declared))
        chunks, size = [], 0
        while True:
            msg = await receive()
            if msg["type"] != "http.request":
                return
            chunks.append(msg.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await self._refuse(send, size)
            if not msg.get("more_body"):
                break
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _drain(self, receive, declared: int) -> None:
        """Read (and drop) a refused body that is not much over the limit, so that the client, still sending,
        gets the 413 rather than a connection reset; a body far over the limit is not read at all."""
        if declared > max(4 * self.limit, 1 << 20):
            return
        while True:
            msg = await receive()
            if msg["type"] != "http.request" or not msg.get("more_body"):
                return

    async def _refuse(self, send, size: int) -> None:
        payload = json.dumps({"error": {"code": "E202", "message": Errors.E202.format(size=size, limit=self.limit)}})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload.encode()})


def _error(code: str, message: str):
    from fastapi.responses import JSONResponse

    return JSONResponse(status_code=_STATUS.get(code, 400), content={"error": {"code": code, "message": message}})


def _dumps(data) -> bytes:
    """Compact JSON, as FastAPI's own JSONResponse writes it."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _result_json(out: Any) -> dict:
    if isinstance(out, DocumentError):
        return {"error": out.to_record()}
    return out.to_dict()


def _describe(pipe) -> dict:
    try:
        return pipe.describe()
    except Exception as exc:  # describing never takes the service down
        return {"error": f"{type(exc).__name__}: {exc}"}


def _known_targets(pipe) -> dict:
    """Shipped targets and the pipeline's own (which may come from files) by id."""
    from .targets import load_target, shipped_targets

    known = {}
    for name, path in shipped_targets().items():
        try:
            t = load_target(path)
        except StancekitError:
            continue
        known[name] = t
    for t in pipe.targets:
        known[t.id] = t
    return known


def _load_pipeline(config, targets):
    """Build the pipeline and load every model now (not on the first request)."""
    import stancekit

    pipe = stancekit.load(config, targets=targets)
    warm_up(pipe)
    return pipe


def warm_up(pipe) -> None:
    """Run one short text through ``pipe`` so that spaCy, the stance backend and the claim head are loaded."""
    from .ingest import Document

    list(pipe.process([Document(doc_id="warm-up", text="\u201cThis is a test,\u201d the spokeswoman said.")]))


def serve(*, host: str = "127.0.0.1", port: int = 8000, config=None, targets=None,
          limits: ServiceLimits | None = None, log_level: str = "info") -> None:
    """Run the service with uvicorn (one process; models loaded before it accepts requests)."""
    import uvicorn

    uvicorn.run(create_app(config, targets=targets, limits=limits), host=host, port=port, log_level=log_level,
                workers=1)
