"""Hashed word n-grams at inference, equal to scikit-learn's ``HashingVectorizer``, without importing it.

The claims head is trained on scikit-learn's ``HashingVectorizer`` (``alternate_sign=False``, ``norm="l2"``).
At inference only the dot product of each text's hashed vector with the head's weights is needed, and importing
scikit-learn (with SciPy) costs about 1.5 s of a process's first result. :func:`hashed_dot` computes that
product from the same n-grams and the same hash (MurmurHash3, x86 32-bit, seed 0, on the UTF-8 bytes of each
n-gram, index ``|h| mod n_features``); ``tests/test_claims.py`` checks it against scikit-learn. The hash is the C
one of the ``murmurhash`` package (a dependency of spaCy) when it gives :func:`murmurhash3_32`'s values, else that
pure-Python one.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Callable, Sequence

_MASK = 0xFFFFFFFF


def murmurhash3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 (x86, 32-bit) of ``data`` as a signed 32-bit integer."""
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & _MASK
    n = len(data)
    end = n - n % 4
    for i in range(0, end, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * c1) & _MASK
        k = ((k << 15) | (k >> 17)) & _MASK
        k = (k * c2) & _MASK
        h ^= k
        h = ((h << 13) | (h >> 19)) & _MASK
        h = (h * 5 + 0xE6546B64) & _MASK
    tail = data[end:]
    if tail:
        k = int.from_bytes(tail, "little")
        k = (k * c1) & _MASK
        k = ((k << 15) | (k >> 17)) & _MASK
        k = (k * c2) & _MASK
        h ^= k
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def _python_hash(text: str) -> int:
    return murmurhash3_32(text.encode("utf-8"))


@lru_cache(maxsize=1)
def _string_hash() -> Callable[[str], int]:
    """MurmurHash3 (x86, 32-bit, seed 0) of a string's UTF-8 bytes, signed: ``murmurhash.mrmr.hash`` (C, about
    50 times faster) when it is importable and agrees with :func:`murmurhash3_32`, else the pure-Python one."""
    try:
        from murmurhash.mrmr import hash as c_hash
    except ImportError:  # pragma: no cover - spaCy installs murmurhash
        return _python_hash
    probes = ("", "a", "ab", "abc", "abcd", "the minister said", "caf\u00e9 \u20ac5", "\U0001f600 0 0")
    return c_hash if all(c_hash(t) == _python_hash(t) for t in probes) else _python_hash


def feature_index(feature: str, n_features: int) -> int:
    """The column of one n-gram, as scikit-learn's ``FeatureHasher`` computes it."""
    h = _string_hash()(feature)
    if h == -2147483648:  # abs() of INT_MIN, as scikit-learn defines it
        return (2147483647 - (n_features - 1)) % n_features
    return abs(h) % n_features


def word_ngrams(text: str, *, token_pattern: str, ngram_range: tuple[int, int],
                preprocessor: Callable[[str], str]) -> list[str]:
    """The n-grams ``HashingVectorizer(analyzer="word")`` makes of ``text`` (no stop words)."""
    tokens = re.findall(token_pattern, preprocessor(text))
    lo, hi = ngram_range
    out = list(tokens) if lo == 1 else []
    for n in range(max(2, lo), hi + 1):
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


def hashed_dot(texts: Sequence[str], weights: dict[int, float], *, n_features: int, token_pattern: str,
               ngram_range: tuple[int, int], preprocessor: Callable[[str], str]) -> list[float]:
    """For each text: its l2-normalised hashed n-gram count vector · ``weights`` (column → weight)."""
    out = []
    for text in texts:
        counts: dict[int, int] = {}
        for gram in word_ngrams(text, token_pattern=token_pattern, ngram_range=ngram_range,
                                preprocessor=preprocessor):
            j = feature_index(gram, n_features)
            counts[j] = counts.get(j, 0) + 1
        norm = math.sqrt(sum(c * c for c in counts.values()))
        out.append(sum(c * weights.get(j, 0.0) for j, c in counts.items()) / norm if norm else 0.0)
    return out
