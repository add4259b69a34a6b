"""Optional dependencies: the paths of stancekit that need an extra, and the coded error without it.

The base install runs the pipeline on text and JSONL input. HTML pages, WARC archives, training,
the service, the report's plots and the Ray engine need more; each is an extra of the package
(``pip install "stancekit[html]"``). A path that needs one imports it through :func:`require`,
which raises E017 naming the extra when the package is missing.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import Errors, StancekitError

#: extra -> (what it enables, the import names it provides)
EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "html": ("HTML input (.html pages and the pages inside WARC archives)", ("trafilatura", "lxml_html_clean")),
    "warc": ("WARC input (.warc, .warc.gz)", ("warcio",)),
    "train": ("`stancekit train stance`", ("datasets",)),
    "serve": ("`stancekit serve`", ("fastapi", "uvicorn")),
    "report": ("the plots of `stancekit report`", ("plotly",)),
    "ray": ("--engine ray", ("ray",)),
}


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` (a dotted name is fine) or raise E017 naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise StancekitError(Errors.E017, what=EXTRAS[extra][0], module=module.split(".")[0],
                             extra=extra, detail=str(exc)) from exc


def available(extra: str) -> bool:
    """Whether every package of ``extra`` imports."""
    try:
        for module in EXTRAS[extra][1]:
            importlib.import_module(module)
    except ImportError:
        return False
    return True
