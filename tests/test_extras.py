"""Optional dependencies: each path that needs an extra stops with E017 naming it when the package is
missing (simulated by a ``None`` entry in ``sys.modules``, which makes the import fail), and the
base install imports everything that `stancekit run` on text and JSONL needs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stancekit.errors import StancekitError
from stancekit.extras import EXTRAS, available, require
from stancekit.ingest import html_to_document, iter_documents, read_warc

REPO = Path(__file__).resolve().parents[1]
PAGE = "<html><head><title>T</title></head><body><article><p>Some words here.</p></article></body></html>"


def _missing(monkeypatch, *modules):
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


def _e017(exc_info, extra: str, module: str) -> None:
    err = exc_info.value
    assert err.code == "E017" and f'stancekit[{extra}]' in err.message and f"'{module}'" in err.message


def test_require_names_the_extra(monkeypatch):
    assert require("json", "html") is json
    _missing(monkeypatch, "trafilatura")
    with pytest.raises(StancekitError) as exc:
        require("trafilatura", "html")
    _e017(exc, "html", "trafilatura")
    assert not available("html")


def test_html_page_without_the_html_extra(monkeypatch, tmp_path):
    _missing(monkeypatch, "trafilatura")
    with pytest.raises(StancekitError) as exc:
        html_to_document(PAGE, doc_id="p", source="p.html")
    _e017(exc, "html", "trafilatura")
    page = tmp_path / "p.html"
    page.write_text(PAGE, encoding="utf-8")
    with pytest.raises(StancekitError) as exc:  # the run stops: no per-document error record
        list(iter_documents([page]))
    _e017(exc, "html", "trafilatura")


def test_warc_without_the_warc_extra(monkeypatch, tmp_path):
    warc = tmp_path / "crawl.warc"
    warc.write_bytes(b"")
    _missing(monkeypatch, "warcio", "warcio.archiveiterator")
    with pytest.raises(StancekitError) as exc:
        list(read_warc(warc))
    _e017(exc, "warc", "warcio")


def test_warc_without_the_html_extra_stops_before_any_record(monkeypatch, tmp_path):
    """Not one E105 record per page: the missing extractor is one coded stop."""
    pytest.importorskip("warcio")
    warc = tmp_path / "crawl.warc"
    warc.write_bytes(b"")
    _missing(monkeypatch, "trafilatura")
    with pytest.raises(StancekitError) as exc:
        list(read_warc(warc))
    _e017(exc, "html", "trafilatura")


def test_text_and_jsonl_need_no_extra(monkeypatch, tmp_path):
    _missing(monkeypatch, *(m for _, (_, mods) in EXTRAS.items() for m in mods))
    (tmp_path / "a.txt").write_text("One article.", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "b1", "text": "Another."}) + "\n", encoding="utf-8")
    assert [d.doc_id for d in iter_documents([tmp_path])] == ["a", "b1"]


def test_every_extra_is_declared_and_dev_pulls_them():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    extras = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert set(EXTRAS) <= set(extras)
    dev = next(r for r in extras["dev"] if r.startswith("stancekit["))
    assert set(dev[len("stancekit["):-1].split(",")) == set(EXTRAS)  # ray too: the local-mode Ray Data test
    base = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    for _, (_, modules) in EXTRAS.items():
        for m in modules:
            assert not any(r.replace("-", "_").lower().startswith(m.lower()) for r in base), m


BLOCK = """
import importlib.abc, sys
BLOCKED = {blocked!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)")
sys.meta_path.insert(0, Block())
"""


def test_base_install_imports_the_run_path():
    """What `make run` uses imports with every extra's packages unimportable (a fresh interpreter)."""
    blocked = sorted({m for _, (_, mods) in EXTRAS.items() for m in mods})
    code = BLOCK.format(blocked=blocked) + (
        "import stancekit, stancekit.cli, stancekit.pipeline, stancekit.ingest, stancekit.stance, "
        "stancekit.claims, stancekit.records, stancekit.schema, stancekit.quotes, stancekit.speakers, "
        "stancekit.ner, stancekit.quantities, stancekit.aggregate, stancekit.engine, stancekit.report, "
        "stancekit.render\n"
        "from typer.testing import CliRunner\n"
        "res = CliRunner().invoke(stancekit.cli.app, ['run', '--help'])\n"
        "assert res.exit_code == 0, res.output\n"
        "print('ok', sorted(m for m in BLOCKED if m in sys.modules))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok []"
