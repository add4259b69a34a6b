"""The batched inference engine, on tiny random-weight models built in the test session."""

from __future__ import annotations

import numpy as np
import pytest

from stancekit.errors import StancekitError
from tiny_models import tiny_classifier, tiny_encoder  # noqa: F401  (fixtures)

TEXTS = [
    "we support the peace deal",
    "i oppose certification because farmers will lose",
    "the weather is good today",
    "they said the government must decertify colombia now because coca cultivation is at a record and "
    "traffickers keep their profits while farmers and families pay the price of a failed policy",
    "no",
    "nuclear power is bad",
    "the minister said the vote on the minimum wage law will be tomorrow",
]
PAIRS = [(t, target) for t in TEXTS for target in ("certification", "the peace deal")]


@pytest.fixture()
def engine(tiny_classifier):  # noqa: F811
    from stancekit.engine import InferenceEngine, load_hf

    tok, model = load_hf(str(tiny_classifier))
    # fp32: padding invariance is exact only without autocast (bf16 is checked separately below)
    return InferenceEngine(model, tok, device="cpu", max_tokens=64, max_batch=4, precision="fp32")


def reference(engine, items):
    """Each input alone: no padding at all."""
    return np.stack([engine.run([x])[0] for x in items])


def test_order_restored_and_padding_does_not_change_results(engine):
    ref = reference(engine, PAIRS)
    out = engine.run(PAIRS)
    assert engine.stats.batches > 1 + len(PAIRS)  # the batched call really used several batches
    np.testing.assert_allclose(out, ref, atol=1e-5)
    shuffled = PAIRS[::-1]
    np.testing.assert_allclose(engine.run(shuffled), ref[::-1], atol=1e-5)


def test_identical_inputs_computed_once(engine):
    items = [PAIRS[0], PAIRS[1], PAIRS[0], PAIRS[0], PAIRS[1]]
    out = engine.run(items)
    assert engine.stats.items == 5 and engine.stats.unique == 2
    np.testing.assert_allclose(out[0], out[2])
    np.testing.assert_allclose(out[1], out[4])


def test_plan_batches_respects_token_budget_and_cap(engine):
    lengths = [5, 60, 12, 12, 30, 7, 7, 7, 7, 7]
    batches = engine.plan_batches(lengths)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= engine.max_batch
        assert len(b) == 1 or max(lengths[i] for i in b) * len(b) <= engine.max_tokens
    assert batches[0] == [1]  # longest first


def oom_above_one(sizes: list):
    """A ``_fail_hook`` that records each batch size and runs out of memory on any batch of more than one."""
    def hook(n):
        sizes.append(n)
        if n > 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    return hook


def test_oom_splits_and_retries(engine):
    ref = reference(engine, PAIRS)
    calls = []
    engine._fail_hook = oom_above_one(calls)
    before = engine.stats.batches
    out = engine.run(PAIRS)
    assert engine.stats.oom_splits > 0
    assert max(calls) > 1 and engine.stats.batches - before == len(PAIRS)  # every item alone in the end
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_other_errors_are_not_swallowed(engine):
    def boom(n):
        raise ValueError("not memory")

    engine._fail_hook = boom
    with pytest.raises(ValueError):
        engine.run(PAIRS)


def test_windows_and_no_overlap_give_the_same_results(engine):
    ref = engine.run(PAIRS)
    engine.window = 3
    np.testing.assert_allclose(engine.run(PAIRS), ref, atol=1e-5)
    engine.overlap = False
    np.testing.assert_allclose(engine.run(PAIRS), ref, atol=1e-5)


def test_mean_pool_encoder_is_padding_invariant(tiny_encoder):  # noqa: F811
    from stancekit.engine import InferenceEngine, load_hf, mean_pool_head

    tok, model = load_hf(str(tiny_encoder), task="feature-extraction")
    eng = InferenceEngine(model, tok, device="cpu", max_tokens=64, head=mean_pool_head, precision="fp32")
    out = eng.run(TEXTS)
    ref = np.stack([eng.run([t])[0] for t in TEXTS])
    np.testing.assert_allclose(out, ref, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_sdpa_attention_requested(tiny_classifier):  # noqa: F811
    from stancekit.engine import load_hf

    _, model = load_hf(str(tiny_classifier))
    assert model.config._attn_implementation == "sdpa"


def test_bin_only_folder_refused(tmp_path, tiny_classifier):  # noqa: F811
    from stancekit.engine import load_hf

    (tmp_path / "config.json").write_text((tiny_classifier / "config.json").read_text())
    (tmp_path / "pytorch_model.bin").write_bytes(b"not really a pickle")
    with pytest.raises(StancekitError) as err:
        load_hf(str(tmp_path))
    assert err.value.code == "E011"


def test_device_resolution():
    import torch

    from stancekit.device import resolve_device

    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(StancekitError) as err:
        resolve_device("tpu")
    assert err.value.code == "E012"
    if not torch.cuda.is_available():
        with pytest.raises(StancekitError) as err:
            resolve_device("cuda")
        assert err.value.code == "E008"


def test_threads_are_configurable():
    import torch

    from stancekit.device import resolve_device

    before = torch.get_num_threads()
    try:
        resolve_device("cpu", threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_cpu_budget_is_capped_and_bf16_is_close(tiny_classifier):  # noqa: F811
    from stancekit import device as dev
    from stancekit.engine import InferenceEngine, load_hf

    tok, model = load_hf(str(tiny_classifier))
    eng = InferenceEngine(model, tok, device="cpu", max_tokens=1_000_000)
    assert eng.max_tokens == dev.CPU_MAX_TOKENS and eng.precision == "auto"
    assert eng.compute_precision == ("bf16" if dev.cpu_has_bf16() else "fp32")
    ref = InferenceEngine(model, tok, device="cpu", precision="fp32").run(PAIRS)
    half = InferenceEngine(model, tok, device="cpu", precision="bf16").run(PAIRS)
    np.testing.assert_allclose(half, ref, atol=0.05)


def test_int8_quantises_the_linear_layers_for_cpu_inference_only(tiny_classifier):  # noqa: F811
    import torch

    from stancekit import device as dev
    from stancekit.engine import InferenceEngine, load_hf
    from stancekit.trainloop import LoopConfig, train_loop

    tok, model = load_hf(str(tiny_classifier))
    ref = InferenceEngine(model, tok, device="cpu", precision="fp32").run(PAIRS)
    eng = InferenceEngine(load_hf(str(tiny_classifier))[1], tok, device="cpu", precision="int8")
    assert eng.compute_precision == "int8"
    modules = list(eng.model.modules())
    assert not [m for m in modules if type(m) is torch.nn.Linear]
    assert [m for m in modules if "quantized" in type(m).__module__ and type(m).__name__ == "Linear"]
    got = eng.run(PAIRS)
    assert got.shape == ref.shape and not np.array_equal(got, ref)
    np.testing.assert_allclose(got, ref, atol=0.1)
    assert not isinstance(dev.autocast(torch.device("cpu"), "int8"), torch.autocast)
    with pytest.raises(StancekitError) as exc:  # never a training precision
        train_loop(torch.nn.Linear(2, 2), lambda: iter([0]), lambda _: None, LoopConfig(total_steps=1),
                   device=torch.device("cpu"), precision="int8")
    assert exc.value.code == "E012" and "inference" in str(exc.value)


def test_precision_from_environment(monkeypatch):
    from stancekit import device as dev

    monkeypatch.setenv("STANCEKIT_PRECISION", "bf16")
    assert dev.default_precision() == "bf16"
    monkeypatch.setenv("STANCEKIT_PRECISION", "fp8")
    with pytest.raises(StancekitError):
        dev.default_precision()


def test_auto_precision_follows_the_cpu(monkeypatch):
    import torch

    from stancekit import device as dev

    cpu = torch.device("cpu")
    monkeypatch.setattr(dev, "cpu_has_bf16", lambda: True)
    assert dev.effective_precision(cpu, "auto") == "bf16"
    assert isinstance(dev.autocast(cpu, "auto"), torch.autocast)
    assert dev.effective_precision(cpu, "fp32") == "fp32"
    monkeypatch.setattr(dev, "cpu_has_bf16", lambda: False)
    assert dev.effective_precision(cpu, "auto") == "fp32"
    assert not isinstance(dev.autocast(cpu, "auto"), torch.autocast)
    assert dev.effective_precision(cpu, "bf16") == "bf16"
    with pytest.raises(StancekitError) as exc:
        dev.effective_precision(cpu, "fp8")
    assert exc.value.code == "E012"


def test_bench_stance_reports_every_runner(tiny_classifier):  # noqa: F811
    from stancekit.bench import bench_stance, make_pairs

    pairs = make_pairs(12, seed=1)
    assert len(set(pairs)) == 12 and all(10 <= len(t.split()) - 1 <= 121 for t, _ in pairs)
    res = bench_stance(12, model=str(tiny_classifier), device="cpu")
    for key in ("engine_pairs_per_s", "naive_pairs_per_s", "pipeline_pairs_per_s", "engine_fp32_pairs_per_s"):
        assert res[key] > 0
    assert res["device"] == "cpu" and res["n_pairs"] == 12
    assert res["engine_precision"] in ("fp32", "bf16")
    # the exact engine computes what the one-at-a-time loop computes
    assert res["max_abs_diff_engine_fp32_vs_naive"] < 1e-4
    assert 0.0 <= res["engine_label_agreement_with_fp32"] <= 1.0


@pytest.mark.parametrize("preset", [None, "7"])
def test_import_bounds_cpu_kernel_caches_unless_set(preset):
    """``import stancekit`` caps torch's per-shape CPU kernel caches (flat memory in long runs); a user's value wins."""
    import os
    import subprocess
    import sys

    names = ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY")
    env = {k: v for k, v in os.environ.items() if k not in names}
    if preset is not None:
        env.update({n: preset for n in names})
    code = "import os, stancekit; print(' '.join(os.environ[n] for n in %r))" % (names,)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    from stancekit.device import KERNEL_CACHE_CAPACITY

    expected = preset or KERNEL_CACHE_CAPACITY
    assert out.stdout.split() == [expected, expected]


def test_host_memory_reads_the_process_status():
    """Current and peak resident memory of this process from /proc (None for a field it does not have)."""
    from pathlib import Path

    from stancekit.device import host_memory_mb

    if not Path("/proc/self/status").exists():
        pytest.skip("no /proc on this platform")
    now, peak = host_memory_mb("VmRSS"), host_memory_mb("VmHWM")
    assert 10 < now <= peak
    assert host_memory_mb("NoSuchField") is None
    assert host_memory_mb("VmRSS", pid=2**22 + 7) is None  # beyond Linux's largest pid


def test_host_peak_memory_is_vmhwm_and_never_another_process_rusage():
    from pathlib import Path

    from stancekit.device import host_memory_mb, host_peak_memory_mb

    if not Path("/proc/self/status").exists():
        pytest.skip("no /proc on this platform")
    before = host_memory_mb("VmHWM")
    assert before <= host_peak_memory_mb() <= host_memory_mb("VmHWM")
    assert host_peak_memory_mb(pid=2**22 + 7) is None  # no /proc entry: no fallback to this process's peak


def test_prepared_inputs_share_the_batching_and_the_oom_halving():
    """Inputs that are tensors already (no tokenizer): token-budget batches, rows back in order, and a
    batch that runs out of memory halved and retried like any other."""
    import torch

    from stancekit.engine import InferenceEngine

    class Sum(torch.nn.Module):  # one row per input: the sum of its real values
        def forward(self, x, mask):
            return (x * mask).sum(-1)

    rng = np.random.default_rng(0)
    rows = [rng.normal(size=n).astype(np.float32) for n in (5, 1, 9, 3, 7, 2)]

    def collate(idx):
        n = max(len(rows[i]) for i in idx)
        x, mask = torch.zeros(len(idx), n), torch.zeros(len(idx), n)
        for k, i in enumerate(idx):
            x[k, :len(rows[i])] = torch.from_numpy(rows[i])
            mask[k, :len(rows[i])] = 1
        return {"x": x, "mask": mask}

    eng = InferenceEngine(Sum(), None, device="cpu", precision="fp32", max_tokens=12,
                          head=lambda out, batch: out.numpy()[:, None])
    want = np.array([[r.sum()] for r in rows])
    np.testing.assert_allclose(eng.run_prepared([len(r) for r in rows], collate), want, atol=1e-5)
    assert eng.stats.batches > 1  # 12 tokens a batch: the nine-value row alone
    sizes = []
    eng._fail_hook = oom_above_one(sizes)
    np.testing.assert_allclose(eng.run_prepared([len(r) for r in rows], collate), want, atol=1e-5)
    assert eng.stats.oom_splits > 0 and max(sizes) > 1
    assert eng.run_prepared([], collate).shape == (0, 0)
