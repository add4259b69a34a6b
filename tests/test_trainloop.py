"""The shared training loop: optimisation on a toy problem, the fp16 loss-scaling path, and the precision that
stance training stores (a request the loader accepts, and what the passes ran in)."""

from __future__ import annotations

import contextlib
import json

import pytest

from tiny_models import tiny_encoder  # noqa: F401  (fixture)

torch = pytest.importorskip("torch")


def _toy():
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = (x[:, 0] > 0).long()
    model = torch.nn.Linear(4, 2)
    batches = [list(range(i, i + 16)) for i in range(0, 64, 16)]
    return model, x, y, batches


def test_loop_learns_and_reports_progress():
    from stancekit.trainloop import LoopConfig, train_loop

    model, x, y, batches = _toy()
    seen = []
    res = train_loop(model, lambda: iter(batches),
                     lambda idx: torch.nn.functional.cross_entropy(model(x[idx]), y[idx]),
                     LoopConfig(total_steps=40, lr=0.1, warmup=0.0, log_every=10),
                     device=torch.device("cpu"), precision="fp32", progress=seen.append)
    assert res.steps == 40 and len(res.losses) == 40 and res.compute_precision == "fp32"
    assert [p["step"] for p in seen] == [10, 20, 30, 40]
    assert res.recent_loss(4) < 0.5 * res.losses[0]  # it learned the separable toy problem
    assert model.training


def test_no_weight_decay_on_biases_and_norms():
    from stancekit.trainloop import param_groups

    class Block(torch.nn.Module):  # named as in transformers' BERT layers
        def __init__(self):
            super().__init__()
            self.dense = torch.nn.Linear(3, 3)
            self.LayerNorm = torch.nn.LayerNorm(3)

    model = Block()
    decay, no_decay = param_groups(model, 0.01)
    assert len(decay["params"]) == 1 and decay["weight_decay"] == 0.01  # the Linear weight only
    assert len(no_decay["params"]) == 3 and no_decay["weight_decay"] == 0.0


def test_fp16_steps_go_through_a_grad_scaler(monkeypatch):
    """On CUDA without native bf16 the loop trains in fp16 with loss scaling (the CPU scaler stands in here)."""
    from stancekit import device as dev
    from stancekit.trainloop import LoopConfig, train_loop

    calls = {"scale": 0, "step": 0, "update": 0, "unscale": 0}

    class CountingScaler(torch.amp.GradScaler):
        def scale(self, loss):
            calls["scale"] += 1
            return super().scale(loss)

        def unscale_(self, optim):
            calls["unscale"] += 1
            return super().unscale_(optim)

        def step(self, optim, *a, **kw):
            calls["step"] += 1
            return super().step(optim, *a, **kw)

        def update(self, *a, **kw):
            calls["update"] += 1
            return super().update(*a, **kw)

    monkeypatch.setattr(dev, "grad_scaler", lambda device, precision="auto": CountingScaler("cpu"))
    model, x, y, batches = _toy()
    res = train_loop(model, lambda: iter(batches),
                     lambda idx: torch.nn.functional.cross_entropy(model(x[idx]), y[idx]),
                     LoopConfig(total_steps=8, lr=0.1, warmup=0.0), device=torch.device("cpu"), precision="fp32")
    assert calls == {"scale": 8, "step": 8, "update": 8, "unscale": 8}
    assert res.losses[-1] < res.losses[0]


def test_grad_scaler_only_for_fp16(monkeypatch):
    from stancekit import device as dev

    assert dev.grad_scaler(torch.device("cpu"), "auto") is None
    assert dev.grad_scaler(torch.device("cpu"), "fp32") is None
    monkeypatch.setattr(dev, "cuda_has_bf16", lambda device: False)
    assert dev.effective_precision(torch.device("cuda"), "auto") == "fp16"  # no torch.cuda call needed
    monkeypatch.setattr(dev, "cuda_has_bf16", lambda device: True)
    assert dev.effective_precision(torch.device("cuda"), "auto") == "bf16"


@pytest.mark.parametrize("arch", ["cross", "biencoder"])
def test_fp16_device_stores_an_accepted_precision(tiny_encoder, tmp_path, monkeypatch, arch):  # noqa: F811
    """A device that computes fp16 (CUDA without bf16): training runs, the probe's engine gets the request
    (not "fp16", which the engine refuses with E012), and meta.json stores a loadable precision."""
    from stancekit import device as dev
    from stancekit.train import train_stance

    real = dev.effective_precision

    def fp16_device(device, precision="auto"):
        real(device, precision)  # refuses anything but auto/fp32/bf16, as before
        return "fp32" if precision == "fp32" else "fp16"

    monkeypatch.setattr(dev, "effective_precision", fp16_device)
    monkeypatch.setattr(dev, "autocast", lambda device, precision="auto": contextlib.nullcontext())
    data = tmp_path / "d.jsonl"
    rows = [{"target": "t", "text": f"good plan {i}", "label": lab} for i, lab in
            enumerate(["favor", "against", "neutral"] * 2)]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    info = train_stance([data], base=str(tiny_encoder), out=tmp_path / "m", epochs=1, batch_size=3,
                        max_length=16, device="cpu", arch=arch)
    s = info["settings"]
    assert s["precision"] in dev.PRECISIONS and s["compute_precision"] == "fp16"
    assert dev.check_precision(s["precision"]) == s["precision"]
    assert "precision fp16 (auto)" in (tmp_path / "m" / "README.md").read_text()


@pytest.mark.gpu
def test_training_on_cuda(tiny_encoder, tmp_path):  # noqa: F811
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from stancekit import device as dev
    from stancekit.train import train_stance

    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps({"target": "t", "text": f"good {i}", "label": lab})
                              for i, lab in enumerate(["favor", "against", "neutral"] * 4)) + "\n")
    info = train_stance([data], base=str(tiny_encoder), out=tmp_path / "m", epochs=1, batch_size=4,
                        max_length=16, device="cuda")
    assert info["settings"]["precision"] in dev.PRECISIONS
    assert info["settings"]["compute_precision"] == ("bf16" if dev.cuda_has_bf16(torch.device("cuda")) else "fp16")
