"""Random bytes and text into ingest and the stages: every input unit ends up in documents.jsonl or
errors.jsonl, under an id no other unit has (what --resume relies on)."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scale_fakes import fast_pipeline
from stancekit.errors import DocumentError
from stancekit.ingest import iter_documents
from stancekit.corpus import run_corpus

PIPE = None


def pipe():
    global PIPE
    if PIPE is None:
        PIPE = fast_pipeline(batch_size=3, doc_timeout=30)
    return PIPE


def _binary_lines(data: bytes) -> list[bytes]:
    import io

    return list(io.BytesIO(data))


def units_of(path: Path, data: bytes) -> int | None:
    """How many records a file must give; None where only "at least one" can be said (archives)."""
    name = path.name
    if name.endswith((".jsonl", ".ndjson")):
        n = 0
        for line in _binary_lines(data):
            try:
                n += bool(line.decode("utf-8-sig").strip())
            except UnicodeDecodeError:
                n += 1
        return n
    if name.endswith((".warc", ".warc.gz")):
        return None
    return 1


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                           max_leaves=6)
json_objects = st.fixed_dictionaries({}, optional={"id": json_values, "doc_id": json_values, "text": json_values,
                                                   "title": json_values, "url": json_values, "date": json_values,
                                                   "extra": json_values})
jsonl_line = st.one_of(json_objects.map(lambda o: json.dumps(o).encode()), json_values.map(lambda v: json.dumps(v).encode()),
                       st.binary(max_size=40), st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
                       st.just(b""), st.just(b"   "))
jsonl_file = st.lists(jsonl_line, max_size=6).map(lambda lines: b"\n".join(lines))
any_bytes = st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))
html_bytes = any_bytes | st.text(max_size=200).map(lambda t: f"<html><body><p>{t}</p></body></html>".encode(
    "utf-8", "surrogatepass"))
warc_bytes = any_bytes | any_bytes.map(lambda b: b"WARC/1.0\r\n" + b) | any_bytes.map(gzip.compress) \
    | any_bytes.map(lambda b: gzip.compress(b"WARC/1.0\r\nWARC-Type: response\r\n" + b)[: max(1, len(b) // 2)])

# the same stems in two folders and across kinds, so that fallback ids (stem, stem:line) collide
stems = st.sampled_from(["a", "b", "feed", "a:1"])
files = st.lists(st.tuples(st.sampled_from(["", "sub/"]), stems,
                           st.sampled_from([".txt", ".jsonl", ".html", ".warc", ".warc.gz"]),
                           st.data()), min_size=1, max_size=5)


def _content(data, suffix):
    strategy = {".txt": any_bytes, ".jsonl": jsonl_file, ".html": html_bytes}.get(suffix, warc_bytes)
    return data.draw(strategy)


def _write(folder: Path, spec) -> dict[Path, bytes]:
    written = {}
    for sub, stem, suffix, data in spec:
        path = folder / f"{sub}{stem}{suffix}"
        if path in written:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        content = _content(data, suffix)
        path.write_bytes(content)
        written[path] = content
    return written


def _expected(written: dict[Path, bytes]) -> tuple[int, int]:
    """(exact units, archives that must give at least one unit)."""
    exact = archives = 0
    for path, data in written.items():
        n = units_of(path, data)
        if n is None:
            archives += bool(data)
        else:
            exact += n
    return exact, archives


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=files)
def test_every_input_unit_is_one_item_with_a_unique_id(spec):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        written = _write(folder, spec)
        items = list(iter_documents([folder]))
        exact, archives = _expected(written)
        from_archives = [i for i in items if str(i.source or "").split("#")[0].endswith((".warc", ".warc.gz"))]
        others = [i for i in items if i not in from_archives]
        assert len(others) == exact
        assert len({str(i.source).split("#")[0] for i in from_archives}) >= archives
        ids = [i.doc_id for i in items]
        assert all(isinstance(x, str) and x for x in ids)
        assert len(ids) == len(set(ids)), ids
        for i in items:
            if isinstance(i, DocumentError):
                assert i.code.startswith("E1") and i.stage == "ingest"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=files)
def test_every_input_unit_is_in_documents_or_errors_after_a_run(spec):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        written = _write(folder, spec)
        n_items = sum(1 for _ in iter_documents([folder]))
        out = Path(tmp) / "out"
        manifest = run_corpus([folder], out, pipeline=pipe())
        docs = [json.loads(x) for x in (out / "documents.jsonl").read_text().splitlines()]
        errors = [json.loads(x) for x in (out / "errors.jsonl").read_text().splitlines()]
        assert len(docs) + len(errors) == n_items
        assert manifest["counts"]["documents"] + manifest["counts"]["errors"] == n_items
        ids = [r["doc_id"] for r in docs + errors]
        assert len(ids) == len(set(ids))
        exact, archives = _expected(written)
        assert n_items >= exact + archives


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400) | st.text(
    alphabet='"“”‘’«»\'. ,;:\n\t-—ABCdef said says told', max_size=400)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(texts, min_size=1, max_size=6))
def test_random_text_through_the_stages_gives_one_record_each(batch):
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        src.write_text("\n".join(json.dumps({"id": f"d{i}", "text": t}) for i, t in enumerate(batch)) + "\n",
                       encoding="utf-8")
        out = Path(tmp) / "out"
        run_corpus([src], out, pipeline=pipe())
        docs = [json.loads(x) for x in (out / "documents.jsonl").read_text().splitlines()]
        errors = [json.loads(x) for x in (out / "errors.jsonl").read_text().splitlines()]
        assert sorted(r["doc_id"] for r in docs + errors) == sorted(f"d{i}" for i in range(len(batch)))
        for d in docs:
            text = batch[int(d["doc_id"][1:])]
            quotes = [json.loads(x) for x in (out / "quotes.jsonl").read_text().splitlines()]
            for q in quotes:
                if q["doc_id"] == d["doc_id"]:
                    assert text[q["start"]:q["end"]] == q["text"]
