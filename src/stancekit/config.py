"""Run configuration: typed sections, validated the same way from every source.

A configuration is ``configs/default.toml`` updated, in this order, by a user file (``--config``), by
``--set section.key=value`` and by keyword overrides (``stancekit.load(batch_size=64)``, the CLI's own
options). Each layer is validated by the pydantic models below before the next one is applied, so an
error names the key and the layer it came from, with code E005, before anything is loaded.

Validation is strict: a value must already have its key's type (TOML and Python values do), except
that an integer is accepted for a float and a path (``pathlib.Path``) for a string. Strings are not
parsed as numbers or booleans: ``stancekit.load(batch_size="64")`` is E005. On the command line,
``--set`` values are read as TOML values (``64``, ``0.7``, ``true``, ``["a", "b"]``); a value that is
not a TOML literal is taken as a string, so ``--set pipeline.device=cpu`` needs no quotes.

Adding a key is one line in its section class (and, to document it, one in ``configs/default.toml``):
the key is then accepted in files, by ``--set``, as a keyword override and as a flat attribute of
:class:`Config` (``config.<key>``) when its name is unique across sections.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, Mapping

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from .device import PRECISIONS
from .errors import Errors, StancekitError
from .resources import configs_dir, read_toml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _path_to_str(value: Any) -> Any:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


# a model or file location: a string, or a path given from Python
PathStr = Annotated[str, BeforeValidator(_path_to_str)]


class Section(BaseModel):
    """A configuration table: unknown keys are refused, values are type-checked strictly."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True)


class PipelineSection(Section):
    """``[pipeline]``: the spaCy stages, batching and the device."""

    spacy_model: PathStr = ""
    ner_model: PathStr = ""
    batch_size: int = Field(32, ge=1)
    chunk_chars: int = Field(100_000, ge=1)
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")
    indirect_quotes: bool = True
    # a plain text's first line, followed by a blank line, is its title (see ingest.title_span)
    title_line: bool = True
    # a quote tagger folder (`stancekit train quotes`) in place of the quote rules; empty = rules
    quotes_model: PathStr = ""
    # the quote tagger's precision: "" (STANCEKIT_PRECISION or auto), auto, fp32, bf16, or int8 (CPU)
    quotes_precision: str = Field("", pattern=f"^(|{'|'.join(PRECISIONS)})$")
    threads: int | None = Field(None, ge=1)
    # corpus runs: spaCy worker processes, and the time budget of one document (seconds; 0 = none)
    workers: int = Field(1, ge=0)
    doc_timeout: float = Field(120.0, ge=0)


class StanceSection(Section):
    """``[stance]``: the backend, its model and the targets every quote is scored against."""

    backend: str = "fewshot"
    encoder: PathStr = ""
    model: PathStr = ""
    # fewshot / ensemble with the bundled encoder: targets without examples are read by the fused reader
    # (stancekit.fusion); false gives them the few-shot head
    fused: bool = True
    max_tokens: int = Field(16384, ge=1)
    # no target by default: a run emits quotes, speakers and claims with empty stances
    targets: list[PathStr] = Field(default_factory=list)


class ClaimsSection(Section):
    """``[claims]``: check-worthy claim detection."""

    enabled: bool = True
    min_score: float = Field(0.5, ge=0.0, le=1.0)
    model: PathStr = ""

    def __bool__(self) -> bool:  # ``if config.claims:`` reads as "claims enabled" (the flat name)
        return self.enabled


# Flat attribute names (``config.stance_backend``) that are not simply the key's name. Every other key
# is reachable by its own name. Older code and the manifest's ``config`` use these flat names.
FLAT_NAMES: dict[tuple[str, str], str] = {
    ("stance", "backend"): "stance_backend",
    ("stance", "encoder"): "stance_encoder",
    ("stance", "fused"): "stance_fused",
    ("stance", "model"): "stance_model",
    ("claims", "enabled"): "claims",
    ("claims", "min_score"): "min_claim_score",
    ("claims", "model"): "claims_model",
}


class Config(Section):
    """The whole configuration: one attribute per TOML table (``config.pipeline.batch_size``).

    Every key is also readable and writable by its flat name (``config.batch_size``,
    ``config.stance_backend``; see :data:`FLAT_NAMES`), which :meth:`to_dict` uses.
    """

    pipeline: PipelineSection = Field(default_factory=PipelineSection)
    stance: StanceSection = Field(default_factory=StanceSection)
    claims: ClaimsSection = Field(default_factory=ClaimsSection)

    def __getattr__(self, name: str) -> Any:
        path = flat_keys().get(name)
        if path is None:
            return super().__getattr__(name)  # pydantic's own lookups, then AttributeError
        return getattr(getattr(self, path[0]), path[1])

    def __setattr__(self, name: str, value: Any) -> None:
        path = flat_keys().get(name)
        if path is None or name in type(self).model_fields:
            super().__setattr__(name, value)
            return
        try:
            setattr(getattr(self, path[0]), path[1], value)
        except ValidationError as exc:
            raise _config_error(exc, "attribute", prefix=(path[0],)) from None

    def to_dict(self) -> dict:
        """Flat ``{name: value}`` of every key (the manifest's ``config``)."""
        return {flat: getattr(getattr(self, s), k) for flat, (s, k) in flat_keys().items()}


def flat_keys() -> dict[str, tuple[str, str]]:
    """Flat attribute name → (section, key), for every key of every section."""
    global _FLAT
    if _FLAT is None:
        flat: dict[str, tuple[str, str]] = {}
        for section, info in Config.model_fields.items():
            for key in info.annotation.model_fields:
                name = FLAT_NAMES.get((section, key), key)
                if name in flat:  # a new key whose name another section has: add it to FLAT_NAMES
                    raise RuntimeError(f"config keys {section}.{key} and {'.'.join(flat[name])} share the "
                                       f"flat name '{name}'")
                flat[name] = (section, key)
        _FLAT = flat
    return _FLAT


_FLAT: dict[str, tuple[str, str]] | None = None


def known_keys() -> list[str]:
    """Every ``section.key`` (for messages and ``--set`` help)."""
    return [f"{s}.{k}" for s, info in Config.model_fields.items() for k in info.annotation.model_fields]


def _config_error(exc: ValidationError, source: str, prefix: tuple = ()) -> StancekitError:
    """The first problem of a pydantic error as E005, naming the key (``pipeline.batch_size``)."""
    err = exc.errors()[0]
    key = ".".join(str(p) for p in (*prefix, *err["loc"]))
    if err["type"] == "extra_forbidden":
        section = err["loc"][0] if len(err["loc"]) > 1 else None
        if section in Config.model_fields:
            known = ", ".join(Config.model_fields[section].annotation.model_fields)
            detail = f"unknown key '{key}' (keys of [{section}]: {known})"
        else:
            detail = f"unknown section [{key}] (sections: {', '.join(Config.model_fields)})"
    else:
        detail = f"{key}: {err['msg']} (got {err.get('input')!r})"
    return StancekitError(Errors.E005, path=source, detail=detail)


def _merge(base: dict, layer: Mapping[str, Any]) -> dict:
    out = dict(base)
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def apply(config: Config, layer: Mapping[str, Any], *, source: str) -> Config:
    """A new :class:`Config`: ``config`` updated by the nested ``layer`` (TOML tables), validated."""
    try:
        return Config.model_validate(_merge(config.model_dump(), layer))
    except ValidationError as exc:
        raise _config_error(exc, source) from None


def nest_overrides(overrides: Mapping[str, Any], *, source: str) -> dict:
    """``{"batch_size": 8, "stance.targets": [...]}`` → ``{"pipeline": {"batch_size": 8}, ...}``.

    Keys are flat names or dotted ``section.key`` paths; ``None`` values mean "not given" and are skipped.
    """
    nested: dict[str, dict] = {}
    flat = flat_keys()
    for name, value in overrides.items():
        if value is None:
            continue
        if "." in name:
            section, _, key = name.partition(".")
        elif name in flat:
            section, key = flat[name]
        else:
            raise StancekitError(Errors.E005, path=source,
                                 detail=f"unknown key '{name}' (keys: {', '.join(known_keys())})")
        nested.setdefault(section, {})[key] = value
    return nested


def parse_set(items: list[str] | None) -> dict[str, Any]:
    """``["pipeline.batch_size=8", "stance.targets=[\\"a\\"]"]`` → ``{"pipeline.batch_size": 8, ...}``.

    The value is read as a TOML value; one that is not a TOML literal is kept as a string.
    """
    out: dict[str, Any] = {}
    for item in items or []:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or "." not in name:
            raise StancekitError(Errors.E005, path="--set",
                                 detail=f"'{item}' is not section.key=value (keys: {', '.join(known_keys())})")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        out[name] = value
    return out


def load_config(path: str | Path | None = None, *, settings: Mapping[str, Any] | None = None,
                **overrides: Any) -> Config:
    """The default configuration, updated by the file at ``path``, then ``settings`` (dotted keys, as
    from ``--set``), then ``overrides`` (flat or dotted keys; ``None`` = not given). Raises E001/E005."""
    cfg = Config()
    default = configs_dir() / "default.toml"
    if default.exists():
        cfg = apply(cfg, read_toml(default), source=str(default))
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise StancekitError(Errors.E001, path=p)
        try:
            data = read_toml(p)
        except Exception as exc:
            raise StancekitError(Errors.E005, path=p, detail=str(exc)) from exc
        cfg = apply(cfg, data, source=str(p))
    if settings:
        cfg = apply(cfg, nest_overrides(settings, source="--set"), source="--set")
    if overrides:
        cfg = apply(cfg, nest_overrides(overrides, source="overrides"), source="overrides")
    return cfg
