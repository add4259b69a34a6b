"""Headless Chromium loads the rendered article and the run report: no console errors, no network,
the expected speakers, quotes and plots in the DOM, screenshots taken."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

import stancekit
from browser import Browser, find_chromium
from conftest import SAMPLE
from synthetic_run import write_synthetic_run
from test_render import _example

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(find_chromium() is None,
                                 reason="Chromium is not installed (Debian: apt-get install -y chromium)")]
pytest.importorskip("websocket", reason="websocket-client is not installed (pip install -e '.[dev]')")


@pytest.fixture(scope="module")
def browser():
    with Browser(width=1000, height=800) as b:
        yield b


@pytest.fixture(scope="module")
def article(pipeline):
    """A sample article through the default models, with the certification target."""
    text = (SAMPLE / "articles" / "certification_debate.txt").read_text(encoding="utf-8")
    return text, pipeline(text, doc_id="certification_debate", title="Certification debate")


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def _clean(b: Browser) -> None:
    assert b.console_errors() == []
    assert b.remote_requests() == []


def test_rendered_article_in_chromium(browser, article, tmp_path):
    text, result = article
    page = tmp_path / "article.html"
    page.write_text(stancekit.render(result, text=text, page=True), encoding="utf-8")
    browser.open(page)
    _clean(browser)
    marks = browser.evaluate("[...document.querySelectorAll('mark.sk-quote')].map(m => m.textContent)")
    assert len(marks) >= len(result.quotes) - 1 and len(marks) > 5
    assert set(marks) <= {q["text"] for q in result.quotes}
    names = browser.evaluate("[...document.querySelectorAll('.sk-speakers .sk-name')].map(n => n.textContent)")
    expected = {s["name"] for s in result.speakers if s.get("name")}
    assert set(names) == expected and "Adriana Velandia" in names
    # every mention and label link lands on a speaker entry; following one scrolls to it
    dangling = browser.evaluate("[...document.querySelectorAll('a[href^=\"#\"]')]"
                                ".filter(a => !document.querySelector(a.getAttribute('href'))).length")
    assert dangling == 0
    pronoun = browser.evaluate("(() => { const a = document.querySelector('a.sk-mention[data-resolution=pronoun]');"
                               " a.click(); return [a.textContent, location.hash,"
                               " document.querySelector(location.hash + ' .sk-name').textContent]; })()")
    assert pronoun[0].lower() in ("he", "she", "they", "it") and pronoun[1].startswith("#sk-") and pronoun[2]
    colours = browser.evaluate("[...new Set([...document.querySelectorAll('mark.sk-quote')]"
                               ".map(m => getComputedStyle(m).backgroundColor))]")
    assert len(colours) >= 2  # more than one stance colour on this article
    shot = browser.screenshot(tmp_path / "article.png", full_page=True)
    w, h = _png_size(shot)
    assert w == 1000 and h > 800 and shot.stat().st_size > 20_000


def test_hostile_article_runs_no_script(browser, tmp_path):
    ex = _example('<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>"\'>')
    ex["document"]["url"] = "javascript:window.__pwned=3"
    page = tmp_path / "hostile.html"
    page.write_text(stancekit.render(ex, page=True), encoding="utf-8")
    browser.open(page)
    assert browser.evaluate("typeof window.__pwned") == "undefined"
    assert browser.evaluate("document.querySelectorAll('img, script').length") == 0
    # clicking every link changes nothing but the hash
    browser.evaluate("[...document.querySelectorAll('a')].forEach(a => a.click())")
    assert browser.evaluate("typeof window.__pwned") == "undefined"
    assert browser.evaluate("location.protocol") == "file:"
    _clean(browser)


def test_report_in_chromium(browser, tmp_path):
    from stancekit.report import write_report

    run = write_synthetic_run(tmp_path / "run", 60, seed=5, n_errors=3)
    out = write_report(run, tmp_path / "report.html")
    browser.open(out, settle_s=1.0)
    _clean(browser)
    plots = browser.evaluate("document.querySelectorAll('.js-plotly-plot .main-svg').length")
    assert plots >= 4  # plotly drew the figures (two targets × over time and per outlet)
    traces = browser.evaluate("document.querySelectorAll('#time .js-plotly-plot .scatterlayer .trace').length")
    assert traces == 6  # three stances × two targets
    speakers = browser.evaluate("[...document.querySelectorAll('#speaker-table b.speaker')].map(b => b.textContent)")
    assert "Ana Ruiz" in speakers
    assert browser.evaluate("document.querySelector('#errors').textContent").count("E102") >= 1
    # an evidence link opens the quote in its document's view
    hit = browser.evaluate("(() => { const a = document.querySelector('a.evidence'); a.click();"
                           " const m = document.querySelector(location.hash);"
                           " return [a.textContent, m.tagName, m.textContent]; })()")
    assert hit[1] == "MARK" and hit[0].strip("“”") == hit[2]
    shot = browser.screenshot(tmp_path / "report.png", full_page=True, max_height=3000)
    w, h = _png_size(shot)
    assert w == 1000 and h == 3000
