"""The sample corpus is well formed: every gold span is where it says, the JSONL copy matches the files,
every pair of curly marks is annotated, and the datasheet's counts hold."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from conftest import SAMPLE

pytestmark = pytest.mark.skipif(not (SAMPLE / "gold.jsonl").exists(), reason="sample corpus not present")


def _gold() -> list[dict]:
    return [json.loads(ln) for ln in (SAMPLE / "gold.jsonl").read_text(encoding="utf-8").splitlines() if ln.strip()]


def _text(doc_id: str) -> str:
    return (SAMPLE / "articles" / f"{doc_id}.txt").read_text(encoding="utf-8")


def test_spans_are_exact_and_sorted():
    for row in _gold():
        text = _text(row["doc_id"])
        for q in row["quotes"]:
            assert text[q["start"]:q["end"]] == q["text"], (row["doc_id"], q["text"])
            assert q["kind"] in ("direct", "indirect", "mixed")
            assert q["stance"]["certification"] in ("favor", "against", "neutral")
        for c in row["claims"]:
            assert text[c["start"]:c["end"]] == c["text"], (row["doc_id"], c["text"])
            assert c["quantities"], c["text"]
            for x in c["quantities"]:
                assert text[x["start"]:x["end"]] == x["text"]
                assert c["start"] <= x["start"] < x["end"] <= c["end"]
        assert [q["start"] for q in row["quotes"]] == sorted(q["start"] for q in row["quotes"])
        assert [c["start"] for c in row["claims"]] == sorted(c["start"] for c in row["claims"])


def test_jsonl_copy_matches_the_files():
    rows = [json.loads(ln) for ln in (SAMPLE / "sample.jsonl").read_text(encoding="utf-8").splitlines() if ln]
    assert {r["id"] for r in rows} == {g["doc_id"] for g in _gold()}
    for r in rows:
        text = _text(r["id"])
        assert r["text"] == text and r["title"] == text.split("\n", 1)[0]
        assert text.endswith("\n") and "\r" not in text and not text.startswith("\ufeff")


def test_every_pair_of_curly_marks_is_annotated():
    for row in _gold():
        text = _text(row["doc_id"])
        i = 0
        while (i := text.find("\u201c", i)) >= 0:
            j = text.find("\u201d", i)
            assert j > i
            direct = any(q["kind"] == "direct" and q["start"] == i + 1 and q["end"] in (j, j - 1)
                         for q in row["quotes"])
            mixed = any(q["kind"] == "mixed" and q["start"] <= i and j < q["end"] for q in row["quotes"])
            assert direct or mixed, (row["doc_id"], text[i:j + 1])
            i = j


def test_a_speaker_keeps_one_role():
    for row in _gold():
        roles: dict[str, object] = {}
        for q in row["quotes"]:
            assert roles.setdefault(q["speaker"], q["role"]) == q["role"], (row["doc_id"], q["speaker"])


def test_datasheet_counts():
    gold = _gold()
    stances = Counter(q["stance"]["certification"] for g in gold for q in g["quotes"])
    assert stances == {"favor": 4, "against": 4, "neutral": 40}
    assert sum(len(g["quotes"]) for g in gold) == 48 and sum(len(g["claims"]) for g in gold) == 26
    # the other articles are about other topics: every quote in them is neutral toward certification
    for g in gold:
        if g["doc_id"] != "certification_debate":
            assert {q["stance"]["certification"] for q in g["quotes"]} == {"neutral"}
