"""Targets: what stance is measured toward. A target is configuration, one TOML file each."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .errors import Errors, StancekitError
from .resources import configs_dir, read_toml

LABELS = ("favor", "against", "neutral")
DEFAULT_HYPOTHESES = {
    "favor": "{speaker} supports {target}.",
    "against": "{speaker} opposes {target}.",
    "neutral": "{speaker} is neutral about {target}.",
}


@dataclass
class Target:
    id: str
    name: str
    description: str = ""
    aliases: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    hypotheses: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_HYPOTHESES))
    examples: list[dict] = field(default_factory=list)
    source: str | None = None

    def hypothesis(self, label: str, speaker: str | None = None) -> str:
        template = self.hypotheses.get(label, DEFAULT_HYPOTHESES[label])
        return template.format(speaker=speaker or "The speaker", target=self.name)

    def mentions(self, text: str) -> int:
        """How many aliases or keywords ``text`` contains (whole words, case-insensitive)."""
        return len(self._pattern().findall(text.lower()))

    def alias_hit(self, text: str) -> bool:
        """Whether an alias starts at a word start in ``text`` (case-insensitive)."""
        return _word_starts(_longest_first(self.aliases)).search(text.lower()) is not None

    def _pattern(self):
        return _word_starts(_longest_first(w for w in self.aliases + self.keywords if w))

    @classmethod
    def from_dict(cls, data: dict, *, source: str | None = None) -> "Target":
        if "id" not in data or "name" not in data:
            raise StancekitError(Errors.E004, path=source, detail="'id' and 'name' are required")
        examples = list(data.get("examples", []))
        for ex in examples:
            if ex.get("label") not in LABELS or not isinstance(ex.get("text"), str):
                raise StancekitError(Errors.E004, path=source,
                                     detail=f"example {ex!r} needs 'text' and a label in {LABELS}")
        hyps = dict(DEFAULT_HYPOTHESES)
        hyps.update(data.get("hypotheses", {}))
        return cls(id=str(data["id"]), name=str(data["name"]), description=data.get("description", ""),
                   aliases=list(data.get("aliases", [])), keywords=list(data.get("keywords", [])),
                   hypotheses=hyps, examples=examples, source=source)

    @classmethod
    def adhoc(cls, name: str) -> "Target":
        """A target made from a bare phrase ("nuclear power"), as in zero-shot evaluation."""
        return cls(id=re.sub(r"\W+", "_", name.lower()).strip("_") or "target", name=name, aliases=[name])


def _is_phrase(text: str) -> bool:
    """Several words that do not look like a path to a file."""
    return len(text.split()) > 1 and not any(sep in text for sep in ("/", "\\")) \
        and not text.strip().lower().endswith(".toml")


def _longest_first(words) -> tuple[str, ...]:
    return tuple(sorted({w.lower() for w in words}, key=lambda w: (-len(w), w)))


@lru_cache(maxsize=1024)
def _word_starts(words: tuple[str, ...]) -> re.Pattern:
    """One compiled pattern for "any of ``words`` at a word start" (compiled once per set of words: the
    stance stage asks it for every quote)."""
    if not words:
        return re.compile(r"(?!x)x")
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")")


def shipped_targets() -> dict[str, Path]:
    folder = configs_dir() / "targets"
    return {p.stem: p for p in sorted(folder.glob("*.toml"))} if folder.is_dir() else {}


#: what marks any text, one word included, as a free-text target: ``text:vaccines``
FREE_TEXT = "text:"


def load_target(name_or_path: str | Path) -> Target:
    """A shipped target by name (``certification``), a target TOML file by path, or a free-text target
    (:meth:`Target.adhoc`): ``text:`` and any text (``text:vaccines``), or a phrase that is no file and no
    path ("the minimum wage should rise": it holds a space, no ``/`` and does not end in ``.toml``). A single
    word that is neither a shipped name nor a file is an error (E003), so a misspelt name is not taken for
    a topic."""
    if isinstance(name_or_path, str) and name_or_path.startswith(FREE_TEXT) and name_or_path[len(FREE_TEXT):].strip():
        return Target.adhoc(" ".join(name_or_path[len(FREE_TEXT):].split()))
    path = Path(name_or_path)
    shipped = shipped_targets()
    if str(name_or_path) in shipped:
        path = shipped[str(name_or_path)]
    elif not path.exists():
        if isinstance(name_or_path, str) and _is_phrase(name_or_path):
            return Target.adhoc(" ".join(name_or_path.split()))
        raise StancekitError(Errors.E003, name=name_or_path, known=", ".join(shipped) or "none")
    try:
        data = read_toml(path)
    except Exception as exc:
        raise StancekitError(Errors.E004, path=path, detail=str(exc)) from exc
    return Target.from_dict(data, source=str(path))
