"""The notebooks run top to bottom (nbclient, a fresh kernel, a temporary working folder) with the
embedded defaults and no network, and are committed without outputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import REPO

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e '.[dev]')")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[dev]')")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[dev]')")

NOTEBOOKS = REPO / "notebooks"
NAMES = ["quickstart.ipynb", "corpus_analysis.ipynb"]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def _execute(name: str, workdir: Path):
    """Run a notebook in a fresh kernel whose working folder is ``workdir``; the executed notebook."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    saved = dict(os.environ)
    # the kernel (a child process) sees this checkout's sources first and never reaches a model hub
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), saved.get("PYTHONPATH")) if p)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.pop("RUN_DIR", None)
    try:
        nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                resources={"metadata": {"path": str(workdir)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def _outputs(nb, kind: str) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == kind]


@pytest.mark.slow
def test_quickstart_runs(tmp_path):
    nb = _execute("quickstart.ipynb", tmp_path)
    assert not _outputs(nb, "error")
    html = [o["data"]["text/html"] for o in _outputs(nb, "execute_result") + _outputs(nb, "display_data")
            if "text/html" in o.get("data", {})]
    assert any("sk-quote" in h for h in html)  # the rendered article
    assert (tmp_path / "out" / "certification_debate.html").stat().st_size > 5000
    assert (tmp_path / "out" / "us_aid.toml").exists()


@pytest.mark.slow
def test_corpus_analysis_runs(tmp_path):
    nb = _execute("corpus_analysis.ipynb", tmp_path)
    assert not _outputs(nb, "error")
    run = tmp_path / "out" / "sample_run"
    assert (run / "manifest.json").exists() and (run / "quotes.jsonl").stat().st_size > 0
    report = (run / "report.html").read_text(encoding="utf-8")
    assert "plotly" in report.lower() and len(report) > 100_000
    plots = [o for o in _outputs(nb, "display_data") if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert plots, "the stance-over-time figure was not displayed"
