"""Targets: what stance is measured toward. A target is configuration, one TOML file each."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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
        low = text.lower()
        return sum(1 for w in self._pattern().findall(low))

    def alias_hit(self, text: str) -> bool:
        low = text.lower()
        return any(re.search(r"\b" + re.escape(a.lower()), low) for a in self.aliases)

    def _pattern(self):
        words = sorted({w.lower() for w in self.aliases + self.keywords if w}, key=len, reverse=True)
        if not words:
            return re.compile(r"(?!x)x")
        return re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")")

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


def shipped_targets() -> dict[str, Path]:
    folder = configs_dir() / "targets"
    return {p.stem: p for p in sorted(folder.glob("*.toml"))} if folder.is_dir() else {}


def load_target(name_or_path: str | Path) -> Target:
    """A shipped target by name (``certification``) or a target TOML file by path."""
    path = Path(name_or_path)
    shipped = shipped_targets()
    if str(name_or_path) in shipped:
        path = shipped[str(name_or_path)]
    elif not path.exists():
        raise StancekitError(Errors.E003, name=name_or_path, known=", ".join(shipped) or "none")
    try:
        data = read_toml(path)
    except Exception as exc:
        raise StancekitError(Errors.E004, path=path, detail=str(exc)) from exc
    return Target.from_dict(data, source=str(path))
