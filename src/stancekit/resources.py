"""Files shipped with the package: word lists, targets, schemas. Loaded once, cached."""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
SCHEMA_DIR = PACKAGE_DIR / "schemas"


def cache_dir() -> Path:
    """stancekit's cache folder (``$STANCEKIT_CACHE``, default ``~/.cache/stancekit``), created if missing."""
    path = Path(os.environ.get("STANCEKIT_CACHE") or Path.home() / ".cache" / "stancekit")
    path.mkdir(parents=True, exist_ok=True)
    return path


def configs_dir() -> Path:
    """The shipped ``configs/`` folder: inside the wheel, or at the repository root in a checkout."""
    for candidate in (PACKAGE_DIR / "configs", PACKAGE_DIR.parents[1] / "configs"):
        if candidate.is_dir():
            return candidate
    return PACKAGE_DIR / "configs"


def read_toml(path: Path) -> dict:
    with Path(path).open("rb") as fh:
        return tomllib.load(fh)


@lru_cache(maxsize=None)
def titles() -> frozenset[str]:
    lines = (DATA_DIR / "titles.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(ln.strip().lower() for ln in lines if ln.strip() and not ln.startswith("#"))


@lru_cache(maxsize=None)
def cues() -> dict[str, frozenset[str]]:
    raw = read_toml(DATA_DIR / "cues.toml")
    return {key: frozenset(v.lower() for v in values) for key, values in raw.items()}


@lru_cache(maxsize=None)
def speaker_nouns() -> frozenset[str]:
    """Common nouns (lemmas) that can head a speaker phrase: "officials", "the ministry"."""
    lines = (DATA_DIR / "speaker_nouns.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(ln.strip().lower() for ln in lines if ln.strip() and not ln.startswith("#"))


def doc_text(doc) -> str:
    """``doc.text``, computed once per Doc (spaCy rebuilds the string from tokens on every access)."""
    key = ("stancekit", "text")
    text = doc.user_data.get(key)
    if text is None:
        text = doc.user_data[key] = doc.text
    return text
