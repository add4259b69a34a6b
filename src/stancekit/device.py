"""Device code, in one place: choosing the device, threads, mixed precision and host→device copies."""

from __future__ import annotations

import contextlib
import os

from .errors import Errors, StancekitError

#: Entries kept in each of torch's CPU kernel caches (oneDNN primitives, ideep computations): see
#: :func:`bound_kernel_caches`.
KERNEL_CACHE_CAPACITY = "32"


def bound_kernel_caches() -> None:
    """Cap torch's CPU kernel caches, which keep one compiled kernel per input shape (1,024 each by default).

    With dynamic padding nearly every batch has a new shape, so a long run grew by ~100 MB per 1,000
    documents until the caches filled (over 1.6 GB); 32 entries keep memory flat at no measured speed cost
    (docs/scale.md, ``benchmarks/encoder_rss.py``). torch reads the two variables when it first runs a CPU
    kernel; ``import stancekit`` calls this, and a value already in the environment wins.
    """
    for name in ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY"):
        os.environ.setdefault(name, KERNEL_CACHE_CAPACITY)


def resolve_device(device: str = "auto", *, threads: int | None = None):
    """Return a ``torch.device`` for ``auto`` (CUDA when present), ``cpu``, ``cuda`` or ``cuda:N``."""
    import torch

    if threads:
        torch.set_num_threads(int(threads))
    elif os.environ.get("STANCEKIT_THREADS"):
        torch.set_num_threads(int(os.environ["STANCEKIT_THREADS"]))
    device = (device or "auto").lower()
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise StancekitError(Errors.E008, device=device, detail="torch.cuda.is_available() is False")
        return torch.device(device)
    if device == "cpu":
        return torch.device("cpu")
    raise StancekitError(Errors.E012, name="device", detail=f"'{device}' (use auto, cpu or cuda)")


@contextlib.contextmanager
def cpu_threads(n: int | None):
    """torch's CPU threads at ``n`` while the block runs (None: unchanged), restored after. Nothing is imported
    for it: while torch is not loaded yet the block runs unchanged (at torch's default once it loads). With
    OpenMP builds the count is the calling thread's own setting, so a helper thread sets it for itself."""
    import sys

    torch = sys.modules.get("torch")
    if not n or torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def spare_cores(busy: int) -> int:
    """CPU threads for the transformer stages beside ``busy`` processes or threads running spaCy (at least 1)."""
    return max(1, (os.cpu_count() or 1) - busy)


PRECISIONS = ("auto", "fp32", "bf16", "int8")
CPU_MAX_TOKENS = 2048  # on CPU, smaller batches pad less and stay in cache (measured: benchmarks/RESULTS.md)


def check_precision(value: str, name: str = "precision") -> str:
    value = (value or "auto").lower()
    if value not in PRECISIONS:
        raise StancekitError(Errors.E012, name=name, detail=f"'{value}' (use {', '.join(PRECISIONS)})")
    return value


def default_precision() -> str:
    """``STANCEKIT_PRECISION`` (auto, fp32, bf16 or int8), ``auto`` when unset."""
    return check_precision(os.environ.get("STANCEKIT_PRECISION", "auto"), "STANCEKIT_PRECISION")


def cpu_has_bf16() -> bool:
    """Whether the CPU computes bf16 natively (AVX512-BF16 or AMX), where CPU bf16 autocast pays."""
    try:
        with open("/proc/cpuinfo") as fh:
            flags = next((ln for ln in fh if ln.startswith("flags")), "")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cuda_has_bf16(device) -> bool:
    """Whether a CUDA device computes bf16 natively (compute capability 8.0, Ampere, or newer).

    ``torch.cuda.is_bf16_supported()`` also says yes where bf16 is only emulated (slowly) on older cards.
    """
    import torch

    return torch.cuda.get_device_capability(device)[0] >= 8


def grad_scaler(device, precision: str = "auto"):
    """A ``GradScaler`` for training in fp16 (CUDA without native bf16), else ``None``: fp16 gradients
    underflow without loss scaling; bf16 and fp32 need none."""
    if effective_precision(device, precision) != "fp16":
        return None
    import torch

    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler(device.type)
    return torch.cuda.amp.GradScaler()  # pragma: no cover - torch < 2.3


def effective_precision(device, precision: str = "auto") -> str:
    """The precision a forward pass really runs in: ``fp32``, ``bf16``, ``fp16`` or ``int8``.

    ``auto`` is the fastest precision that keeps the labels: bf16 autocast on CUDA devices that compute
    it natively (fp16 otherwise, with loss scaling when training: :func:`grad_scaler`), and on CPUs that
    compute bf16 natively (AVX512-BF16 or AMX; measured 1.66x the fp32 throughput here, with the same
    VAST macro-F1: benchmarks/RESULTS.md); fp32 on other CPUs.
    ``bf16`` asks for bf16 autocast on any device; ``fp32`` turns autocast off everywhere (bit-exact
    results, for reproducing a run on another machine). ``int8`` is for inference on CPU only: the
    linear layers' weights in int8 with activations quantised on the fly (:func:`quantize_int8`); on a
    GPU it means ``auto``.
    """
    precision = check_precision(precision)
    if precision == "fp32":
        return "fp32"
    if precision == "int8":
        return "int8" if device.type == "cpu" else effective_precision(device, "auto")
    if device.type == "cuda":
        return "bf16" if cuda_has_bf16(device) else "fp16"
    if device.type == "cpu" and (precision == "bf16" or cpu_has_bf16()):
        return "bf16"
    return "fp32"


def quantize_int8(model):
    """``model`` with its ``nn.Linear`` layers dynamically quantised to int8 (CPU inference only: int8
    weights, activations quantised per batch; the VNNI instructions of recent x86 CPUs run them)."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch announces the move of this API to torchao
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def autocast(device, precision: str = "auto") -> contextlib.AbstractContextManager:
    """Mixed-precision context for a forward pass (see :func:`effective_precision`)."""
    import torch

    used = effective_precision(device, precision)
    if used in ("fp32", "int8"):
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if used == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def pin(batch: dict, device) -> dict:
    """Page-locked host tensors when they are bound for CUDA (so the copy can be asynchronous)."""
    if device.type != "cuda":
        return batch
    return {k: v.pin_memory() for k, v in batch.items()}


def to_device(batch: dict, device) -> dict:
    """Copy a dict of tensors to ``device``; pinned memory and non-blocking copies on CUDA."""
    if device.type != "cuda":
        return {k: v.to(device) for k, v in batch.items()}
    return {k: (v if v.is_pinned() else v.pin_memory()).to(device, non_blocking=True) for k, v in batch.items()}


def is_oom(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def empty_cache(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.empty_cache()


def reset_peak_memory(device) -> None:
    """Start a new peak: CUDA allocator statistics, or the process's peak RSS (Linux ``clear_refs``)."""
    import torch

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:  # not Linux, or not allowed: the peak stays process-wide
        pass


def host_memory_mb(field: str = "VmHWM", pid: int | str = "self") -> float | None:
    """A process's resident memory in MiB from ``/proc/PID/status``: ``VmHWM`` (its peak) or ``VmRSS`` (now);
    None where /proc is missing or has no such field."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def host_peak_memory_mb(pid: int | str = "self") -> float | None:
    """A process's peak resident memory in MiB: ``VmHWM``, else (this process only, where /proc is missing)
    ``ru_maxrss``; None when neither is there. ``ru_maxrss`` is never read for another process: on Linux a
    child started by fork and exec keeps the parent's peak at the fork, so it would report that as its own."""
    peak = host_memory_mb("VmHWM", pid)
    if peak is not None or pid != "self":
        return peak
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except Exception:  # pragma: no cover - platform without resource
        return None


def peak_memory_mb(device) -> float | None:
    """Peak memory since :func:`reset_peak_memory`: CUDA allocated, or host peak RSS (VmHWM) on CPU."""
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return host_peak_memory_mb()
