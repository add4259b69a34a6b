"""`stancekit train stance` on a tiny random-weight model: one short epoch, a self-describing folder."""

from __future__ import annotations

import json

import pytest

from stancekit.errors import StancekitError
from tiny_models import tiny_encoder  # noqa: F401  (fixture)

ROWS = [
    {"target": "nuclear power", "text": "i support nuclear power it is good", "label": "favor"},
    {"target": "nuclear power", "text": "nuclear power is terrible we oppose it", "label": "against"},
    {"target": "nuclear power", "text": "the vote on nuclear power is tomorrow", "label": "neutral"},
    {"target": "the minimum wage", "text": "raise the minimum wage it is great", "label": "favor"},
    {"target": "the minimum wage", "text": "the minimum wage law is bad", "label": "against"},
    {"target": "the minimum wage", "text": "the minister said the vote is today", "label": "neutral"},
]


@pytest.fixture()
def data_file(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    return path


def test_train_writes_model_folder(tiny_encoder, data_file, tmp_path):  # noqa: F811
    from stancekit.stance import get_backend
    from stancekit.train import train_stance

    out = tmp_path / "model"
    steps = []
    info = train_stance([data_file], fmt="jsonl", base=str(tiny_encoder), out=out, epochs=1, batch_size=4,
                        max_length=32, dev=data_file, device="cpu", progress=steps.append)
    names = {p.name for p in out.iterdir()}
    assert {"model.safetensors", "config.json", "README.md", "meta.json"} <= names
    assert not any(n.endswith(".bin") for n in names)
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "favor", "1": "against", "2": "neutral"}
    meta = json.loads((out / "meta.json").read_text())
    assert {"stancekit", "torch", "transformers", "datasets", "python"} <= set(meta["versions"])
    assert meta["settings"]["steps"] == 2 and meta["rows"] == 6 and meta["data"][0]["rows"] == 6
    assert len(meta["data"][0]["sha256"]) == 64
    assert 0.0 <= meta["dev"]["metrics"]["macro_f1"] <= 1.0
    assert info["out"] == str(out) and steps[-1]["step"] == 2
    card = (out / "README.md").read_text()
    for section in ("## Intended use", "## Training data", "## Metrics", "train.jsonl"):
        assert section in card
    be = get_backend("classifier", model=str(out), device="cpu")  # the folder loads as a classifier
    assert be.labels == {0: "favor", 1: "against", 2: "neutral"}


def test_eval_and_train_cli(tiny_encoder, data_file, tmp_path):  # noqa: F811
    from typer.testing import CliRunner

    from stancekit.cli import app

    runner = CliRunner()
    out = tmp_path / "m"
    res = runner.invoke(app, ["train", "stance", "--data", str(data_file), "--base", str(tiny_encoder),
                              "--out", str(out), "--epochs", "0.5", "--batch-size", "4", "--max-length", "32",
                              "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert (out / "model.safetensors").exists()
    preds = tmp_path / "p.jsonl"
    res = runner.invoke(app, ["eval", "stance", "--data", str(data_file), "--model", str(out), "--device", "cpu",
                              "--predictions", str(preds)])
    assert res.exit_code == 0, res.output
    metrics = json.loads(res.output)
    assert metrics["backend"]["backend"] == "classifier" and metrics["n"] == 6
    assert len(preds.read_text().splitlines()) == 6


def test_train_refuses_empty_data(tiny_encoder, tmp_path):  # noqa: F811
    from stancekit.train import train_stance

    empty = tmp_path / "e.jsonl"
    empty.write_text("")
    with pytest.raises(StancekitError):
        train_stance([empty], base=str(tiny_encoder), out=tmp_path / "o", device="cpu")


def test_fit_temperature_softens_overconfident_logits():
    import numpy as np

    from stancekit.train import fit_temperature

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    logits = rng.normal(size=(300, 3))
    logits[np.arange(300), y] += 1.0  # informative but noisy...
    assert fit_temperature(logits * 10, y) > 3.0  # ...so ten-fold sharpened logits need T > 1
    assert 0.5 < fit_temperature(logits, y) < 2.0


@pytest.mark.parametrize("arch", ["biencoder", "hybrid"])
def test_pair_embedding_archs_train_and_load(tiny_encoder, data_file, tmp_path, arch):  # noqa: F811
    import numpy as np
    import torch
    from safetensors.numpy import load_file
    from transformers import AutoModel, AutoTokenizer

    from stancekit.engine import mean_pool
    from stancekit.stance import PAIR_HEAD_FILE, get_backend
    from stancekit.train import train_stance

    out = tmp_path / arch
    info = train_stance([data_file], base=str(tiny_encoder), out=out, epochs=1, batch_size=3, max_length=32,
                        device="cpu", arch=arch, dev=data_file, precision="fp32")
    assert info["arch"] == arch and (out / PAIR_HEAD_FILE).exists() and (out / "model.safetensors").exists()
    assert info["linear_probe"]["fitted"] and 0.0 <= info["linear_probe"]["train_accuracy"] <= 1.0
    assert not list(out.glob("*.bin"))
    be = get_backend("classifier", model=str(out), device="cpu")
    assert be.arch == arch and be.describe()["arch"] == arch
    results = be.predict([])
    assert results == []
    # the backend's logits are the trained network's: recompute them by hand from the saved weights
    pairs = [(r["text"], r["target"]) for r in ROWS]
    tok = AutoTokenizer.from_pretrained(out)
    enc = AutoModel.from_pretrained(out).eval()
    head = load_file(str(out / PAIR_HEAD_FILE))

    def embed(*args, **kw):
        b = tok(*args, truncation=True, max_length=32, padding=True, return_tensors="pt", **kw)
        with torch.no_grad():
            pooled = mean_pool(enc(**b).last_hidden_state, b["attention_mask"])
            return torch.nn.functional.normalize(pooled, dim=-1).numpy()

    u, v = embed([a for a, _ in pairs]), embed([b for _, b in pairs])
    parts = [u, v, u * v, np.abs(u - v)]
    if arch == "hybrid":
        parts.append(embed([a for a, _ in pairs], [b for _, b in pairs]))
    cos = (u * v).sum(axis=1, keepdims=True)  # the similarity features, on by default
    parts += [10.0 * cos, 10.0 * cos ** 2]
    assert info["settings"]["similarity"] and head["weight"].shape[1] == u.shape[1] * (len(parts) - 2) + 2
    want = np.concatenate(parts, axis=1) @ head["weight"].T + head["bias"]
    be_fp32 = get_backend("classifier", model=str(out), device="cpu")
    be_fp32.engine.precision, be_fp32.engine.compute_precision = "fp32", "fp32"
    np.testing.assert_allclose(be_fp32.logits(pairs), want, atol=1e-4)
    assert info["settings"]["precision"] == "fp32"
    card = (out / "README.md").read_text()
    assert f"`{arch}`" in card


def test_linear_probe_alone_is_the_logistic_regression(tiny_encoder, data_file, tmp_path):  # noqa: F811
    import numpy as np
    from safetensors.numpy import load_file
    from sklearn.linear_model import LogisticRegression

    from stancekit.stance import PAIR_HEAD_FILE, get_backend
    from stancekit.train import train_stance

    out = tmp_path / "probe"
    info = train_stance([data_file], base=str(tiny_encoder), out=out, epochs=0, max_length=32, device="cpu",
                        arch="biencoder", precision="fp32", probe_c=1.0)
    assert info["settings"]["steps"] == 0 and info["linear_probe"]["C"] == 1.0
    be = get_backend("classifier", model=str(out), device="cpu")
    be.engine.precision, be.engine.compute_precision = "fp32", "fp32"
    # features from the backend, labels in training order: the stored head is sklearn's fit on them
    import torch

    from stancekit.stance import embedding_pair_features

    pairs = [(r["text"], r["target"]) for r in ROWS]
    u = torch.from_numpy(be.engine.run([a for a, _ in pairs]))
    v = torch.from_numpy(be.engine.run([b for _, b in pairs]))
    X = embedding_pair_features(u, v, similarity=True).numpy()
    y = [["favor", "against", "neutral"].index(r["label"]) for r in ROWS]
    ref = LogisticRegression(C=1.0, max_iter=5000).fit(X, y)
    head = load_file(str(out / PAIR_HEAD_FILE))
    np.testing.assert_allclose(head["weight"], ref.coef_, atol=1e-3)
    np.testing.assert_array_equal(be.logits(pairs).argmax(1), ref.predict(X))


def test_unknown_arch_is_refused(tiny_encoder, data_file, tmp_path):  # noqa: F811
    from stancekit.train import train_stance

    with pytest.raises(StancekitError) as exc:
        train_stance([data_file], base=str(tiny_encoder), out=tmp_path / "m", arch="triple")
    assert exc.value.code == "E012"
    with pytest.raises(StancekitError) as exc:  # a cross-encoder has no probe phase: 0 epochs is nothing
        train_stance([data_file], base=str(tiny_encoder), out=tmp_path / "m", epochs=0)
    assert exc.value.code == "E012"


def test_head_without_similarity_features(tiny_encoder, data_file, tmp_path):  # noqa: F811
    """--no-similarity, like folders written before those features existed, loads with the plain layout."""
    import numpy as np
    from safetensors.numpy import load_file

    from stancekit.stance import PAIR_HEAD_FILE, get_backend
    from stancekit.train import train_stance

    out = tmp_path / "plain"
    info = train_stance([data_file], base=str(tiny_encoder), out=out, epochs=0, max_length=32, device="cpu",
                        arch="biencoder", precision="fp32", similarity=False)
    assert info["settings"]["similarity"] is False
    be = get_backend("classifier", model=str(out), device="cpu")
    width = load_file(str(out / PAIR_HEAD_FILE))["weight"].shape[1]
    dim = be.engine.run(["x"]).shape[1]
    assert not be.similarity and width == 4 * dim
    meta = json.loads((out / "meta.json").read_text())
    del meta["settings"]["similarity"]  # an older folder: no key at all
    (out / "meta.json").write_text(json.dumps(meta))
    old = get_backend("classifier", model=str(out), device="cpu")
    assert not old.similarity
    np.testing.assert_allclose(old.logits([("a b", "c")]), be.logits([("a b", "c")]), atol=1e-5)


def test_focus_probe_trains_and_loads(tiny_encoder, data_file, tmp_path):  # noqa: F811
    import numpy as np
    from safetensors.numpy import load_file
    from sklearn.linear_model import LogisticRegression

    from stancekit.stance import PAIR_HEAD_FILE, embedding_features, get_backend
    from stancekit.train import train_stance

    out = tmp_path / "focus"
    info = train_stance([data_file], base=str(tiny_encoder), out=out, epochs=0, max_length=32, device="cpu",
                        arch="biencoder", precision="fp32", focus=True)
    assert info["settings"]["focus"] and info["settings"]["similarity"]
    be = get_backend("classifier", model=str(out), device="cpu")
    be.engine.precision, be.engine.compute_precision = "fp32", "fp32"
    dim = be.engine.run(["x"]).shape[1]
    head = load_file(str(out / PAIR_HEAD_FILE))
    assert be.focus and head["weight"].shape[1] == 4 * dim + 2 + 3 * dim + 2
    assert be.describe()["features"] == {"similarity": True, "focus": True}
    pairs = [(r["text"], r["target"]) for r in ROWS]
    X = embedding_features(be.engine, pairs, hybrid=False, similarity=True, focus=True)
    y = [["favor", "against", "neutral"].index(r["label"]) for r in ROWS]
    ref = LogisticRegression(C=0.3, max_iter=5000).fit(X, y)  # the probe is sklearn's fit on these features
    np.testing.assert_allclose(head["weight"], ref.coef_, atol=1e-3)
    np.testing.assert_allclose(be.logits(pairs), X @ head["weight"].T + head["bias"], atol=1e-5)


def test_focus_needs_the_probe_alone(tiny_encoder, data_file, tmp_path):  # noqa: F811
    from stancekit.train import train_stance

    for kw in ({"arch": "biencoder", "epochs": 1}, {"arch": "cross", "epochs": 1}, {"arch": "hybrid", "epochs": 0}):
        with pytest.raises(StancekitError) as exc:
            train_stance([data_file], base=str(tiny_encoder), out=tmp_path / "m", focus=True, device="cpu", **kw)
        assert exc.value.code == "E012" and "--focus" in exc.value.message


def test_model_card_of_a_probe_alone_says_so(tiny_encoder, data_file, tmp_path):  # noqa: F811
    from stancekit.train import train_stance

    out = tmp_path / "probe-card"
    train_stance([data_file], base=str(tiny_encoder), out=out, epochs=0, max_length=32, device="cpu",
                 arch="biencoder", precision="fp32")
    card = (out / "README.md").read_text()
    assert "no fine-tuning (the linear probe alone)" in card and "C = 0.3" in card and "epochs (" not in card
