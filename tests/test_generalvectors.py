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
    from stancekit.stance import general_strings, load_general_examples

    strings, vectors, meta = gv.read()
    assert meta["format"] == gv.FORMAT and meta["precision"] == "fp32"
    assert vectors.shape == (len(strings), int(meta["dim"]))
    assert set(general_strings(load_general_examples())) <= set(strings)
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


def test_the_packaged_head_stands_in_for_fitting_when_it_was_fitted_the_same_way(tiny_encoder, general_file,  # noqa: F811
                                                                                 tmp_path, monkeypatch):
    from stancekit import stance
    from stancekit.stance import FewShotBackend, LinearHead, general_strings

    monkeypatch.setattr(gv, "PATH", tmp_path / "vectors.safetensors")
    monkeypatch.setattr(stance, "GENERAL_HEAD", tmp_path / "head.npz")
    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache-build"))
    builder = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file))
    gv.write(general_strings(ROWS), builder.encoder)
    written = builder.write_general_head()

    fits = []
    real_fit = LinearHead.fit.__func__
    monkeypatch.setattr(LinearHead, "fit", classmethod(lambda cls, *a, **k: fits.append(1) or real_fit(cls, *a, **k)))
    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache-user"))
    user = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file))
    head = user.head_for(Target.adhoc("a target nobody configured"))
    assert fits == []  # read, not fitted
    assert np.array_equal(head.coef, written.coef) and head.temperature == written.temperature
    # a target with examples is fitted as before
    own = Target(id="own", name="the new stadium", aliases=["the new stadium"],
                 examples=[{"text": "we want the new stadium", "label": "favor"}])
    user.head_for(own)
    assert fits
    # other settings than the packaged head's: fitted
    fits.clear()
    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache-other"))
    other = FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general_file), C=0.5)
    other.head_for(Target.adhoc("a target nobody configured"))
    assert fits


@pytest.mark.slow
def test_the_shipped_general_head_is_what_fitting_gives_here():
    """Fitting the general head now, from the shipped vectors, gives the shipped head (a stale head fails)."""
    from stancekit.stance import GENERAL_HEAD, FewShotBackend, LinearHead

    backend = FewShotBackend(device="cpu", use_cache=False)
    fitted = backend._fit_head(Target.adhoc("anything"))
    assert backend._reproduces
    shipped = LinearHead.load(GENERAL_HEAD)
    assert shipped.classes == fitted.classes
    assert np.allclose(shipped.coef, fitted.coef, atol=1e-4) and abs(shipped.temperature - fitted.temperature) < 1e-3
    assert backend._packaged_head() is not None
