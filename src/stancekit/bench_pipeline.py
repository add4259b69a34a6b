"""End-to-end corpus benchmark (``stancekit bench pipeline``): the whole run against spaCy alone.

The benchmark writes its own corpus: ``docs`` unique news-like articles (a dateline, reported
speech with named speakers and reporting verbs, numbers, paragraphs; 200–450 words each; no two
texts alike, so that nothing is de-duplicated). It then measures, in one invocation:

* **spaCy alone**: the same texts through the bare spaCy pipeline with ``nlp.pipe`` in one fresh
  process (no stancekit component, no stance), the ceiling of what parsing costs;
* **the pipeline**: ``run_corpus`` (or the Ray engine) over the corpus into a temporary folder,
  with the configured models, ``workers`` and targets, split into the fixed start (models loaded,
  workers forked) and the run itself.

``docs_per_s`` is the run without the start; ``end_to_end_docs_per_s`` includes it. Peak RSS is the
benchmark process's own and, separately, its largest spaCy worker's (``VmHWM``), both taken
before spaCy alone runs (last, in its own process). The
per-stage seconds are the manifest's: with worker processes ``spacy`` and ``claims`` are summed over
them (CPU seconds, not wall time); with ``workers=0`` they are wall seconds of two overlapping threads.
"""

from __future__ import annotations

import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path

from .device import host_peak_memory_mb

FIRST = ["Ana", "Tom", "Lena", "Omar", "Mia", "Ravi", "Sara", "Jon", "Eva", "Ken", "Luis", "Nadia", "Pieter",
         "Grace", "Hugo", "Ines", "Marek", "Chloe", "Diego", "Fatima"]
LAST = ["Ruiz", "Berg", "Koch", "Haddad", "Chen", "Patel", "Lind", "Park", "Novak", "Ito", "Moreno", "Okafor",
        "Jansen", "Walsh", "Duarte", "Silva", "Kowalski", "Martin", "Reyes", "Nasser"]
ROLES = ["the finance minister", "a senator", "the mayor", "a union leader", "the company's chief executive",
         "an economist at the central bank", "the spokeswoman for the ministry", "a farmer", "the police chief",
         "the opposition leader"]
PLACES = ["BOGOTÁ", "LIMA", "QUITO", "MADRID", "LAGOS", "MANILA", "OSLO", "DENVER", "PORTO", "NAIROBI"]
CUES = ["said", "told reporters", "argued", "warned", "insisted", "added", "wrote in a statement"]
TOPICS = [("the port strike", "dock workers", "wages"), ("the dam project", "the council", "costs"),
          ("the trade deal", "exporters", "tariffs"), ("the drug policy", "Washington", "aid"),
          ("the vaccine trial", "health officials", "doses"), ("the budget", "lawmakers", "spending"),
          ("the election", "voters", "turnout"), ("the mining law", "communities", "royalties")]
CLAUSES = ["the plan would be reviewed after months of talks", "the figures showed a sharp rise last year",
           "the decision had been delayed twice since March", "officials expected a vote before the end of the month",
           "the measure would cost about {n} million dollars", "{n} percent of those asked supported the change",
           "critics said the policy had failed to deliver", "the government promised new rules within weeks",
           "negotiators met again on {day} without an agreement", "the report was published on {day}",
           "about {n} people attended the meeting in the capital", "prices had risen for the {k}th month in a row"]
QUOTES = ["We will not accept any measure that punishes {who}", "This is the best chance we have had in years",
          "The numbers speak for themselves", "Nobody asked {who} what they wanted",
          "We need more time to study the proposal", "It is a mistake and we will fight it",
          "Our position on {what} has always been clear", "The country cannot afford another delay",
          "I support the agreement, but not at any price", "There is no evidence that {what} will work"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def make_article(i: int, rng: random.Random) -> dict:
    """One synthetic article (unique: its serial number is part of the story)."""
    topic, who, what = rng.choice(TOPICS)
    place = rng.choice(PLACES)
    people = [(f"{rng.choice(FIRST)} {rng.choice(LAST)}", rng.choice(ROLES)) for _ in range(rng.randint(2, 4))]
    target_words = rng.randint(200, 450)
    paras = [f"{place} — Talks on {topic} (file {i}) continued on {rng.choice(DAYS)} as {who} pressed for "
             f"changes to {what}."]
    words = len(paras[0].split())
    while words < target_words:
        kind = rng.random()
        fill = {"n": rng.randint(2, 900), "day": rng.choice(DAYS), "k": rng.randint(2, 9), "who": who, "what": what}
        if kind < 0.45:
            name, role = rng.choice(people)
            quote = rng.choice(QUOTES).format(**fill)
            if rng.random() < 0.5:
                para = f"“{quote},” {rng.choice(CUES)} {name}, {role}."
            else:
                para = f"{name}, {role}, {rng.choice(CUES)}: “{quote}.”"
            para += " " + rng.choice(CLAUSES).format(**fill).capitalize() + "."
        else:
            n = rng.randint(1, 3)
            para = " ".join(rng.choice(CLAUSES).format(**fill).capitalize() + "." for _ in range(n))
            if rng.random() < 0.4:
                name, _ = rng.choice(people)
                para += f" {name.split()[-1]} said {rng.choice(CLAUSES).format(**fill)}."
        paras.append(para)
        words += len(para.split())
    title = f"{topic.capitalize()}: {who} and {what} ({i})"
    return {"id": f"bench{i:06d}", "title": title, "text": title + "\n\n" + "\n\n".join(paras),
            "date": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"}


def write_corpus(path: Path, n: int, *, seed: int = 0) -> tuple[int, int]:
    """``n`` articles as JSONL at ``path``; returns (documents, words)."""
    rng = random.Random(seed)
    words = 0
    seen = set()
    with Path(path).open("w", encoding="utf-8") as fh:
        for i in range(n):
            art = make_article(i, rng)
            assert art["text"] not in seen
            seen.add(art["text"])
            words += len(art["text"].split())
            fh.write(json.dumps(art, ensure_ascii=False) + "\n")
    return n, words


def _rss_mb(pid: int | str = "self") -> float:
    """Peak resident memory of a process (:func:`~stancekit.device.host_peak_memory_mb`; 0 when unknown)."""
    peak = host_peak_memory_mb(pid)
    return peak if peak is not None else 0.0


def _worker_rss_mb(pipe) -> float:
    pool = getattr(pipe, "_pool", None)
    pids = [p.pid for p in getattr(pool, "_processes", {}).values()] if pool is not None else []
    return max((_rss_mb(pid) for pid in pids), default=0.0)


def spacy_only(corpus: str, model: str | None, batch_size: int) -> dict:
    """The bare spaCy pipeline over the corpus with ``nlp.pipe`` (run in a fresh process)."""
    from .ner import load_spacy

    t0 = time.perf_counter()
    nlp = load_spacy(model or None)
    load_s = time.perf_counter() - t0
    texts = [json.loads(line)["text"] for line in Path(corpus).read_text(encoding="utf-8").splitlines()]
    t0 = time.perf_counter()
    n_tokens = 0
    for doc in nlp.pipe(texts, batch_size=batch_size):
        n_tokens += len(doc)
    run_s = time.perf_counter() - t0
    return {"model": f"{nlp.meta.get('lang')}_{nlp.meta.get('name')}-{nlp.meta.get('version')}",
            "pipes": list(nlp.pipe_names), "load_s": round(load_s, 3), "run_s": round(run_s, 3),
            "docs_per_s": round(len(texts) / run_s, 3), "tokens": n_tokens, "peak_rss_mb": round(_rss_mb(), 1)}


def _in_fresh_process(fn, *args):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def bench_pipeline(docs: int = 1000, *, workers: int = 1, engine: str = "local", device: str = "cpu",
                   targets: list[str] | None = None, config_path: str | None = None, batch_size: int | None = None,
                   seed: int = 0, claims: bool = True, keep: str | None = None, spacy_alone: bool = True) -> dict:
    """Documents/s of a whole run vs spaCy alone on the same synthetic corpus (see the module doc).
    ``spacy_alone=False`` skips the spaCy-alone pass (its fields are then ``None``): for long runs
    measured against each other rather than against spaCy."""
    from .config import load_config
    from .device import resolve_device

    targets = list(targets) if targets is not None else ["certification"]
    cfg = load_config(config_path, device=device, workers=workers, targets=targets, batch_size=batch_size,
                      claims=None if claims else False)
    tmp = tempfile.TemporaryDirectory(prefix="stancekit-bench-")
    try:
        work = Path(keep) if keep else Path(tmp.name)
        work.mkdir(parents=True, exist_ok=True)
        corpus = work / "corpus.jsonl"
        n_docs, n_words = write_corpus(corpus, docs, seed=seed)
        out = work / "run"
        t0 = time.perf_counter()
        if engine == "ray":
            from .distributed import run_ray

            manifest = run_ray([corpus], out, config=cfg, workers=workers, force=True,
                               num_gpus_per_actor=1.0 if str(device).startswith("cuda") else 0.0)
            start_s = None
            peak_workers = 0.0  # Ray actors: see the Ray dashboard
            total_s = time.perf_counter() - t0
        else:
            from .corpus import run_corpus
            from .pipeline import Pipeline

            pipe = Pipeline(cfg)
            try:
                pipe.start_workers()
                pipe.backend  # noqa: B018 - load the stance model now: it belongs to the start
                if claims:
                    pipe.detector  # noqa: B018
                start_s = time.perf_counter() - t0
                manifest = run_corpus([corpus], out, pipeline=pipe, force=True)
                peak_workers = _worker_rss_mb(pipe)
            finally:
                pipe.close()
            total_s = time.perf_counter() - t0
        peak_main = _rss_mb()
        # after the run, so that neither its RSS nor its workers' includes this process
        baseline = _in_fresh_process(spacy_only, str(corpus), cfg.spacy_model or None, cfg.batch_size) \
            if spacy_alone else {"docs_per_s": None}
        run_s = manifest["timings_s"]["total"]
        dps = n_docs / run_s
        resolved = str(resolve_device(device))
        result = {
            "benchmark": "pipeline", "engine": engine, "workers": workers, "device": resolved,
            "docs": n_docs, "words": n_words, "targets": targets, "claims": claims, "batch_size": cfg.batch_size,
            "docs_per_s": round(dps, 3), "words_per_s": round(n_words / run_s, 1),
            "end_to_end_docs_per_s": round(n_docs / total_s, 3),
            "start_s": round(start_s, 2) if start_s is not None else None,
            "run_s": round(run_s, 2), "total_s": round(total_s, 2),
            "stage_s": {k: v for k, v in manifest["timings_s"].items() if k != "total"},
            "counts": manifest["counts"],
            "spacy_only": baseline,
            "spacy_only_docs_per_s": baseline["docs_per_s"],
            "ratio_vs_spacy_only": round(dps / baseline["docs_per_s"], 3) if spacy_alone else None,
            "peak_rss_mb": round(peak_main, 1),
            "peak_rss_worker_mb": round(peak_workers, 1),
            "models": manifest["models"],
            "machine": {"platform": platform.platform(), "python": platform.python_version(),
                        "cpus": os.cpu_count(), "load_avg": [round(x, 2) for x in os.getloadavg()]},
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        if resolved.startswith("cuda"):
            import torch

            result["gpu"] = torch.cuda.get_device_name(0)
        return result
    finally:
        tmp.cleanup()
