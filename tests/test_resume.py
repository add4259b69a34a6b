"""Crash-safe commits and --resume: a writer killed at any write point loses and duplicates nothing,
and a resume is refused (E015) when what the records depend on changed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scale_fakes import fast_pipeline, other_target, read_records, write_corpus
from stancekit.errors import StancekitError
from stancekit.corpus import run_corpus
from stancekit.records import COMMIT_FILE, RunWriter

REPO = Path(__file__).resolve().parents[1]


class Crash(BaseException):
    """Stands for a kill: nothing after it runs (BaseException, so no ``except Exception`` catches it)."""


@pytest.fixture(scope="module")
def pipe(nlp):
    """The small English spaCy pipeline (named speakers) with a fake stance model."""
    return fast_pipeline(nlp=nlp)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus") / "in")


@pytest.fixture(scope="module")
def reference(pipe, corpus, tmp_path_factory):
    """An uninterrupted run, and the number of write points it passes."""
    out = tmp_path_factory.mktemp("ref") / "run"
    points: list[str] = []

    class Counting(RunWriter):
        def _point(self, what):
            points.append(what)

    run_corpus([corpus], out, pipeline=pipe, writer_class=Counting)
    return read_records(out), points


def test_reference_run_fills_every_file(reference):
    records, points = reference
    assert len(records["documents"]) == 5  # 3 text files and 2 good JSONL lines
    assert len(records["errors"]) == 2  # a line that is not JSON, one that is not an object
    assert records["quotes"] and records["speakers"]
    assert {p.split()[0] for p in points} == {"write", "flush", "rename"}


def _crashing_writer(n: int):
    class Crashing(RunWriter):
        seen = 0

        def _point(self, what):
            type(self).seen += 1
            if type(self).seen == n:
                raise Crash(what)

    return Crashing


def test_kill_at_every_write_point_then_resume_gives_the_uninterrupted_records(pipe, corpus, reference, tmp_path):
    records, points = reference
    assert len(points) > 20
    for n in range(1, len(points) + 1):
        out = tmp_path / f"crash{n}"
        with pytest.raises(Crash):
            run_corpus([corpus], out, pipeline=pipe, writer_class=_crashing_writer(n))
        manifest = run_corpus([corpus], out, pipeline=pipe, resume=True)
        assert read_records(out) == records, f"crash at write point {n} ({points[n - 1]})"
        assert manifest["status"] == "complete"
        assert manifest["counts"]["documents"] == 5 and manifest["counts"]["errors"] == 2


def test_kill_twice_then_resume(pipe, corpus, reference, tmp_path):
    records, points = reference
    out = tmp_path / "twice"
    with pytest.raises(Crash):
        run_corpus([corpus], out, pipeline=pipe, writer_class=_crashing_writer(len(points) // 3))
    with pytest.raises(Crash):
        run_corpus([corpus], out, pipeline=pipe, resume=True, writer_class=_crashing_writer(7))
    run_corpus([corpus], out, pipeline=pipe, resume=True)
    assert read_records(out) == records


def test_cut_line_after_the_last_commit_is_dropped(pipe, corpus, reference, tmp_path):
    """A kill in the middle of a write leaves half a line past the commit: resume cuts it off."""
    out = tmp_path / "cut"
    run_corpus([corpus], out, pipeline=pipe)
    commit = json.loads((out / COMMIT_FILE).read_text())
    with (out / "documents.jsonl").open("ab") as fh:
        fh.write(b'{"doc_id": "half')
    with (out / "quotes.jsonl").open("ab") as fh:
        fh.write(b'{"doc_id": "harbour", "quote_id": "x"}\n')
    run_corpus([corpus], out, pipeline=pipe, resume=True)
    assert read_records(out) == reference[0]
    assert (out / "documents.jsonl").stat().st_size == commit["sizes"]["documents"]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_in_a_subprocess_then_resume(nlp, corpus, reference, tmp_path):
    """A real ``kill -9`` of the writing process (after its second commit) and a resume in this one."""
    out = tmp_path / "killed"
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO / 'tests')!r})
        from scale_fakes import fast_pipeline
        from stancekit.ner import load_spacy
        from stancekit.corpus import run_corpus
        from stancekit.records import RunWriter

        class Killed(RunWriter):
            def commit(self):
                super().commit()
                if self.batches == 2:
                    os.kill(os.getpid(), signal.SIGKILL)

        run_corpus([{str(corpus)!r}], {str(out)!r}, pipeline=fast_pipeline(nlp=load_spacy()), writer_class=Killed)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    partial = read_records(out)
    assert 0 < len(partial["documents"]) + len(partial["errors"]) < 7
    run_corpus([corpus], out, pipeline=fast_pipeline(nlp=nlp), resume=True)
    assert read_records(out) == reference[0]


# -- what a resume accepts and refuses ----------------------------------------------------------------

def _first_run(pipe, corpus, out):
    run_corpus([corpus], out, pipeline=pipe)
    return out


def test_resume_refused_on_other_targets_and_accepted_with_resume_anyway(nlp, pipe, corpus, tmp_path):
    out = _first_run(pipe, corpus, tmp_path / "run")
    other = fast_pipeline(targets=[other_target()], nlp=nlp)
    with pytest.raises(StancekitError) as err:
        run_corpus([corpus], out, pipeline=other, resume=True)
    assert err.value.code == "E015" and "targets" in err.value.message
    manifest = run_corpus([corpus], out, pipeline=other, resume=True, resume_anyway=True)
    assert manifest["resumed"] is True and manifest["this_run"]["skipped_done"] == 7


def test_resume_refused_on_other_config(nlp, pipe, corpus, tmp_path):
    out = _first_run(pipe, corpus, tmp_path / "run")
    with pytest.raises(StancekitError) as err:
        run_corpus([corpus], out, pipeline=fast_pipeline(chunk_chars=5000, nlp=nlp), resume=True)
    assert err.value.code == "E015" and "config" in err.value.message and "chunk_chars" in err.value.message
    run_corpus([corpus], out, pipeline=fast_pipeline(chunk_chars=5000, nlp=nlp), resume=True, resume_anyway=True)


def test_resume_refused_on_other_models(nlp, pipe, corpus, tmp_path):
    from scale_fakes import FakeBackend

    out = _first_run(pipe, corpus, tmp_path / "run")
    with pytest.raises(StancekitError) as err:
        run_corpus([corpus], out, pipeline=fast_pipeline(backend=FakeBackend("other"), nlp=nlp), resume=True)
    assert err.value.code == "E015" and "models" in err.value.message


def test_resume_refused_on_other_inputs(pipe, tmp_path):
    corpus = write_corpus(tmp_path / "in")
    out = _first_run(pipe, corpus, tmp_path / "run")
    (corpus / "extra.txt").write_text('"A new file," she said.', encoding="utf-8")
    with pytest.raises(StancekitError) as err:
        run_corpus([corpus], out, pipeline=pipe, resume=True)
    assert err.value.code == "E015" and "inputs" in err.value.message
    manifest = run_corpus([corpus], out, pipeline=pipe, resume=True, resume_anyway=True)
    assert manifest["this_run"]["documents"] == 1 and manifest["counts"]["documents"] == 6


def test_resume_accepts_other_execution_options(nlp, pipe, corpus, tmp_path):
    out = _first_run(pipe, corpus, tmp_path / "run")
    manifest = run_corpus([corpus], out, pipeline=fast_pipeline(batch_size=5, doc_timeout=30, nlp=nlp), resume=True)
    assert manifest["this_run"] == {"documents": 0, "errors": 0, "skipped_done": 7}


def test_resume_of_a_folder_without_a_fingerprint_is_refused(pipe, corpus, tmp_path):
    out = _first_run(pipe, corpus, tmp_path / "run")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest.pop("fingerprint")
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StancekitError) as err:
        run_corpus([corpus], out, pipeline=pipe, resume=True)
    assert err.value.code == "E015"
