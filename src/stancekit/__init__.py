"""stancekit: who said what about a topic, and with which stance.

Quick use::

    import stancekit
    nlp = stancekit.load(targets=["certification"])
    result = nlp(text)                 # records of one article
    frames = stancekit.read_run("out")  # a corpus run as pandas DataFrames
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # heavy modules load only when used
    from .config import Config
    from .pipeline import Pipeline

__version__ = "0.1.0"

# flat memory in long runs: torch's per-shape CPU kernel caches capped before any kernel runs (device.py)
from .device import bound_kernel_caches  # noqa: E402  (standard library only until a device is resolved)

bound_kernel_caches()

# the function, not the module: ``stancekit.render(result)`` (render.py imports only the standard library)
from .render import render  # noqa: E402

__all__ = ["__version__", "load", "read_run", "render", "run"]


def load(config: "str | os.PathLike[str] | None" = None, *, targets: "Sequence[str] | None" = None,
         backend: "str | None" = None, spacy_model: "str | None" = None, device: "str | None" = None,
         batch_size: "int | None" = None, nlp: Any = None, **overrides: Any) -> "Pipeline":
    """Build a :class:`~stancekit.pipeline.Pipeline`.

    ``config`` is a path to a TOML file (or ``None`` for the defaults); ``targets`` a list of shipped
    target names or target file paths (none by default: quotes get no stance); ``backend`` a stance
    backend name (``fewshot``, ``nli``, ``classifier``, ``ensemble``); ``nlp`` an already loaded spaCy pipeline.
    Other keyword arguments override configuration keys by flat name (``min_claim_score=0.6``) or as
    ``**{"section.key": value}``. Every value is validated strictly when the pipeline is built (no
    string-to-number coercion): a wrong type or unknown key raises ``StancekitError`` E005 naming the key.
    """
    from .config import load_config
    from .pipeline import Pipeline

    cfg = load_config(config, targets=list(targets) if targets is not None else None, stance_backend=backend,
                      spacy_model=spacy_model, device=device, batch_size=batch_size, **overrides)
    return Pipeline(cfg, nlp=nlp)


def read_run(out_dir: "str | os.PathLike[str]") -> dict:
    """Load a run directory as a dict of pandas DataFrames (documents, quotes, speakers, claims, errors)."""
    from .records import read_run as _read_run

    return _read_run(out_dir)


def run(inputs: "str | os.PathLike[str] | Sequence[str | os.PathLike[str]]", out_dir: "str | os.PathLike[str]", *,
        config: "Config | None" = None, force: bool = False, resume: bool = False, parquet: bool = False,
        **kwargs: Any) -> dict:
    """Run the pipeline over files or directories into ``out_dir``; returns the manifest.

    ``config`` is a :class:`~stancekit.config.Config` (``stancekit.config.load_config(...)``), ``force``
    overwrites a non-empty ``out_dir``, ``resume`` continues a run, ``parquet`` also writes Parquet; other
    keyword arguments go to :func:`stancekit.corpus.run_corpus`.
    """
    from .corpus import run_corpus

    items = [inputs] if isinstance(inputs, (str, bytes, os.PathLike)) else list(inputs)
    return run_corpus(items, out_dir, config=config, force=force, resume=resume, parquet=parquet, **kwargs)
