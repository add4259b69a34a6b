"""Typed records: the committed JSON Schemas are generated from the models, and both accept and refuse the same
records; the writer's validation hook (``--strict``)."""

from __future__ import annotations

import copy
import json

import pytest

from stancekit.errors import StancekitError
from stancekit.records import RunWriter, validate
from stancekit.resources import SCHEMA_DIR
from stancekit.schema import RECORDS, check_record, json_schema, main

STANCE = {"target": "certification", "label": "favor", "score": 0.7, "relevance": 0.9,
          "probs": {"favor": 0.7, "against": 0.1, "neutral": 0.2}}
GOOD = {
    "quote": {"doc_id": "d", "quote_id": "d#q0-5", "text": "Hello", "start": 0, "end": 5, "kind": "direct",
              "cue": {"text": "said", "start": 7, "end": 11},
              "speaker": {"name": "Ana Lima", "mention": {"text": "Lima", "start": 12, "end": 16}, "label": "PERSON",
                          "role": None, "affiliation": None, "resolution": "name", "confidence": 0.9},
              "confidence": 0.8, "stances": [STANCE]},
    "speaker": {"doc_id": "d", "name": "Ana Lima", "label": "PERSON", "roles": ["minister"], "affiliation": None,
                "quote_ids": ["d#q0-5"], "stances": [{"target": "certification", "label": "favor", "score": 0.7,
                                                      "n_quotes": 1, "evidence": ["d#q0-5"]}]},
    "document": {"doc_id": "d", "source": "a.txt", "title": None, "url": None, "date": None, "status": "ok",
                 "n_chars": 20, "n_quotes": 1, "n_speakers": 1, "n_claims": 0,
                 "entities": [{"text": "Lima", "label": "PERSON", "start": 12, "end": 16, "canonical": "Ana Lima"}],
                 "warnings": [{"code": "W003", "message": "m", "offset": 3}]},
    "claim": {"doc_id": "d", "claim_id": "d#c0-9", "text": "It rose 5%", "start": 0, "end": 9, "sentence": 0,
              "kind": "statistic", "claimer": {"name": None, "kind": "author"},
              "quantities": [{"text": "5%", "start": 7, "end": 9, "value": 5, "unit": "percent", "approx": "exact"}],
              "entities": [], "checkworthiness": 0.8, "stances": []},
    "error": {"doc_id": None, "source": "x.jsonl", "stage": "ingest", "code": "E101", "message": "bad"},
}

# (kind, path to change, new value): each makes the record invalid
BAD = [
    ("quote", ("kind",), "reported"),
    ("quote", ("start",), -1),
    ("quote", ("start",), "0"),
    ("quote", ("cue", "extra"), 1),
    ("quote", ("speaker", "resolution"), "guess"),
    ("quote", ("speaker", "confidence"), 1.5),
    ("quote", ("stances", 0, "label"), "pro"),
    ("quote", ("stances", 0, "probs"), None),
    ("speaker", ("roles", 0), 3),
    ("speaker", ("stances", 0, "n_quotes"), -1),
    ("document", ("status",), "failed"),
    ("document", ("warnings", 0, "code"), "X1"),
    ("claim", ("surprise",), True),
    ("claim", ("claimer", "kind"), "reporter"),
    ("claim", ("quantities", 0, "approx"), "about"),
    ("claim", ("checkworthiness",), 2),
    ("error", ("code",), "W001"),
]
MISSING = [("quote", "speaker"), ("speaker", "quote_ids"), ("document", "warnings"), ("claim", "claimer"),
           ("error", "stage")]


def _set(record: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(record)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def test_committed_schemas_are_the_generated_ones():
    for kind, (_, version) in RECORDS.items():
        committed = json.loads((SCHEMA_DIR / f"{version}.json").read_text(encoding="utf-8"))
        assert committed == json_schema(kind), f"{version}.json is stale: run python -m stancekit.schema --write"
    assert main(["--check"]) == 0


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_valid_records_pass_model_and_schema(kind):
    check_record(kind, GOOD[kind])
    assert validate(GOOD[kind], kind) == []


def test_optional_and_nullable_fields():
    q = copy.deepcopy(GOOD["quote"])
    del q["confidence"], q["stances"][0]["probs"]
    q["speaker"]["name"] = None  # a speaker not resolved to a name (resolution "nominal")
    q["speaker"]["resolution"] = "nominal"
    for rec in (q, _set(q, ("cue",), None), _set(q, ("speaker",), None), _set(q, ("added_later",), 1)):
        check_record("quote", rec)
        assert validate(rec, "quote") == []


@pytest.mark.parametrize("kind, path, value", BAD)
def test_invalid_records_fail_model_and_schema(kind, path, value):
    rec = _set(GOOD[kind], path, value)
    with pytest.raises(StancekitError) as exc:
        check_record(kind, rec)
    assert exc.value.code == "E020"
    assert validate(rec, kind)


@pytest.mark.parametrize("kind, field", MISSING)
def test_missing_required_fields_fail_both(kind, field):
    rec = copy.deepcopy(GOOD[kind])
    del rec[field]
    with pytest.raises(StancekitError):
        check_record(kind, rec)
    assert validate(rec, kind)


def test_writer_validation_hook(tmp_path):
    writer = RunWriter(tmp_path, validate=check_record)
    writer.write("quotes", [GOOD["quote"]])
    with pytest.raises(StancekitError) as exc:
        writer.write("quotes", [_set(GOOD["quote"], ("kind",), "reported")])
    writer.close()
    assert exc.value.code == "E020" and "quote.v1" in exc.value.message and "kind" in exc.value.message
    assert len((tmp_path / "quotes.jsonl").read_text().splitlines()) == 1  # the bad record was not written
