"""Run `stancekit bench pipeline` for several worker counts and print (or append) a Markdown table.

    python benchmarks/bench_pipeline.py --docs 1000 --workers 1 2 [--engine local] [--device cpu]
        [--no-claims] [--out-dir benchmarks/results] [--append benchmarks/RESULTS.md] [--title TEXT]

Each setting runs in its own `stancekit bench pipeline` process, one after the other (never two at
once), and keeps its JSON in --out-dir. The table gives documents/s, words/s, the ratio to spaCy
alone measured in the same invocation, the fixed start, the stage seconds and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path


def run_one(args, workers: int) -> tuple[dict, str]:
    out = Path(args.out_dir) / f"bench_pipeline_{args.engine}_{args.device}_{args.docs}_w{workers}.json"
    cmd = [sys.executable, "-m", "stancekit.cli", "bench", "pipeline", "--docs", str(args.docs), "--workers",
           str(workers), "--engine", args.engine, "--device", args.device, "--json", str(out)]
    if args.no_claims:
        cmd.append("--no-claims")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text(encoding="utf-8")), "stancekit " + " ".join(shlex.quote(c) for c in cmd[3:])


def table(rows: list[tuple[dict, str]]) -> str:
    lines = ["| engine | workers | device | docs/s | words/s | × spaCy alone | spaCy alone docs/s | start s | "
             "spacy s | claims s | stance s | peak RSS MB (main / worker) | load avg |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r, _ in rows:
        st = r["stage_s"]
        lines.append(f"| {r['engine']} | {r['workers']} | {r.get('gpu') or r['device']} | {r['docs_per_s']:.2f} | "
                     f"{r['words_per_s']:.0f} | {r['ratio_vs_spacy_only']:.2f} | {r['spacy_only_docs_per_s']:.2f} | "
                     f"{r['start_s'] if r['start_s'] is not None else '–'} | {st.get('spacy', 0):.1f} | "
                     f"{st.get('claims', 0):.1f} | {st.get('stance', 0):.1f} | "
                     f"{r['peak_rss_mb']:.0f} / {r['peak_rss_worker_mb']:.0f} | "
                     f"{r['machine']['load_avg'][0]} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--engine", default="local")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-claims", action="store_true")
    ap.add_argument("--out-dir", default="benchmarks/results")
    ap.add_argument("--append", help="Markdown file to append the table to")
    ap.add_argument("--title", default=None)
    args = ap.parse_args()
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    rows = [run_one(args, w) for w in args.workers]
    first = rows[0][0]
    title = args.title or f"Pipeline, {args.docs} synthetic documents, {args.engine} engine, {args.device}"
    text = [f"### {title}", "",
            f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Machine: {first['machine']['platform']}, "
            f"{first['machine']['cpus']} CPUs, Python {first['machine']['python']}"
            + (f", GPU {first['gpu']}" if first.get("gpu") else "") + ".", "",
            "Commands:", ""] + [f"    {cmd}" for _, cmd in rows] + ["", table(rows), ""]
    if len(rows) > 1:
        base = rows[0][0]["docs_per_s"]
        text.append("Speed-up over the first setting: " + ", ".join(
            f"workers {r['workers']}: {r['docs_per_s'] / base:.2f}×" for r, _ in rows) + ".")
        text.append("")
    out = "\n".join(text)
    print(out)
    if args.append:
        with open(args.append, "a", encoding="utf-8") as fh:
            fh.write("\n" + out)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
