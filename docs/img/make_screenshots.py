"""Regenerate the documentation screenshots (docs/img/*.png) with headless Chromium.

Runs the default pipeline with the ``certification`` target over the team-written sample corpus
(``corpora/sample/sample.jsonl``) into a temporary folder, writes the rendered view of one article and
the run report, and captures the top of each page through the DevTools-protocol driver of the browser
tests (``tests/browser.py``), scaled down so the PNGs stay small.

    python docs/img/make_screenshots.py [--out docs/img]

Needs Chromium (Debian: ``apt-get install -y chromium``) and ``pip install -e '.[dev]'``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))


def capture(browser, page: Path, out: Path, *, height: int, scale: float) -> Path:
    import base64

    browser.open(page, settle_s=1.0)
    if browser.console_errors() or browser.remote_requests():
        raise RuntimeError(f"{page.name}: console errors {browser.console_errors()}, "
                           f"remote requests {browser.remote_requests()}")
    data = browser.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                        clip={"x": 0, "y": 0, "width": browser.width, "height": height, "scale": scale})["data"]
    out.write_bytes(base64.b64decode(data))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = ap.parse_args()

    import stancekit
    from browser import Browser
    from stancekit.config import load_config
    from stancekit.report import write_report

    sample = ROOT / "corpora" / "sample"
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="stancekit-shots-") as tmp:
        tmp = Path(tmp)
        run = tmp / "run"
        stancekit.run([str(sample / "sample.jsonl")], run, force=True, config=load_config(targets=["certification"]))
        rows = {r["id"]: r for r in map(json.loads, (sample / "sample.jsonl").read_text(encoding="utf-8").splitlines())}
        art = rows["certification_debate"]
        nlp = stancekit.load(targets=["certification"])
        result = nlp(art["text"], doc_id=art["id"], title=art["title"], date=art["date"])
        article_page = tmp / "article.html"
        article_page.write_text(stancekit.render(result, text=art["text"], page=True), encoding="utf-8")
        report_page = write_report(run, tmp / "report.html")
        with Browser(width=1100, height=900) as b:
            shots = [capture(b, article_page, args.out / "render_article.png", height=900, scale=0.7),
                     capture(b, report_page, args.out / "report.png", height=1300, scale=0.6)]
    for p in shots:
        print(f"{p.relative_to(ROOT)}: {p.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
