"""The spaCy side of a run: documents in chunks through ``nlp.pipe``, results out as plain data.

:class:`Analyser` runs the spaCy pipeline (tokens, parse, NER, ``stancekit_entities``,
``stancekit_quotes``, ``stancekit_claims``) over documents cut into chunks of at most ``chunk_chars``
(:func:`split_chunks`), retries a failing or over-budget batch one document at a time, and returns plain
dicts (no ``Doc``) with offsets relative to the whole document. It runs in the main process or in
worker processes (a corpus run, or ``workers > 1``; the worker functions are at the end of this module).
"""

from __future__ import annotations

import time
from typing import Sequence

from .budget import DocTimeout, budget
from .config import Config
from .errors import Errors
from .ingest import Document


def build_nlp(config: Config, nlp=None):
    """The spaCy pipeline of a run: ``nlp`` (default: the configured spaCy model) with the stancekit
    components that ``config`` asks for and it lacks, in order: HF NER, entities, quotes (rules or
    the learned tagger), claims."""
    from .ner import load_spacy

    nlp = nlp if nlp is not None else load_spacy(config.spacy_model or None)
    nlp.max_length = max(nlp.max_length, config.chunk_chars + 1)
    if config.ner_model and "stancekit_hf_ner" not in nlp.pipe_names:
        nlp.add_pipe("stancekit_hf_ner", config={"model": config.ner_model, "device": config.device,
                                                 "max_tokens": config.max_tokens})
    if "stancekit_entities" not in nlp.pipe_names:
        nlp.add_pipe("stancekit_entities")
    if config.quotes_model and "stancekit_quote_tagger" not in nlp.pipe_names:
        from .attribution import component  # noqa: F401 - registers the learned quote component

        nlp.add_pipe("stancekit_quote_tagger", config={"model": config.quotes_model, "device": config.device,
                                                       "max_tokens": config.max_tokens,
                                                       "precision": config.quotes_precision})
    elif "stancekit_quotes" not in nlp.pipe_names and not config.quotes_model:
        nlp.add_pipe("stancekit_quotes", config={"indirect": config.indirect_quotes})
    if config.claims and "stancekit_claims" not in nlp.pipe_names:
        from . import claims  # noqa: F401 - registers stancekit_claims

        nlp.add_pipe("stancekit_claims", config={"model": config.claims_model or "",
                                                 "min_score": config.min_claim_score, "device": config.device})
    return nlp


class Analyser:
    """The spaCy side of the pipeline: parse, entities, quotes, speakers and claims, as plain data.

    It runs in the main process or in a worker process (see :class:`stancekit.pipeline.Pipeline`); what
    it returns is plain data (no ``Doc``), cheap to send between processes. Documents go through
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
    def _disabled(self) -> list[str]:
        """Components of ``nlp`` this run leaves out: the claims component of a pipeline that has one
        when claims are off."""
        return ["stancekit_claims"] if not self.config.claims and "stancekit_claims" in self.nlp.pipe_names else []

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
            acc: dict = {"entities": [], "quotes": [], "warnings": [], "claims": [], "pre_warnings": pre[i],
                         "claim_vectors": []}  # (encoder key, embedding) or None, one per claim
            for k in keys:
                for key in ("entities", "quotes", "warnings", "claims"):
                    acc[key].extend(parts[k].get(key, []))
                acc["claim_vectors"].extend(parts[k].get("claim_vectors") or [None] * len(parts[k].get("claims", [])))
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
        # while it runs here, the claims component leaves its sentence encoder to the process that runs the
        # transformers: its claims are candidates that stancekit.claims.settle_claims scores (Pipeline.finish
        # does), so that no spaCy process or worker loads a transformer
        claims = self.claims
        if claims is not None:
            claims.defer = True
        try:
            _set_error_handler(nlp, batch_handler)
            # nlp.pipe runs each minibatch of ``batch_size`` chunks through every component before it
            # yields them, so the batch gets ``limit`` seconds per chunk of its next minibatch, counted
            # again from each yield: normal documents are never cut (and run twice) for being batched
            size = max(1, min(self.config.batch_size, len(chunks)))
            try:
                with budget(limit * size if limit else limit) as timer:
                    inputs = ((_with_title(nlp, text, docs[key[0]], key[1]), key) for text, key in chunks)
                    for n, (doc, key) in enumerate(nlp.pipe(inputs, as_tuples=True, disable=self._disabled,
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
                        doc = nlp(_with_title(nlp, text, docs[key[0]], key[1]), disable=self._disabled)
                        parts[key] = self._part(doc, docs[key[0]], key[1])
                except Exception as exc:  # noqa: BLE001 - one document, one error record
                    failures[key] = _failure(exc, limit)
        finally:
            if previous is not None:
                _set_error_handler(nlp, previous)
            if claims is not None:
                claims.defer = False
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
            vectors = doc.user_data.get("stancekit_claim_vectors")
            if vectors is not None and len(vectors) == len(part["claims"]):
                key = doc.user_data.get("stancekit_claim_vectors_key")
                part["claim_vectors"] = [(key, v) if v is not None else None for v in vectors]
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
    _exit_with_parent()
    config = analyser_or_config.config if isinstance(analyser_or_config, Analyser) else analyser_or_config
    _one_torch_thread(config)
    if isinstance(analyser_or_config, Analyser):
        _WORKER = analyser_or_config
    else:
        _WORKER = Analyser(build_nlp(config), config)
    if _WORKER.claims is not None:
        # one worker keeps the main process (transformers, records) less than busy: the claims' quantities are
        # parsed there, for the claims that stay; with several, the main process is the one they all wait on
        _WORKER.claims.settle_quantities = config.workers == 1


def _exit_with_parent(poll_s: float = 1.0) -> None:
    """A worker whose parent is gone (``kill -9`` of a run) exits within ``poll_s`` seconds instead of
    waiting for work forever, holding the run's memory and its terminal or pipes."""
    import os
    import threading
    import time

    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(0)

    threading.Thread(target=watch, name="stancekit-parent-watch", daemon=True).start()


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
