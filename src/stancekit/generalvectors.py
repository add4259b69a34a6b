"""Packaged embeddings of the few-shot head's general set.

The ``fewshot`` stance backend fits its head on the general set (``data/stance_general.jsonl``): about
3,000 texts, 400 target names and their hypothesis sentences, some 6,000 strings. Encoding them is what a
fresh install's first run waits for (about 30 s on a 2-core CPU) before its first stance; later runs read
them from the disk cache. ``data/stance_general.vectors.safetensors`` holds those embeddings as made by the
default encoder (all-MiniLM-L6-v2, fp32, on CPU), together with the strings of the shipped targets' own
examples, names and hypotheses. While a head is fitted they stand in for the encoder's vectors, so every
machine fits the same head whatever precision its encoder runs in (inference keeps the encoder's own
vectors), and the heads fitted on them can ship too (``stance.PACKAGED_HEADS``): a first run reads them.

The file is used only by an encoder that reproduces it: :data:`PROBES` of its strings are encoded again
and each must be within :data:`MIN_COSINE` of its stored vector. Another encoder (another model, or a
fine-tuned copy) encodes the general set itself, as before. Vectors are stored as int8 with one scale per
vector (cosine to the fp32 vectors ≥ 0.9999, measured when written) and renormalised when read.

Rebuild the file after changing the general set or the default encoder: ``make general-vectors``
(``python -m stancekit.generalvectors``), which also refits the packaged heads (``stance.PACKAGED_HEADS``:
targets without examples, and each shipped target); tests fail while the file lacks a string they need or a
head differs from what fitting gives.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from .resources import DATA_DIR

PATH = DATA_DIR / "stance_general.vectors.safetensors"
FORMAT = "stancekit-general-vectors.v1"
#: strings re-encoded to check that the stored vectors are this encoder's
PROBES = 8
#: each probe's cosine with its stored vector must reach this (bf16 against fp32 on 2,000 general texts: 0.99997
#: at the smallest; an encoder of the same shape with other weights is refused, tests/test_generalvectors.py)
MIN_COSINE = 0.995


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows and one float32 scale per row (the row's largest magnitude / 127)."""
    v = np.asarray(vectors, dtype=np.float32)
    scales = np.maximum(np.abs(v).max(axis=1), 1e-12) / 127.0
    return np.clip(np.rint(v / scales[:, None]), -127, 127).astype(np.int8), scales.astype(np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (the encoder's vectors are)."""
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def dequantize(q: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """float32 rows, renormalised to unit length."""
    return _unit(q.astype(np.float32) * scales[:, None])


def write(strings: Sequence[str], encoder, path: str | Path | None = None, *, name: str | None = None) -> dict:
    """Encode ``strings`` with ``encoder`` (a :class:`stancekit.stance.Encoder`) and store them; returns
    the file's metadata plus the smallest cosine between a stored and an encoded vector."""
    from safetensors.numpy import save_file

    path = PATH if path is None else Path(path)
    strings = sorted(set(strings))
    vectors = np.asarray(encoder.encode(strings), dtype=np.float32)
    q, scales = quantize(vectors)
    back = dequantize(q, scales)
    unit = _unit(vectors)
    meta = {"format": FORMAT, "encoder": name or Path(str(encoder.source)).name,
            "precision": encoder.engine.compute_precision, "dim": str(vectors.shape[1]),
            "count": str(len(strings)), "strings": json.dumps(strings, ensure_ascii=False)}
    if not _same_file(path, q, scales, meta):  # the header's key order varies: rewrite only what changed
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        save_file({"vectors": q, "scales": scales}, str(path), metadata=meta)
        Path(path).chmod(0o644)
    return {k: v for k, v in meta.items() if k != "strings"} | {
        "min_cosine": float(np.min(np.sum(back * unit, axis=1)))}


def _same_file(path: Path, q: np.ndarray, scales: np.ndarray, meta: dict) -> bool:
    from safetensors import safe_open

    if not path.is_file():
        return False
    with safe_open(str(path), framework="numpy") as fh:
        return (fh.metadata() or {}) == meta and np.array_equal(fh.get_tensor("vectors"), q) \
            and np.array_equal(fh.get_tensor("scales"), scales)


def digest(path: str | Path | None = None) -> str | None:
    """A hash of the file's bytes (part of the cache keys of what is fitted on it); None without a file."""
    path = PATH if path is None else Path(path)
    if not path.is_file():
        return None
    return _digest_of(str(path.resolve()), path.stat().st_size, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _digest_of(path: str, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def read(path: str | Path | None = None) -> tuple[list[str], np.ndarray, dict]:
    """The stored strings, their (unit-length float32) vectors and the metadata."""
    from safetensors import safe_open

    path = PATH if path is None else Path(path)
    with safe_open(str(path), framework="numpy") as fh:
        meta = dict(fh.metadata() or {})
        q, scales = fh.get_tensor("vectors"), fh.get_tensor("scales")
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} file")
    strings = json.loads(meta.pop("strings"))
    if len(strings) != len(q):
        raise ValueError(f"{path}: {len(strings)} strings for {len(q)} vectors")
    return strings, dequantize(q, scales), meta


def matching(encoder, path: str | Path | None = None) -> dict[str, np.ndarray]:
    """The stored vectors by string when ``encoder`` reproduces them (:data:`PROBES` strings spread over
    the file, each within :data:`MIN_COSINE`), else an empty dict (no file, other width, other encoder)."""
    path = PATH if path is None else Path(path)
    if not path.is_file():
        return {}
    strings, vectors, meta = read(path)
    if not strings:
        return {}
    probes = sorted({round(i * (len(strings) - 1) / max(PROBES - 1, 1)) for i in range(PROBES)})
    fresh = np.asarray(encoder.encode([strings[i] for i in probes]), dtype=np.float32)
    if fresh.ndim != 2 or fresh.shape[1] != vectors.shape[1]:
        return {}
    fresh = _unit(fresh)
    if float(np.min(np.sum(fresh * vectors[probes], axis=1))) < MIN_COSINE:
        return {}
    return dict(zip(strings, vectors))


def main() -> None:  # pragma: no cover - a maintenance command (make general-vectors)
    """Rebuild :data:`PATH` with the default encoder, fp32 on CPU, from the shipped general set and the
    shipped targets' examples, names and hypotheses; then the packaged heads fitted on them
    (``stance.PACKAGED_HEADS``: targets without examples, and each shipped target)."""
    import os

    os.environ["STANCEKIT_PRECISION"] = "fp32"
    from .stance import Encoder, FewShotBackend, example_strings, general_strings, load_general_examples
    from .targets import load_target, shipped_targets

    targets = [load_target(path) for path in shipped_targets().values()]
    strings = general_strings(load_general_examples()) + [s for t in targets for s in example_strings(t)]
    info = write(strings, Encoder(device="cpu"), name="all-MiniLM-L6-v2")
    print(json.dumps(info | {"path": str(PATH), "bytes": PATH.stat().st_size}, indent=2))
    for name, path in FewShotBackend(device="cpu", use_cache=False).write_packaged_heads(targets).items():
        print(f"head {name}: {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":  # pragma: no cover
    main()
