"""Corpus runs that never stall: the per-document time budget, failed starts, progress output."""

from __future__ import annotations

import io
import json
import time

import pytest
from spacy.language import Language

from scale_fakes import FakeBackend, fast_pipeline, read_records, write_corpus
from stancekit.budget import can_enforce
from stancekit.errors import StancekitError
from stancekit.corpus import run_corpus
from stancekit.progress import RunProgress

SLOW_WORD = "Glacierville"


@Language.component("test_slow_on_word")
def _slow_on_word(doc):
    """Spins (in Python, as a runaway rule would) for 60 s on a document that names the slow word."""
    if SLOW_WORD in doc.text:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            pass
    return doc


@Language.component("test_sleep_on_word")
def _sleep_on_word(doc):
    if SLOW_WORD in doc.text:
        time.sleep(60)
    return doc


CALLS: list[str] = []


@Language.component("test_a_bit_slow")
def _a_bit_slow(doc):
    CALLS.append(doc.text)
    time.sleep(0.3)
    return doc


def _slow_corpus(folder):
    folder.mkdir(parents=True, exist_ok=True)
    texts = {"a_before": '"The bridge opens in May," said the mayor.',
             "b_slow": f'"Nothing moves in {SLOW_WORD}," a farmer said.',
             "c_after": "Traffic was light on Sunday. Shops stayed open.",
             "d_last": '"We are ready," the engineer said.'}
    for name, text in texts.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return folder


needs_timer = pytest.mark.skipif(not can_enforce(), reason="the budget needs SIGALRM in the main thread")


@needs_timer
@pytest.mark.parametrize("component", ["test_slow_on_word", "test_sleep_on_word"])
def test_doc_over_budget_becomes_an_error_record_and_the_run_goes_on(component, tmp_path):
    corpus = _slow_corpus(tmp_path / "in")
    pipe = fast_pipeline(extra_pipes=[component], doc_timeout=0.5, batch_size=4)
    t0 = time.perf_counter()
    manifest = run_corpus([corpus], tmp_path / "out", pipeline=pipe)
    elapsed = time.perf_counter() - t0
    errors = [json.loads(x) for x in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()]
    assert [(e["doc_id"], e["stage"], e["code"]) for e in errors] == [("b_slow", component, "E121")]
    assert "0.5" in errors[0]["message"]
    docs = [json.loads(x)["doc_id"] for x in (tmp_path / "out" / "documents.jsonl").read_text().splitlines()]
    assert docs == ["a_before", "c_after", "d_last"]
    assert manifest["counts"]["documents"] == 3 and manifest["counts"]["errors"] == 1
    assert elapsed < 20  # the 60 s stage was cut: once in the batch, once alone


@needs_timer
def test_doc_over_budget_with_workers(tmp_path):
    corpus = _slow_corpus(tmp_path / "in")
    pipe = fast_pipeline(extra_pipes=["test_slow_on_word"], doc_timeout=0.5, batch_size=1, workers=2)
    try:
        manifest = run_corpus([corpus], tmp_path / "out", pipeline=pipe)
    finally:
        pipe.close()
    errors = [json.loads(x) for x in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()]
    assert [(e["doc_id"], e["code"]) for e in errors] == [("b_slow", "E121")]
    assert errors[0]["stage"] == "test_slow_on_word"
    assert manifest["counts"]["documents"] == 3


def test_a_batch_of_normal_documents_is_not_cut_by_the_per_document_budget(tmp_path):
    """The budget is per document: a batch of documents that each take most of it all pass."""
    corpus = _slow_corpus(tmp_path / "in")
    (corpus / "b_slow.txt").unlink()
    # workers=0: parsed in this process, where CALLS counts the calls
    pipe = fast_pipeline(extra_pipes=["test_a_bit_slow"], doc_timeout=0.5, batch_size=3, workers=0)
    CALLS.clear()
    manifest = run_corpus([corpus], tmp_path / "out", pipeline=pipe)
    assert manifest["counts"]["documents"] == 3 and manifest["counts"]["errors"] == 0
    assert len(CALLS) == 3  # each document parsed once: the batch was not cut and retried


# -- failed starts --------------------------------------------------------------------------------------

class BrokenBackend(FakeBackend):
    def predict(self, inputs):
        raise RuntimeError("the stance model does not fit this device")


def test_a_failed_start_leaves_nothing_that_blocks_the_corrected_rerun(tmp_path):
    corpus = write_corpus(tmp_path / "in")
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        run_corpus([corpus], out, pipeline=fast_pipeline(backend=BrokenBackend()))
    assert not out.exists() or not any(out.iterdir())
    manifest = run_corpus([corpus], out, pipeline=fast_pipeline())  # no --force needed
    assert manifest["counts"]["documents"] == 5


def test_a_killed_start_leaves_nothing_that_blocks_the_rerun(tmp_path):
    """A start killed after the manifest and the empty files were written (no batch committed)."""
    from stancekit.records import RunWriter

    class KilledAtFirstWrite(RunWriter):
        def _point(self, what):
            raise KeyboardInterrupt

    corpus = write_corpus(tmp_path / "in")
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_corpus([corpus], out, pipeline=fast_pipeline(), writer_class=KilledAtFirstWrite)
    assert not out.exists()
    # what a kill -9 there leaves: the manifest, an empty commit, empty and uncommitted record files
    run_corpus([corpus], out, pipeline=fast_pipeline())
    (out / "documents.jsonl").write_text('{"doc_id": "harbour"}\n')
    (out / "commit.json").write_text('{"batches": 0, "sizes": {"documents": 0, "errors": 0}}')
    for name in ("quotes", "speakers", "claims", "errors"):
        (out / f"{name}.jsonl").write_text("")
    manifest = run_corpus([corpus], out, pipeline=fast_pipeline())
    assert manifest["counts"]["documents"] == 5
    assert "resumed" not in manifest


def test_bad_arguments_write_nothing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(StancekitError) as err:
        run_corpus([tmp_path / "missing.txt"], out, pipeline=fast_pipeline())
    assert err.value.code == "E001" and not out.exists()


def test_a_run_with_records_still_needs_force_or_resume(tmp_path):
    corpus = write_corpus(tmp_path / "in")
    out = tmp_path / "out"
    run_corpus([corpus], out, pipeline=fast_pipeline())
    with pytest.raises(StancekitError) as err:
        run_corpus([corpus], out, pipeline=fast_pipeline())
    assert err.value.code == "E002"
    assert run_corpus([corpus], out, pipeline=fast_pipeline(), force=True)["counts"]["documents"] == 5


# -- progress ---------------------------------------------------------------------------------------------

def test_log_json_writes_progress_lines_and_a_final_line(tmp_path):
    corpus = write_corpus(tmp_path / "in")
    stream = io.StringIO()
    progress = RunProgress(7, stream=stream, log_json=True, every_s=0.0)
    try:
        run_corpus([corpus], tmp_path / "out", pipeline=fast_pipeline(), on_result=progress.advance,
                   on_start=progress.start)
    finally:
        progress.close()
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert len(lines) == 8  # one per result (every_s=0) and the final one
    assert [x["event"] for x in lines] == ["progress"] * 7 + ["done"]
    last = lines[-1]
    assert last["documents"] == 5 and last["errors"] == 2 and last["total"] == 7 and last["eta_s"] == 0
    assert last["quotes"] == len(read_records(tmp_path / "out")["quotes"]) > 0
    for key in ("docs_per_s", "elapsed_s", "skipped_done"):
        assert key in last
    assert [x["documents"] + x["errors"] for x in lines[:-1]] == list(range(1, 8))


def test_log_json_counts_what_a_resume_skips(tmp_path):
    corpus = write_corpus(tmp_path / "in")
    run_corpus([corpus], tmp_path / "out", pipeline=fast_pipeline())
    stream = io.StringIO()
    progress = RunProgress(7, stream=stream, log_json=True, every_s=3600)
    run_corpus([corpus], tmp_path / "out", pipeline=fast_pipeline(), resume=True, on_result=progress.advance,
               on_start=progress.start)
    progress.close()
    (line,) = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert line["event"] == "done" and line["skipped_done"] == 7 and line["total"] == 0


def test_progress_is_quiet_in_a_pipe(tmp_path):
    stream = io.StringIO()  # not a terminal
    progress = RunProgress(3, stream=stream)
    assert progress.bar is False
    progress.start({})
    progress.advance(object())
    progress.close()
    assert stream.getvalue() == ""


def test_progress_bar_draws_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    progress = RunProgress(2, stream=stream)
    assert progress.bar is True
    progress.start({})

    class R:
        quotes = [1, 2]

    progress.advance(R())
    progress.advance(R())
    progress.close()
    out = stream.getvalue()
    assert "2/2 docs" in out and "4 quotes" in out and "0 errors" in out


# -- the benchmark's corpus ------------------------------------------------------------------------------

def test_bench_corpus_is_unique_news_like_and_reproducible(tmp_path):
    from stancekit.bench_pipeline import write_corpus as bench_corpus
    from stancekit.ingest import iter_documents

    n, words = bench_corpus(tmp_path / "a.jsonl", 60, seed=3)
    bench_corpus(tmp_path / "b.jsonl", 60, seed=3)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    docs = list(iter_documents([tmp_path / "a.jsonl"]))
    assert n == len(docs) == 60
    assert len({d.text for d in docs}) == 60
    assert not any(w["code"] == "W007" for d in docs for w in d.meta.get("warnings", []))  # nothing de-duplicated
    lengths = [len(d.text.split()) for d in docs]
    assert sum(lengths) == words and 200 <= min(lengths) and max(lengths) <= 520
    assert all("“" in d.text and d.date for d in docs)


def test_bench_pipeline_on_the_fast_pipeline_reports_its_fields(tmp_path, monkeypatch):
    """The benchmark's numbers come from a real run (here on the blank pipeline and the fake model)."""
    import stancekit.bench_pipeline as bp
    import stancekit.pipeline as pl

    monkeypatch.setattr(pl, "Pipeline", lambda cfg: fast_pipeline(batch_size=cfg.batch_size, workers=cfg.workers))
    monkeypatch.setattr(bp, "_in_fresh_process", lambda fn, *a: {"docs_per_s": 100.0, "run_s": 0.1})
    r = bp.bench_pipeline(12, workers=1, claims=False, batch_size=4)
    for key in ("docs_per_s", "spacy_only_docs_per_s", "peak_rss_mb", "workers", "engine", "device",
                "words_per_s", "stage_s", "start_s"):
        assert key in r
    assert r["counts"]["documents"] == 12 and r["counts"]["quotes"] > 0
    assert r["engine"] == "local" and r["device"] == "cpu" and r["workers"] == 1
    assert r["ratio_vs_spacy_only"] == round(r["docs_per_s"] / 100.0, 3)


def test_bench_pipeline_can_skip_spacy_alone(tmp_path, monkeypatch):
    import stancekit.bench_pipeline as bp
    import stancekit.pipeline as pl

    def never(*a):
        raise AssertionError("spaCy alone ran")

    monkeypatch.setattr(pl, "Pipeline", lambda cfg: fast_pipeline(batch_size=cfg.batch_size, workers=cfg.workers))
    monkeypatch.setattr(bp, "_in_fresh_process", never)
    r = bp.bench_pipeline(6, workers=1, claims=False, batch_size=3, spacy_alone=False)
    assert r["docs_per_s"] > 0 and r["counts"]["documents"] == 6
    assert r["spacy_only_docs_per_s"] is None and r["ratio_vs_spacy_only"] is None


def test_finish_hands_the_claims_embeddings_to_the_stance_model():
    import numpy as np

    from stancekit.ingest import Document

    class Recording(FakeBackend):
        def predict(self, inputs):
            self.inputs = list(inputs)
            return super().predict(inputs)

    backend = Recording()
    pipe = fast_pipeline(backend=backend)
    claim = {"doc_id": "d", "claim_id": "d#c0-10", "text": "Sales fell.", "start": 0, "end": 11, "stances": []}
    other = dict(claim, claim_id="d#c12-20", text="Prices rose.", start=12, end=24, stances=[])
    vec = np.ones(4, dtype=np.float32)
    analysis = {"entities": [], "quotes": [], "warnings": [], "claims": [claim, other],
                "claim_vectors": [("enc|fp32", vec), None]}
    (result,) = pipe.finish([Document(doc_id="d", text="Sales fell. Prices rose.")], [analysis])
    assert [x.vector is vec for x in backend.inputs] == [True, False]
    assert backend.inputs[0].vector_key == "enc|fp32" and backend.inputs[1].vector_key is None
    assert all(len(c["stances"]) == 1 for c in result.claims)
    assert "claim_vectors" not in result.to_dict()["document"]


class _ThreadRecording(FakeBackend):
    """Records the thread each stance call runs on; can fail on a given call."""

    def __init__(self, fail_on: int | None = None):
        super().__init__()
        self.threads: list[str] = []
        self.fail_on = fail_on

    def predict(self, inputs):
        import threading

        self.threads.append(threading.current_thread().name)
        if self.calls + 1 == self.fail_on:
            self.calls += 1
            raise RuntimeError("stance model failed")
        return super().predict(inputs)


def _docs(n: int):
    from scale_fakes import ARTICLES
    from stancekit.ingest import Document

    return [Document(doc_id=f"{name}{i}", text=text) for i in range(n) for name, text in ARTICLES][:n]


def test_one_worker_overlaps_the_transformer_stages_with_the_next_batch_and_keeps_order():
    """With one worker, every batch but the last has its stance on the helper thread (while spaCy parses
    the next batch); the results are those of batch-by-batch processing, in input order."""
    from stancekit.pipeline import batched

    backend = _ThreadRecording()
    pipe = fast_pipeline(backend=backend, batch_size=2)
    docs = _docs(7)
    results = list(pipe.process(docs))
    assert [r.document["doc_id"] for r in results] == [d.doc_id for d in docs]
    assert backend.threads[:-1] and all(t.startswith("stancekit-finish") for t in backend.threads[:-1])
    assert not backend.threads[-1].startswith("stancekit-finish")  # the last batch: nothing to overlap
    serial = [r for b in batched(docs, 2) for r in pipe.finish(b, pipe.analyse(b))]
    assert [r.to_dict() for r in results] == [r.to_dict() for r in serial]
    assert set(pipe.timings) >= {"spacy", "stance"} and pipe.timings["stance"] > 0


def test_a_corpus_run_parses_on_one_worker_process_with_the_same_records():
    """``workers=1`` after start_workers (what a corpus run does): the spaCy stages run in one worker process
    (this process's Analyser parses nothing), stance in this process with no helper thread; the records
    and their order are those of ``workers=0``, where this process parses."""
    docs = _docs(7)
    in_process = fast_pipeline(backend=_ThreadRecording(), batch_size=2, workers=0)
    expected = [r.to_dict() for r in in_process.process(docs)]
    assert in_process.start_workers() is None and in_process.analyser.timings["spacy"] > 0  # 0: never a pool

    backend = _ThreadRecording()
    pipe = fast_pipeline(backend=backend, batch_size=2, workers=1)
    list(pipe.process(docs[:1]))
    assert pipe._pool is None  # the Python API starts no process for workers=1 ...
    pipe.analyser.timings["spacy"] = 0.0
    try:
        pool = pipe.start_workers()  # ... a corpus run does
        results = [r.to_dict() for r in pipe.process(docs)]
        assert len(pool._processes) == 1
    finally:
        pipe.close()
    assert results == expected
    assert pipe.analyser.timings["spacy"] == 0.0 and pipe.timings["spacy"] > 0  # parsed in the worker
    assert backend.threads and not any(t.startswith("stancekit-finish") for t in backend.threads)


def test_a_corpus_run_stops_the_workers_it_started(tmp_path):
    pipe = fast_pipeline(batch_size=2)
    manifest = run_corpus([write_corpus(tmp_path / "in")], tmp_path / "out", pipeline=pipe)
    assert manifest["counts"]["documents"] == 5
    assert not pipe.workers_running and not pipe._uses_workers  # the caller's pipeline parses in-process again
    pipe.start_workers()
    try:  # workers the caller started are the caller's to stop
        run_corpus([write_corpus(tmp_path / "in2")], tmp_path / "out2", pipeline=pipe)
        assert pipe.workers_running
    finally:
        pipe.close()


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL") or not __import__("os").path.exists("/proc/self/stat"),
                    reason="needs SIGKILL and /proc")
def test_a_worker_exits_when_its_run_is_killed(tmp_path):
    """``kill -9`` of a run: its spaCy worker does not wait for work forever (it would keep the run's memory,
    and the terminal or pipe it shares with the run)."""
    import signal
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    tests = Path(__file__).parent
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(tests)!r})
        from scale_fakes import fast_pipeline
        pipe = fast_pipeline()
        pool = pipe.start_workers()
        print(*[p.pid for p in pool._processes.values()], flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    workers = [int(x) for x in proc.stdout.readline().split()]
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL and len(workers) == 1

    def alive(pid):  # a zombie waiting for its reaper has exited
        stat = Path(f"/proc/{pid}/stat")
        return stat.exists() and stat.read_text().split()[2] != "Z"

    deadline = time.monotonic() + 20
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(w) for w in workers)


def test_one_article_needs_no_helper_thread():
    backend = _ThreadRecording()
    pipe = fast_pipeline(backend=backend, batch_size=2)
    assert pipe(_docs(1)[0].text, doc_id="one").quotes
    assert backend.threads and not any(t.startswith("stancekit-finish") for t in backend.threads)


def test_a_failure_on_the_helper_thread_reaches_the_caller():
    backend = _ThreadRecording(fail_on=2)
    pipe = fast_pipeline(backend=backend, batch_size=2)
    with pytest.raises(RuntimeError, match="stance model failed"):
        list(pipe.process(_docs(7)))
    assert backend.threads[1].startswith("stancekit-finish")


def test_cpu_threads_sets_and_restores_torch_threads():
    import torch

    from stancekit.device import cpu_threads, spare_cores

    before = torch.get_num_threads()
    with cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with cpu_threads(None):
        assert torch.get_num_threads() == before
    assert spare_cores(10 ** 6) == 1


def test_the_spacy_side_loads_no_transformer_and_finish_settles_the_claims():
    """The Analyser leaves the claims' encoder to finish (the process or thread of the transformer stages):
    its claims are candidates, the detector's encoder is never loaded there, and finish scores them."""
    import numpy as np

    from stancekit.claims import PENDING, ClaimDetector
    from stancekit.ingest import Document

    class Encoder:
        normalized, key, seen = True, "stand-in|fp32", []

        def encode(self, texts):
            self.seen.extend(texts)
            rng = np.random.default_rng(len(self.seen))
            v = rng.normal(size=(len(texts), 384))
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    pipe = fast_pipeline(claims=True, batch_size=4)
    component = pipe.nlp.get_pipe("stancekit_claims")
    component.detector = ClaimDetector()  # the bundled head (MiniLM embedding term), not loaded yet
    docs = [Document(doc_id=f"d{i}", text=t) for i, t in enumerate([
        "Exports rose 12 percent in 2023 to $4 billion, the highest since 2008.",
        "Unemployment fell to 3.9% in March, the ministry said. The hall was quiet.",
        "Prices will rise by 7 percent next year, the bank forecast."])]
    analyses = pipe.analyse(docs)
    assert component.detector._encoder is None and not component.defer
    candidates = [c for a in analyses for c in a["claims"]]
    assert candidates and all(PENDING in c for c in candidates)
    component.detector._encoder = enc = Encoder()
    results = pipe.finish(docs, analyses)
    assert len(enc.seen) == len(candidates)  # one call, every candidate
    for r in results:
        for c in r.claims:
            assert PENDING not in c and c["checkworthiness"] >= component.floor and len(c["stances"]) == 1


def test_quantities_parsed_at_settling_give_the_same_claims():
    """A one-worker run leaves the candidates' quantities to the main process (``settle_quantities``): the
    candidates carry none, and the settled claims equal those whose quantities were parsed on the spaCy side."""
    import numpy as np

    from stancekit.claims import PENDING, ClaimDetector
    from stancekit.ingest import Document

    class Encoder:
        normalized, key = True, "stand-in|fp32"

        def encode(self, texts):
            v = np.stack([np.random.default_rng(len(t)).normal(size=384) for t in texts])
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    docs = [Document(doc_id=f"d{i}", text=t, date="2024-06-01") for i, t in enumerate([
        "Exports rose 12 percent in 2023 to $4 billion, the highest since 2008.",
        "Unemployment fell to 3.9% in March, the ministry said. Some 1,200 firms closed last year.",
        "Prices will rise by 7 percent next year, the bank forecast."])]
    out = {}
    for later in (False, True):
        pipe = fast_pipeline(claims=True, batch_size=4)
        component = pipe.nlp.get_pipe("stancekit_claims")
        component.detector = ClaimDetector()
        component.detector._encoder = Encoder()
        component.settle_quantities = later
        analyses = pipe.analyse(docs)
        candidates = [c for a in analyses for c in a["claims"]]
        assert candidates and all(c[PENDING]["quantities"] == later for c in candidates)
        assert any(c["quantities"] for c in candidates) != later
        out[later] = [r.claims for r in pipe.finish(docs, analyses)]
    assert out[True] == out[False] and any(c["quantities"] for claims in out[True] for c in claims)


def test_the_claims_encoder_follows_the_configured_device():
    pipe = fast_pipeline(claims=True, device="cpu")
    assert pipe.analyser.claims.detector.device == "cpu"
    assert fast_pipeline(claims=True).analyser.claims.detector.device == "auto"


def test_settled_claims_of_a_chunked_document_point_into_the_document():
    """A document cut into chunks: its claims, settled after the chunks' offsets are added, have offsets and
    quantity offsets into the document."""
    import numpy as np

    from stancekit.claims import ClaimDetector
    from stancekit.ingest import Document

    class Encoder:
        normalized, key = True, "stand-in|fp32"

        def encode(self, texts):
            v = np.ones((len(texts), 384))
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    pipe = fast_pipeline(claims=True, batch_size=4, chunk_chars=60, min_claim_score=0.0)
    component = pipe.nlp.get_pipe("stancekit_claims")
    component.detector = ClaimDetector(encoder=Encoder())
    text = ("Exports rose 12 percent in 2023 to $4 billion.\nUnemployment fell to 3.9% in March.\n"
            "Prices will rise by 7 percent next year.\n")
    (result,) = pipe.process([Document(doc_id="long", text=text)])
    assert any(w["code"] == "W002" for w in result.document["warnings"])  # it was chunked
    quantities = [q for c in result.claims for q in c["quantities"]]
    assert len(result.claims) == 3 and len(quantities) >= 4
    for c in result.claims:
        assert text[c["start"]:c["end"]] == c["text"] and c["kind"] == "statistic"
        for q in c["quantities"]:
            assert text[q["start"]:q["end"]] == q["text"]


@pytest.mark.slow
def test_a_ray_driver_spawns_its_spacy_workers(monkeypatch):
    """A process connected to Ray is not forked (a forked Ray driver hung on its next ``ray.get``): its worker
    is spawned and loads the configured models itself; the records equal those of ``workers=0``."""
    import sys
    import types

    from scale_fakes import FakeBackend
    from stancekit.config import load_config
    from stancekit.pipeline import Pipeline

    docs = _docs(5)
    cfg = load_config(targets=["certification"], claims=False, batch_size=2, workers=0)
    expected = [r.to_dict() for r in Pipeline(cfg, backend=FakeBackend()).process(docs)]
    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(is_initialized=lambda: True))
    pipe = Pipeline(load_config(targets=["certification"], claims=False, batch_size=2, workers=1),
                    backend=FakeBackend())
    try:
        pool = pipe.start_workers()
        assert pool._mp_context.get_start_method() == "spawn"
        results = [r.to_dict() for r in pipe.process(docs)]
    finally:
        pipe.close()
    assert results == expected
