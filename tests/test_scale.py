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
    pipe = fast_pipeline(extra_pipes=["test_a_bit_slow"], doc_timeout=0.5, batch_size=3)
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
