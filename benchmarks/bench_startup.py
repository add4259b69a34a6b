"""Startup and first-result latency of stancekit on one article (CPU by default).

Two measurements, each in fresh processes, so that nothing is warm except the disk caches:

(a) CLI: two consecutive ``stancekit run ARTICLE --out DIR --target T --force`` subprocesses. With
    ``--fresh-cache`` (the default) both use a new, empty ``$STANCEKIT_CACHE``, so the first run is cold
    (general-set embeddings and the few-shot head are computed and cached) and the second is the warm
    case the target speaks of (second run <= 10 s wall). Wall time is measured around the subprocess;
    the stage times come from the run's ``manifest.json`` (``timings_s``).
(b) Python API, in a fresh process with the caches warm (after (a)): ``import stancekit``,
    ``stancekit.load(targets=[T])`` and the first call on the article (target <= 8 s). The lazy loads
    that the first call would do anyway are done one by one first so that each is timed: the stance
    model (``pipe.backend``), the stance head of each target (``backend.head_for``: from the disk cache
    when warm) and the claims stage's encoder (``pipe.detector.encoder``); then the call itself, with the
    pipeline's own per-stage times (``pipe.timings``: spaCy stages, claims, stance). A second call on the
    same text shows the steady state.

    python benchmarks/bench_startup.py --json benchmarks/results/startup_cpu.json
    python benchmarks/bench_startup.py --article my.txt --target certification --keep-cache

Prints one JSON object (and writes it with ``--json``). The machine's load average at start and end is
recorded, and the CPU time (user + system) of every child process: on a shared machine the wall times are
upper bounds, and CPU time is the better guide to what an idle machine of the same kind would take (with
two torch threads, an idle machine's wall time can be below its CPU time).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ARTICLE = REPO / "corpora" / "sample" / "articles" / "certification_debate.txt"
TARGET_CLI_S = 10.0
TARGET_API_S = 8.0

# Runs in a fresh interpreter for (b); prints one JSON line.
_API_CHILD = r"""
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
cpu = {}
import stancekit
t_import = time.perf_counter() - t0
cpu["import_stancekit"] = time.process_time() - c0
article, targets = sys.argv[1], sys.argv[2].split(",")
text = open(article, encoding="utf-8").read()
steps = {"import_stancekit": t_import}
def timed(name, fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    steps[name] = time.perf_counter() - t
    cpu[name] = time.process_time() - c
    return out
pipe = timed("load", lambda: stancekit.load(targets=targets))
backend = timed("stance_model", lambda: pipe.backend)
head = {}
c = time.process_time()
for tg in pipe.targets:
    t = time.perf_counter(); backend.head_for(tg); head[tg.id] = time.perf_counter() - t
steps["stance_head"] = sum(head.values())
cpu["stance_head"] = time.process_time() - c
enc = timed("claims_model", lambda: pipe.detector.encoder)
before = dict(pipe.timings)
res = timed("first_call", lambda: pipe(text, doc_id="bench"))
stages = {k: round(v - before.get(k, 0.0), 3) for k, v in pipe.timings.items()}
before = dict(pipe.timings)
t = time.perf_counter(); pipe(text, doc_id="bench"); second = time.perf_counter() - t
stages2 = {k: round(v - before.get(k, 0.0), 3) for k, v in pipe.timings.items()}
total = time.perf_counter() - t0
print(json.dumps({"steps_s": {k: round(v, 3) for k, v in steps.items()},
                  "steps_cpu_s": {k: round(v, 3) for k, v in cpu.items()},
                  "load_plus_first_call_cpu_s": round(sum(v for k, v in cpu.items() if k != "import_stancekit"), 3), "head_s": {k: round(v, 3) for k, v in head.items()},
                  "first_call_stages_s": stages, "second_call_s": round(second, 3), "second_call_stages_s": stages2,
                  "load_plus_first_call_s": round(sum(v for k, v in steps.items() if k != "import_stancekit"), 3),
                  "import_to_first_record_s": round(sum(steps.values()), 3), "process_total_s": round(total, 3),
                  "quotes": len(res.quotes), "claims": len(res.claims),
                  "encoders_shared": enc is backend.encoder}))
"""


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def cli_run(python: str, article: Path, target: str, out: Path, env: dict) -> dict:
    cmd = [python, "-m", "stancekit.cli", "run", str(article), "--out", str(out), "--target", target, "--force",
           "--quiet"]
    t, ru = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru2.ru_utime - ru.ru_utime) + (ru2.ru_stime - ru.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"stancekit run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    timings = manifest.get("timings_s", {})
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "manifest_timings_s": timings,
            "outside_run_loop_s": round(wall - float(timings.get("total", 0.0)), 3),
            "counts": manifest.get("counts"), "command": " ".join(cmd[1:])}


def api_run(python: str, article: Path, target: str, env: dict) -> dict:
    t = time.perf_counter()
    proc = subprocess.run([python, "-c", _API_CHILD, str(article), target], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"API child failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["child_wall_s"] = round(wall, 3)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--article", type=Path, default=DEFAULT_ARTICLE)
    ap.add_argument("--target", default="certification")
    ap.add_argument("--json", type=Path, default=None, help="also write the result here")
    ap.add_argument("--keep-cache", action="store_true",
                    help="use the current $STANCEKIT_CACHE instead of a fresh one (the first run may then be warm)")
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args(argv)

    env = dict(os.environ)
    src = str(REPO / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    tmp = Path(tempfile.mkdtemp(prefix="sk-bench-startup-"))
    if not args.keep_cache:
        env["STANCEKIT_CACHE"] = str(tmp / "cache")

    import torch  # only for the record of the machine

    result = {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
                    "cuda": torch.cuda.is_available(), "loadavg_start": _loadavg(),
                    "STANCEKIT_THREADS": os.environ.get("STANCEKIT_THREADS"),
                    "STANCEKIT_PRECISION": os.environ.get("STANCEKIT_PRECISION")},
        "article": str(args.article), "target": args.target,
        "cache": "current $STANCEKIT_CACHE" if args.keep_cache else "fresh (first CLI run cold)",
    }
    runs = [cli_run(args.python, args.article, args.target, tmp / f"run{i}", env) for i in (1, 2)]
    result["cli"] = {"first": runs[0], "second": runs[1], "target_second_wall_s": TARGET_CLI_S,
                     "second_met": runs[1]["wall_s"] <= TARGET_CLI_S}
    api = api_run(args.python, args.article, args.target, env)
    api["target_s"] = TARGET_API_S
    api["met"] = api["load_plus_first_call_s"] <= TARGET_API_S
    result["api_warm"] = api
    result["machine"]["loadavg_end"] = _loadavg()
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
