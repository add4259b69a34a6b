"""Records at the edges: versioned JSON Schemas, JSONL writers, Parquet export and ``read_run``.

A run directory holds one JSONL file per record kind (``documents``, ``quotes``, ``speakers``,
``claims``, ``errors``) and ``manifest.json``. Every record kind has a JSON Schema shipped in
``stancekit/schemas/<kind>.v1.json``, generated from its typed model in :mod:`stancekit.schema`; the
manifest names the schema version of each file.
"""

from __future__ import annotations

import json
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


class RunWriter:
    """Appends records to the JSONL files of a run directory, flushing after every batch."""

    def __init__(self, out_dir: Path, *, append: bool = False,
                 validate: Callable[[str, dict], None] | None = None):
        # validate(name, record) is called before each record is written and raises to refuse it
        # (``--strict`` passes :func:`stancekit.schema.check_record`)
        self.validate = validate
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        mode = "a" if append else "w"
        self.files = {name: (self.out_dir / f"{name}.jsonl").open(mode, encoding="utf-8") for name in KINDS}
        self.counts = {name: 0 for name in KINDS}

    def write(self, name: str, records: Iterable[dict]) -> None:
        fh = self.files[name]
        for rec in records:
            if self.validate is not None:
                self.validate(name, rec)
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            self.counts[name] += 1

    def flush(self) -> None:
        # documents.jsonl is written last in a batch: a document listed there has all its records
        for fh in self.files.values():
            fh.flush()

    def close(self) -> None:
        for fh in self.files.values():
            fh.close()


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


def to_parquet(out_dir: Path) -> list[Path]:
    """Write ``<kind>.parquet`` beside each non-empty JSONL file of a run; returns the paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    written = []
    for name in KINDS:
        src = Path(out_dir) / f"{name}.jsonl"
        if not src.exists() or src.stat().st_size == 0:
            continue
        rows = list(iter_jsonl(src))
        table = pa.Table.from_pylist([_parquet_safe(r) for r in rows])
        dst = src.with_suffix(".parquet")
        pq.write_table(table, dst)
        written.append(dst)
    return written


def _parquet_safe(rec: dict) -> dict:
    """Nested values whose shape varies (null vs object) are kept as JSON strings for Parquet."""
    out = {}
    for k, v in rec.items():
        out[k] = json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
    return out


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
