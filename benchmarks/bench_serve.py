"""Load test of ``stancekit serve`` against calling the library in-process, in the same run.

1. In-process: the same pipeline (``stancekit.load``) processes the N articles as one stream
   (``pipe.process(docs)``, the library's best case), and unless ``--no-one-per-call``, once more one
   article per call (``pipe.process([doc])``, what a caller without batching does). Articles/s of both.
2. Service: ``stancekit serve`` is started as a child process (a real uvicorn) on 127.0.0.1 with a port
   the OS picked; once ``/health`` answers, N ``POST /v1/analyze`` requests (one article each) are sent
   from C concurrent client threads (keep-alive connections); every response is checked (status 200,
   one result, no error record). p50 / p95 / max latency per request and articles/s over the whole
   load. The service is stopped at the end (and on any failure).

The ratio reported is service articles/s over the in-process stream's articles/s (the stricter of the
two baselines). Articles: the team-written sample corpus (``corpora/sample/articles``) cycled to N,
each with its own doc_id (``--articles DIR``, repeatable: the ``*.txt`` of other folders instead;
``--synthetic SEED``: N distinct articles from the generator of ``bench_pipeline``).

Repeated texts matter: the inference engine computes identical inputs once per call, so a batch
that holds several copies of an article runs its stance model once for them all. The 4 sample texts
cycled give a batch of 32 eight copies of each, a batch of 8 two: ``stance_engine`` reports how many
inputs the in-process run gave the stance encoder (shared with the claim stage under the few-shot
backend) and how many distinct ones it computed.

    python benchmarks/bench_serve.py [--n 200] [--concurrency 8] [--target certification] [--threads T]
        [--no-one-per-call] [--articles DIR]... [--synthetic SEED] [--batch-gather-ms MS] [--json out.json]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "corpora" / "sample" / "articles"


def articles(n: int, folders: list[Path] | None = None, synthetic: int | None = None) -> list[dict]:
    if synthetic is not None:  # n distinct generated articles (the generator of bench_pipeline)
        import random

        from stancekit.bench_pipeline import make_article

        rng = random.Random(synthetic)
        return [{"doc_id": a["id"], "text": a["text"]} for a in (make_article(i, rng) for i in range(n))]
    files = sorted(f for folder in (folders or [SAMPLE]) for f in folder.glob("*.txt"))
    texts = [(f.stem, f.read_text(encoding="utf-8")) for f in files]
    return [{"doc_id": f"{texts[i % len(texts)][0]}-{i}", "text": texts[i % len(texts)][1]} for i in range(n)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, round(q / 100 * (len(xs) - 1))))
    return xs[k]


def in_process(arts: list[dict], target: str, one_per_call: bool = True) -> dict:
    import stancekit
    from stancekit.ingest import Document

    t0 = time.perf_counter()
    pipe = stancekit.load(targets=[target])
    from stancekit.serve import warm_up

    warm_up(pipe)
    load_s = time.perf_counter() - t0
    docs = [Document(doc_id=a["doc_id"], text=a["text"], source="bench") for a in arts]
    out: dict = {"load_s": round(load_s, 1)}
    engine = getattr(pipe.backend, "engine", None) or getattr(getattr(pipe.backend, "encoder", None), "engine", None)
    stats = getattr(engine, "stats", None)  # the few-shot backend's encoder is shared with the claim stage
    before = (stats.items, stats.unique) if stats is not None else None
    t0 = time.perf_counter()
    stream = list(pipe.process(docs))
    stream_s = time.perf_counter() - t0
    out["stream"] = {"wall_s": round(stream_s, 2), "articles_per_s": round(len(docs) / stream_s, 2),
                     "batch_size": pipe.config.batch_size}
    if before is not None:
        out["stance_engine"] = {"inputs": stats.items - before[0], "computed": stats.unique - before[1]}
    out["quotes"] = sum(len(r.quotes) for r in stream)
    if one_per_call:
        t0 = time.perf_counter()
        single = [list(pipe.process([d]))[0] for d in docs]
        one_s = time.perf_counter() - t0
        out["one_per_call"] = {"wall_s": round(one_s, 2), "articles_per_s": round(len(docs) / one_s, 2)}
        assert out["quotes"] == sum(len(r.quotes) for r in single)
    return out


class Service:
    """``stancekit serve`` as a child process on a free loopback port."""

    def __init__(self, target: str, batch_size: int, batch_wait_ms: float, batch_gather_ms: float | None = None):
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
        gather = [] if batch_gather_ms is None else ["--batch-gather-ms", str(batch_gather_ms)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stancekit.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--target", target, "--batch-size", str(batch_size), "--batch-wait-ms", str(batch_wait_ms), *gather],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait_ready(self, timeout: float = 300.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                return json.loads(self.request("GET", "/health")[1])
            except OSError:
                time.sleep(0.25)
        raise RuntimeError("the service did not answer /health in time")

    def request(self, method: str, path: str, body: bytes | None = None, conn=None):
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            if own:
                conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


def load_test(service: Service, arts: list[dict], concurrency: int, target: str) -> dict:
    bodies = [json.dumps({**a, "targets": [target]}).encode() for a in arts]
    latencies: list[float] = [0.0] * len(bodies)
    quotes = [0] * len(bodies)
    local = threading.local()
    next_i = iter(range(len(bodies)))
    lock = threading.Lock()

    def client() -> None:
        local.conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=600)
        try:
            while True:
                with lock:
                    i = next(next_i, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                status, raw = service.request("POST", "/v1/analyze", bodies[i], conn=local.conn)
                latencies[i] = time.perf_counter() - t0
                out = json.loads(raw)
                if status != 200 or len(out["results"]) != 1 or "error" in out["results"][0]:
                    raise RuntimeError(f"request {i}: HTTP {status}: {raw[:300]!r}")
                quotes[i] = len(out["results"][0]["quotes"])
        finally:
            local.conn.close()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for f in [pool.submit(client) for _ in range(concurrency)]:
            f.result()
    wall = time.perf_counter() - t0
    ms = [x * 1000 for x in latencies]
    return {"requests": len(bodies), "concurrency": concurrency, "wall_s": round(wall, 2),
            "articles_per_s": round(len(bodies) / wall, 2),
            "latency_ms": {"p50": round(statistics.median(ms), 1), "p95": round(percentile(ms, 95), 1),
                           "max": round(max(ms), 1), "mean": round(statistics.fmean(ms), 1)},
            "quotes": sum(quotes)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="requests (one article each)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--target", default="certification")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--batch-wait-ms", type=float, default=5.0)
    ap.add_argument("--batch-gather-ms", type=float, default=None,
                    help="the service's --batch-gather-ms (default: the service's own default)")
    source = ap.add_mutually_exclusive_group()
    source.add_argument("--articles", type=Path, action="append", default=None,
                        help="folder of *.txt articles, repeatable (default: corpora/sample/articles)")
    source.add_argument("--synthetic", type=int, default=None, metavar="SEED",
                        help="N distinct generated articles (bench_pipeline's generator, this seed) instead of files")
    ap.add_argument("--no-one-per-call", dest="one_per_call", action="store_false",
                    help="skip the in-process one-article-per-call baseline")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads, here and in the service (sets OMP_NUM_THREADS for both)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before torch loads; the service inherits it
    arts = articles(args.n, args.articles, args.synthetic)
    result: dict = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                "python": platform.python_version(),
                    "load_avg_1m_at_start": round(os.getloadavg()[0], 2)},
                    "articles": len(arts), "distinct_texts": len({a["text"] for a in arts}),
                    "words_per_article": round(statistics.fmean(len(a["text"].split()) for a in arts)),
                    "target": args.target, "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}
    print(f"in-process: {len(arts)} articles as one stream"
          f"{', then one per call' if args.one_per_call else ''} ...", file=sys.stderr, flush=True)
    result["in_process"] = in_process(arts, args.target, args.one_per_call)
    print(f"service: {args.n} requests, {args.concurrency} concurrent ...", file=sys.stderr, flush=True)
    service = Service(args.target, args.batch_size, args.batch_wait_ms, args.batch_gather_ms)
    try:
        t0 = time.perf_counter()
        health = service.wait_ready()
        result["service_start_s"] = round(time.perf_counter() - t0, 1)
        # one request to warm the connection path (not counted)
        service.request("POST", "/v1/analyze", json.dumps({**arts[0], "targets": [args.target]}).encode())
        result["service"] = load_test(service, arts, args.concurrency, args.target)
        result["service"]["batching"] = json.loads(service.request("GET", "/health")[1])["batching"]
        result["service"]["limits"] = health.get("limits")
    finally:
        service.stop()
    if result["service"]["quotes"] != result["in_process"]["quotes"]:
        result["warning"] = "the service and the library found different numbers of quotes"
    ip = result["in_process"]
    result["ratio_vs_stream"] = round(result["service"]["articles_per_s"] / ip["stream"]["articles_per_s"], 3)
    if "one_per_call" in ip:
        result["ratio_vs_one_per_call"] = round(result["service"]["articles_per_s"]
                                                / ip["one_per_call"]["articles_per_s"], 3)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
