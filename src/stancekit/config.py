"""Run configuration: ``configs/default.toml`` merged with a user file and CLI overrides."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import Errors, StancekitError
from .resources import configs_dir, read_toml


@dataclass
class Config:
    spacy_model: str = ""
    ner_model: str = ""
    batch_size: int = 32
    chunk_chars: int = 100_000
    device: str = "auto"
    indirect_quotes: bool = True
    quotes_model: str = ""
    stance_backend: str = "fewshot"
    stance_encoder: str = ""
    stance_model: str = ""
    max_tokens: int = 16384
    targets: list[str] = field(default_factory=lambda: ["certification"])
    claims: bool = True
    min_claim_score: float = 0.5
    claims_model: str = ""
    threads: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_toml(cls, data: dict, *, base: "Config | None" = None, source: str = "<config>") -> "Config":
        cfg = Config(**asdict(base)) if base else Config()
        mapping = {
            ("pipeline", "spacy_model"): "spacy_model", ("pipeline", "ner_model"): "ner_model",
            ("pipeline", "batch_size"): "batch_size",
            ("pipeline", "chunk_chars"): "chunk_chars", ("pipeline", "device"): "device",
            ("pipeline", "indirect_quotes"): "indirect_quotes",
            ("pipeline", "quotes_model"): "quotes_model", ("pipeline", "threads"): "threads",
            ("stance", "backend"): "stance_backend", ("stance", "encoder"): "stance_encoder",
            ("stance", "model"): "stance_model", ("stance", "max_tokens"): "max_tokens",
            ("stance", "targets"): "targets", ("claims", "enabled"): "claims",
            ("claims", "min_score"): "min_claim_score", ("claims", "model"): "claims_model",
        }
        known_sections = {s for s, _ in mapping}
        for section, values in data.items():
            if section not in known_sections or not isinstance(values, dict):
                raise StancekitError(Errors.E005, path=source, detail=f"unknown section [{section}]")
            for key, value in values.items():
                attr = mapping.get((section, key))
                if attr is None:
                    raise StancekitError(Errors.E005, path=source, detail=f"unknown key {section}.{key}")
                expected = type(getattr(Config(), attr))
                if getattr(Config(), attr) is not None and not isinstance(value, expected) and \
                        not (expected is float and isinstance(value, int)):
                    raise StancekitError(Errors.E005, path=source,
                                         detail=f"{section}.{key} must be {expected.__name__}")
                setattr(cfg, attr, value)
        if cfg.batch_size < 1:
            raise StancekitError(Errors.E005, path=source, detail="pipeline.batch_size must be >= 1")
        return cfg


def load_config(path: str | Path | None = None, **overrides) -> Config:
    """The default configuration, updated by the file at ``path`` and then by ``overrides``."""
    default = configs_dir() / "default.toml"
    cfg = Config.from_toml(read_toml(default), source=str(default)) if default.exists() else Config()
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise StancekitError(Errors.E001, path=p)
        try:
            data = read_toml(p)
        except Exception as exc:
            raise StancekitError(Errors.E005, path=p, detail=str(exc)) from exc
        cfg = Config.from_toml(data, base=cfg, source=str(p))
    for key, value in overrides.items():
        if value is not None:
            if not hasattr(cfg, key):
                raise StancekitError(Errors.E012, name=key, detail="unknown option")
            setattr(cfg, key, value)
    return cfg
