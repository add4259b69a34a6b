"""stancekit.featurehash against scikit-learn's HashingVectorizer, and a first result without scikit-learn."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from stancekit.claims import HASH_FEATURES, HASH_NGRAMS, _hasher, head_logits, normalise_for_hashing
from stancekit.featurehash import feature_index, hashed_dot, murmurhash3_32

TOKEN = r"(?u)\b\w+\b"


def test_murmurhash_matches_scikit_learn():
    from sklearn.utils import murmurhash3_32 as reference

    for s in ["", "a", "ab", "abc", "abcd", "abcde", "port strike", "0 percent", "émigré naïve", "日本語", "x" * 33]:
        assert murmurhash3_32(s.encode("utf-8")) == reference(s.encode("utf-8"), seed=0)
    assert feature_index("port strike", 4096) == abs(reference("port strike", seed=0)) % 4096


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40))
def test_the_string_hash_in_use_equals_the_python_one_and_scikit_learn(text):
    """feature_index uses the C hash of the murmurhash package when it agrees on a few probes: it must agree
    everywhere."""
    from sklearn.utils import murmurhash3_32 as reference

    from stancekit.featurehash import _string_hash

    assert _string_hash()(text) == murmurhash3_32(text.encode("utf-8")) == reference(text.encode("utf-8"), seed=0)


def test_the_c_hash_is_used_when_the_murmurhash_package_is_there():
    import murmurhash.mrmr

    from stancekit.featurehash import _string_hash

    assert _string_hash() is murmurhash.mrmr.hash


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80),
                min_size=1, max_size=5))
@example(["Unemployment fell to 3.9% in March, the lowest since 2019.", "", "!!!", "Ça coûte 12 000 €."])
def test_hashed_dot_equals_the_vectorizer(texts):
    rng = np.random.default_rng(len(texts))
    cols = rng.choice(HASH_FEATURES, size=300, replace=False)
    weights = {int(j): float(w) for j, w in zip(cols, rng.normal(size=300))}
    dense = np.zeros(HASH_FEATURES)
    dense[list(weights)] = list(weights.values())
    want = _hasher().transform(texts) @ dense
    got = hashed_dot(texts, weights, n_features=HASH_FEATURES, token_pattern=TOKEN, ngram_range=HASH_NGRAMS,
                     preprocessor=normalise_for_hashing)
    assert np.allclose(got, want, rtol=1e-12, atol=1e-12)


def _hash_only_head() -> dict:
    rng = np.random.default_rng(3)
    return {"features": [], "mean": [], "scale": [], "coef": [], "intercept": -0.5,
            "hash": {"n_features": HASH_FEATURES, "ngram_range": list(HASH_NGRAMS), "token_pattern": TOKEN},
            "hash_coef": [[int(j), float(w)] for j, w in zip(rng.choice(HASH_FEATURES, 200, replace=False),
                                                             rng.normal(size=200))]}


def test_a_first_result_imports_no_scikit_learn():
    """Quantities and a hashed head in a fresh process: the same numbers, and scikit-learn never imported
    (its import costs a first result about 1.5 s)."""
    texts = ["Exports rose 5% in May to $3.2 billion.", "The port handled 1.9 million containers in 2022."]
    params = _hash_only_head()
    code = (
        "import json, sys\n"
        "from stancekit.quantities import parse_quantities\n"
        "from stancekit.claims import head_logits\n"
        f"texts = {texts!r}\n"
        "q = [[(x['value'], x['unit']) for x in parse_quantities(t)] for t in texts]\n"
        f"z = head_logits(json.loads({json.dumps(json.dumps(params))}), texts).tolist()\n"
        "print(json.dumps({'q': q, 'z': z, 'sklearn': 'sklearn' in sys.modules, 'joblib': 'joblib' in sys.modules}))\n")
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                    timeout=120).stdout.strip().splitlines()[-1])
    assert out["sklearn"] is False and out["joblib"] is False
    assert np.allclose(out["z"], head_logits(params, texts))
    from stancekit.quantities import parse_quantities

    assert out["q"] == [[[x["value"], x["unit"]] for x in parse_quantities(t)] for t in texts]
    assert any(v == 5 for v, _ in out["q"][0])
