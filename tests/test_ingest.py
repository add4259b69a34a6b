import io
import json

import pytest

from stancekit.errors import DocumentError, StancekitError
from stancekit.ingest import Document, check_inputs, iter_documents


def _docs(items):
    return [i for i in items if isinstance(i, Document)]


def _errors(items):
    return [i for i in items if isinstance(i, DocumentError)]


def test_txt_file_id_and_title(tmp_path):
    p = tmp_path / "my_article.txt"
    p.write_text("A title line\n\nBody text here. More body.", encoding="utf-8")
    (doc,) = list(iter_documents([p]))
    assert doc.doc_id == "my_article"
    assert doc.title == "A title line"
    assert doc.text.startswith("A title line")


def test_directory_is_recursive_and_sorted(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.txt").write_text("zed", encoding="utf-8")
    (tmp_path / "a.txt").write_text("ay", encoding="utf-8")
    (tmp_path / "ignored.csv").write_text("x,y", encoding="utf-8")
    ids = [d.doc_id for d in iter_documents([tmp_path])]
    assert ids == ["a", "z"]


def test_jsonl_good_and_bad_lines_lose_nothing(tmp_path):
    p = tmp_path / "corpus.jsonl"
    lines = [json.dumps({"id": "one", "text": "First.", "title": "T", "date": "2025-01-02", "extra": 1}),
             "{not json",
             json.dumps({"id": "three"}),
             "",
             json.dumps({"text": "No id here."})]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = list(iter_documents([p]))
    docs, errs = _docs(items), _errors(items)
    assert [d.doc_id for d in docs] == ["one", "corpus:5"]
    assert docs[0].date == "2025-01-02" and docs[0].meta == {"extra": 1}
    assert sorted(e.code for e in errs) == ["E101", "E102"]
    assert all(e.to_record()["doc_id"] for e in errs)


def test_duplicate_ids_are_renamed_with_warning(tmp_path):
    p = tmp_path / "dup.jsonl"
    p.write_text("\n".join(json.dumps({"id": "x", "text": t}) for t in ("a", "b")), encoding="utf-8")
    docs = _docs(iter_documents([p]))
    assert [d.doc_id for d in docs] == ["x", "x__1"]
    assert docs[1].meta["warnings"][0]["code"] == "E106"


def test_stdin_plain_text_and_jsonl():
    (doc,) = list(iter_documents(["-"], stdin=io.StringIO("Just one article.\nSecond line.")))
    assert doc.doc_id == "stdin" and "Second line" in doc.text
    items = list(iter_documents(["-"], stdin=io.StringIO('{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n')))
    assert [d.doc_id for d in items] == ["a", "b"]


def test_undecodable_text_is_an_error_not_a_crash(tmp_path):
    p = tmp_path / "latin.txt"
    p.write_bytes("caf\xe9".encode("latin-1"))
    (item,) = list(iter_documents([p]))
    assert isinstance(item, DocumentError) and item.code == "E103" and item.doc_id == "latin"


def test_html_extraction(tmp_path):
    body = " ".join(["The minister said the plan would work and that farmers would be paid on time."] * 8)
    html = (f"<html><head><title>Plan news</title></head><body><nav>Home | About</nav>"
            f"<article><h1>Plan news</h1><p>{body}</p><p>{body}</p></article></body></html>")
    p = tmp_path / "page.html"
    p.write_text(html, encoding="utf-8")
    (doc,) = list(iter_documents([p]))
    assert isinstance(doc, Document)
    assert "farmers would be paid" in doc.text
    assert "Home | About" not in doc.text


def test_empty_html_is_an_error(tmp_path):
    p = tmp_path / "empty.html"
    p.write_text("<html><body></body></html>", encoding="utf-8")
    (item,) = list(iter_documents([p]))
    assert isinstance(item, DocumentError) and item.code == "E104"


def test_warc_records(tmp_path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    body = " ".join(["Officials said the bridge would reopen next month after repairs were finished."] * 8)
    html = f"<html><body><article><p>{body}</p><p>{body}</p></article></body></html>".encode()
    path = tmp_path / "crawl.warc.gz"
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url in ("https://example.org/a", "https://example.org/b"):
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                       protocol="HTTP/1.1")
            rec = writer.create_warc_record(url, "response", payload=io.BytesIO(html), http_headers=headers)
            writer.write_record(rec)
    docs = list(iter_documents([path]))
    assert [d.url for d in docs] == ["https://example.org/a", "https://example.org/b"]
    assert all("bridge would reopen" in d.text for d in docs)
    assert docs[0].doc_id != docs[1].doc_id


def test_check_inputs_errors(tmp_path):
    with pytest.raises(StancekitError) as exc:
        check_inputs([tmp_path / "missing.txt"])
    assert exc.value.code == "E001"
    bad = tmp_path / "table.csv"
    bad.write_text("a,b", encoding="utf-8")
    with pytest.raises(StancekitError) as exc:
        check_inputs([bad])
    assert exc.value.code == "E009"
