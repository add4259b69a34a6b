"""Packaging: the spaCy factory entry points and the floors file of `make test-min`."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _floors_module():
    spec = importlib.util.spec_from_file_location("floors", REPO / "ci" / "floors.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_floors_file_is_current():
    floors = _floors_module()
    assert (REPO / "ci" / "floors.txt").read_text(encoding="utf-8") == floors.render(), \
        "ci/floors.txt is stale: run python ci/floors.py"
    pins = dict(line.split("==", 1) for line in floors.floors() if ";" not in line)
    assert pins["torch"] == "2.13" and pins["spacy"] and pins["transformers"]


def test_claims_factory_is_found_through_the_spacy_registry():
    """In a fresh interpreter that never imports stancekit, spaCy finds `stancekit_claims` (and the
    other stages) through the `spacy_factories` entry points of pyproject.toml. spaCy reads those
    entry points when a Language is created, so the lookup comes after ``spacy.blank``."""
    code = (
        "import sys, spacy\n"
        "from spacy.language import Language\n"
        "assert 'stancekit' not in sys.modules\n"
        "nlp = spacy.blank('en')  # imports the entry points' modules\n"
        "f = spacy.registry.factories.get('stancekit_claims')\n"
        "print(f.__module__ + ':' + f.__name__)\n"
        "meta = Language.get_factory_meta('stancekit_claims')\n"
        "print(','.join(meta.assigns))\n"
        "for name in ('stancekit_entities', 'stancekit_quotes', 'stancekit_claims'):\n"
        "    nlp.add_pipe(name)\n"
        "print(','.join(nlp.pipe_names))\n"
        "print(type(nlp.get_pipe('stancekit_claims')).__name__)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["stancekit.claims:make_claim_finder", "doc._.stancekit_claims",
                                  "stancekit_entities,stancekit_quotes,stancekit_claims", "ClaimFinder"]


def test_entry_points_match_pyproject():
    from importlib.metadata import entry_points

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"]
    installed = {e.name: e.value for e in entry_points(group="spacy_factories") if e.name.startswith("stancekit")}
    assert installed == declared["spacy_factories"]
