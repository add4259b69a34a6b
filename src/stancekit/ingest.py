"""Ingest: turn inputs (files, directories, JSONL, HTML, WARC, stdin) into a stream of documents.

Everything here is lazy: :func:`iter_documents` yields one :class:`Document` (or one
:class:`~stancekit.errors.DocumentError` for an input that cannot be read) at a time, so a corpus of
any size is read in constant memory. Nothing is ever dropped silently: each unreadable item becomes
an error value that the run writes to ``errors.jsonl``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator, Union

from .errors import DocumentError, Errors, StancekitError
from .extras import require
from .headlines import title_span

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
    # where the title lies inside ``text`` (character range), when the text begins with it; None when
    # the text holds no title (a JSONL or HTML title kept apart from the body). See :func:`title_span`.
    title_span: tuple[int, int] | None = None


Item = Union[Document, DocumentError]


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suf in WARC_SUFFIXES + JSONL_SUFFIXES + HTML_SUFFIXES + TEXT_SUFFIXES:
        if name.endswith(suf):
            return suf
    return path.suffix.lower()


def is_supported(path: Path) -> bool:
    return _suffix(path) in TEXT_SUFFIXES + JSONL_SUFFIXES + HTML_SUFFIXES + WARC_SUFFIXES


def iter_documents(inputs: Iterable[str | Path], *, stdin: IO[str] | None = None,
                   title_line: bool = True) -> Iterator[Item]:
    """Yield documents from every input, in order, with unique ``doc_id`` values.

    ``inputs`` may name ``.txt`` files (one article each; the id is the file name without extension),
    ``.jsonl`` files (one article a line: ``text`` and optional ``id``, ``title``, ``url``, ``date``),
    ``.html``/``.htm`` pages (article text extracted with trafilatura), ``.warc``/``.warc.gz`` archives
    (each HTML response record), directories (searched recursively, sorted) or ``-`` for standard input
    (JSONL when its first non-empty line is a JSON object, otherwise one plain-text article).

    Every input unit (file, JSONL line, WARC record) yields a :class:`Document` or a
    :class:`~stancekit.errors.DocumentError`. Duplicates: a repeated ``doc_id`` is renamed
    ``<id>__<n>`` (warning E106); a text seen before under another id is processed again and flagged
    with warning W007 naming the first document.

    Titles: a JSONL ``title`` field and an HTML page's title are kept as ``title``; when the text
    begins with that title, ``title_span`` marks it. A plain text (``.txt``, stdin, or a JSONL text
    without a title) whose first line is followed by a blank line has that line as its title
    (``title_line=False`` turns the rule off; see :func:`title_span`). The text itself is never changed.
    """
    seen: dict[str, int] = {}
    texts: dict[bytes, str] = {}
    for raw in inputs:
        for item in _iter_one(raw, stdin=stdin):
            if isinstance(item, DocumentError):  # an error's id is unique too (--resume skips by id)
                item.doc_id = _unique_id(item.doc_id or "error", seen)
            elif isinstance(item, Document):
                _set_title(item, title_line)
                if item.doc_id in seen:
                    seen[item.doc_id] += 1
                    new_id = f"{item.doc_id}__{seen[item.doc_id]}"
                    while new_id in seen:
                        seen[item.doc_id] += 1
                        new_id = f"{item.doc_id}__{seen[item.doc_id]}"
                    item.meta.setdefault("warnings", []).append(
                        {"code": "E106", "message": Errors.E106.format(doc_id=item.doc_id, new_id=new_id)})
                    item.doc_id = new_id
                seen.setdefault(item.doc_id, 0)
                key = hashlib.blake2b(item.text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
                first = texts.setdefault(key, item.doc_id)
                if first != item.doc_id and item.text.strip():
                    item.meta.setdefault("warnings", []).append(
                        {"code": "W007", "message": Errors.W007.format(first=first)})
            yield item


def _unique_id(doc_id: str, seen: dict[str, int]) -> str:
    """``doc_id``, or ``<id>__<n>`` when taken; the id returned is marked as taken."""
    new_id = doc_id
    while new_id in seen:
        seen[doc_id] = seen.get(doc_id, 0) + 1
        new_id = f"{doc_id}__{seen[doc_id]}"
    seen.setdefault(new_id, 0)
    return new_id


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
        yield from _walk(path)
    else:
        yield from _iter_file(path)


def _walk(folder: Path) -> Iterator[Item]:
    """Supported files under ``folder``, sorted, depth first; an unreadable folder is an error record."""
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield DocumentError(Errors.E107, doc_id=str(folder), source=str(folder), detail=_os_detail(exc))
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_dir = False
        if is_dir:
            yield from _walk(path)
        elif is_supported(path):
            yield from _iter_file(path)


def _os_detail(exc: OSError) -> str:
    return f"{type(exc).__name__}: {exc.strerror or exc}"


def _iter_file(path: Path) -> Iterator[Item]:
    """The documents of one file; a file that cannot be opened or read is one error record."""
    suf = _suffix(path)
    try:
        if suf in JSONL_SUFFIXES:
            with path.open("rb") as fh:
                yield from read_jsonl_lines(fh, source=str(path))
        elif suf in HTML_SUFFIXES:
            yield from _read_html_file(path)
        elif suf in WARC_SUFFIXES:
            yield from read_warc(path)
        else:
            yield _read_text_file(path)
    except OSError as exc:  # unreadable (permissions, a broken link, a vanished file, an I/O error)
        yield DocumentError(Errors.E107, doc_id=_stem(path), source=str(path), detail=_os_detail(exc))


def _stem(path: Path) -> str:
    name = path.name
    suf = _suffix(path)
    return name[: -len(suf)] if suf and name.lower().endswith(suf) else path.stem


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
    return Document(doc_id=path.stem, text=text, source=str(path))


def _set_title(item: Document, title_line: bool) -> None:
    """Fill ``title`` / ``title_span`` (see :func:`iter_documents`)."""
    if item.title:
        item.title_span = title_span(item.text, item.title)
    else:
        item.title_span = title_span(item.text, title_line=title_line)
        if item.title_span is not None:
            item.title = item.text[item.title_span[0]:item.title_span[1]]


def read_jsonl_lines(lines: Iterable[bytes | str], *, source: str, first_line: int = 1) -> Iterator[Item]:
    """Yield one document per JSONL line; bad lines become :class:`DocumentError` values.

    Field types are checked: ``text`` must be a string (else E102); a numeric ``date``
    (``20240101``, epoch seconds or milliseconds) becomes an ISO date; a field of the wrong type is
    dropped with warning W006; an ``id`` number becomes its string.
    """
    stem = "stdin" if source == "<stdin>" else Path(source).stem
    for lineno, line in enumerate(lines, start=first_line):
        fallback_id = f"{stem}:{lineno}"
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                yield DocumentError(Errors.E103, doc_id=fallback_id, source=f"{source}:{lineno}", detail=str(exc))
                continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            yield DocumentError(Errors.E101, doc_id=fallback_id, source=source, line=lineno,
                                detail=getattr(exc, "msg", type(exc).__name__))
            continue
        except ValueError as exc:  # e.g. an integer too long to convert
            yield DocumentError(Errors.E101, doc_id=fallback_id, source=source, line=lineno, detail=str(exc)[:200])
            continue
        if not isinstance(obj, dict):
            yield DocumentError(Errors.E108, doc_id=fallback_id, source=source, line=lineno,
                                detail=type(obj).__name__)
            continue
        if not isinstance(obj.get("text"), str):
            yield DocumentError(Errors.E102, doc_id=fallback_id, source=source, line=lineno)
            continue
        warnings: list[dict] = []
        doc_id = _id_field(obj.get("id", obj.get("doc_id")), warnings)
        meta = {k: v for k, v in obj.items() if k not in {"id", "doc_id", "text", "title", "url", "date"}}
        title = _str_field(obj, "title", warnings)
        url = _str_field(obj, "url", warnings)
        date = normalise_date(obj.get("date"), warnings)
        if warnings:
            meta["warnings"] = warnings
        yield Document(doc_id=doc_id if doc_id is not None else fallback_id, text=obj["text"],
                       source=f"{source}:{lineno}", title=title, url=url, date=date, meta=meta)


def _warn_field(warnings: list, name: str, detail: str) -> None:
    warnings.append({"code": "W006", "message": Errors.W006.format(field=name, detail=detail)})


def _id_field(value, warnings: list) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    _warn_field(warnings, "id", f"a {type(value).__name__}, not a string")
    return None


def _str_field(obj: dict, name: str, warnings: list) -> str | None:
    value = obj.get(name)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    _warn_field(warnings, name, f"a {type(value).__name__}, not a string")
    return None


def normalise_date(value, warnings: list | None = None) -> str | None:
    """A date field as text: ISO strings pass; ``20240101`` and epoch seconds/milliseconds become ISO dates."""
    warnings = warnings if warnings is not None else []
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        _warn_field(warnings, "date", f"a {type(value).__name__}, not a date")
        return None
    from datetime import date, datetime, timezone

    if isinstance(value, int) and 10000101 <= value <= 99991231:
        try:
            return date(value // 10000, value // 100 % 100, value % 100).isoformat()
        except ValueError:
            pass
    seconds = value / 1000 if abs(value) >= 1e11 else value  # epoch milliseconds
    try:
        if abs(seconds) < 1e10:
            return datetime.fromtimestamp(seconds, tz=timezone.utc).date().isoformat()
    except (OverflowError, OSError, ValueError):
        pass
    _warn_field(warnings, "date", f"the number {value!r} is neither YYYYMMDD nor epoch seconds")
    return None


def _read_stdin(stream: IO[str]) -> Iterator[Item]:
    """JSONL when the first non-empty line is a JSON object (read line by line), else one article."""
    head: list[str] = []
    first = ""
    for line in stream:
        head.append(line)
        if line.strip():
            first = line
            break
    if first and _is_json_object(first):
        yield from read_jsonl_lines(itertools.chain(head, stream), source="<stdin>")
        return
    data = "".join(head) + stream.read()
    yield Document(doc_id="stdin", text=data, source="<stdin>")


def _is_json_object(line: str) -> bool:
    if not line.lstrip().startswith("{"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def html_to_document(html: str | bytes, *, doc_id: str, source: str, url: str | None = None) -> Item:
    """Extract the article text (and title, date) from an HTML page with trafilatura (the html extra)."""
    trafilatura = require("trafilatura", "html")

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
    """Yield one document per HTML ``response`` record of a WARC file, streaming.

    A file that is not a WARC, and a compressed archive cut short, give an error record (E105)
    after the records read before the problem.
    """
    ArchiveIterator = require("warcio.archiveiterator", "warc").ArchiveIterator
    require("trafilatura", "html")  # here, not per record, where E017 would become an E105 record

    stem = _stem(path)
    index = n_records = 0
    with path.open("rb") as fh:
        try:
            for record in ArchiveIterator(fh):
                n_records += 1
                if not str(record.format or "").startswith("warc"):
                    raise ValueError(f"not a WARC archive (read as {record.format or 'unknown'} format)")
                if not record.rec_type:
                    raise ValueError(f"WARC record {n_records} has no WARC-Type header")
                if record.rec_type != "response":
                    continue
                ctype = (record.http_headers.get_header("Content-Type") or "") if record.http_headers else ""
                if "html" not in ctype.lower():
                    continue
                index += 1
                url = record.rec_headers.get_header("WARC-Target-URI")
                rec_id = record.rec_headers.get_header("WARC-Record-ID") or f"{index}"
                doc_id = f"{stem}:{index}"
                try:
                    payload = record.content_stream().read()
                    item = html_to_document(payload, doc_id=doc_id, source=f"{path}#{rec_id}", url=url)
                except Exception as exc:  # one bad record never stops the archive
                    item = DocumentError(Errors.E105, doc_id=doc_id, source=str(path), detail=str(exc))
                yield item
        except Exception as exc:
            yield DocumentError(Errors.E105, doc_id=f"{stem}:{index + 1}", source=str(path),
                                detail=" ".join(str(exc).split())[:300] or type(exc).__name__)
            return
    cut = _gzip_cut(path)
    if not n_records and not cut and path.stat().st_size:
        cut = "no WARC record found"
    if cut:
        yield DocumentError(Errors.E105, doc_id=f"{stem}:{index + 1}", source=str(path),
                            detail=f"{cut}; the {index} HTML records before it were kept")


def _gzip_cut(path: Path) -> str | None:
    """Why a gzip file is damaged (cut short, corrupt), or None when it reads to its end."""
    import gzip
    import zlib

    with path.open("rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            return None
    try:
        with gzip.open(path, "rb") as gz:
            while gz.read(1 << 20):
                pass
    except (EOFError, OSError, zlib.error) as exc:
        return f"compressed archive damaged ({type(exc).__name__}: {exc})"
    return None


# -- whole inputs: a fingerprint (for --resume) and a count (for the progress bar) ---------------------

def iter_input_files(inputs: Iterable[str | Path]) -> Iterator[Path]:
    """The supported files named by ``inputs`` (directories walked, sorted; stdin skipped)."""
    for raw in inputs:
        if str(raw) == "-":
            continue
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    p = Path(root) / name
                    if is_supported(p):
                        yield p
        else:
            yield path


def inputs_digest(inputs: Iterable[str | Path]) -> dict:
    """The inputs' paths and a digest of each file's path, size and modification time."""
    inputs = [str(i) for i in inputs]
    h = hashlib.sha256()
    n = 0
    for p in iter_input_files(inputs):
        try:
            st = p.stat()
            h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        except OSError:
            h.update(f"{p}\0unreadable\n".encode("utf-8", "surrogateescape"))
        n += 1
    return {"paths": inputs, "files": n, "sha256": h.hexdigest()}


def count_units(inputs: Iterable[str | Path]) -> int | None:
    """About how many documents ``inputs`` hold (files, JSONL lines); None when it cannot be told cheaply."""
    total = 0
    for p in iter_input_files(inputs):
        suf = _suffix(p)
        if suf in WARC_SUFFIXES:
            return None
        if suf in JSONL_SUFFIXES:
            try:
                with p.open("rb") as fh:
                    total += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
            except OSError:
                total += 1
        else:
            total += 1
    if any(str(i) == "-" for i in inputs):
        return None
    return total
