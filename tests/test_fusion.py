"""The fused stance reader (stancekit.fusion): copied layers, the joined layout, files, training, the backend."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stancekit.targets import Target
from tiny_models import tiny_encoder  # noqa: F401  (fixture)

torch = pytest.importorskip("torch")

ROWS = [{"target": t, "text": text.format(t=t), "label": lab}
        for t in ("speed cameras", "the new stadium", "a sugar tax")
        for text, lab in (("The mayor said {t} would save lives.", "favor"),
                          ("Critics of {t} called it a waste of money.", "against"),
                          ("The council will vote on {t} next week.", "neutral"))]


def _hf(folder):
    from transformers import AutoModel, AutoTokenizer

    return AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()


def test_copied_blocks_reproduce_the_encoders_top_layers(tiny_encoder):  # noqa: F811
    from stancekit.fusion import FusedReader

    tok, model = _hf(tiny_encoder)
    reader = FusedReader.from_encoder(model, fuse_at=1).eval()
    enc = tok(["the minister denied that the plan had failed"], return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc, output_hidden_states=True).hidden_states
        x = hidden[1]
        for block in reader.blocks:
            x = block(x, enc["attention_mask"].bool())
    assert len(reader.blocks) == 1
    assert torch.allclose(x, hidden[-1], atol=1e-5)


def _tiny_mpnet():
    from transformers import MPNetConfig, MPNetModel

    torch.manual_seed(0)
    cfg = MPNetConfig(vocab_size=64, hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=48,
                      max_position_embeddings=128, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    model = MPNetModel(cfg).eval()
    with torch.no_grad():  # a bias that matters: the initial one is near zero
        model.encoder.relative_attention_bias.weight.normal_(0, 1.0)
    return model


def test_copied_mpnet_blocks_reproduce_its_top_layers_with_the_relative_position_bias():
    from stancekit.fusion import FusedReader

    model = _tiny_mpnet()
    reader = FusedReader.from_encoder(model, fuse_at=1).eval()
    assert reader.config["relative_buckets"] == 32 and len(reader.blocks) == 2
    ids = torch.tensor([[0, 5, 9, 11, 13, 17, 19, 23, 2], [0, 7, 8, 2, 1, 1, 1, 1, 1]])
    mask = ids != 1
    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=mask.long(), output_hidden_states=True).hidden_states
        x = hidden[1]
        bias = reader.position_bias(ids.shape[1])
        for block in reader.blocks:
            x = block(x, mask, bias)
        plain = hidden[1]
        for block in reader.blocks:
            plain = block(plain, mask)
    assert torch.allclose(x[mask], hidden[-1][mask], atol=1e-5)
    assert not torch.allclose(plain[mask], hidden[-1][mask], atol=1e-3)  # without the bias it is not MPNet


def test_relative_buckets_are_mpnets():
    from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

    from stancekit.fusion import relative_bucket

    offsets = torch.arange(-400, 400)
    assert torch.equal(relative_bucket(offsets, 32), MPNetEncoder.relative_position_bucket(offsets, 32))


def test_an_mpnet_reader_saves_and_loads_its_position_bias(tmp_path):
    from stancekit.fusion import FusedReader, join

    reader = FusedReader.from_encoder(_tiny_mpnet(), fuse_at=2).eval()
    reader.save(tmp_path / "m.safetensors")
    loaded = FusedReader.load(tmp_path / "m.safetensors")
    assert loaded.config == reader.config and loaded.relative is not None
    rng = np.random.default_rng(0)
    pair = [(rng.normal(size=(3, 32)).astype(np.float32), rng.normal(size=(6, 32)).astype(np.float32))]
    with torch.no_grad():
        assert torch.allclose(loaded(*join(pair)), reader(*join(pair)), atol=2e-2)


def test_int8_storage_keeps_each_weight_within_half_a_step_of_its_row(tmp_path, monkeypatch):
    from safetensors import safe_open

    import stancekit.fusion as fusion
    from stancekit.fusion import FusedReader, join

    monkeypatch.setattr(fusion, "INT8_MIN_SIZE", 256)  # the tiny model's matrices count as large
    reader = FusedReader.from_encoder(_tiny_mpnet(), fuse_at=1).eval()
    reader.save(tmp_path / "f16.safetensors")
    reader.save(tmp_path / "i8.safetensors", int8=True)
    assert (tmp_path / "i8.safetensors").stat().st_size < 0.7 * (tmp_path / "f16.safetensors").stat().st_size
    with safe_open(str(tmp_path / "i8.safetensors"), framework="pt") as fh:
        assert fh.get_tensor("blocks.0.query.weight").dtype == torch.int8
        assert fh.get_tensor("blocks.0.query.weight:scale").shape == (32, 1)
        assert fh.get_tensor("segment").dtype == torch.float16  # vectors stay float16
    loaded = FusedReader.load(tmp_path / "i8.safetensors")
    for k, v in reader.state_dict().items():
        step = v.abs().amax(-1, keepdim=True) / 127 if v.dim() == 2 else 1e-3 * (1 + v.abs())
        assert ((loaded.state_dict()[k] - v).abs() <= step / 2 + 1e-3 * v.abs() + 1e-6).all(), k
    rng = np.random.default_rng(1)
    pair = [(rng.normal(size=(3, 32)).astype(np.float32), rng.normal(size=(6, 32)).astype(np.float32))]
    with torch.no_grad():
        assert torch.allclose(loaded(*join(pair)).softmax(-1), reader(*join(pair)).softmax(-1), atol=0.02)


def test_a_reader_needs_layers_left_to_copy(tiny_encoder):  # noqa: F811
    from stancekit.fusion import FusedReader

    with pytest.raises(ValueError, match="leaves none"):
        FusedReader.from_encoder(_hf(tiny_encoder)[1], fuse_at=2)


def test_proba_reads_in_engine_batches_as_one_forward_would(tiny_encoder):  # noqa: F811
    from stancekit.fusion import FusedReader, join, proba, reader_engine

    reader = FusedReader.from_encoder(_hf(tiny_encoder)[1], fuse_at=1).eval()
    rng = np.random.default_rng(0)
    hidden = reader.config["hidden"]
    target = rng.normal(size=(3, hidden)).astype(np.float32)
    texts = [rng.normal(size=(n, hidden)).astype(np.float32) for n in (4, 11, 2, 7, 9)]
    with torch.no_grad():
        want = torch.cat([reader(*join([(target, t)])).softmax(-1) for t in texts]).numpy()
    small = reader_engine(reader, max_tokens=16)  # batches of one or two
    got = proba(reader, target, texts, engine=small)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert small.stats.batches >= 3
    np.testing.assert_allclose(proba(reader, target, texts), want, atol=1e-5)  # one batch, default engine
    assert proba(reader, target, []).shape == (0, 3)


def test_join_puts_the_target_first_and_pads():
    from stancekit.fusion import join

    g = np.ones((2, 4), np.float16)
    a, b = np.full((3, 4), 2, np.float16), np.full((5, 4), 3, np.float16)
    x, mask, is_target = join([(g, a), (g, b)], max_text=4)
    assert x.shape == (2, 6, 4)  # 2 target tokens + at most 4 of the text's
    assert mask.tolist() == [[True] * 5 + [False], [True] * 6]
    assert is_target.tolist() == [[True, True, False, False, False, False]] * 2
    assert float(x[0, 2, 0]) == 2.0 and float(x[0, 5, 0]) == 0.0 and float(x[1, 5, 0]) == 3.0


def test_encoder_gives_vectors_and_layer_states_in_one_pass(tiny_encoder):  # noqa: F811
    from stancekit.stance import Encoder

    enc = Encoder(str(tiny_encoder), device="cpu")
    texts = ["a short one", "a somewhat longer text about speed cameras in town"]
    vecs, states = enc.encode_with_states(texts, 1)
    assert np.allclose(vecs, enc.encode(texts), atol=1e-5)
    tok, model = _hf(tiny_encoder)
    with torch.no_grad():
        ref = model(**tok(texts[1:], return_tensors="pt"), output_hidden_states=True).hidden_states[1][0]
    assert states[1].dtype == np.float16 and states[1].shape == tuple(ref.shape)
    assert np.allclose(states[1].astype(np.float32), ref.numpy(), atol=2e-2)
    assert len(states[0]) < len(states[1])  # each text's own tokens, no padding


@pytest.fixture(scope="module")
def tiny_reader(tiny_encoder, tmp_path_factory):  # noqa: F811
    from stancekit.fusion import train

    path = tmp_path_factory.mktemp("fused") / "reader.safetensors"
    reader = train(ROWS, str(tiny_encoder), epochs=2, fuse_at=1, log=lambda *_: None)
    reader.save(path)
    return reader, path


def test_training_is_deterministic_and_saves_safetensors(tiny_encoder, tiny_reader):  # noqa: F811
    from safetensors import safe_open

    from stancekit.fusion import FusedReader, train

    reader, path = tiny_reader
    again = train(ROWS, str(tiny_encoder), epochs=2, fuse_at=1, log=lambda *_: None)
    for (k, v), (k2, v2) in zip(reader.state_dict().items(), again.state_dict().items()):
        assert k == k2 and torch.equal(v, v2), k
    start = FusedReader.from_encoder(_hf(tiny_encoder)[1], fuse_at=1)
    assert not torch.equal(start.classify.weight, reader.classify.weight)  # it did learn
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata()
    assert meta["version"] == "fused.v1" and json.loads(meta["config"])["fuse_at"] == 1
    assert json.loads(meta["meta"])["rows"] == len(ROWS)
    loaded = FusedReader.load(path)
    for k, v in reader.state_dict().items():  # stored in float16
        assert torch.allclose(loaded.state_dict()[k], v, atol=1e-3 + 1e-3 * float(v.abs().max())), k


def test_a_target_pooled_reader_never_reads_the_texts_mean(tiny_encoder):  # noqa: F811
    from stancekit.fusion import train

    quiet = {"epochs": 2, "fuse_at": 1, "log": lambda *_: None}
    reader = train(ROWS, str(tiny_encoder), pool="target", **quiet)
    hidden = reader.config["hidden"]
    assert reader.meta["pool"] == "target"
    assert torch.count_nonzero(reader.classify.weight[:, :hidden]) == 0  # zero after AdamW's steps and decay
    assert torch.count_nonzero(reader.classify.weight[:, hidden:]) > 0  # the target's columns did learn
    both = train(ROWS, str(tiny_encoder), **quiet)
    assert torch.count_nonzero(both.classify.weight[:, :hidden]) > 0 and "pool" not in both.meta
    # so whatever the text's mean state, the logits are those of the target's state alone
    text_mean = torch.from_numpy(np.random.default_rng(0).normal(size=(4, hidden)).astype(np.float32)) * 5.0
    with torch.no_grad():
        logits = reader.classify(torch.cat([text_mean, torch.zeros(4, hidden)], dim=-1))
    assert torch.allclose(logits, reader.classify.bias.expand(4, -1))
    with pytest.raises(ValueError, match="pool"):
        train(ROWS, str(tiny_encoder), pool="text", **quiet)


def test_shipped_recipe_averages_a_reader_of_the_first_batches_with_one_of_all(tiny_encoder, monkeypatch):  # noqa: F811
    from stancekit.fusion import average, train, train_shipped

    quiet = {"epochs": 1, "fuse_at": 1, "log": lambda *_: None}
    rows = [dict(r, batch=1) for r in ROWS[:6]] + [dict(r, batch=3) for r in ROWS[6:]]
    first = train(rows[:6], str(tiny_encoder), **quiet)
    second = train(rows, str(tiny_encoder), **quiet)
    shipped = train_shipped(rows, str(tiny_encoder), base_batches=2, weight=0.25, **quiet)
    for k, v in shipped.state_dict().items():
        assert torch.allclose(v, 0.75 * first.state_dict()[k] + 0.25 * second.state_dict()[k], atol=1e-6), k
    assert not torch.equal(first.classify.weight, second.classify.weight)
    assert shipped.meta["rows"] == len(rows) and [m["rows"] for m in shipped.meta["average"]] == [6, len(rows)]
    # the encoder's states are computed once for both readers
    import stancekit.fusion as fusion

    calls = []
    real = fusion.layer_states
    monkeypatch.setattr(fusion, "layer_states", lambda *a, **k: calls.append(len(a[0])) or real(*a, **k))
    train_shipped(rows, str(tiny_encoder), base_batches=2, weight=0.25, **quiet)
    assert calls == [len(rows)]
    # a set with one batch only trains one reader
    single = train_shipped(rows[:6], str(tiny_encoder), **quiet)
    assert torch.equal(single.classify.weight, first.classify.weight) and "average" not in single.meta
    with pytest.raises(ValueError, match="same shape"):
        average(first, train(rows, str(tiny_encoder), epochs=1, fuse_at=0, log=lambda *_: None), 0.5)


def test_a_file_of_another_version_is_refused(tmp_path):
    from safetensors.torch import save_file

    from stancekit.fusion import FusedReader

    save_file({"w": torch.zeros(2)}, str(tmp_path / "x.safetensors"), metadata={"version": "fused.v0"})
    with pytest.raises(ValueError, match="not a fused.v1"):
        FusedReader.load(tmp_path / "x.safetensors")
    from stancekit.stance import fused_header

    with pytest.raises(ValueError, match="not a fused.v1"):
        fused_header(tmp_path / "x.safetensors")


def test_describe_reads_the_reader_header_without_loading_it(tiny_encoder, tiny_reader, tmp_path,  # noqa: F811
                                                             monkeypatch):
    """A run whose targets all have examples never runs the reader: its manifest still names it (from the
    file's header), and the weights are loaded only when a target without examples is read."""
    import stancekit.stance as st
    from stancekit.fusion import FusedReader

    reader, path = tiny_reader
    loads = []
    real_load = FusedReader.load.__func__
    monkeypatch.setattr(FusedReader, "load", classmethod(lambda cls, p: loads.append(p) or real_load(cls, p)))
    monkeypatch.setattr(st, "FUSED_FILE", path)
    monkeypatch.setattr(st.FewShotBackend, "encoder_is_bundled", lambda self: True)
    general = tmp_path / "general.jsonl"
    general.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache"))
    be = st.FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general))
    header = st.fused_header(path)
    assert header["config"] == reader.config and header["meta"] == reader.meta
    assert be.describe()["fused"] == {"version": "fused.v1", **reader.meta} and loads == []
    own = Target(id="own", name="the bridge", examples=[{"text": "They love the bridge.", "label": "favor"},
                                                        {"text": "They hate the bridge.", "label": "against"}])
    be.predict([st.StanceInput(text="Residents praised the bridge.", target=own)])
    assert loads == []
    be.predict([st.StanceInput(text="Residents praised the bridge.", target=Target.adhoc("the bridge"))])
    assert loads == [path] and be.fused_reader() is be.fused_reader()


def test_fewshot_reads_with_the_fused_reader(tiny_encoder, tiny_reader, tmp_path, monkeypatch):  # noqa: F811
    """A free-text target: the reader's probabilities (pulled toward neutral by relevance, as always); a
    target with examples: the few-shot head's alone. Off with ``fused=False`` or another encoder."""
    import stancekit.stance as st
    from stancekit.fusion import proba

    reader, path = tiny_reader
    general = tmp_path / "general.jsonl"
    general.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(st, "FUSED_FILE", path)
    monkeypatch.setattr(st.FewShotBackend, "encoder_is_bundled", lambda self: True)
    be = st.FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general))
    plain = st.FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general), fused=False)
    assert be.describe()["fused"]["version"] == "fused.v1" and plain.describe()["fused"] is None
    free = Target.adhoc("speed cameras")
    own = Target(id="stadium", name="the new stadium", examples=[
        {"text": "The club said the new stadium is a gift to the city.", "label": "favor"},
        {"text": "Residents said the new stadium ruins the park.", "label": "against"},
        {"text": "The new stadium opens in May.", "label": "neutral"}])
    texts = ["The mayor defended speed cameras on Monday.", "Fans said the new stadium is too far away."]
    got = be.predict([st.StanceInput(text=texts[0], target=free), st.StanceInput(text=texts[1], target=own)])
    base = plain.predict([st.StanceInput(text=texts[0], target=free), st.StanceInput(text=texts[1], target=own)])
    _, states = be.encoder.encode_with_states(texts, 1)
    fused = proba(reader, be.encoder.encode_with_states([free.name], 1)[1][0], states[:1])[0]
    rel = got[0]["relevance"]
    assert rel == base[0]["relevance"]
    pull = rel ** st.FUSED_PULL
    want = pull * fused + (1 - pull) * np.array([0, 0, 1.0])
    assert np.allclose([got[0]["probs"][k] for k in st.LABELS], want, atol=1e-3)
    assert not np.allclose([base[0]["probs"][k] for k in st.LABELS], want, atol=1e-3)  # the head differs
    assert got[1] == base[1]  # the target with examples: the head alone
    assert be.predict([st.StanceInput(text=texts[1], target=own)]) == [base[1]]
    monkeypatch.setattr(st.FewShotBackend, "encoder_is_bundled", lambda self: False)
    other = st.FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general))
    assert other.fused_reader() is None  # the states of another encoder are not what the reader learnt


def test_a_reader_for_another_encoder_is_used_when_its_probe_matches(tiny_encoder, tmp_path,  # noqa: F811
                                                                      monkeypatch):
    """A reader of :data:`OTHER_FUSED_FILES` (e.g. mpnet's) is read when the backend's encoder embeds the probe
    sentence as the reader's own encoder did; a probe of other weights turns it off."""
    import stancekit.stance as st
    from stancekit.fusion import FusedReader, probe_vector, train

    reader = train(ROWS, str(tiny_encoder), epochs=1, fuse_at=1, log=lambda *_: None)
    good, bad = tmp_path / "good.safetensors", tmp_path / "bad.safetensors"
    reader.meta["probe"] = probe_vector(str(tiny_encoder))
    reader.save(good)
    reader.meta["probe"] = list(-np.asarray(reader.meta["probe"]))
    reader.save(bad)
    general = tmp_path / "general.jsonl"
    general.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(st.FewShotBackend, "encoder_is_bundled", lambda self: False)
    monkeypatch.setattr(st, "FUSED_FILE", tmp_path / "absent.safetensors")
    for files, used in (((bad, good), good), ((bad,), None)):
        monkeypatch.setattr(st, "OTHER_FUSED_FILES", files)
        be = st.FewShotBackend(str(tiny_encoder), device="cpu", general_data=str(general))
        if used is None:
            assert be.fused_reader() is None and be.describe()["fused"] is None
        else:
            assert isinstance(be.fused_reader(), FusedReader) and be._reader_path == used
            assert "probe" not in be.describe()["fused"] and be.describe()["fused"]["rows"] == len(ROWS)


def test_eval_and_bench_turn_the_reader_off_for_a_baseline(tiny_encoder, tiny_reader, tmp_path,  # noqa: F811
                                                            monkeypatch):
    import stancekit.stance as st
    from stancekit.bench import bench_backend
    from stancekit.evaluate.stance import evaluate_stance

    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(st, "FUSED_FILE", tiny_reader[1])
    monkeypatch.setattr(st.FewShotBackend, "encoder_is_bundled", lambda self: True)
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    on = evaluate_stance(data, encoder=str(tiny_encoder), device="cpu")
    off = evaluate_stance(data, encoder=str(tiny_encoder), device="cpu", fused=False)
    assert on["backend"]["fused"]["rows"] == len(ROWS) and off["backend"]["fused"] is None
    assert bench_backend(8, backend="fewshot", encoder=str(tiny_encoder), fused=False)["backend"]["fused"] is None


def test_config_turns_the_reader_off():
    from stancekit.config import Config

    cfg = Config()
    assert cfg.stance_fused is True
    cfg.stance_fused = False
    assert cfg.stance.fused is False


@pytest.mark.slow
def test_shipped_reader_is_used_and_matches_the_general_set():
    """The default backend reads with the shipped reader, and the reader was trained on the general set as
    it is now (edit the set, then ``make fused-reader``)."""
    from stancekit.fusion import FusedReader, data_digest
    from stancekit.stance import FewShotBackend, load_general_examples

    reader = FusedReader.load()
    rows = load_general_examples()
    digest = data_digest(rows)
    assert reader.meta["data"] == digest and reader.meta["rows"] == len(rows)
    be = FewShotBackend(device="cpu")
    assert be.describe()["fused"]["data"] == digest


def test_the_mpnet_reader_matches_the_general_set_and_its_encoders_probe():
    """The shipped mpnet reader was trained on the general set and its second targets as they are now (edit
    either, then ``make fused-reader-mpnet``), from the target's state alone, on mpnet's top two layers, and
    carries the probe that picks it for that encoder."""
    from stancekit.fusion import data_digest
    from stancekit.stance import DATA_DIR, OTHER_FUSED_FILES, fused_header, load_general_examples

    path = OTHER_FUSED_FILES[0]
    header = fused_header(path)
    rows = load_general_examples()
    extra = load_general_examples(DATA_DIR / "stance_second_targets.jsonl")
    assert len(extra) > 1000 and header["meta"]["extra"] == ["src/stancekit/data/stance_second_targets.jsonl"]
    assert header["meta"]["general"] == data_digest(rows)
    assert header["meta"]["data"] == data_digest(rows + extra) and header["meta"]["rows"] == len(rows + extra)
    assert [m["pool"] for m in header["meta"]["average"]] == ["target", "target"]
    assert header["meta"]["encoder"] == "all-mpnet-base-v2"
    assert (header["config"]["hidden"], header["config"]["fuse_at"] + header["config"]["layers"]) == (768, 12)
    assert header["config"]["relative_buckets"] == 32 and len(header["meta"]["probe"]) == 768


@pytest.mark.slow
def test_the_mpnet_encoder_reads_with_its_reader():
    """With the mpnet extra installed, ``--encoder all-mpnet-base-v2`` picks the mpnet reader by its probe."""
    from stancekit.sources import KNOWN, find_offline
    from stancekit.stance import OTHER_FUSED_FILES, FewShotBackend

    if find_offline(KNOWN["all-mpnet-base-v2"]) is None:
        pytest.skip("the mpnet extra is not installed")
    be = FewShotBackend("all-mpnet-base-v2", device="cpu")
    assert be.fused_reader() is not None and be._reader_path == OTHER_FUSED_FILES[0]
    assert FewShotBackend("all-mpnet-base-v2", device="cpu", fused=False).fused_reader() is None
