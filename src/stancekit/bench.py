"""Stance inference benchmark: the engine vs a naive one-pair-at-a-time loop vs the transformers pipeline.

Same model, same inputs, same process. Inputs are synthetic news-like quotes of 10–120 words paired
with a handful of targets, so that lengths vary as they do in real articles. Without ``model`` the
benchmark builds a cross-encoder from the bundled all-MiniLM-L6-v2 encoder with a fresh, randomly
initialised 3-label head: throughput does not depend on the head's weights.
"""

from __future__ import annotations

import platform
import random
import time

WORDS = ("the government said on Tuesday that it would review the decision after months of talks with "
         "officials in Washington and Bogota about coca eradication programmes security aid and the future of "
         "cooperation minister president spokesperson told reporters we will not accept any measure that punishes "
         "farmers families communities while traffickers keep their profits our position has always been clear "
         "the report shows cultivation reached a record level last year despite spending billions on spraying "
         "critics argue that the policy failed and that a new approach based on development rural investment "
         "and public health would work better analysts expect congress to debate the issue before elections").split()
TARGETS = ("US anti-narcotics certification of Colombia", "coca eradication", "the peace agreement",
           "nuclear power", "raising the minimum wage", "the new trade deal")


def make_pairs(n: int, *, seed: int = 0, min_words: int = 10, max_words: int = 120) -> list[tuple[str, str]]:
    """``n`` distinct (quote, target) pairs with quote lengths uniform in ``min_words..max_words`` words."""
    rng = random.Random(seed)
    pairs = []
    for i in range(n):
        k = rng.randint(min_words, max_words)
        words = [rng.choice(WORDS) for _ in range(k)]
        text = " ".join(words).capitalize() + f" ({i})."
        pairs.append((text, TARGETS[i % len(TARGETS)]))
    return pairs


def default_bench_model():
    """A MiniLM cross-encoder: bundled encoder weights plus a fresh 3-label head (seeded)."""
    import torch

    from .engine import load_hf
    from .stance import default_encoder_source

    torch.manual_seed(0)
    source = default_encoder_source()
    tokenizer, model = load_hf(source, num_labels=3)
    return source, tokenizer, model


def _timed(device, fn):
    from . import device as dev

    dev.reset_peak_memory(device)
    t0 = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)
    return out, time.perf_counter() - t0, dev.peak_memory_mb(device)


def bench_stance(n: int = 512, *, model: str | None = None, device: str = "auto", threads: int | None = None,
                 max_tokens: int = 16384, pipeline_batch_size: int = 32, seed: int = 0) -> dict:
    """Pairs/s and peak memory for the three ways of running one model over the same ``n`` pairs."""
    import numpy as np
    import torch
    import transformers

    from . import device as dev
    from .engine import EngineStats, InferenceEngine, load_hf, logits_head

    run_device = dev.resolve_device(device, threads=threads)
    if model:
        source, (tokenizer, hf_model) = model, load_hf(model)
        head_note = "the model's own head"
    else:
        source, tokenizer, hf_model = default_bench_model()
        head_note = "fresh random 3-label head on the bundled MiniLM encoder (speed does not depend on head weights)"
    hf_model.to(run_device).eval()
    pairs = make_pairs(n, seed=seed)
    max_length = min(256, int(getattr(hf_model.config, "max_position_embeddings", None) or 256))
    warm = pairs[:8]

    engine = InferenceEngine(hf_model, tokenizer, device=run_device, max_tokens=max_tokens, max_length=max_length,
                             head=logits_head)  # default precision: auto, or STANCEKIT_PRECISION
    engine.run(warm)
    engine.stats = EngineStats()
    engine_out, engine_s, engine_mem = _timed(run_device, lambda: engine.run(pairs))

    # the exact fp32 engine too, when the default runs in reduced precision
    fp32_out, fp32_s, fp32_mem = engine_out, engine_s, engine_mem
    if engine.compute_precision != "fp32":
        engine_fp32 = InferenceEngine(hf_model, tokenizer, device=run_device, max_tokens=max_tokens,
                                      max_length=max_length, head=logits_head, precision="fp32")
        engine_fp32.run(warm)
        fp32_out, fp32_s, fp32_mem = _timed(run_device, lambda: engine_fp32.run(pairs))
    agree = float((engine_out.argmax(1) == fp32_out.argmax(1)).mean())

    def naive():
        rows = []
        with torch.no_grad():
            for text, target in pairs:
                enc = tokenizer(text, target, truncation=True, max_length=max_length, return_tensors="pt")
                enc = {k: v.to(run_device) for k, v in enc.items()}
                rows.append(hf_model(**enc).logits.float().cpu().numpy()[0])
        return np.stack(rows)

    naive_out, naive_s, naive_mem = _timed(run_device, naive)

    from transformers import pipeline as hf_pipeline

    pipe = hf_pipeline("text-classification", model=hf_model, tokenizer=tokenizer, device=run_device,
                       batch_size=pipeline_batch_size, truncation=True, max_length=max_length, top_k=None)
    inputs = [{"text": a, "text_pair": b} for a, b in pairs]
    pipe(inputs[:8])
    _, pipe_s, pipe_mem = _timed(run_device, lambda: pipe(inputs))

    diff = float(np.abs(fp32_out - naive_out).max())
    diff_default = float(np.abs(engine_out - naive_out).max())
    words = [len(a.split()) for a, _ in pairs]
    return {
        "n_pairs": n,
        "device": str(run_device),
        "device_name": torch.cuda.get_device_name(run_device) if run_device.type == "cuda" else platform.processor()
        or platform.machine(),
        "threads": torch.get_num_threads(),
        "model": source,
        "head": head_note,
        "quote_words": {"min": min(words), "max": max(words), "mean": round(sum(words) / len(words), 1)},
        "engine_pairs_per_s": round(n / engine_s, 1),
        "naive_pairs_per_s": round(n / naive_s, 1),
        "pipeline_pairs_per_s": round(n / pipe_s, 1),
        "engine_vs_naive": round(naive_s / engine_s, 2),
        "engine_vs_pipeline": round(pipe_s / engine_s, 2),
        "engine_precision": engine.compute_precision,
        "engine_fp32_pairs_per_s": round(n / fp32_s, 1),
        "engine_fp32_vs_naive": round(naive_s / fp32_s, 2),
        "engine_label_agreement_with_fp32": agree,
        "cpu_native_bf16": dev.cpu_has_bf16() if run_device.type == "cpu" else None,
        "engine_peak_mb": round(engine_mem, 1) if engine_mem else None,
        "engine_fp32_peak_mb": round(fp32_mem, 1) if fp32_mem else None,
        "naive_peak_mb": round(naive_mem, 1) if naive_mem else None,
        "pipeline_peak_mb": round(pipe_mem, 1) if pipe_mem else None,
        "peak_memory_kind": "cuda max allocated" if run_device.type == "cuda" else "process peak RSS (VmHWM)",
        "engine_settings": {"max_tokens": engine.max_tokens, "precision": engine.precision, "max_length": max_length, "batches": engine.stats.batches,
                            "padded_tokens": engine.stats.padded_tokens, "real_tokens": engine.stats.real_tokens},
        "pipeline_batch_size": pipeline_batch_size,
        "max_abs_diff_engine_fp32_vs_naive": round(diff, 6),
        "max_abs_diff_engine_vs_naive": round(diff_default, 6),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }


def bench_backend(n: int = 512, *, backend: str = "fewshot", device: str = "cpu", threads: int | None = None,
                  repeat: int = 2, seed: int = 0, **options) -> dict:
    """Pairs/s of a whole stance backend's ``predict`` (encoding, head, relevance) on ``n`` synthetic pairs.

    The backend is built and warmed first (its head fitted or read from the cache), so the timing is the
    steady state of a long run: the best of ``repeat`` passes over the same pairs, each pass with the
    backend's per-string embedding memo cleared, so that every text is encoded again.
    """
    import torch

    from .stance import StanceInput, get_backend
    from .targets import Target

    t0 = time.perf_counter()
    be = get_backend(backend, device=device, threads=threads, **options)
    load_s = time.perf_counter() - t0
    pairs = make_pairs(n, seed=seed)
    targets = {name: Target.adhoc(name) for name in TARGETS}
    inputs = [StanceInput(text=a, target=targets[b]) for a, b in pairs]
    t0 = time.perf_counter()
    be.predict(inputs[:8])
    warm_s = time.perf_counter() - t0
    best = float("inf")
    for _ in range(max(1, repeat)):
        for memo in ("_vecs", "_text_vecs", "_target_states"):
            if isinstance(getattr(be, memo, None), dict):
                getattr(be, memo).clear()
        t0 = time.perf_counter()
        be.predict(inputs)
        best = min(best, time.perf_counter() - t0)
    words = [len(a.split()) for a, _ in pairs]
    return {"n_pairs": n, "backend": be.describe(), "device": device, "threads": torch.get_num_threads(),
            "quote_words": {"min": min(words), "max": max(words), "mean": round(sum(words) / len(words), 1)},
            "pairs_per_s": round(n / best, 1), "best_of": max(1, repeat), "load_s": round(load_s, 2),
            "first_call_s": round(warm_s, 2), "date": time.strftime("%Y-%m-%d", time.gmtime())}
