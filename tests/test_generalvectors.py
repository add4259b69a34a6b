"""The packaged embeddings of the stance general set: storage, the probe that decides whether an encoder may
use them, and a fresh cache that fits the few-shot head without encoding the general set."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stancekit import generalvectors as gv
from stancekit.targets import Target
from tiny_models import build_encoder, tiny_encoder  # noqa: F401  (fixture)

ROWS = [
    {"target": "the new stadium", "text": "the council praised the new stadium plan", "label": "favor"},
    {"target": "the new stadium", "text": "residents said the stadium was a waste of money", "label": "against"},
    {"target": "the new stadium", "text": "the match was moved to saturday", "label": "neutral"},
    {"target": "a carbon tax", "text": "economists backed a carbon tax on fuel", "label": "favor"},
    {"target": "a carbon tax", "text": "the union denied that a carbon tax would help workers", "label": "against"},
    {"target": "a carbon tax", "text": "the report was published on monday", "label": "neutral"},
]


@pytest.fixture()
def general_file(tmp_path):
    path = tmp_path / "general.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


def test_int8_storage_keeps_the_direction_of_each_vector():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(200, 384)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    q, scales = gv.quantize(v)
    assert q.dtype == np.int8 and scales.shape == (200,)
    back = gv.dequantize(q, scales)
    assert np.allclose(np.linalg.norm(back, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(back * v, axis=1))) > 0.9998
    assert float(np.min(np.sum(back * np.roll(v, 1, axis=0), axis=1))) < 0.5  # and not another vector's


def test_the_shipped_file_covers_the_shipped_general_set():
    """Fails when the general set changes without `make general-vectors`."""
    from stancekit.stance import example_strings, general_strings, load_general_examples
    from stancekit.targets import load_target, shipped_targets

    strings, vectors, meta = gv.read()
    assert meta["format"] == gv.FORMAT and meta["precision"] == "fp32"
    assert vectors.shape == (len(strings), int(meta["dim"]))
    assert set(general_strings(load_general_examples())) <= set(strings)
    for path in shipped_targets().values():  # and what fitting a shipped target's head needs
        assert set(example_strings(load_target(path))) <= set(strings)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_the_probe_accepts_the_writer_and_refuses_other_encoders(tiny_encoder, tmp_path):  # noqa: F811
    from stancekit.stance import Encoder, general_strings

    strings = general_strings(ROWS)
    path = tmp_path / "vectors.safetensors"
    own = Encoder(str(tiny_encoder), device="cpu")
    info = gv.write(strings, own, path)
    assert info["count"] == str(len(strings)) and info["min_cosine"] > 0.999
    found = gv.matching(own, path)
    assert set(found) == set(strings)
    fresh = own.encode(strings[:3])
    for s, f in zip(strings[:3], fresh):
        assert float(found[s] @ (f / np.linalg.norm(f))) > 0.999
    # the same architecture and width with other weights: the probe tells them apart
    other = Encoder(str(build_encoder(tmp_path / "other", seed=1)), device="cpu")
    assert gv.matching(other, path) == {}
    # the shipped file (384 wide) against a 32-wide encoder, and no file at all
    assert gv.matching(own) == {}
    assert gv.matching(own, tmp_path / "missing.safetensors") == {}


class Counting:
    def __init__(self, encode):
        self.encode, self.strings = encode, []

    def __call__(self, texts):
        self.strings.extend(texts)
        return self.encode(texts)


def test_a_fresh_cache_fits_the_head_from_the_packaged_vectors(tiny_encoder, general_file, tmp_path,  # noqa: F811
                                                               monkeypatch):
    from stancekit.stance import FewShotBackend, general_strings

    path = tmp_path / "vectors.safetensors"
    monkeypatch.setattr(gv, "PATH", path)
    target = Target.adhoc("the new stadium")

    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache-none"))
    plain = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file))
    assert plain.packaged_digest() is None  # no file yet
    plain_encode = Counting(plain.encoder.encode)
    plain.encoder.encode = plain_encode
    plain_head = plain.head_for(target)
    plain_key = plain.head_key(target)
    assert set(general_strings(ROWS)) <= set(plain_encode.strings)  # encoded the whole general set

    gv.write(general_strings(ROWS), plain.encoder, path)
    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache-packaged"))
    packaged = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file))
    assert packaged.packaged_digest() is not None
    assert packaged.head_key(target) != plain_key  # a head fitted on them is cached apart
    count = Counting(packaged.encoder.encode)
    packaged.encoder.encode = count
    head = packaged.head_for(target)
    assert len(count.strings) <= gv.PROBES  # only the probe was encoded
    assert head.classes == plain_head.classes
    assert np.allclose(head.coef, plain_head.coef, atol=0.05)

    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache-off"))
    off = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file), packaged_vectors=False)
    count_off = Counting(off.encoder.encode)
    off.encoder.encode = count_off
    off.head_for(target)
    assert set(general_strings(ROWS)) <= set(count_off.strings)


@pytest.mark.slow
def test_the_shipped_vectors_are_the_default_encoders():
    """The bundled MiniLM reproduces the shipped vectors, in whatever precision it runs here."""
    from stancekit.stance import shared_encoder

    encoder = shared_encoder(device="cpu")
    found = gv.matching(encoder)
    assert found, "the probe refused the default encoder"
    strings = sorted(found)[::401]
    fresh = encoder.encode(strings)
    fresh /= np.linalg.norm(fresh, axis=1, keepdims=True)
    assert float(np.min(np.sum(fresh * np.stack([found[s] for s in strings]), axis=1))) > gv.MIN_COSINE


def test_packaged_heads_stand_in_for_fitting_when_they_were_fitted_the_same_way(tiny_encoder, general_file,  # noqa: F811
                                                                              tmp_path, monkeypatch):
    from stancekit import stance
    from stancekit.stance import FewShotBackend, LinearHead, example_strings, general_strings

    own = Target(id="own", name="the new stadium", aliases=["the new stadium", "the arena"],
                 examples=[{"text": "we want the new stadium", "label": "favor"},
                           {"text": "the arena is a waste", "label": "against"}])
    monkeypatch.setattr(gv, "PATH", tmp_path / "vectors.safetensors")
    monkeypatch.setattr(stance, "PACKAGED_HEADS", tmp_path / "heads")
    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache-build"))
    builder = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file))
    gv.write(general_strings(ROWS) + example_strings(own), builder.encoder)
    written = builder.write_packaged_heads([own])
    assert sorted(p.name for p in written.values()) == ["general.npz", "own.npz"]

    fits = []
    real_fit = LinearHead.fit.__func__
    monkeypatch.setattr(LinearHead, "fit", classmethod(lambda cls, *a, **k: fits.append(1) or real_fit(cls, *a, **k)))
    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache-user"))
    user = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file))
    general = user.head_for(Target.adhoc("a target nobody configured"))
    mine = user.head_for(own)
    assert fits == []  # both read, not fitted
    assert np.array_equal(general.coef, LinearHead.load(written["general"]).coef)
    assert np.array_equal(mine.coef, LinearHead.load(written["own"]).coef)
    # a target of the same id with other examples is fitted
    changed = Target(id="own", name="the new stadium", aliases=["the new stadium"],
                     examples=[{"text": "the stadium will bring jobs", "label": "favor"}])
    user.head_for(changed)
    assert fits
    # other settings than the packaged heads': fitted
    fits.clear()
    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache-other"))
    other = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file), C=0.5)
    other.head_for(Target.adhoc("a target nobody configured"))
    assert fits


def test_inference_keeps_the_encoders_own_vectors(tiny_encoder, general_file, tmp_path, monkeypatch):  # noqa: F811
    """Packaged vectors are for fitting only: a text or target the file also holds is encoded at inference."""
    from stancekit.stance import FewShotBackend, StanceInput, general_strings

    monkeypatch.setattr(gv, "PATH", tmp_path / "vectors.safetensors")
    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache"))
    backend = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file))
    strings = general_strings(ROWS)
    gv.write(strings, backend.encoder)
    marker = np.zeros(32, np.float32)
    marker[0] = 1.0
    packaged = gv.matching(backend.encoder)
    name = ROWS[0]["target"]  # a general-set target's name: in the file
    packaged[name] = marker  # a packaged vector no encoder would give
    backend._packaged_vecs = packaged
    backend.head_for(Target.adhoc(name))
    assert name not in backend._vecs  # the fit's vectors are gone
    [result] = backend.predict([StanceInput(text=ROWS[0]["text"], target=Target.adhoc(name))])
    assert result["label"] in ("favor", "against", "neutral")
    assert not np.allclose(backend._vecs[name], marker)  # encoded for inference
    assert np.allclose(backend._vecs[name], backend.encoder.encode([name])[0])


@pytest.mark.slow
def test_the_shipped_heads_are_what_fitting_gives_here():
    """Fitting the packaged heads now, from the shipped vectors, gives the shipped heads (a stale head fails).

    The heads are compared by what they predict on the general set's features, not weight by weight: the
    logistic regression is ill-conditioned (1,168 features), so its solver stops, within its tolerance, at
    weights that differ by a few hundredths from one CPU or SciPy build to another (0.03 seen) while the
    probabilities agree (0.0084 at most, 0.0008 on average, seen). A stale head moves them far more: the
    general head fitted without the set's batch 3 differs by 0.84 at most, 0.095 on average."""
    from stancekit.stance import FewShotBackend
    from stancekit.targets import load_target, shipped_targets

    backend = FewShotBackend(device="cpu", use_cache=False)
    targets = [Target.adhoc("anything")] + [t for t in map(load_target, shipped_targets().values()) if t.examples]
    for target in targets:
        fitted = backend._fit_head(target)
        assert backend._packaged(), "the probe refused the default encoder"
        shipped = backend._packaged_head(target)
        assert shipped is not None, target.id
        assert shipped.classes == fitted.classes
        X = backend._general_rows()[1]
        gap = np.abs(shipped.proba(X) - fitted.proba(X))
        assert gap.max() < 0.02 and gap.mean() < 2e-3, (target.id, gap.max(), gap.mean())
        assert abs(shipped.temperature - fitted.temperature) < 1e-3
