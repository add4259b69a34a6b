"""The Ray Data engine (``stancekit run … --engine ray``): the same records, on a Ray cluster.

    driver: ingest (inputs read here, each document sent once)
      → ray.data.from_items
      → map_batches(AnalyseActor)   spaCy stages; ``workers`` CPU actors, each loads the spaCy pipeline once
      → map_batches(StanceActor)    stance and records; ``stance_actors`` actors with ``num_gpus_per_actor``
      → driver: the record files, commits and manifest of :func:`stancekit.corpus.write_run`

Without a GPU request the two pools are one (``split=False``, the default then): ``workers`` actors of
:class:`RunActor`, each running the spaCy stages and the stance model on its own CPU. Two CPU pools
would make the stance actor wait for a CPU that the spaCy actors hold (on a machine with as many CPUs
as ``workers``, it starts only when they are done) and send every analysis through Ray as JSON.

Rows travel as JSON strings (documents, analyses and records are nested and vary in shape, which
Arrow blocks would otherwise have to type). The driver writes every record, so a Ray run has the
same crash safety and ``--resume`` as a local one, and the two engines' record files can be resumed
by each other. Without a GPU request the stance actors run on CPU.

The per-document budget (``--doc-timeout``) needs ``SIGALRM`` in the main thread of a process; Ray
Data may call an actor's batches from another thread, where the budget is not enforced (a stalled
document then stalls its actor, not the driver).
"""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from .config import Config
from .errors import DocumentError, Errors, StancekitError
from .ingest import Document, check_inputs

DEFAULT_FACTORY = "stancekit.distributed:default_pipeline"


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise StancekitError(Errors.E016, detail=f"{type(exc).__name__}: {exc}") from exc
    return ray


# -- the pipelines each actor builds once ----------------------------------------------------------

def default_pipeline(config: Config, role: str):
    """``role="analyse"``: the spaCy stages (no stance model); ``role="stance"``: the stance model only;
    ``role="run"``: both (:class:`RunActor`)."""
    from .analysis import _NoBackend
    from .pipeline import Pipeline

    if role == "analyse":
        return Pipeline(config, backend=_NoBackend())
    if role == "run":
        return Pipeline(config)
    import spacy

    light = config.model_copy(deep=True)
    light.quotes_model = ""  # the stance actor never parses: no quote tagger or NER model to load
    light.ner_model = ""
    pipe = Pipeline(light, nlp=spacy.blank("en"))
    pipe.config = config
    return pipe


def _factory(spec: str) -> Callable:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def _doc_to_json(doc: Document) -> str:
    return json.dumps({"doc_id": doc.doc_id, "text": doc.text, "source": doc.source, "title": doc.title,
                       "url": doc.url, "date": doc.date, "meta": doc.meta}, ensure_ascii=False, default=str)


def _doc_from_json(s: str) -> Document:
    return Document(**json.loads(s))


def _analyse(pipe, docs: list[Document]) -> tuple[list[dict], dict]:
    """The spaCy stages of ``docs`` and the stage seconds they took."""
    before = dict(pipe.timings)
    analyses = pipe.analyse(docs)
    return analyses, {k: v - before.get(k, 0.0) for k, v in pipe.timings.items() if k != "stance"}


def _finish(pipe, docs: list[Document], analyses: list[dict], spent: Sequence[dict]) -> dict:
    """Stance and records of a batch as rows: one record and one timings string per document.

    ``spent`` are the stage seconds carried by each row so far; the batch's stance seconds are added
    to the first row's, so that the driver's sum counts each batch once.
    """
    t0 = time.perf_counter()
    results = pipe.finish(docs, analyses)
    stance_s = time.perf_counter() - t0
    out = []
    for res in results:
        if isinstance(res, DocumentError):
            out.append(json.dumps({"error": res.to_record()}, ensure_ascii=False))
        else:
            out.append(json.dumps({"result": res.to_dict()}, ensure_ascii=False, default=str))
    timings = []
    for i, t in enumerate(spent):
        t = dict(t)
        if i == 0:
            t["stance"] = t.get("stance", 0.0) + stance_s
        timings.append(json.dumps(t))
    return {"record": out, "timings": timings}


class _Actor:
    """An actor of the Ray engine: the pipeline of its ``role`` (:func:`default_pipeline`), built once."""

    role = ""

    def __init__(self, config: Config, factory: str = DEFAULT_FACTORY):
        self.pipe = _factory(factory)(config, self.role)


class AnalyseActor(_Actor):
    """The spaCy stages of a batch of documents (models loaded once, in ``__init__``)."""

    role = "analyse"

    def __call__(self, batch: dict) -> dict:
        docs = [_doc_from_json(s) for s in batch["doc"]]
        analyses, spent = _analyse(self.pipe, docs)
        for a in analyses:  # the claims' embeddings stay here: the stance actor encodes the claims itself
            a.pop("claim_vectors", None)
        return {"doc": list(batch["doc"]),
                "analysis": [json.dumps(a, ensure_ascii=False, default=str) for a in analyses],
                "timings": [json.dumps(spent if i == 0 else {}) for i in range(len(docs))]}


class StanceActor(_Actor):
    """Stance for every quote and claim of a batch (one engine call), then its records."""

    role = "stance"

    def __call__(self, batch: dict) -> dict:
        docs = [_doc_from_json(s) for s in batch["doc"]]
        analyses = [json.loads(s) for s in batch["analysis"]]
        return _finish(self.pipe, docs, analyses, [json.loads(s) for s in batch["timings"]])


class RunActor(_Actor):
    """The spaCy stages, stance and records of a batch in one actor (CPU runs; see the module doc)."""

    role = "run"

    def __call__(self, batch: dict) -> dict:
        docs = [_doc_from_json(s) for s in batch["doc"]]
        analyses, spent = _analyse(self.pipe, docs)
        return _finish(self.pipe, docs, analyses, [spent if i == 0 else {} for i in range(len(docs))])


def _describe(config: Config, factory: str) -> dict:
    """Models and targets as the actors load them (the run's fingerprint, as the local engine's)."""
    from .corpus import target_digests

    analyse = _factory(factory)(config, "analyse")
    stance = _factory(factory)(config, "stance")
    nlp = analyse.nlp
    models = {"spacy": f"{nlp.meta.get('lang')}_{nlp.meta.get('name')}-{nlp.meta.get('version')}",
              "pipes": list(nlp.pipe_names), "stance": stance.backend.describe(),
              "targets": [t.id for t in stance.targets]}
    return {"models": models, "targets": target_digests(stance.targets)}


class _RecordedError(DocumentError):
    """An error record that came back from an actor."""

    def __init__(self, record: dict):
        Exception.__init__(self, record.get("message"))
        self.record = record
        self.code, self.message = record.get("code"), record.get("message")
        self.doc_id, self.source, self.stage = record.get("doc_id"), record.get("source"), record.get("stage")

    def to_record(self) -> dict:
        return dict(self.record)


def run_ray(inputs: Sequence[str | Path], out_dir: str | Path, *, config: Config,
            ray_address: str | None = None, num_gpus_per_actor: float = 0.0, stance_actors: int = 1,
            workers: int | None = None, split: bool | None = None, factory: str = DEFAULT_FACTORY,
            init_kwargs: dict | None = None,
            force: bool = False, resume: bool = False, resume_anyway: bool = False, parquet: bool = False,
            on_result: Callable | None = None, on_start: Callable | None = None,
            writer_class=None, strict: bool = False) -> dict:
    """Run the pipeline on Ray Data; the same record files and manifest as :func:`run_corpus`.

    ``workers`` spaCy actors (default ``config.workers``) and ``stance_actors`` stance actors, each
    with ``num_gpus_per_actor`` GPUs. ``split`` (default: only when GPUs are requested) chooses these
    two pools; ``split=False`` runs ``workers`` actors that do both, on one CPU each (``stance_actors``
    is then unused). ``ray_address`` joins a running cluster (``auto``, or
    ``ray://head:10001``); without it Ray starts on this machine (``init_kwargs`` go to ``ray.init``).
    ``factory`` (``module:function``) builds each actor's pipeline; tests pass small ones.
    """
    from .corpus import check_out_dir, write_run
    from .ingest import inputs_digest

    out_dir = Path(out_dir)
    check_inputs(inputs)
    check_out_dir(out_dir, force=force, resume=resume)
    ray = _import_ray()
    started_here = False
    if not ray.is_initialized():
        kwargs = dict(init_kwargs or {})
        if ray_address:
            kwargs["address"] = ray_address
        kwargs.setdefault("log_to_driver", False)
        ray.init(**kwargs)
        started_here = True
    try:
        n_actors = max(1, workers or config.workers)
        split = bool(num_gpus_per_actor) if split is None else split
        describe = ray.remote(num_gpus=num_gpus_per_actor)(_describe) if num_gpus_per_actor else \
            ray.remote(_describe)
        described = ray.get(describe.remote(config, factory))
        from .corpus import EXECUTION_KEYS

        fingerprint = {"config": {k: v for k, v in config.to_dict().items() if k not in EXECUTION_KEYS},
                       "targets": described["targets"], "models": described["models"],
                       "inputs": inputs_digest(inputs)}
        timings: dict[str, float] = {"spacy": 0.0, "stance": 0.0, "claims": 0.0}

        def process(items: Iterable) -> Iterator:
            docs: list[Document] = []
            for item in items:
                if isinstance(item, DocumentError):
                    yield item  # ingest errors are written by the driver as they come
                else:
                    docs.append(item)
            if not docs:
                return
            ds = ray.data.from_items([{"doc": _doc_to_json(d)} for d in docs],
                                     override_num_blocks=max(1, min(len(docs) // max(1, config.batch_size),
                                                                    8 * n_actors)))
            def pool(ds, actor, size: int, **resources):
                return ds.map_batches(actor, batch_size=config.batch_size, batch_format="numpy",
                                      fn_constructor_kwargs={"config": config, "factory": factory},
                                      compute=ray.data.ActorPoolStrategy(size=size), **resources)

            if not split:
                ds = pool(ds, RunActor, n_actors, num_gpus=num_gpus_per_actor or None, num_cpus=1)
            else:
                ds = pool(ds, AnalyseActor, n_actors, num_cpus=1)
                ds = pool(ds, StanceActor, stance_actors, num_gpus=num_gpus_per_actor or None,
                          num_cpus=0 if num_gpus_per_actor else 1)
            from .pipeline import Result

            for row in ds.iter_rows():
                for k, v in json.loads(row["timings"]).items():
                    timings[k] = timings.get(k, 0.0) + v
                rec = json.loads(row["record"])
                yield _RecordedError(rec["error"]) if "error" in rec else Result(**rec["result"])

        return write_run(inputs, out_dir, config=config, fingerprint=fingerprint, process=process,
                         timings=timings, force=force, resume=resume, resume_anyway=resume_anyway,
                         parquet=parquet, on_result=on_result, on_start=on_start, writer_class=writer_class,
                         strict=strict, engine="ray")
    finally:
        if started_here:
            ray.shutdown()
