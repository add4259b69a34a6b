"""Configuration: one strict validation for the shipped defaults, user files, ``--set`` and keyword overrides."""

from __future__ import annotations

import pytest

from stancekit.config import Config, flat_keys, known_keys, load_config, parse_set
from stancekit.errors import StancekitError


def _error(**kw) -> StancekitError:
    with pytest.raises(StancekitError) as exc:
        load_config(**kw)
    return exc.value


def test_model_defaults_and_flat_names():
    cfg = Config()
    assert cfg.stance.targets == [] and cfg.targets == []  # no stance without a target
    assert cfg.pipeline.batch_size == cfg.batch_size == 32
    assert cfg.stance_backend == "fewshot" and cfg.claims_model == "" and bool(cfg.claims) is True
    assert set(cfg.to_dict()) == set(flat_keys()) and len(known_keys()) == len(flat_keys())


@pytest.mark.parametrize("overrides, key", [
    ({"batch_size": "64"}, "pipeline.batch_size"),      # no string-to-number coercion
    ({"batch_size": 0}, "pipeline.batch_size"),
    ({"batch_size": True}, "pipeline.batch_size"),      # a bool is not an int
    ({"threads": 1.5}, "pipeline.threads"),              # optional fields are checked too
    ({"targets": ["a", 3]}, "stance.targets.1"),         # and list items
    ({"targets": "certification"}, "stance.targets"),
    ({"min_claim_score": 1.5}, "claims.min_score"),
    ({"device": "gpu"}, "pipeline.device"),
    ({"no_such_key": 1}, "no_such_key"),
    ({"pipeline.no_such_key": 1}, "pipeline.no_such_key"),
])
def test_bad_overrides_fail_at_load_with_the_key(overrides, key):
    err = _error(**overrides)
    assert err.code == "E005" and key in err.message


def test_good_overrides_flat_and_dotted(tmp_path):
    cfg = load_config(batch_size=8, targets=["x"], claims=False, min_claim_score=1,
                      claims_model=tmp_path / "head.json", **{"stance.max_tokens": 512})
    assert (cfg.pipeline.batch_size, cfg.stance.targets, cfg.claims.enabled) == (8, ["x"], False)
    assert cfg.claims.min_score == 1.0 and isinstance(cfg.claims.min_score, float)
    assert cfg.claims_model == str(tmp_path / "head.json") and cfg.max_tokens == 512
    assert load_config(batch_size=None).batch_size == load_config().batch_size  # None = not given


def test_attribute_assignment_is_validated():
    cfg = Config()
    cfg.chunk_chars = 1000
    assert cfg.pipeline.chunk_chars == 1000
    with pytest.raises(StancekitError) as exc:
        cfg.batch_size = "many"
    assert exc.value.code == "E005" and "pipeline.batch_size" in exc.value.message


@pytest.mark.parametrize("text, key", [
    ("[pipeline]\nbatch_size = 'many'\n", "pipeline.batch_size"),
    ("[pipeline]\nbogus = 1\n", "pipeline.bogus"),
    ("[bogus]\nx = 1\n", "bogus"),
    ("pipeline = 3\n", "pipeline"),
    ("[stance]\ntargets = ['a', 1]\n", "stance.targets.1"),
    ("[pipeline]\nthreads = 'two'\n", "pipeline.threads"),
    ("[pipeline\n", "Invalid configuration"),
])
def test_files_get_the_same_validation(tmp_path, text, key):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StancekitError) as exc:
        load_config(path)
    assert exc.value.code == "E005" and key in exc.value.message and str(path) in exc.value.message


def test_file_then_set_then_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[pipeline]\nbatch_size = 4\nthreads = 2\n[stance]\ntargets = ['a']\n", encoding="utf-8")
    cfg = load_config(path, settings=parse_set(["pipeline.batch_size=6", "stance.targets=[\"b\", \"c\"]"]),
                      batch_size=7)
    assert (cfg.batch_size, cfg.threads, cfg.targets) == (7, 2, ["b", "c"])
    with pytest.raises(StancekitError) as exc:
        load_config(tmp_path / "missing.toml")
    assert exc.value.code == "E001"


def test_parse_set_reads_toml_values():
    got = parse_set(["pipeline.batch_size=8", "pipeline.device=cpu", "claims.enabled=false",
                     "claims.min_score=0.7", "stance.targets=[\"a\", \"b\"]", "stance.model=\"x=y\""])
    assert got == {"pipeline.batch_size": 8, "pipeline.device": "cpu", "claims.enabled": False,
                   "claims.min_score": 0.7, "stance.targets": ["a", "b"], "stance.model": "x=y"}
    for bad in ("batch_size=8", "pipeline.batch_size"):
        with pytest.raises(StancekitError) as exc:
            parse_set([bad])
        assert exc.value.code == "E005"
    with pytest.raises(StancekitError) as exc:  # parsed as a string, then refused by the type check
        load_config(settings=parse_set(["pipeline.batch_size=many"]))
    assert "pipeline.batch_size" in exc.value.message


def test_shipped_default_file_validates():
    from stancekit.config import apply
    from stancekit.resources import configs_dir, read_toml

    cfg = apply(Config(), read_toml(configs_dir() / "default.toml"), source="default.toml")
    assert cfg.pipeline.batch_size >= 1
