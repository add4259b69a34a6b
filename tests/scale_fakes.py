"""Small stand-ins for the corpus-scale tests: a blank spaCy pipeline and a fake stance model.

A :func:`fast_pipeline` has stancekit's own entity and quote components on ``spacy.blank("en")`` with
a sentencizer (no trained weights), or on a given spaCy pipeline (the small English one, for named
speakers), and a stance model that answers from the text's length, so a run over a few documents
takes well under a second while every record file gets rows.
"""

from __future__ import annotations

import json

import numpy as np
from pathlib import Path

from stancekit.config import load_config
from stancekit.pipeline import Pipeline
from stancekit.targets import Target, load_target

LABELS = ("favor", "against", "neutral")


class FakeBackend:
    """Deterministic stance: the label depends on the text only."""

    def __init__(self, name: str = "fake"):
        self.name = name
        self.calls = 0

    def predict(self, inputs):
        self.calls += 1
        from stancekit.stance import _result

        out = []
        for x in inputs:
            probs = np.full(3, 0.2)
            probs[len(x.text) % 3] = 0.6
            out.append(_result(probs, relevance=0.5 + (len(x.text) % 5) / 10))
        return out

    def describe(self) -> dict:
        return {"backend": self.name}


def blank_nlp(*extra: str):
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    for name in extra:
        nlp.add_pipe(name)
    return nlp


def fast_pipeline(targets=("certification",), *, nlp=None, extra_pipes=(), backend=None, **overrides) -> Pipeline:
    """A pipeline with a fake stance model on ``nlp`` (default: a blank English pipeline)."""
    overrides.setdefault("claims", False)
    overrides.setdefault("batch_size", 2)
    cfg = load_config(targets=[t for t in targets if isinstance(t, str)] or None, **overrides)
    tlist = [load_target(t) if isinstance(t, str) else t for t in targets]
    return Pipeline(cfg, nlp=nlp if nlp is not None else blank_nlp(*extra_pipes), backend=backend or FakeBackend(), targets=tlist)


def other_target() -> Target:
    return Target.adhoc("river dam")


ARTICLES = [
    ("harbour", 'The port reopened on Monday. "We will not accept these terms," said Ana Ruiz, the union '
                'leader. Talks resume next week.'),
    ("budget", 'Ministers met late. "The budget is balanced," said Finance Minister Tom Berg. '
               '"It is not," Senator Lena Koch replied.'),
    ("storm", "Heavy rain fell across the valley. Roads were closed for hours. No one was hurt."),
    ("court", 'The judge ruled on Friday. "This law stands," she wrote. Lawyers said they would appeal. '
              '"We disagree with the ruling," one said.'),
    ("market", 'Prices rose again. "Inflation is easing," the central bank said, "but slowly."'),
]


def write_corpus(folder: Path) -> Path:
    """A small mixed corpus: text files, a JSONL file with one bad line and one non-object line."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in ARTICLES[:3]:
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    lines = [json.dumps({"id": name, "text": text, "date": 20240101}) for name, text in ARTICLES[3:]]
    lines.insert(1, "{not json")
    lines.append("[1, 2, 3]")
    (folder / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def read_records(out_dir: Path) -> dict[str, list[str]]:
    """Every record file's lines, sorted (a run's content, whatever the order)."""
    out = {}
    for name in ("documents", "quotes", "speakers", "claims", "errors"):
        p = Path(out_dir) / f"{name}.jsonl"
        rows = [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()] \
            if p.exists() else []
        out[name] = sorted(json.dumps(r, sort_keys=True) for r in rows)
    return out


def ray_pipeline(config, role: str) -> Pipeline:
    """The pipelines of the Ray engine's actors in tests: the small spaCy model, the fake stance model."""
    from stancekit.ner import load_spacy
    from stancekit.pipeline import _NoBackend

    if role == "analyse":
        return Pipeline(config, nlp=load_spacy(), backend=_NoBackend())
    if role == "run":
        return Pipeline(config, nlp=load_spacy(), backend=FakeBackend())
    return Pipeline(config, nlp=blank_nlp(), backend=FakeBackend())
