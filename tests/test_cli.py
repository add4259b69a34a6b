"""The console script, run as a user runs it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stancekit.records import validate

EXE = shutil.which("stancekit") or str(Path(sys.executable).parent / "stancekit")
ARTICLE = ("Bridge repairs\n\nThe transport secretary, Lena Ortiz, visited the bridge on Friday. "
           "“We will reopen it before winter,” she told reporters. “Every engineer here agrees.”\n")


def _run(*args, stdin=None, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([EXE, *args], capture_output=True, text=True, input=stdin, env=e, timeout=600)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    (d / "bridge.txt").write_text(ARTICLE, encoding="utf-8")
    lines = [json.dumps({"id": "j1", "text": ARTICLE.replace("Lena Ortiz", "Omar Diaz").replace("she", "he")}),
             "{broken json"]
    (d / "more.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def run_dir(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "out"
    res = _run("run", str(corpus), "--out", str(out), "--target", "certification", "--parquet")
    assert res.returncode == 0, res.stderr
    return out, res


def test_run_writes_every_file_and_valid_records(run_dir):
    out, res = run_dir
    for name in ("documents", "quotes", "speakers", "claims", "errors"):
        assert (out / f"{name}.jsonl").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["documents"] == 2 and manifest["counts"]["errors"] == 1
    assert manifest["schemas"]["quote"] == "quote.v1"
    assert "stance" in manifest["models"] and manifest["config"]["targets"] == ["certification"]
    kinds = {"documents": "document", "quotes": "quote", "speakers": "speaker", "errors": "error"}
    for name, kind in kinds.items():
        for line in (out / f"{name}.jsonl").read_text().splitlines():
            assert not validate(json.loads(line), kind)
    err = json.loads((out / "errors.jsonl").read_text().splitlines()[0])
    assert err["code"] == "E101" and err["doc_id"] == "more:2"
    speakers = {json.loads(ln)["name"] for ln in (out / "speakers.jsonl").read_text().splitlines()}
    assert {"Lena Ortiz", "Omar Diaz"} <= speakers
    assert (out / "quotes.parquet").exists()
    # the table names the speaker
    assert "Lena Ortiz" in res.stdout and "2 documents" in res.stdout


def test_read_run_dataframes(run_dir):
    import stancekit

    out, _ = run_dir
    frames = stancekit.read_run(out)
    q = frames["quotes"]
    assert {"speaker_name", "stance_certification", "score_certification"} <= set(q.columns)
    assert set(q["speaker_name"]) >= {"Lena Ortiz", "Omar Diaz"}
    assert len(frames["documents"]) == 2


def test_refuses_to_overwrite_then_force_and_resume(run_dir, corpus):
    out, _ = run_dir
    res = _run("run", str(corpus), "--out", str(out))
    assert res.returncode == 2
    assert "E002" in res.stderr and "Traceback" not in res.stderr
    res = _run("run", str(corpus), "--out", str(out), "--target", "certification", "--resume", "--quiet")
    assert res.returncode == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["this_run"]["skipped_done"] == 3  # two documents and the bad line
    assert manifest["counts"]["documents"] == 2  # nothing written twice


def test_user_errors_are_coded_without_traceback(tmp_path):
    res = _run("run", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and "E001" in res.stderr and "Traceback" not in res.stderr
    (tmp_path / "a.txt").write_text("Hello.", encoding="utf-8")
    res = _run("run", str(tmp_path / "a.txt"), "--out", str(tmp_path / "o"), "--target", "no-such-target")
    assert res.returncode == 2 and "E003" in res.stderr and "Traceback" not in res.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[pipeline]\nbatch_size = 'many'\n", encoding="utf-8")
    res = _run("run", str(tmp_path / "a.txt"), "--out", str(tmp_path / "o2"), "--config", str(bad))
    assert res.returncode == 2 and "E005" in res.stderr and "Traceback" not in res.stderr


def test_stdin_input(tmp_path):
    out = tmp_path / "o"
    res = _run("run", "-", "--out", str(out), "--quiet", "--no-claims", stdin=ARTICLE)
    assert res.returncode == 0, res.stderr
    doc = json.loads((out / "documents.jsonl").read_text().splitlines()[0])
    assert doc["doc_id"] == "stdin" and doc["n_quotes"] >= 2


def test_targets_command_lists_certification():
    res = _run("targets")
    assert res.returncode == 0 and res.stdout.startswith("certification")
