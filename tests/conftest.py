"""Shared fixtures. No test needs the network or ../shared (tests that read ../shared skip without it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEED = SHARED / "seeds" / "000_d6fffc65d73dbad0.txt"
SAMPLE = REPO / "corpora" / "sample"

# Fixtures that load the real default models (the spaCy pipeline, the MiniLM encoder): a test that
# uses one is marked ``slow`` here, so `make test-fast` (-m "not slow") leaves it out. Tests that
# load a model themselves carry ``@pytest.mark.slow``. The markers are declared in pyproject.toml
# and --strict-markers refuses any other.
MODEL_FIXTURES = frozenset({"nlp", "pipeline", "detector", "service", "article", "cli_run"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Few-shot heads are cached per test session, never in the user's home."""
    os.environ.setdefault("STANCEKIT_CACHE", str(tmp_path_factory.mktemp("stancekit-cache")))
    yield


@pytest.fixture(scope="session")
def nlp():
    """The small English pipeline with stancekit's entity and quote components (loaded once)."""
    from stancekit.ner import load_spacy

    nlp = load_spacy()
    nlp.add_pipe("stancekit_entities")
    nlp.add_pipe("stancekit_quotes")
    return nlp


@pytest.fixture(scope="session")
def pipeline():
    """The full default pipeline (fewshot stance on the bundled encoder), loaded once per session, on
    its own spaCy pipeline (it adds the claims component, which ``nlp`` leaves out)."""
    import stancekit

    return stancekit.load(targets=["certification"])
