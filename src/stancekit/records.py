"""Records at the edges: versioned JSON Schemas, JSONL writers, Parquet export and ``read_run``.

A run directory holds one JSONL file per record kind (``documents``, ``quotes``, ``speakers``,
``claims``, ``errors``), ``manifest.json`` and ``commit.json`` (the byte size of each file at the last
committed batch). Every record kind has a JSON Schema shipped in ``stancekit/schemas/<kind>.v1.json``,
generated from its typed model in :mod:`stancekit.schema`; the manifest names the schema version of each file.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

from .errors import Errors, StancekitError
from .resources import SCHEMA_DIR

KINDS = {"documents": "document", "quotes": "quote", "speakers": "speaker", "claims": "claim",
         "errors": "error"}
SCHEMA_VERSIONS = {kind: f"{kind}.v1" for kind in KINDS.values()}


@lru_cache(maxsize=None)
def schema(kind: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{SCHEMA_VERSIONS[kind]}.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _validator(kind: str):
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema(kind))


def validate(record: dict, kind: str) -> list[str]:
    """Schema errors of ``record`` (empty when valid)."""
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in _validator(kind).iter_errors(record)]


COMMIT_FILE = "commit.json"


class RunWriter:
    """Appends records to the JSONL files of a run directory and commits them batch by batch.

    :meth:`commit` flushes and fsyncs every file, then replaces ``commit.json`` (atomically) with the
    byte size of each file. Whatever lies beyond those sizes after a crash belongs to an unfinished
    batch: :func:`recover` cuts it off, so a document counts as done only when all its records are
    durable. Every physical write goes through :meth:`_point`, where tests inject a crash.
    """

    def __init__(self, out_dir: Path, *, append: bool = False,
                 validate: Callable[[str, dict], None] | None = None):
        # validate(name, record) is called before each record is written and raises to refuse it
        # (``--strict`` passes :func:`stancekit.schema.check_record`)
        self.validate = validate
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        mode = "ab" if append else "wb"
        self.files = {name: (self.out_dir / f"{name}.jsonl").open(mode) for name in KINDS}
        self.counts = {name: 0 for name in KINDS}
        self.batches = 0
        if not append:  # a fresh run has committed nothing: a crash before the first batch keeps nothing
            write_json_atomic(self.out_dir / COMMIT_FILE, {"batches": 0, "sizes": {name: 0 for name in KINDS}})

    def _point(self, what: str) -> None:
        """Called before every write, flush and rename (a hook for crash tests)."""

    def write(self, name: str, records: Iterable[dict]) -> None:
        fh = self.files[name]
        for rec in records:
            if self.validate is not None:
                self.validate(name, rec)
            self._point(f"write {name}")
            fh.write((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8"))
            self.counts[name] += 1

    def flush(self) -> None:
        for name, fh in self.files.items():
            self._point(f"flush {name}")
            fh.flush()
            os.fsync(fh.fileno())

    def commit(self) -> None:
        """Make everything written so far durable and record it as committed."""
        self.flush()
        self.batches += 1
        sizes = {name: fh.tell() for name, fh in self.files.items()}
        write_json_atomic(self.out_dir / COMMIT_FILE, {"batches": self.batches, "sizes": sizes}, point=self._point)

    def close(self) -> None:
        for fh in self.files.values():
            fh.close()


def write_json_atomic(path: Path, obj: dict, *, point=None) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file, fsync and rename."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    if point:
        point(f"write {path.name}")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(obj, indent=2, ensure_ascii=False))
        fh.flush()
        os.fsync(fh.fileno())
    if point:
        point(f"rename {path.name}")
    os.replace(tmp, path)
    try:  # the rename itself is durable once the directory is synced
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # pragma: no cover - platforms without directory fsync
        pass


def recover(out_dir: Path) -> set[str]:
    """Cut a run's files back to the last commit; return the ids of the documents it finished.

    Runs written before commits existed fall back to keeping the records of the documents listed in
    documents.jsonl or errors.jsonl.
    """
    out_dir = Path(out_dir)
    path = out_dir / COMMIT_FILE
    if not path.exists():
        done = completed_ids(out_dir)
        prune_incomplete(out_dir, done)
        return done
    sizes = json.loads(path.read_text(encoding="utf-8")).get("sizes", {})
    for name in KINDS:
        f = out_dir / f"{name}.jsonl"
        if f.exists():
            keep = int(sizes.get(name, 0))
            if f.stat().st_size > keep:
                os.truncate(f, keep)
        elif sizes.get(name):
            raise StancekitError(Errors.E013, path=out_dir)
    return completed_ids(out_dir)


def iter_jsonl(path: Path) -> Iterable[dict]:
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:  # a line cut by a crash: skip it
                    continue


def completed_ids(out_dir: Path) -> set[str]:
    """Documents a previous run finished (listed in documents.jsonl or errors.jsonl)."""
    done: set[str] = set()
    for name in ("documents", "errors"):
        path = Path(out_dir) / f"{name}.jsonl"
        if path.exists():
            done.update(r["doc_id"] for r in iter_jsonl(path) if r.get("doc_id") is not None)
    return done


def prune_incomplete(out_dir: Path, keep: set[str]) -> None:
    """Drop records of documents that a crashed run started but did not finish (for --resume)."""
    for name in ("quotes", "speakers", "claims"):
        path = Path(out_dir) / f"{name}.jsonl"
        if not path.exists():
            continue
        kept = [r for r in iter_jsonl(path) if r.get("doc_id") in keep]
        tmp = path.with_suffix(".jsonl.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for r in kept:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        tmp.replace(path)
    for name in ("documents", "errors"):  # rewrite without a possibly cut last line
        path = Path(out_dir) / f"{name}.jsonl"
        if path.exists():
            rows = list(iter_jsonl(path))
            with path.open("w", encoding="utf-8") as fh:
                for r in rows:
                    fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def to_parquet(out_dir: Path, *, rows_per_group: int = 10_000) -> list[Path]:
    """Write ``<kind>.parquet`` beside each non-empty JSONL file of a run; returns the paths.

    The JSONL is streamed into a ``pyarrow.parquet.ParquetWriter`` ``rows_per_group`` records at a time
    (constant memory), with real nested columns (structs and lists) typed from the record's JSON Schema.
    """
    import pyarrow.parquet as pq

    written = []
    for name, kind in KINDS.items():
        src = Path(out_dir) / f"{name}.jsonl"
        if not src.exists() or src.stat().st_size == 0:
            continue
        arrow_schema = parquet_schema(kind)
        dst = src.with_suffix(".parquet")
        tmp = dst.with_name(dst.name + ".tmp")
        with pq.ParquetWriter(tmp, arrow_schema) as writer:
            rows: list[dict] = []
            for rec in iter_jsonl(src):
                rows.append(rec)
                if len(rows) >= rows_per_group:
                    writer.write_table(_table(rows, arrow_schema))
                    rows = []
            if rows:
                writer.write_table(_table(rows, arrow_schema))
        os.replace(tmp, dst)
        written.append(dst)
    return written


def _table(rows: list[dict], arrow_schema):
    import pyarrow as pa

    names = set(arrow_schema.names)
    return pa.Table.from_pylist([{k: _conform(v, arrow_schema.field(k).type) for k, v in r.items() if k in names}
                                 for r in rows], schema=arrow_schema)


def _conform(value, arrow_type):
    """A JSON value shaped for ``arrow_type``: free-form objects become JSON text."""
    import pyarrow as pa

    if value is None:
        return None
    if pa.types.is_string(arrow_type) and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if pa.types.is_struct(arrow_type) and isinstance(value, dict):
        return {arrow_type.field(i).name: _conform(value.get(arrow_type.field(i).name), arrow_type.field(i).type)
                for i in range(arrow_type.num_fields)}
    if pa.types.is_list(arrow_type) and isinstance(value, list):
        return [_conform(v, arrow_type.value_type) for v in value]
    return value


@lru_cache(maxsize=None)
def parquet_schema(kind: str):
    """The Arrow schema of a record kind, derived from its JSON Schema (objects → structs, arrays → lists)."""
    import pyarrow as pa

    return pa.schema([pa.field(k, _arrow_type(v)) for k, v in schema(kind)["properties"].items()])


def _arrow_type(node: dict):
    import pyarrow as pa

    options = [o for o in node.get("oneOf", node.get("anyOf", [])) if o.get("type") != "null"]
    if options:
        return _arrow_type(options[0]) if len(options) == 1 else pa.string()
    types = node.get("type")
    if isinstance(types, list):
        types = [t for t in types if t != "null"]
        types = types[0] if len(types) == 1 else None
    if "enum" in node and types is None:
        values = [v for v in node["enum"] if v is not None]
        types = {bool: "boolean", int: "integer", float: "number"}.get(type(values[0]), "string") if values else "string"
    if types == "object" and node.get("properties"):
        return pa.struct([pa.field(k, _arrow_type(v)) for k, v in node["properties"].items()])
    if types == "array" and isinstance(node.get("items"), dict):
        return pa.list_(_arrow_type(node["items"]))
    return {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(),
            "boolean": pa.bool_()}.get(types, pa.string())  # free-form objects: JSON text


def read_run(out_dir: str | Path) -> dict:
    """Load a run directory as pandas DataFrames: ``{"documents": df, "quotes": df, ...}``.

    Quotes get flat columns for the speaker (``speaker_name``, ``speaker_role``, ...) and one
    ``stance_<target>`` / ``score_<target>`` column pair per target, ready for notebooks.
    """
    import pandas as pd

    out_dir = Path(out_dir)
    if not (out_dir / "manifest.json").exists():
        raise StancekitError(Errors.E013, path=out_dir)
    frames = {}
    for name in KINDS:
        path = out_dir / f"{name}.jsonl"
        rows = list(iter_jsonl(path)) if path.exists() else []
        if name == "quotes":
            rows = [flatten_quote(r) for r in rows]
        frames[name] = pd.DataFrame(rows)
    frames["manifest"] = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    return frames


def flatten_quote(q: dict) -> dict:
    flat = dict(q)
    sp = q.get("speaker") or {}
    for key in ("name", "label", "role", "affiliation", "resolution", "confidence"):
        flat[f"speaker_{key}"] = sp.get(key)
    flat["cue_text"] = (q.get("cue") or {}).get("text")
    for st in q.get("stances", []):
        flat[f"stance_{st['target']}"] = st["label"]
        flat[f"score_{st['target']}"] = st["score"]
        flat[f"relevance_{st['target']}"] = st["relevance"]
    return flat
