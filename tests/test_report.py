"""stancekit report: one self-contained page per run; synthetic runs (no models), up to 10,000 documents."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stancekit.cli import app
from stancekit.errors import StancekitError
from stancekit.report import ReportLimits, build_report, write_report
from synthetic_run import write_synthetic_run


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.hrefs, self.script_srcs, self.tags, self.script_bodies = set(), [], [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if tag == "script":
            self.script_bodies.append("")
            if a.get("src"):
                self.script_srcs.append(a["src"])


    def handle_data(self, data):
        if self.tags and self.tags[-1] == "script":
            self.script_bodies[-1] += data


def _parse(html: str) -> _Page:
    p = _Page()
    p.feed(html)
    return p


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    return write_synthetic_run(tmp_path_factory.mktemp("small") / "run", 40, seed=1, n_errors=2)


def test_report_sections_tables_and_links(small_run):
    html = build_report(small_run)
    page = _parse(html)
    for section in ("summary", "speakers", "time", "outlets", "claims", "documents", "speaker-table",
                    "claim-table", "outlet-table", "errors"):
        assert section in page.ids, section
    # counts come from the records
    n_quotes = sum(1 for _ in (small_run / "quotes.jsonl").open())
    assert f"<b>{n_quotes:,}</b><span>quotes</span>" in html
    assert "<code>E102</code></td><td>0" not in html and "<code>E102</code>" in html
    # every in-page link points at an element of the page; evidence links exist and land on quotes
    local = [h[1:] for h in page.hrefs if h.startswith("#")]
    assert local and all(h in page.ids for h in local)
    evidence = re.findall(r'<a class="evidence" href="#([^"]+)">', html)
    assert evidence and all(re.fullmatch(r"sk-[0-9a-f]{10}-q\d+", e) for e in evidence)
    # speakers, plots (plotly, inlined: no remote script), quantities
    assert "Ana Ruiz" in html and "(group)" in html
    assert page.script_srcs == [] and "plotly" in html and html.count('class="plotly-graph-div"') == 4
    assert "→ " in html and "percent" in html
    # rendered views found the texts again through the .jsonl input
    assert "text not stored" not in html.split('id="documents"')[1]


def test_each_evidence_quote_is_the_quote_at_its_anchor(small_run):
    html = build_report(small_run)
    for anchor, text in re.findall(r'<a class="evidence" href="#([^"]+)">“([^”]*)”</a>', html)[:20]:
        m = re.search(rf'<mark [^>]*id="{anchor}"[^>]*>(.*?)</mark>', html)
        assert m, anchor
        assert re.sub(r"<[^>]+>", "", m.group(1)) == text


def test_report_without_dates_outlets_or_targets(tmp_path):
    run = write_synthetic_run(tmp_path / "run", 10, seed=2, targets=(), n_errors=0)
    docs = [json.loads(line) for line in (run / "documents.jsonl").open()]
    with (run / "documents.jsonl").open("w") as fh:
        for d in docs:
            d.update(date=None, url=None)
            fh.write(json.dumps(d) + "\n")
    html = build_report(run)
    assert "Not shown: no stance was computed" in html or "no document has a date" in html
    assert "no document has a URL or an outlet" in html
    assert "No document failed." in html
    assert 'class="plotly-graph-div"' not in html


def test_report_escapes_hostile_records(tmp_path):
    run = write_synthetic_run(tmp_path / "run", 5, seed=3, n_errors=1)
    evil = '<script>alert(1)</script>"\'><img src=x onerror=alert(2)> javascript:alert(3)'
    for name in ("documents", "quotes", "speakers", "errors", "claims"):
        rows = [json.loads(line) for line in (run / f"{name}.jsonl").open()]
        for r in rows:
            for key in ("title", "message"):
                if key in r:
                    r[key] = evil
            if name == "documents":
                r["url"] = "javascript:alert(4)"
                r["outlet"] = evil  # lands in the plotly figures' JSON
            if name == "speakers":
                r["name"] = "Ana " + evil
                r["roles"] = [evil]
            if name == "quotes" and r["speaker"]:
                r["speaker"]["name"] = "Ana " + evil
            if name == "claims":
                r["quantities"][0]["text"] = evil
        with (run / f"{name}.jsonl").open("w") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
    html = build_report(run, limits=ReportLimits(documents=5))
    page = _parse(html)
    assert "img" not in page.tags
    assert not any(h.lower().startswith("javascript") for h in page.hrefs)
    assert page.script_srcs == []
    assert all("alert(1)" not in body or "Plotly.newPlot" in body for body in page.script_bodies)
    assert 'class="plotly-graph-div"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_report_needs_a_run_directory(tmp_path):
    with pytest.raises(StancekitError) as err:
        build_report(tmp_path)
    assert err.value.code == "E013"
    res = CliRunner().invoke(app, ["report", str(tmp_path), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 2 and "[E013]" in res.output


def test_cli_report_writes_a_file(small_run, tmp_path):
    out = tmp_path / "sub" / "report.html"
    res = CliRunner().invoke(app, ["report", str(small_run), "--out", str(out), "--documents", "3"])
    assert res.exit_code == 0, res.output
    assert out.exists() and str(out) in res.output
    assert out.read_text(encoding="utf-8").count('<div class="sk-render"') == 3


def test_report_of_a_10k_document_run_stays_under_10_mb(tmp_path):
    run = write_synthetic_run(tmp_path / "run", 10_000, seed=4)
    out = write_report(run, tmp_path / "report.html")
    size = out.stat().st_size
    assert size <= 10 * 1024 * 1024, size
    html = out.read_text(encoding="utf-8")
    assert "<b>10,000</b><span>documents</span>" not in html  # 2% of the inputs are errors ...
    assert "<b>9,800</b><span>documents</span>" in html and "<b>200</b><span>errors</span>" in html
    assert html.count('<div class="sk-render"') <= ReportLimits().documents
    assert html.count("<tr>") < 400
