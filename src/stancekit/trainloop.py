"""A small, plain PyTorch training loop, shared by the training commands (stance now, others later).

The loop knows nothing about the task: the caller gives a model, a function that yields one pass of
batches over the data, and a function that turns one batch into a loss. The loop owns the optimiser
(AdamW, no weight decay on biases and norms), the linear warm-up/decay schedule, gradient clipping,
mixed precision (bf16 autocast where native; fp16 autocast with a ``GradScaler`` on CUDA devices
without bf16; off with ``precision="fp32"``), progress reports every ``log_every`` steps and an
optional time budget (``LoopConfig.time_budget_s``: training stops when it is spent, and the
learning rate decays with the time as well as with the steps).

Typical use::

    result = train_loop(model, lambda: iter(batches), lambda b: loss_of(model, b),
                        LoopConfig(total_steps=1000, lr=3e-5), device=device, precision="auto")
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")


@dataclass
class LoopConfig:
    """Optimisation settings of :func:`train_loop`."""

    total_steps: int
    lr: float = 3e-5
    warmup: float = 0.1          # fraction of total_steps with a linearly rising learning rate
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    log_every: int = 20          # progress every N steps (and at the last)
    time_budget_s: float | None = None  # stop after this many seconds; the decay then ends with the time


@dataclass
class LoopResult:
    steps: int
    seconds: float
    compute_precision: str       # what the forward passes ran in: fp32, bf16 or fp16
    losses: list[float] = field(default_factory=list)
    stopped: str | None = None   # why training ended before total_steps (``stop`` said so)

    def recent_loss(self, n: int = 20) -> float | None:
        """Mean loss of the last ``n`` steps (``None`` before the first)."""
        tail = self.losses[-n:]
        return sum(tail) / len(tail) if tail else None


def param_groups(model, weight_decay: float) -> list[dict]:
    """AdamW groups: weight decay on weights, none on biases and normalisation weights."""
    named = list(model.named_parameters())
    return [{"params": [p for n, p in named if not any(k in n for k in NO_DECAY)], "weight_decay": weight_decay},
            {"params": [p for n, p in named if any(k in n for k in NO_DECAY)], "weight_decay": 0.0}]


def train_loop(model, epoch_batches: Callable[[], Iterable[Any]], loss_fn: Callable[[Any], Any],
               config: LoopConfig, *, device, precision: str = "auto",
               progress: Callable[[dict], None] | None = None,
               stop: Callable[[], str | None] | None = None) -> LoopResult:
    """Train ``model`` for ``config.total_steps`` optimiser steps; returns the per-step losses.

    ``epoch_batches()`` is called at the start of every pass over the data and yields batches;
    ``loss_fn(batch)`` runs the forward pass (inside the autocast context) and returns a scalar loss.
    ``precision`` is a request (auto, fp32, bf16; see :func:`stancekit.device.effective_precision`).
    ``progress`` receives ``{step, total_steps, loss, elapsed_s}``. ``stop()``, asked before every
    step, ends training early when it returns a reason (kept in ``LoopResult.stopped``, e.g. a time
    budget). The model is left in train mode.
    """
    import torch
    from transformers import get_linear_schedule_with_warmup

    from . import device as dev_mod

    total = config.total_steps
    optim = torch.optim.AdamW(param_groups(model, config.weight_decay), lr=config.lr)
    budget = config.time_budget_s
    t0 = time.perf_counter()
    if budget:
        sched = torch.optim.lr_scheduler.LambdaLR(optim, _budget_schedule(total, config.warmup, budget, t0))
    else:
        sched = get_linear_schedule_with_warmup(optim, int(config.warmup * total), max(1, total))
    if dev_mod.effective_precision(device, precision) == "int8":
        from .errors import Errors, StancekitError

        raise StancekitError(Errors.E012, name="precision",
                             detail="'int8' is for inference only; train in auto, fp32 or bf16")
    scaler = dev_mod.grad_scaler(device, precision)
    result = LoopResult(steps=0, seconds=0.0, compute_precision=dev_mod.effective_precision(device, precision))
    model.train()
    while result.steps < total and result.stopped is None:
        for batch in epoch_batches():
            if result.steps >= total:
                break
            if budget and time.perf_counter() - t0 > budget:
                result.stopped = f"time budget of {budget:.0f} s reached"
                break
            if stop is not None and (reason := stop()):
                result.stopped = reason
                break
            with dev_mod.autocast(device, precision):
                loss = loss_fn(batch)
            _backward_and_step(model, loss, optim, scaler, config.max_grad_norm)
            sched.step()
            optim.zero_grad(set_to_none=True)
            result.steps += 1
            result.losses.append(float(loss.detach()))
            if progress and (result.steps % config.log_every == 0 or result.steps == total):
                progress({"step": result.steps, "total_steps": total, "loss": result.recent_loss(config.log_every),
                          "elapsed_s": round(time.perf_counter() - t0, 1)})
    result.seconds = time.perf_counter() - t0
    return result


def _budget_schedule(total: int, warmup: float, budget_s: float, t0: float) -> Callable[[int], float]:
    """Learning-rate factor under a time budget: linear warm-up over ``warmup`` of the steps, then a
    linear decay to 0 over whichever runs out first, the steps or the seconds (so a run on a slow or
    shared machine still ends with a decayed learning rate)."""
    n_warm = max(1, int(warmup * total))

    def factor(step: int) -> float:
        if step < n_warm:
            return (step + 1) / n_warm
        done = max(step / max(1, total), (time.perf_counter() - t0) / budget_s)
        start = n_warm / max(1, total)
        return max(0.0, (1.0 - done) / max(1e-9, 1.0 - start))

    return factor


def _backward_and_step(model, loss, optim, scaler, max_grad_norm: float) -> None:
    """Backward pass, gradient clipping and the optimiser step; with a scaler, on the scaled loss (fp16)."""
    import torch

    if scaler is None:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optim.step()
        return
    scaler.scale(loss).backward()
    scaler.unscale_(optim)  # clip the true gradients
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    scaler.step(optim)  # skipped when the scaled gradients overflowed
    scaler.update()
