"""The command line.

Most tests invoke the Typer app in this process with ``typer.testing.CliRunner``: the runs share the
session's loaded pipeline (``stancekit run`` gets it through ``run_corpus(pipeline=...)``), and the
error tests reach no model at all. Two tests start the installed console script in a subprocess, as
a user does: the entry point and its exit codes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import stancekit
from stancekit import cli
from stancekit.records import validate

EXE = shutil.which("stancekit") or str(Path(sys.executable).parent / "stancekit")
ARTICLE = ("Bridge repairs\n\nThe transport secretary, Lena Ortiz, visited the bridge on Friday. "
           "“We will reopen it before winter,” she told reporters. “Every engineer here agrees.”\n")


def _runner() -> CliRunner:
    try:  # click < 8.2 mixes stderr into stdout unless told not to
        return CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 keeps them apart and has no such option
        return CliRunner()


def invoke(*args: str, input: str | None = None):
    """Run ``stancekit ARGS`` in this process; an exception a command lets through fails the test."""
    res = _runner().invoke(cli.app, [str(a) for a in args], input=input)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res


def coded(res, code: str) -> None:
    """Exit 2 with one coded message on stderr and no traceback."""
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    assert f"[{code}]" in res.stderr and res.stderr.count("stancekit: [E") == 1, res.stderr
    assert "Traceback" not in res.stderr + res.stdout


@pytest.fixture(scope="module")
def shared_pipeline(pipeline):
    """`stancekit run` with the default config and --target certification uses the session's pipeline."""
    from stancekit import corpus as pipeline_mod

    real = pipeline_mod.run_corpus
    key = json.dumps(pipeline.config.to_dict(), sort_keys=True, default=str)
    used = []

    def run_corpus(inputs, out_dir, *, config=None, **kwargs):
        if config is not None and json.dumps(config.to_dict(), sort_keys=True, default=str) == key:
            kwargs["pipeline"] = pipeline
            used.append(out_dir)
        return real(inputs, out_dir, config=config, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline_mod, "run_corpus", run_corpus)
        yield used


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    (d / "bridge.txt").write_text(ARTICLE, encoding="utf-8")
    lines = [json.dumps({"id": "j1", "text": ARTICLE.replace("Lena Ortiz", "Omar Diaz").replace("she", "he")}),
             "{broken json"]
    (d / "more.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def run_dir(shared_pipeline, corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "out"
    res = invoke("run", corpus, "--out", out, "--target", "certification", "--parquet")
    assert res.exit_code == 0, res.stderr
    assert shared_pipeline == [out]  # the session's models, not a second load
    return out, res


# -- runs (the session's pipeline) -------------------------------------------------------------------

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
    # the table names the speaker; the summary line counts
    assert "Lena Ortiz" in res.stdout and "2 documents" in res.stdout


def test_read_run_dataframes(run_dir):
    out, _ = run_dir
    frames = stancekit.read_run(out)
    q = frames["quotes"]
    assert {"speaker_name", "stance_certification", "score_certification"} <= set(q.columns)
    assert set(q["speaker_name"]) >= {"Lena Ortiz", "Omar Diaz"}
    assert len(frames["documents"]) == 2


def test_refuses_to_overwrite_then_resume(run_dir, corpus):
    out, _ = run_dir
    coded(invoke("run", corpus, "--out", out), "E002")
    res = invoke("run", corpus, "--out", out, "--target", "certification", "--resume", "--quiet")
    assert res.exit_code == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["this_run"]["skipped_done"] == 3  # two documents and the bad line
    assert manifest["counts"]["documents"] == 2  # nothing written twice
    assert "Quotes" not in res.stdout and "2 documents" in res.stdout  # --quiet: the summary only


def test_resume_with_other_inputs_is_refused(run_dir, corpus, tmp_path):
    out, _ = run_dir
    extra = tmp_path / "extra.txt"
    extra.write_text(ARTICLE, encoding="utf-8")
    before = (out / "documents.jsonl").read_bytes()
    coded(invoke("run", corpus, extra, "--out", out, "--target", "certification", "--resume"), "E015")
    assert (out / "documents.jsonl").read_bytes() == before


def test_stdin_input(shared_pipeline, tmp_path):
    out = tmp_path / "o"
    res = invoke("run", "-", "--out", out, "--quiet", "--target", "certification", input=ARTICLE)
    assert res.exit_code == 0, res.stderr
    assert out in shared_pipeline
    doc = json.loads((out / "documents.jsonl").read_text().splitlines()[0])
    assert doc["doc_id"] == "stdin" and doc["n_quotes"] >= 2


def test_html_input_without_the_html_extra(shared_pipeline, tmp_path, monkeypatch):
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>Hello.</p></body></html>", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "trafilatura", None)  # import trafilatura now raises ImportError
    res = invoke("run", page, "--out", tmp_path / "o", "--target", "certification")
    coded(res, "E017")
    assert "stancekit[html]" in res.stderr


# -- options reach the configuration (run_corpus replaced: no model) ---------------------------------

@pytest.fixture()
def captured(monkeypatch):
    """``run_corpus`` replaced by a recorder that returns an empty manifest."""
    from stancekit import corpus as pipeline_mod

    calls = []

    def fake(inputs, out_dir, *, config=None, **kwargs):
        calls.append({"inputs": inputs, "out": out_dir, "config": config, **kwargs})
        return {"counts": {k: 0 for k in ("documents", "quotes", "speakers", "claims", "errors")},
                "timings_s": {"total": 0.0}}

    monkeypatch.setattr(pipeline_mod, "run_corpus", fake)
    return calls


def test_run_options_reach_the_config(captured, tmp_path):
    (tmp_path / "a.txt").write_text("Hello.", encoding="utf-8")
    res = invoke("run", tmp_path / "a.txt", "--out", tmp_path / "o", "--no-claims", "--batch-size", "3",
                 "--workers", "2", "--doc-timeout", "1.5", "--set", "pipeline.chunk_chars=5000",
                 "--set", "stance.max_tokens=128", "--device", "cpu", "--parquet", "--strict", "--quiet",
                 "--encoder", "all-mpnet-base-v2")
    assert res.exit_code == 0, res.stderr
    (call,) = captured
    cfg = call["config"]
    assert cfg.claims.enabled is False and cfg.batch_size == 3 and cfg.workers == 2 and cfg.doc_timeout == 1.5
    assert cfg.chunk_chars == 5000 and cfg.max_tokens == 128 and cfg.device == "cpu" and cfg.targets == []
    assert cfg.stance_encoder == "all-mpnet-base-v2"
    assert call["parquet"] is True and call["strict"] is True and call["resume"] is False
    assert "No target given" in res.stderr and "0 documents" in res.stdout


def test_resume_anyway_implies_resume(captured, tmp_path):
    (tmp_path / "a.txt").write_text("Hello.", encoding="utf-8")
    assert invoke("run", tmp_path / "a.txt", "--out", tmp_path / "o", "--resume-anyway", "-q").exit_code == 0
    assert captured[0]["resume"] is True and captured[0]["resume_anyway"] is True


def test_typed_option_values_are_checked_by_the_parser(captured, tmp_path):
    (tmp_path / "a.txt").write_text("Hello.", encoding="utf-8")
    res = invoke("run", tmp_path / "a.txt", "--out", tmp_path / "o", "--batch-size", "many")
    assert res.exit_code == 2 and captured == []  # click's usage error, before anything runs
    res = invoke("run", tmp_path / "a.txt", "--out", tmp_path / "o", "--batch-size", "0")
    assert res.exit_code == 2 and captured == []


# -- every command's errors are coded (exit 2, one line, no traceback, no model loaded) -----------------

@pytest.fixture()
def files(tmp_path):
    (tmp_path / "a.txt").write_text("Hello.", encoding="utf-8")
    (tmp_path / "rows.jsonl").write_text(
        "".join(json.dumps({"target": "t", "text": f"text {i}", "label": lab}) + "\n"
                for i, lab in enumerate(["favor", "against", "neutral"] * 2)), encoding="utf-8")
    (tmp_path / "bad.toml").write_text("[pipeline]\nbatch_size = 'many'\n", encoding="utf-8")
    (tmp_path / "unknown.toml").write_text("[pipeline]\nbatch_sise = 4\n", encoding="utf-8")
    return tmp_path


ERRORS = [
    # run
    ("E001", ["run", "{d}/nope.txt", "--out", "{d}/o"]),
    ("E009", ["run", "{d}/bad.toml", "--out", "{d}/o"]),
    ("E003", ["run", "{d}/a.txt", "--out", "{d}/o", "--target", "no-such-target"]),
    ("E003", ["run", "{d}/a.txt", "--out", "{d}/o", "--target", "{d}/no such folder/t.toml"]),
    ("E003", ["run", "{d}/a.txt", "--out", "{d}/o", "--target", "text:"]),
    ("E004", ["run", "{d}/a.txt", "--out", "{d}/o", "--target", "{d}/bad.toml"]),
    ("E005", ["run", "{d}/a.txt", "--out", "{d}/o", "--config", "{d}/bad.toml"]),
    ("E005", ["run", "{d}/a.txt", "--out", "{d}/o", "--config", "{d}/unknown.toml"]),
    ("E005", ["run", "{d}/a.txt", "--out", "{d}/o", "--set", "pipeline.nokey=1"]),
    ("E005", ["run", "{d}/a.txt", "--out", "{d}/o", "--set", "no-equals-sign"]),
    ("E005", ["run", "{d}/a.txt", "--out", "{d}/o", "--device", "gpu"]),
    ("E012", ["run", "{d}/a.txt", "--out", "{d}/o", "--engine", "spark"]),
    # report, serve
    ("E013", ["report", "{d}", "--out", "{d}/r.html"]),
    ("E005", ["serve", "--config", "{d}/bad.toml"]),
    # eval
    ("E001", ["eval", "quotes", "{d}/nope"]),
    ("E014", ["eval", "quotes", "{d}", "--format", "weird"]),
    ("E001", ["eval", "stance", "--data", "{d}/nope.jsonl"]),
    ("E014", ["eval", "stance", "--data", "{d}/rows.jsonl", "--format", "weird"]),
    ("E006", ["eval", "stance", "--data", "{d}/rows.jsonl", "--backend", "magic"]),
    ("E012", ["eval", "stance", "--data", "{d}/rows.jsonl", "--backend", "nli", "--encoder", "all-mpnet-base-v2"]),
    ("E014", ["eval", "claims", "{d}/rows.jsonl", "--format", "weird"]),
    # train
    ("E001", ["train", "stance", "--data", "{d}/nope.jsonl", "--base", "x", "--out", "{d}/m"]),
    ("E012", ["train", "stance", "--data", "{d}/rows.jsonl", "--base", "x", "--out", "{d}/m", "--arch", "rnn"]),
    ("E001", ["train", "quotes", "--data", "{d}/nope", "--out", "{d}/m"]),
    ("E014", ["train", "quotes", "--data", "{d}", "--format", "weird", "--out", "{d}/m"]),
    ("E001", ["train", "claims", "--data", "{d}/nope.jsonl", "--out", "{d}/h.json"]),
    ("E012", ["train", "claims", "--data", "{d}/rows.jsonl", "--out", "{d}/h.json", "--threshold", "high"]),
    # bench
    ("E012", ["bench", "stance", "--n", "4", "--device", "tpu"]),
]


@pytest.mark.parametrize("code,args", ERRORS, ids=[f"{c}-{' '.join(a[:2])}" for c, a in ERRORS])
def test_errors_are_coded(files, code, args, monkeypatch):
    from stancekit import ner

    def no_models(*a, **k):
        raise AssertionError("the error should come before the spaCy pipeline loads")

    monkeypatch.setattr(ner, "load_spacy", no_models)
    coded(invoke(*[a.format(d=files) for a in args]), code)
    assert not (files / "o").exists() or not any((files / "o").iterdir())  # a refused run writes nothing


@pytest.mark.slow
def test_unknown_backend_is_coded(files):
    """The backend is looked up when the stance stage starts, after spaCy has loaded."""
    coded(invoke("run", files / "a.txt", "--out", files / "o", "--backend", "magic"), "E006")
    assert not (files / "o").exists()


def test_ray_engine_without_ray(files, monkeypatch):
    """`--engine ray` without the `ray` extra: E016 naming the extra, and nothing written."""
    from stancekit import ner

    def no_models(*a, **k):
        raise AssertionError("the error should come before the spaCy pipeline loads")

    monkeypatch.setattr(ner, "load_spacy", no_models)
    monkeypatch.setitem(sys.modules, "ray", None)
    res = invoke("run", files / "a.txt", "--out", files / "o", "--engine", "ray")
    coded(res, "E016")
    assert "stancekit[ray]" in res.stderr
    assert not (files / "o").exists() or not any((files / "o").iterdir())


def test_serve_without_the_serve_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "fastapi", None)
    res = invoke("serve")
    coded(res, "E017")
    assert "stancekit[serve]" in res.stderr and "fastapi" in res.stderr


def test_train_stance_without_the_train_extra(files, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)
    res = invoke("train", "stance", "--data", files / "rows.jsonl", "--base", "x", "--out", files / "m")
    coded(res, "E017")
    assert "stancekit[train]" in res.stderr and not (files / "m").exists()


# -- commands that need no model ----------------------------------------------------------------------

def test_targets_command_lists_certification():
    res = invoke("targets")
    assert res.exit_code == 0 and res.stdout.startswith("certification")


def test_models_command_names_the_bundled_encoder():
    res = invoke("models")
    assert res.exit_code == 0
    rows = [ln.split("\t") for ln in res.stdout.splitlines()]
    assert any(r[0] == "all-MiniLM-L6-v2" for r in rows)


def test_version_in_process():
    res = invoke("--version")
    assert res.exit_code == 0 and res.stdout.strip() == f"stancekit {stancekit.__version__}"


# -- the installed console script (subprocess) ----------------------------------------------------------

def test_console_script_version():
    res = subprocess.run([EXE, "--version"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and res.stdout.strip() == f"stancekit {stancekit.__version__}"


def test_console_script_exit_codes(tmp_path):
    res = subprocess.run([EXE, "run", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "[E001]" in res.stderr and "Traceback" not in res.stderr
    res = subprocess.run([EXE, "run", "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "Missing argument" in res.stderr  # a usage error: click's exit 2
    res = subprocess.run([EXE, "targets"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "certification" in res.stdout
