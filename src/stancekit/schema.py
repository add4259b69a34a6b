"""Typed records: one pydantic model per record kind, and the JSON Schemas generated from them.

These models are the definition of what a run writes (``documents``, ``quotes``, ``speakers``,
``claims``, ``errors``); ``stancekit/schemas/<kind>.v1.json`` are generated from them and committed, so
users without Python can validate records too. After changing a model, regenerate the files with::

    python -m stancekit.schema --write

(a test checks that the committed files equal the generated ones). A change that removes a field,
renames one, or narrows a type needs a new version id (``quote.v2``).

Offsets are Python code-point offsets into the document text: ``text == document_text[start:end]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Type

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import Errors, StancekitError

Probability = Annotated[float, Field(ge=0, le=1)]
Offset = Annotated[int, Field(ge=0)]
StanceLabel = Literal["favor", "against", "neutral"]


class _Record(BaseModel):
    """Records may carry fields added after their version (readers ignore what they do not know)."""

    model_config = ConfigDict(extra="allow", strict=True)


class _Closed(BaseModel):
    """A record part whose fields are fixed."""

    model_config = ConfigDict(extra="forbid", strict=True)


class _Open(_Record):
    pass


# --- shared parts ----------------------------------------------------------------------------------


class Span(_Closed):
    text: str
    start: Offset
    end: Offset


class Probs(_Open):
    favor: Probability
    against: Probability
    neutral: Probability


class Stance(_Open):
    # the stance of one quote or claim toward one target
    target: str
    label: StanceLabel
    score: Probability
    relevance: Probability
    probs: Probs = None  # type: ignore[assignment]  # optional, never null


# --- quote -----------------------------------------------------------------------------------------


class Speaker(_Open):
    name: Optional[str] = Field(description="canonical name of the speaker in the document; null when the "
                                            "speaker is not resolved to a name")
    mention: Span
    label: str = Field(description="PERSON, ORG, GPE, NORP, GROUP (a common-noun group such as 'U.S. officials') "
                                   "or another spaCy entity label")
    role: Optional[str]
    affiliation: Optional[str] = None
    resolution: Literal["name", "title", "pronoun", "relative", "nominal", "group", "continuation", "transcript"]
    confidence: Probability


class QuoteRecord(_Record):
    """One quotation (direct, indirect or mixed) with its cue, speaker and stance toward each target."""

    doc_id: str
    quote_id: str
    text: str
    start: Offset
    end: Offset
    kind: Literal["direct", "indirect", "mixed"]
    cue: Optional[Span]
    speaker: Optional[Speaker]
    confidence: Probability = None  # type: ignore[assignment]  # optional, never null
    stances: list[Stance]


# --- speaker ---------------------------------------------------------------------------------------


class SpeakerStance(_Open):
    target: str
    label: StanceLabel
    score: Probability
    n_quotes: int = Field(ge=0)
    evidence: list[str] = None  # type: ignore[assignment]


class SpeakerRecord(_Record):
    """One speaker of one document: canonical name, roles, quotes and aggregated stance per target."""

    doc_id: str
    name: Optional[str] = Field(description="canonical name; null for a speaker not resolved to a name")
    label: Optional[str]
    roles: list[str]
    affiliation: Optional[str] = None
    quote_ids: list[str]
    stances: list[SpeakerStance]


# --- document --------------------------------------------------------------------------------------


class Entity(_Open):
    text: str
    label: str
    start: int
    end: int
    canonical: str


class Warning_(_Open):
    code: str = Field(pattern=r"^[EW][0-9]{3}$")
    message: str
    offset: Optional[int] = None


class DocumentRecord(_Record):
    """One processed document: metadata, counts, entities and warnings."""

    doc_id: str
    source: Optional[str]
    title: Optional[str]
    url: Optional[str] = None
    date: Optional[str] = None
    status: Literal["ok", "partial"]
    n_chars: int
    n_quotes: int
    n_speakers: int
    n_claims: int
    entities: list[Entity]
    warnings: list[Warning_]
    text: str = Field(None, description="the document text (only with --keep-text)")  # type: ignore[assignment]


# --- claim -----------------------------------------------------------------------------------------


class Claimer(_Open):
    name: Optional[str] = Field(description="canonical name of the claimer; null for the author, or for a quote "
                                            "whose speaker is unknown")
    kind: Literal["author", "speaker", "source"] = Field(
        description="author: the reporter's own voice; speaker: the claim lies in a quote; source: an "
                    "'according to X' attribution")
    label: Optional[str] = None
    role: Optional[str] = None


class Quantity(_Open):
    text: str
    start: int = Field(None, ge=0)  # type: ignore[assignment]
    end: int = Field(None, ge=0)  # type: ignore[assignment]
    value: Optional[float]
    value_max: Optional[float] = None
    unit: Optional[str] = Field(description="singular, lower-case: tonne, hectare, dollar, percent, year, soldier; "
                                            "'date' for calendar dates; null for ratios and bare numbers")
    per: str = Field(None, description="rate denominator: '$90 million a day' has per 'day'")  # type: ignore[assignment]
    approx: Literal["exact", "approximate", "lower_bound", "upper_bound", "range"]
    date: str = Field(None, description="ISO 8601 date, reduced precision allowed "  # type: ignore[assignment]
                                        "('2020', '2024-09', '--09-15', '1980/1989')")


class ClaimEntity(_Open):
    name: str
    label: str


class ClaimRecord(_Closed):
    """One check-worthy factual claim (a sentence or clause) with its claimer, quantities, entities and
    check-worthiness."""

    doc_id: str
    claim_id: str = Field(description="stable id: '<doc_id>#c<start>-<end>'")
    text: str
    start: Offset
    end: Offset
    sentence: int = Field(None, ge=0, description="index of the sentence in the document (spaCy "  # type: ignore[assignment]
                                                  "sentences split again at line breaks)")
    kind: Literal["statistic", "comparison", "event", "causal", "prediction", "other"] = None  # type: ignore[assignment]
    claimer: Claimer
    quantities: list[Quantity]
    entities: list[ClaimEntity]
    checkworthiness: Probability
    stances: list[Stance]


# --- error -----------------------------------------------------------------------------------------


class ErrorRecord(_Record):
    """A document, or an input line, that could not be processed; with a stable code."""

    doc_id: Optional[str]
    source: Optional[str]
    stage: str
    code: str = Field(pattern=r"^E[0-9]{3}$")
    message: str


# kind → (model, version id, file of the run)
RECORDS: dict[str, tuple[Type[BaseModel], str]] = {
    "document": (DocumentRecord, "document.v1"),
    "quote": (QuoteRecord, "quote.v1"),
    "speaker": (SpeakerRecord, "speaker.v1"),
    "claim": (ClaimRecord, "claim.v1"),
    "error": (ErrorRecord, "error.v1"),
}
FILES = {"documents": "document", "quotes": "quote", "speakers": "speaker", "claims": "claim", "errors": "error"}


# --- JSON Schema generation ------------------------------------------------------------------------


def json_schema(kind: str) -> dict:
    """The JSON Schema (draft 2020-12) of a record kind, as committed in ``schemas/<version>.json``."""
    model, version = RECORDS[kind]
    raw = model.model_json_schema()
    defs = raw.pop("$defs", {})
    body = _clean(raw, defs)
    body.pop("title", None)
    description = body.pop("description", "")
    if kind in ("quote", "claim"):
        description += (" Offsets are Python code-point offsets into the document text: "
                        "text == document_text[start:end].")
    out = {"$schema": "https://json-schema.org/draft/2020-12/schema",
           "$id": f"https://stancekit.dev/schemas/{version}.json",
           "title": f"stancekit {kind} record ({version.split('.')[-1]})",
           "description": " ".join(description.split())}
    out.update(body)
    return out


def _clean(node: Any, defs: dict) -> Any:
    """Inline ``$ref``s, drop generated titles and defaults, write ``X | None`` as ``type: [X, "null"]``."""
    if isinstance(node, list):
        return [_clean(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = _clean(defs[node["$ref"].split("/")[-1]], defs)
        target.pop("title", None)
        extra = {k: v for k, v in node.items() if k not in ("$ref",)}
        return {**target, **_clean(extra, defs)}
    out: dict = {}
    for key, value in node.items():
        if key in ("title", "default"):
            continue
        if key == "properties":
            out[key] = {name: _clean(prop, defs) for name, prop in value.items()}
        elif key == "description":
            out[key] = " ".join(value.split())
        else:
            out[key] = _clean(value, defs)
    if "anyOf" in out and len(out["anyOf"]) == 2 and {"type": "null"} in out["anyOf"]:
        other = next(o for o in out.pop("anyOf") if o != {"type": "null"})
        if set(other) <= {"type"} and isinstance(other.get("type"), str):
            out = {"type": [other["type"], "null"], **out}
        elif other.get("type") == "object":
            out = {**other, "type": ["object", "null"], **out}
        else:  # an enum, or null
            out = {"oneOf": [other, {"type": "null"}], **out}
    if "const" in out and "enum" not in out:
        out = {"enum": [out.pop("const")], **{k: v for k, v in out.items() if k != "type"}}
    if "enum" in out:
        out.pop("type", None)
    if out.get("additionalProperties") is True:
        del out["additionalProperties"]
    if "required" in out and "properties" in out:  # required fields first, in declaration order
        out["required"] = [name for name in out["properties"] if name in out["required"]]
    return _order(out)


_KEY_ORDER = ("type", "oneOf", "enum", "pattern", "minimum", "maximum", "description", "required",
              "additionalProperties", "properties", "items")


def _order(node: dict) -> dict:
    return {k: node[k] for k in sorted(node, key=lambda k: (_KEY_ORDER.index(k) if k in _KEY_ORDER else 99, k))}


def schema_dir() -> Path:
    from .resources import SCHEMA_DIR

    return SCHEMA_DIR


def write_schemas(directory: Path | None = None) -> list[Path]:
    """Write every generated schema to ``directory`` (default: the package's ``schemas/``)."""
    directory = Path(directory or schema_dir())
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, (_, version) in RECORDS.items():
        path = directory / f"{version}.json"
        path.write_text(json.dumps(json_schema(kind), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


# --- validation on write ---------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _model(name: str) -> Type[BaseModel]:
    return RECORDS[FILES.get(name, name)][0]


def check_record(name: str, record: dict) -> None:
    """Raise E020 if ``record`` does not match its kind's model. ``name`` is a run file (``quotes``) or a kind."""
    try:
        _model(name).model_validate(record)
    except ValidationError as exc:
        err = exc.errors()[0]
        kind = FILES.get(name, name)
        raise StancekitError(Errors.E020, kind=kind, doc_id=record.get("doc_id"), schema=RECORDS[kind][1],
                             detail=f"{'/'.join(map(str, err['loc']))}: {err['msg']}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stancekit.schema", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the generated schemas into stancekit/schemas")
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed schema differs")
    args = parser.parse_args(argv)
    if args.write:
        for path in write_schemas():
            print(path)
        return 0
    stale = [v for k, (_, v) in RECORDS.items()
             if json.loads((schema_dir() / f"{v}.json").read_text(encoding="utf-8")) != json_schema(k)]
    if stale:
        print("out of date (run python -m stancekit.schema --write): " + ", ".join(stale), file=sys.stderr)
        return 1
    if not args.check:
        print(json.dumps({k: json_schema(k) for k in RECORDS}, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
