"""The service's micro-batcher under closed-loop load: a real uvicorn on a free loopback port, a pipeline
stand-in that takes a fixed time per batch (so that the test is about batching, not models)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi, uvicorn) is not installed")
pytest.importorskip("uvicorn", reason="the serve extra (fastapi, uvicorn) is not installed")
httpx = pytest.importorskip("httpx")

from service import running_service  # noqa: E402
from stancekit.pipeline import Result  # noqa: E402
from stancekit.serve import ServiceLimits, create_app  # noqa: E402


class SlowPipeline:
    """Answers every document with an empty record after ``batch_s`` per batch; remembers batch sizes."""

    def __init__(self, batch_s: float):
        self.batch_s = batch_s
        self.targets: list = []
        self.batches: list[int] = []

    def process(self, docs):
        time.sleep(self.batch_s)
        self.batches.append(len(docs))
        return [Result(document={"doc_id": d.doc_id, "status": "ok"}) for d in docs]

    def describe(self) -> dict:
        return {"stand-in": True}


def _closed_loop(url: str, clients: int, per_client: int) -> list[list[str]]:
    """``clients`` threads, each sending ``per_client`` requests one after the other (keep-alive)."""
    barrier = threading.Barrier(clients)

    def client(c: int) -> list[str]:
        got = []
        with httpx.Client(base_url=url, timeout=60) as http:
            barrier.wait()
            for k in range(per_client):
                r = http.post("/v1/analyze", json={"text": "x", "doc_id": f"c{c}-{k}"})
                assert r.status_code == 200, r.text
                got.append(r.json()["results"][0]["document"]["doc_id"])
        return got

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(client, range(clients)))


def test_batches_fill_up_to_the_number_of_waiting_clients():
    pipe = SlowPipeline(batch_s=0.2)
    limits = ServiceLimits(batch_size=32, batch_wait_ms=1, batch_gather_ms=500, gather_share=2.0)
    clients, per_client = 4, 6
    with running_service(create_app(pipeline=pipe, limits=limits)) as url:
        answers = _closed_loop(url, clients, per_client)
        stats = httpx.get(f"{url}/health").json()["batching"]
    assert answers == [[f"c{c}-{k}" for k in range(per_client)] for c in range(clients)]
    assert sum(pipe.batches) == clients * per_client
    # once the batcher has seen the four clients in flight together, each batch waits for all four
    # (without the wait they split into cohorts that take turns: 1, 3, 1, 3, ...)
    assert pipe.batches[1:-1] == [clients] * (len(pipe.batches) - 2), pipe.batches
    assert stats["largest_batch"] == clients and stats["pipeline_s"] >= 0.2 * len(pipe.batches) * 0.9


def test_a_lone_client_is_not_kept_waiting():
    pipe = SlowPipeline(batch_s=0.05)
    limits = ServiceLimits(batch_size=32, batch_wait_ms=1, batch_gather_ms=500, gather_share=2.0)
    with running_service(create_app(pipeline=pipe, limits=limits)) as url:
        _closed_loop(url, 1, 6)
        stats = httpx.get(f"{url}/health").json()["batching"]
    assert pipe.batches == [1] * 6
    assert stats["gather_s"] < 0.1, stats  # one client in flight: no extra wait after the first request


def test_gathering_can_be_switched_off():
    pipe = SlowPipeline(batch_s=0.1)
    limits = ServiceLimits(batch_size=32, batch_wait_ms=1, batch_gather_ms=0)
    with running_service(create_app(pipeline=pipe, limits=limits)) as url:
        answers = _closed_loop(url, 3, 4)
        stats = httpx.get(f"{url}/health").json()["batching"]
    assert sorted(a for per in answers for a in per) == sorted(f"c{c}-{k}" for c in range(3) for k in range(4))
    assert stats["gather_s"] < 0.005 * stats["batches"] + 0.05, stats  # only the 1 ms window each time
