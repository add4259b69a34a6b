"""Corpus runs: a run folder with record files, a manifest and commits; ``--force`` and ``--resume``.

:func:`run_corpus` streams inputs through a :class:`~stancekit.pipeline.Pipeline` into a folder,
committing record files batch by batch (see :mod:`stancekit.records`); :func:`write_run` is the loop it
shares with the Ray engine (:mod:`stancekit.distributed`).
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterable, Sequence

from . import __version__
from .config import Config
from .errors import DocumentError, Errors, StancekitError
from .ingest import check_inputs, inputs_digest, iter_documents
from .pipeline import Pipeline
from .records import COMMIT_FILE, RunWriter, SCHEMA_VERSIONS, recover, write_json_atomic
from .targets import Target


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
    own_workers = not pipe.workers_running  # workers this run starts, it stops
    try:
        pipe.start_workers()  # fork the spaCy workers before the stance model loads in this process
        fingerprint = run_fingerprint(pipe, inputs)
        return write_run(inputs, out_dir, config=pipe.config, fingerprint=fingerprint, process=pipe.process,
                         timings=pipe.timings, force=force, resume=resume, resume_anyway=resume_anyway,
                         parquet=parquet, on_result=on_result, on_start=on_start, stdin=stdin,
                         writer_class=writer_class, strict=strict)
    finally:
        if own_pipe or own_workers:
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
