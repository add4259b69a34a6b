"""stancekit serve: a real uvicorn on 127.0.0.1, the default models loaded once, bounded requests."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi, uvicorn) is not installed")
pytest.importorskip("uvicorn", reason="the serve extra (fastapi, uvicorn) is not installed")
httpx = pytest.importorskip("httpx")

from conftest import SAMPLE  # noqa: E402
from service import running_service  # noqa: E402
from stancekit.records import validate  # noqa: E402
from stancekit.serve import ServiceLimits, create_app  # noqa: E402

ARTICLE = (SAMPLE / "articles" / "port_strike.txt").read_text(encoding="utf-8")
SHORT = "\u201cThe new port rules will hurt every family here,\u201d said union leader Maria Lopez on Monday."


@pytest.fixture(scope="module")
def service(pipeline):
    limits = ServiceLimits(max_docs=4, max_chars=5000, max_body_bytes=60_000, batch_size=16, batch_wait_ms=20)
    with running_service(create_app(pipeline=pipeline, limits=limits)) as url:
        with httpx.Client(base_url=url, timeout=120) as client:
            yield client


def test_health_targets_and_docs(service):
    h = service.get("/health")
    assert h.status_code == 200 and h.json()["status"] == "ok"
    assert h.json()["limits"]["max_docs"] == 4
    targets = service.get("/v1/targets").json()["targets"]
    assert "certification" in [t["id"] for t in targets]
    assert service.get("/docs").status_code == 200
    spec = service.get("/openapi.json").json()
    assert {"/v1/analyze", "/v1/targets", "/health"} <= set(spec["paths"])


def test_analyze_one_article(service):
    r = service.post("/v1/analyze", json={"text": ARTICLE, "doc_id": "strike", "date": "2026-09-04",
                                          "targets": ["certification"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["targets"] == ["certification"] and len(body["results"]) == 1
    res = body["results"][0]
    assert res["document"]["doc_id"] == "strike" and res["quotes"]
    for q in res["quotes"]:
        assert ARTICLE[q["start"]:q["end"]] == q["text"]
        assert [s["target"] for s in q["stances"]] == ["certification"]
    for s in res["speakers"]:
        if s.get("name"):
            assert not validate(s, "speaker")
    # without targets: no stance at all (the service's defaults are the pipeline's)
    r = service.post("/v1/analyze", json={"text": SHORT, "targets": []})
    assert r.status_code == 200 and all(q["stances"] == [] for q in r.json()["results"][0]["quotes"])


def test_analyze_a_batch_keeps_order_and_ids(service):
    docs = [{"text": SHORT, "doc_id": "a"}, {"text": ARTICLE[:1500], "doc_id": "b"}, {"text": "   "}]
    r = service.post("/v1/analyze", json={"documents": docs, "targets": ["certification"]})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["document"]["doc_id"] for x in results] == ["a", "b", "doc2"]
    assert results[0]["quotes"][0]["speaker"]["name"]
    assert results[2]["document"]["warnings"][0]["code"] == "W001"


@pytest.mark.parametrize("payload, status, code", [
    ({"documents": [{"text": "x"}] * 5}, 413, "E203"),
    ({"text": "x" * 5001}, 413, "E204"),
    ({"text": "x", "targets": ["no-such-target"]}, 422, "E205"),
    ({"text": "x", "documents": [{"text": "y"}]}, 422, "E201"),
    ({}, 422, "E201"),
    ({"documents": [{"title": "no text"}]}, 422, "E201"),
    ({"text": 3}, 422, "E201"),
])
def test_bad_requests_get_coded_4xx(service, payload, status, code):
    r = service.post("/v1/analyze", json=payload)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"].startswith(f"[{code}]")


def test_body_size_limit_and_invalid_json(service):
    r = service.post("/v1/analyze", content=json.dumps({"text": "x" * 70_000}),
                     headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "E202"
    r = service.post("/v1/analyze", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "E201"


def test_concurrent_requests_are_batched_together(service):
    before = service.get("/health").json()["batching"]
    n = 12
    barrier = threading.Barrier(n)

    def one(i):
        barrier.wait()
        r = service.post("/v1/analyze", json={"text": SHORT, "doc_id": f"c{i}",
                                              "targets": ["certification"] if i % 2 else []})
        return r.status_code, r.json()["results"][0]["document"]["doc_id"], r.json()["results"][0]["quotes"]

    with ThreadPoolExecutor(n) as pool:
        outs = list(pool.map(one, range(n)))
    assert [o[:2] for o in outs] == [(200, f"c{i}") for i in range(n)]
    for i, (_, _, quotes) in enumerate(outs):  # each request got its own targets, even in a shared batch
        assert all(len(q["stances"]) == (1 if i % 2 else 0) for q in quotes)
    after = service.get("/health").json()["batching"]
    requests = after["requests"] - before["requests"]
    batches = after["batches"] - before["batches"]
    assert requests == n
    assert batches < n and after["largest_batch"] > 1  # requests shared pipeline batches
