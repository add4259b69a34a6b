"""stancekit: who said what about a topic, and with which stance.

Quick use::

    import stancekit
    nlp = stancekit.load(targets=["certification"])
    result = nlp(text)                 # records of one article
    frames = stancekit.read_run("out")  # a corpus run as pandas DataFrames
"""

from __future__ import annotations

__version__ = "0.1.0"

# the function, not the module: ``stancekit.render(result)`` (render.py imports only the standard library)
from .render import render  # noqa: E402

__all__ = ["__version__", "load", "read_run", "render", "run"]


def load(config=None, *, targets=None, backend=None, spacy_model=None, device=None, nlp=None, **overrides):
    """Build a :class:`~stancekit.pipeline.Pipeline`.

    ``config`` is a path to a TOML file (or ``None`` for the defaults); ``targets`` a list of shipped
    target names or target file paths; ``backend`` a stance backend name (``fewshot``, ``nli``,
    ``classifier``); other keyword arguments override configuration fields.
    """
    from .config import load_config
    from .pipeline import Pipeline

    cfg = load_config(config, targets=list(targets) if targets else None, stance_backend=backend,
                      spacy_model=spacy_model, device=device, **overrides)
    return Pipeline(cfg, nlp=nlp)


def read_run(out_dir):
    """Load a run directory as a dict of pandas DataFrames (documents, quotes, speakers, claims, errors)."""
    from .records import read_run as _read_run

    return _read_run(out_dir)


def run(inputs, out_dir, **kwargs):
    """Run the pipeline over files or directories into ``out_dir`` (see :func:`stancekit.pipeline.run_corpus`)."""
    from .pipeline import run_corpus

    return run_corpus(list(inputs) if not isinstance(inputs, (str, bytes)) else [inputs], out_dir, **kwargs)
