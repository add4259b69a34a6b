"""The Ray Data engine in local mode gives the local engine's records (order aside)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'stancekit[ray]')")
pytest.importorskip("ray.data", reason="ray[data] is not installed")

from scale_fakes import FakeBackend, read_records  # noqa: E402
from stancekit.config import load_config  # noqa: E402
from stancekit.distributed import run_ray  # noqa: E402
from stancekit.corpus import run_corpus  # noqa: E402
from stancekit.pipeline import Pipeline  # noqa: E402

# A stalled Ray driver fails the run with every thread's stack instead of waiting out the CI limit. (The local
# runs below start spaCy workers inside this Ray driver: they are spawned, as forking a Ray driver hung it.)
try:
    import pytest_timeout  # noqa: F401

    pytestmark = pytest.mark.timeout(600, method="thread")
except ImportError:
    pass

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "corpora" / "sample" / "articles"


@pytest.fixture(scope="module")
def local_ray():
    env = os.pathsep.join([str(REPO / "src"), str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": env}})
    yield
    ray.shutdown()


def _config(**kw):
    return load_config(targets=["certification"], claims=False, batch_size=2, **kw)


@pytest.mark.parametrize("split", [None, True], ids=["one-pool", "split-pools"])
def test_ray_local_mode_equals_the_local_engine(local_ray, nlp, tmp_path, split):
    """Without GPUs one pool of actors runs every stage; ``split=True`` keeps the two pools."""
    local = run_corpus([SAMPLE], tmp_path / "local",
                       pipeline=Pipeline(_config(), nlp=nlp, backend=FakeBackend()))
    manifest = run_ray([SAMPLE], tmp_path / "ray", config=_config(), workers=2, split=split,
                       factory="scale_fakes:ray_pipeline")
    assert manifest["engine"] == "ray" and manifest["status"] == "complete"
    ours, theirs = read_records(tmp_path / "ray"), read_records(tmp_path / "local")
    assert ours["documents"] and ours["quotes"] and ours["speakers"]
    assert ours == theirs
    assert manifest["counts"] == local["counts"]
    assert manifest["fingerprint"] == local["fingerprint"]
    assert manifest["timings_s"]["spacy"] > 0


def test_ray_run_resumes_a_local_run(local_ray, nlp, tmp_path):
    """The engines share the record files: a local run cut short is finished by the Ray engine."""
    from stancekit.records import RunWriter

    class Stop(BaseException):
        pass

    class StopAfterFirstCommit(RunWriter):
        def commit(self):
            super().commit()
            raise Stop

    out = tmp_path / "run"
    with pytest.raises(Stop):
        run_corpus([SAMPLE], out, pipeline=Pipeline(_config(), nlp=nlp, backend=FakeBackend()),
                   writer_class=StopAfterFirstCommit)
    manifest = run_ray([SAMPLE], out, config=_config(), resume=True, factory="scale_fakes:ray_pipeline")
    assert manifest["this_run"]["skipped_done"] == 2 and manifest["resumed"]
    run_corpus([SAMPLE], tmp_path / "ref", pipeline=Pipeline(_config(), nlp=nlp, backend=FakeBackend()))
    assert read_records(out) == read_records(tmp_path / "ref")
    assert json.loads((out / "manifest.json").read_text())["engine"] == "ray"


@pytest.mark.slow
def test_ray_split_pools_settle_claims_in_the_stance_actor(local_ray, tmp_path):
    """With claims on, the spaCy actors send claim candidates (no encoder loaded there) and the stance
    actor scores them: the records equal the local engine's."""
    from stancekit.ner import load_spacy

    config = load_config(targets=["certification"], batch_size=2)
    assert config.claims
    local = run_corpus([SAMPLE], tmp_path / "local",
                       pipeline=Pipeline(config, nlp=load_spacy(), backend=FakeBackend()))
    manifest = run_ray([SAMPLE], tmp_path / "ray", config=config, workers=2, split=True,
                       factory="scale_fakes:ray_pipeline")
    ours, theirs = read_records(tmp_path / "ray"), read_records(tmp_path / "local")
    assert ours["claims"] and ours == theirs
    assert manifest["counts"] == local["counts"] and manifest["counts"]["claims"] > 0
