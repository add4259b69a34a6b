"""Ingest: turn inputs (files, directories, JSONL, HTML, WARC, stdin) into a stream of documents.

Everything here is lazy: :func:`iter_documents` yields one :class:`Document` (or one
:class:`~stancekit.errors.DocumentError` for an input that cannot be read) at a time, so a corpus of
any size is read in constant memory. Nothing is ever dropped silently: each unreadable item becomes
an error value that the run writes to ``errors.jsonl``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator, Union

from .errors import DocumentError, Errors, StancekitError

TEXT_SUFFIXES = (".txt",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
HTML_SUFFIXES = (".html", ".htm")
WARC_SUFFIXES = (".warc", ".warc.gz")


@dataclass
class Document:
    """One article: its text and the metadata that travels with it."""

    doc_id: str
    text: str
    source: str | None = None
    title: str | None = None
    url: str | None = None
    date: str | None = None
    meta: dict = field(default_factory=dict)


Item = Union[Document, DocumentError]


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suf in WARC_SUFFIXES + JSONL_SUFFIXES + HTML_SUFFIXES + TEXT_SUFFIXES:
        if name.endswith(suf):
            return suf
    return path.suffix.lower()


def is_supported(path: Path) -> bool:
    return _suffix(path) in TEXT_SUFFIXES + JSONL_SUFFIXES + HTML_SUFFIXES + WARC_SUFFIXES


def iter_documents(inputs: Iterable[str | Path], *, stdin: IO[str] | None = None) -> Iterator[Item]:
    """Yield documents from every input, in order, with unique ``doc_id`` values.

    ``inputs`` may name ``.txt`` files (one article each; the id is the file name without extension),
    ``.jsonl`` files (one article a line: ``text`` and optional ``id``, ``title``, ``url``, ``date``),
    ``.html``/``.htm`` pages (article text extracted with trafilatura), ``.warc``/``.warc.gz`` archives
    (each HTML response record), directories (searched recursively, sorted) or ``-`` for standard input
    (JSONL when every line is a JSON object, otherwise one plain-text article).
    """
    seen: dict[str, int] = {}
    for raw in inputs:
        for item in _iter_one(raw, stdin=stdin):
            if isinstance(item, Document):
                if item.doc_id in seen:
                    seen[item.doc_id] += 1
                    new_id = f"{item.doc_id}__{seen[item.doc_id]}"
                    item.meta.setdefault("warnings", []).append(
                        {"code": "E106", "message": Errors.E106.format(doc_id=item.doc_id, new_id=new_id)})
                    item.doc_id = new_id
                seen.setdefault(item.doc_id, 0)
            yield item


def check_inputs(inputs: Iterable[str | Path]) -> None:
    """Fail early, before a run starts, if an input does not exist or has an unsupported type."""
    for raw in inputs:
        if str(raw) == "-":
            continue
        path = Path(raw)
        if not path.exists():
            raise StancekitError(Errors.E001, path=path)
        if path.is_file() and not is_supported(path):
            raise StancekitError(Errors.E009, path=path)


def _iter_one(raw: str | Path, *, stdin: IO[str] | None) -> Iterator[Item]:
    if str(raw) == "-":
        yield from _read_stdin(stdin or sys.stdin)
        return
    path = Path(raw)
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file() and is_supported(p)):
            yield from _iter_file(child)
    else:
        yield from _iter_file(path)


def _iter_file(path: Path) -> Iterator[Item]:
    suf = _suffix(path)
    if suf in JSONL_SUFFIXES:
        with path.open("rb") as fh:
            yield from read_jsonl_lines(fh, source=str(path))
    elif suf in HTML_SUFFIXES:
        yield from _read_html_file(path)
    elif suf in WARC_SUFFIXES:
        yield from read_warc(path)
    else:
        yield _read_text_file(path)


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(Errors.E103, source=source, detail=str(exc)) from exc


def _read_text_file(path: Path) -> Item:
    try:
        text = _decode(path.read_bytes(), str(path))
    except DocumentError as err:
        err.doc_id = path.stem
        return err
    return Document(doc_id=path.stem, text=text, source=str(path), title=_first_line_title(text))


def _first_line_title(text: str) -> str | None:
    """A plain-text article whose first line is short and followed by more text has it as title."""
    first, _, rest = text.lstrip().partition("\n")
    first = first.strip()
    if rest.strip() and 0 < len(first) <= 200 and not first.endswith((".", "”", '"')):
        return first
    return None


def read_jsonl_lines(lines: Iterable[bytes | str], *, source: str) -> Iterator[Item]:
    """Yield one document per JSONL line; bad lines become :class:`DocumentError` values."""
    for lineno, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                yield DocumentError(Errors.E103, doc_id=f"{Path(source).stem}:{lineno}", source=source,
                                    detail=str(exc))
                continue
        if not line.strip():
            continue
        fallback_id = f"{Path(source).stem}:{lineno}" if source != "<stdin>" else f"stdin:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield DocumentError(Errors.E101, doc_id=fallback_id, source=source, line=lineno, detail=exc.msg)
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            yield DocumentError(Errors.E102, doc_id=fallback_id, source=source, line=lineno)
            continue
        doc_id = obj.get("id", obj.get("doc_id"))
        meta = {k: v for k, v in obj.items() if k not in {"id", "doc_id", "text", "title", "url", "date"}}
        yield Document(doc_id=str(doc_id) if doc_id is not None else fallback_id, text=obj["text"],
                       source=f"{source}:{lineno}", title=obj.get("title"), url=obj.get("url"),
                       date=obj.get("date"), meta=meta)


def _read_stdin(stream: IO[str]) -> Iterator[Item]:
    data = stream.read()
    lines = [ln for ln in data.splitlines() if ln.strip()]
    if lines and all(ln.lstrip().startswith("{") for ln in lines):
        yield from read_jsonl_lines(lines, source="<stdin>")
    else:
        yield Document(doc_id="stdin", text=data, source="<stdin>", title=_first_line_title(data))


def html_to_document(html: str | bytes, *, doc_id: str, source: str, url: str | None = None) -> Item:
    """Extract the article text (and title, date) from an HTML page with trafilatura."""
    import trafilatura

    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    text = trafilatura.extract(html, url=url, include_comments=False, include_tables=False,
                               favor_precision=True)
    if not text or not text.strip():
        return DocumentError(Errors.E104, doc_id=doc_id, source=source)
    title = date = None
    try:
        meta = trafilatura.extract_metadata(html)
        if meta is not None:
            title, date = meta.title, meta.date
    except Exception:  # metadata is optional; the text is what matters
        pass
    return Document(doc_id=doc_id, text=text, source=source, title=title, url=url, date=date)


def _read_html_file(path: Path) -> Iterator[Item]:
    yield html_to_document(path.read_bytes(), doc_id=path.stem, source=str(path))


def read_warc(path: Path) -> Iterator[Item]:
    """Yield one document per HTML ``response`` record of a WARC file, streaming."""
    from warcio.archiveiterator import ArchiveIterator

    with path.open("rb") as fh:
        index = 0
        try:
            for record in ArchiveIterator(fh):
                if record.rec_type != "response":
                    continue
                ctype = (record.http_headers.get_header("Content-Type") or "") if record.http_headers else ""
                if "html" not in ctype.lower():
                    continue
                index += 1
                url = record.rec_headers.get_header("WARC-Target-URI")
                rec_id = record.rec_headers.get_header("WARC-Record-ID") or f"{index}"
                doc_id = f"{path.name.split('.')[0]}:{index}"
                try:
                    payload = record.content_stream().read()
                    item = html_to_document(payload, doc_id=doc_id, source=f"{path}#{rec_id}", url=url)
                except Exception as exc:  # one bad record never stops the archive
                    item = DocumentError(Errors.E105, doc_id=doc_id, source=str(path), detail=str(exc))
                yield item
        except Exception as exc:
            yield DocumentError(Errors.E105, doc_id=f"{path.name}:{index + 1}", source=str(path),
                                detail=str(exc))
