"""Claim stage: check-worthy factual claims, who makes them, and the quantities they state.

A *claim* is a clause or sentence that asserts something a fact-checker could verify: a statistic
("some 3,400 new jobs in 2023"), a comparison or superlative ("the highest since …"), a dated event
("in 2011 …"), a causal statement or a prediction with numbers. Opinions, scene description,
feelings and procedure are not claims. The algorithm, step by step:

1. the document is cut into *units*: spaCy sentences, split again at line breaks and, when both
   halves are full clauses, at semicolons (:func:`claim_units`); a transcript tag at the start of a
   line ("TRUMP:", "Q:", "Sen. Ortiz:") is not part of the unit;
2. each unit gets a check-worthiness score in 0..1 from :class:`ClaimDetector`: a logistic
   regression over hand-crafted features (numbers, quantity words, comparatives, dates, causal and
   modal markers, hedges, person, questions, capitalised names, length), hashed word n-grams and,
   when the head names an encoder, the unit's sentence embedding; the raw score is calibrated
   (Platt scaling fitted on held-out folds) so that it reads as a probability. The parameters are
   plain JSON (``data/claims_head.json``; retrain with :func:`train_head` / ``stancekit train claims``);
3. for each unit at or above ``min_score`` (:func:`find_claims`, or the spaCy component
   ``stancekit_claims``): the claimer is the speaker of the quote the unit lies in
   (``doc._.stancekit_quotes``; a transcript line is such a quote), else the source of an
   "according to X" in the sentence, else the author (``{"name": None, "kind": "author"}``);
   quantities come from :func:`stancekit.quantities.parse_quantities` (resolved against the article
   date); entities are the canonical names of ``doc._.stancekit_entities`` inside the unit; the kind
   (statistic, comparison, causal, prediction, event, other) is read off the quantities and markers.

There is no minimum length: "Walls work 100 percent." is scored like any other sentence.

Records follow ``schemas/claim.v1.json``; ``stances`` is left empty (the pipeline fills it).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from spacy.language import Language
from spacy.tokens import Doc

from .errors import Errors, StancekitError
from .quantities import parse_quantities
from .quotemarks import QUOTE_CHARS, SINGLE_QUOTES
from .resources import DATA_DIR, doc_text
from .syntax import NAME_LABELS

HEAD_FORMAT = "stancekit.claims_head.v2"
READABLE_FORMATS = ("stancekit.claims_head.v1", HEAD_FORMAT)
DEFAULT_HEAD = DATA_DIR / "claims_head.json"
DEFAULT_TRAIN = DATA_DIR / "claims_train.jsonl"
DEFAULT_ENCODER = "all-MiniLM-L6-v2"
HASH_FEATURES = 2 ** 12
HASH_NGRAMS = (1, 2)
DEFAULT_C = 0.3
DEFAULT_EMB_WEIGHT = 1.0
CV_FOLDS = 5
SEED = 13
CLAUSE_WORDS = 4  # a semicolon splits a sentence only when both sides have this many words
QUOTE_OVERLAP = 0.5
# sentence embeddings are unit vectors up to rounding: the bound of score_sentences(floor=…) allows this much more
EMBEDDING_NORM_SLACK = 1e-3
QUOTE_INSIDE = 0.35
# marks stripped from the edges of a claim in a quote: the paired ones and curly single quotes
EDGE_MARKS = frozenset(QUOTE_CHARS | SINGLE_QUOTES)
# a transcript tag at the start of a line: "TRUMP:", "MR. HOLT:", "Q:", "A:", "Sen. Maria Ortiz:"
LAYOUT_TAG = re.compile(r"(?:[A-Z][A-Z.'’\- ]{0,40}[A-Z.]|[QA]|(?:[A-Z][a-z]{0,12}\.? ){0,3}[A-Z][a-z'’\-]+):[ \t]+")

# -- feature lexicons (inputs of the learned model, never a decision on their own) ----------------
NUMBER_WORDS = (r"one(?!\s+(?:of|another)\b)|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
                r"forty|fifty|sixty|seventy|eighty|ninety|hundred|hundreds|thousand|thousands|million|"
                r"millions|billion|billions|trillion|trillions|dozen|dozens|half|third|quarter|fifth|"
                r"double|doubled|twice|triple|tripled|halved|percent")
COMPARATIVE = (r"record|highest|lowest|largest|biggest|smallest|worst|best|deadliest|fastest|"
               r"strongest|weakest|longest|most|least|more than|less than|fewer than|greater than|"
               r"compared|than ever|since records|first time|than any|nearly double|twice as|"
               r"times as|ever|surpass\w*|exceed\w*|outpac\w*|rank\w*")
CHANGE = (r"rose|risen|rise|rises|fell|fallen|falls|increased?|increases|decreased?|declined?|"
          r"dropped|drop|grew|grown|growth|jumped|soared|surged|plunged|plummeted|climbed|shrank|"
          r"shrunk|slowed|doubled|tripled|halved|reached|hit|cut|lost|gained|widened|narrowed")
CAUSAL = (r"because|due to|caused|causes|cause|led to|leads to|lead to|as a result|resulted|results in|"
          r"triggered|driven by|blamed|reason|owing to|thanks to|contributed to|responsible for|"
          r"linked to|so that|therefore|consequently")
PREDICTION = (r"will|would|expected|expects|expect|forecasts?|forecast|projected|projects|predicts?|"
              r"predicted|likely|estimated to|set to|on track|by 20\d\d|could|might")
HEDGE = (r"think|believe|feel|feels|hope|hopes|should|must|perhaps|maybe|seems|deserves?|need to|"
         r"let us|let's|wonder|wonders|in my view|i'm|proud|sad|happy|love|beautiful|stunning|"
         r"disaster|shame|urged?|vowed?|promised?|called on|called for|demand\w*|condemn\w*")
EVIDENCE = (r"according to|report|reported|data|figures|survey|study|census|statistics|found|show|"
            r"shows|showed|estimates?|audit|records|official|analysis|index")
EVENT = r"killed|signed|arrested|elected|sentenced|seized|founded|approved|struck|sank|resigned|won|died"
MONTHS = (r"january|february|march|april|may|june|july|august|september|october|november|december|"
          r"jan\.|feb\.|aug\.|sept?\.|oct\.|nov\.|dec\.")
RELATIVE_TIME = (r"ago|last (?:week|month|year|decade)|yesterday|since|earlier this|this year|"
                 r"next (?:week|month|year)|decades?|centur(?:y|ies)|monday|tuesday|wednesday|"
                 r"thursday|friday|saturday|sunday")
NOT_SUPERLATIVE = frozenset({"interest", "forest", "protest", "honest", "suggest", "request", "arrest",
                             "invest", "contest", "modest", "harvest", "latest", "rest", "test", "west",
                             "guest", "nest", "chest", "quest", "digest", "manifest", "priest", "unrest",
                             "behest", "attest", "detest", "infest", "earnest", "midwest", "pest",
                             "southwest", "northwest"})

FEATURES = ("has_digit", "digits", "number_words", "percent", "currency", "year", "date",
            "comparative", "superlative", "change", "causal", "prediction", "hedge", "evidence",
            "event", "first_person", "second_person", "question", "exclamation", "quote",
            "names", "length")


def _words_re(words: str) -> re.Pattern:
    return re.compile(rf"(?<![\w-])(?:{words})(?![\w-])", re.IGNORECASE)


_RES = {name: _words_re(words) for name, words in (
    ("number_words", NUMBER_WORDS), ("comparative", COMPARATIVE), ("change", CHANGE),
    ("causal", CAUSAL), ("prediction", PREDICTION), ("hedge", HEDGE), ("evidence", EVIDENCE),
    ("event", EVENT), ("date", f"{MONTHS}|{RELATIVE_TIME}"))}
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_YEAR = re.compile(r"(?<!\d)(?:1[89]\d\d|20\d\d)(?:s|'s|’s)?(?!\d)")
_PERCENT = re.compile(r"%|\bper ?cent\b|\bpercentage\b", re.IGNORECASE)
_CURRENCY = re.compile(r"[$€£¥₹]|\b(?:dollars?|euros?|pounds?|pesos?|yuan|yen|rupees?|reais|bn)\b",
                       re.IGNORECASE)
_FIRST = re.compile(r"\b(?:i|me|my|we|our|us|ours|myself|ourselves)\b", re.IGNORECASE)
_SECOND = re.compile(r"\b(?:you|your|yours)\b", re.IGNORECASE)
_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
_QUOTES = re.compile(r"[“”\"«»„]")


def feature_values(text: str) -> dict[str, float]:
    """Every hand-crafted feature of one sentence, by name (see :data:`FEATURES`)."""
    tokens = _TOKEN.findall(text)
    words = [t for t in tokens if t[0].isalnum()]
    n_digits = len(_DIGITS.findall(text))
    supers = [w for w in words if len(w) > 5 and w.lower().endswith("est") and w.lower() not in NOT_SUPERLATIVE]
    names = sum(1 for i, t in enumerate(tokens) if i > 0 and t[:1].isupper() and t.isalpha()
                and tokens[i - 1] not in (".", "“", '"', "‘", ":") and t.lower() != "i")

    def count(name: str) -> float:
        return math.log1p(len(_RES[name].findall(text)))

    return {
        "has_digit": float(n_digits > 0),
        "digits": math.log1p(n_digits),
        "number_words": count("number_words"),
        "percent": float(bool(_PERCENT.search(text))),
        "currency": float(bool(_CURRENCY.search(text))),
        "year": math.log1p(len(_YEAR.findall(text))),
        "date": count("date"),
        "comparative": count("comparative"),
        "superlative": math.log1p(len(supers)),
        "change": count("change"),
        "causal": count("causal"),
        "prediction": count("prediction"),
        "hedge": count("hedge"),
        "evidence": count("evidence"),
        "event": count("event"),
        "first_person": math.log1p(len(_FIRST.findall(text))),
        "second_person": math.log1p(len(_SECOND.findall(text))),
        "question": float("?" in text),
        "exclamation": float("!" in text),
        "quote": float(bool(_QUOTES.search(text))),
        "names": math.log1p(names),
        "length": math.log1p(len(words)),
    }


def sentence_features(text: str, names: Sequence[str] = FEATURES) -> list[float]:
    """The hand-crafted features of one sentence, in the order of ``names``."""
    values = feature_values(text)
    return [values[name] for name in names]


def normalise_for_hashing(text: str) -> str:
    """Lower-case text with every number replaced by ``0`` (the hashed n-grams see "0 percent")."""
    return _DIGITS.sub("0", text.lower()).replace("’", "'")


def _hasher():
    """The hashed n-gram vectorizer of training (inference computes the same: :mod:`stancekit.featurehash`)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(n_features=HASH_FEATURES, ngram_range=HASH_NGRAMS, alternate_sign=False,
                             norm="l2", token_pattern=r"(?u)\b\w+\b", preprocessor=normalise_for_hashing)


# ---------------------------------------------------------------------------------------------
# sentence embeddings (one encoder per source, shared by every detector and the stance backend)
# ---------------------------------------------------------------------------------------------


def shared_encoder(source: str, *, device: str = "auto"):
    """The :class:`stancekit.stance.Encoder` for ``source`` (a known name such as
    ``all-MiniLM-L6-v2``/``all-mpnet-base-v2`` or a model folder), loaded once per process
    (:func:`stancekit.stance.shared_encoder`): the few-shot stance backend's copy when it uses the same one."""
    from .sources import resolve_source
    from .stance import shared_encoder as _shared

    return _shared(resolve_source(str(source)), device=device)


def _embed(encoder, texts: Sequence[str]):
    import numpy as np

    if len(texts) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    return np.asarray(encoder.encode(list(texts)), dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# the check-worthiness model
# ---------------------------------------------------------------------------------------------

@dataclass
class HeadSettings:
    """What a head is made of; :func:`train_head` picks ``c`` (and ``emb_weight``) by grouped CV."""

    c: float = DEFAULT_C
    hashed: bool = True
    encoder: str | None = DEFAULT_ENCODER
    emb_weight: float = DEFAULT_EMB_WEIGHT
    features: tuple[str, ...] = FEATURES
    class_weight: str | None = "balanced"

    def card(self) -> dict:
        return {"C": self.c, "hashed": self.hashed, "encoder": self.encoder, "emb_weight": self.emb_weight,
                "class_weight": self.class_weight}


class ClaimDetector:
    """Check-worthiness of sentences: calibrated logistic regression over features, hashed n-grams
    and (when the head names an encoder) sentence embeddings.

    The parameters are plain JSON (``data/claims_head.json`` by default): feature names, scaler
    mean and scale, coefficients, the encoder's name and its coefficients, the Platt calibration and
    a training card. ``encoder`` overrides the head's encoder (an object with ``encode(texts)``, or
    a source string); it must give vectors of the head's dimension. Refit with :func:`train_head`.
    """

    def __init__(self, *, head_path: str | Path | None = None, threshold: float | None = None,
                 params: dict | None = None, encoder=None, device: str = "auto"):
        self.head_path = Path(head_path) if head_path is not None else DEFAULT_HEAD
        self.params = params if params is not None else _load_head(self.head_path)
        self._check(self.params, str(self.head_path if params is None else "claims head"))
        threshold = self.params.get("threshold", 0.5) if threshold is None else threshold
        if not 0.0 <= threshold <= 1.0:
            raise StancekitError(Errors.E012, name="threshold", detail=f"{threshold} is not in 0..1")
        self.threshold = float(threshold)
        self.device = device
        self._encoder = encoder

    @staticmethod
    def _check(params: dict, source: str) -> None:
        names = list(params.get("features", []))
        unknown = [n for n in names if n not in FEATURES]
        if params.get("format") not in READABLE_FORMATS or unknown or \
                len(params.get("coef", [])) != len(names):
            raise StancekitError(Errors.E010, source=source,
                                 detail=f"expected format {HEAD_FORMAT} with features among {', '.join(FEATURES)}"
                                        + (f" (unknown: {', '.join(unknown)})" if unknown else "")
                                        + "; rebuild it with `stancekit train claims`")
        emb = params.get("embedding")
        if emb and len(emb.get("coef", [])) != emb.get("dim"):
            raise StancekitError(Errors.E010, source=source, detail="embedding coefficients do not match its dim")

    @property
    def encoder(self):
        """The sentence encoder of the head (None for a head without embeddings), loaded on first use."""
        emb = self.params.get("embedding")
        if not emb:
            return None
        if self._encoder is None or isinstance(self._encoder, (str, Path)):
            self._encoder = shared_encoder(str(self._encoder or emb["encoder"]), device=self.device)
        return self._encoder

    def describe(self) -> dict:
        emb = self.params.get("embedding") or {}
        return {"head": str(self.head_path), "encoder": emb.get("encoder"), "threshold": self.threshold,
                "calibrated": bool(self.params.get("calibration"))}

    # -- inference -------------------------------------------------------------------------------
    def logits(self, sentences: Sequence[str]):
        """Uncalibrated decision values (numpy array) of each sentence."""
        return head_logits(self.params, list(sentences), encoder=self.encoder)

    def score_sentences(self, sentences: Sequence[str], *, floor: float | None = None,
                        vectors: dict[int, "np.ndarray"] | None = None) -> list[float]:
        """Calibrated check-worthiness in 0..1 of each sentence.

        ``vectors``: a dict that receives the embedding of each sentence that was encoded, by its index
        (the stance stage reuses them for claims; see :attr:`stancekit.stance.StanceInput.vector`).

        ``floor``: only scores at or above it matter to the caller (a claim threshold). A sentence whose
        highest possible score, with any unit-length embedding, is below ``floor`` is not encoded, and its
        score is given as 0.0; every other score is exact (:meth:`bounds`).
        """
        import numpy as np

        if len(sentences) == 0:
            return []
        texts = list(sentences)
        base, keep = self.bounds(texts, floor=floor)
        if not self.params.get("embedding"):
            return [round(float(v), 6) for v in calibrated(self.params, base)]
        probs = np.zeros(len(texts))
        if len(keep):
            e = self.encoder.encode([texts[i] for i in keep])
            probs[keep] = self.complete(base[keep], e)
            if vectors is not None:
                vectors.update(zip(keep.tolist(), e))
        return [round(float(v), 6) for v in probs]

    def bounds(self, sentences: Sequence[str], *, floor: float | None = None):
        """What scoring can know without the encoder: the decision values of ``sentences`` without the
        embedding term (``base``), and the indices of the sentences whose score could reach ``floor``.

        The embedding term is ``e · w`` with ``|e| = 1``, so it lies within ``±|w|``: a sentence whose
        score with ``base + |w|`` is below ``floor`` cannot reach it with any unit-length embedding. All
        sentences are kept without a floor, for a head without embeddings, or for an encoder that does not
        declare ``normalized = True``. Nothing is encoded (the encoder is not even loaded):
        :meth:`complete` finishes the kept scores where the encoder runs."""
        import numpy as np

        texts = list(sentences)
        emb = self.params.get("embedding")
        cal = self.params.get("calibration") or {"a": 1.0}
        base = np.asarray(head_logits(dict(self.params, embedding=None), texts), dtype=np.float64)
        if not emb or floor is None or floor <= 0.0 or cal["a"] <= 0 or not self._normalized():
            return base, np.arange(len(texts))
        reach = float(np.linalg.norm(np.asarray(emb["coef"]))) * (1.0 + EMBEDDING_NORM_SLACK)
        return base, np.flatnonzero(calibrated(self.params, base + reach) >= floor)

    def complete(self, base, embeddings):
        """Calibrated scores (numpy array) of sentences from their :meth:`bounds` ``base`` values and their
        embeddings (rows in the same order)."""
        import numpy as np

        emb = self.params["embedding"]
        e = np.asarray(embeddings, dtype=np.float64)
        _check_dim(e, emb)
        return calibrated(self.params, np.asarray(base, dtype=np.float64) + e @ np.asarray(emb["coef"]))

    def _normalized(self) -> bool:
        """Whether the encoder gives unit-length vectors, known without loading it when it is loaded by
        name (a :class:`stancekit.stance.Encoder`)."""
        enc = self._encoder
        if enc is None or isinstance(enc, (str, Path)):
            from .stance import Encoder

            return bool(Encoder.normalized)
        return bool(getattr(enc, "normalized", False))

    def predict(self, sentences: Sequence[str]) -> list[bool]:
        return [s >= self.threshold for s in self.score_sentences(sentences)]

    # -- training --------------------------------------------------------------------------------
    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[int], *, c: float = DEFAULT_C,
              hashed: bool = True, threshold: float = 0.5, encoder=None,
              emb_weight: float = DEFAULT_EMB_WEIGHT) -> "ClaimDetector":
        """Fit a new (uncalibrated) detector on ``texts`` with 0/1 ``labels`` (deterministic);
        ``encoder`` (an object with ``encode`` or a source) adds sentence embeddings."""
        enc = shared_encoder(str(encoder)) if isinstance(encoder, (str, Path)) else encoder
        emb = _embed(enc, texts) if enc is not None else None
        name = str(encoder) if isinstance(encoder, (str, Path)) else getattr(enc, "source", None)
        settings = HeadSettings(c=c, hashed=hashed, encoder=name if enc is not None else None, emb_weight=emb_weight)
        return cls(params=fit_params(texts, labels, settings, embeddings=emb), threshold=threshold, encoder=enc)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.params, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return path


def _load_head(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StancekitError(Errors.E010, source=str(path), detail=str(exc)) from exc


def head_logits(params: dict, texts: list[str], *, encoder=None, embeddings=None):
    """Decision values of a head's logistic regression (before calibration)."""
    import numpy as np

    names = params["features"]
    dense = np.array([sentence_features(s, names) for s in texts], dtype=np.float64).reshape(len(texts), len(names))
    z = ((dense - np.array(params["mean"])) / np.array(params["scale"])) @ np.array(params["coef"]) \
        + params["intercept"]
    if params.get("hash_coef"):
        from .featurehash import hashed_dot

        h = params["hash"]
        z = z + np.array(hashed_dot(texts, {int(j): float(w) for j, w in params["hash_coef"]},
                                    n_features=int(h["n_features"]),
                                    token_pattern=h.get("token_pattern", r"(?u)\b\w+\b"),
                                    ngram_range=tuple(h.get("ngram_range", HASH_NGRAMS)),
                                    preprocessor=normalise_for_hashing))
    emb = params.get("embedding")
    if emb:
        if embeddings is None:
            if encoder is None:
                raise StancekitError(Errors.E010, source="claims head",
                                     detail=f"the head needs the sentence encoder {emb['encoder']}")
            embeddings = _embed(encoder, texts)
        _check_dim(embeddings, emb)
        z = z + embeddings @ np.array(emb["coef"])
    return z


def _check_dim(embeddings, emb: dict) -> None:
    """E010 when the encoder's vectors are not of the width the head was fitted on."""
    if embeddings.shape[1] != emb["dim"]:
        raise StancekitError(Errors.E010, source=str(emb["encoder"]),
                             detail=f"encoder gives {embeddings.shape[1]}-d vectors, the head expects {emb['dim']}")


def calibrated(params: dict, z):
    """Platt-scaled probabilities ``sigmoid(a·z + b)`` (plain ``sigmoid(z)`` for an uncalibrated head)."""
    import numpy as np

    cal = params.get("calibration") or {"a": 1.0, "b": 0.0}
    return 1.0 / (1.0 + np.exp(-(cal["a"] * np.asarray(z) + cal["b"])))


def _design(texts: Sequence[str], settings: HeadSettings, embeddings, mean=None, scale=None):
    """The training matrix ``[standardised features | hashed n-grams | emb_weight · embedding]``."""
    import numpy as np
    from scipy.sparse import csr_matrix, hstack

    dense = np.array([sentence_features(t, settings.features) for t in texts], dtype=np.float64)
    if mean is None:
        mean = dense.mean(axis=0)
        scale = dense.std(axis=0)
        scale[scale == 0] = 1.0
    blocks = [csr_matrix((dense - mean) / scale)]
    if settings.hashed:
        blocks.append(_hasher().transform(list(texts)))
    if embeddings is not None:
        blocks.append(csr_matrix(np.asarray(embeddings) * settings.emb_weight))
    return hstack(blocks).tocsr(), mean, scale


def fit_params(texts: Sequence[str], labels: Sequence[int], settings: HeadSettings | None = None, *,
               embeddings=None, c: float | None = None, hashed: bool | None = None) -> dict:
    """Train the logistic regression; return its JSON-ready (uncalibrated) parameters."""
    import numpy as np
    import sklearn
    from sklearn.linear_model import LogisticRegression

    settings = settings or HeadSettings(encoder=None)
    if c is not None:
        settings.c = c
    if hashed is not None:
        settings.hashed = hashed
    y = np.asarray([int(v) for v in labels])
    if len(texts) != len(y) or set(y.tolist()) != {0, 1}:
        raise StancekitError(Errors.E012, name="labels",
                             detail="need one 0/1 label per text and examples of both classes")
    x, mean, scale = _design(texts, settings, embeddings)
    model = LogisticRegression(C=settings.c, class_weight=settings.class_weight, max_iter=5000, solver="lbfgs")
    model.fit(x, y)
    coef = model.coef_[0]
    n_dense = len(settings.features)
    n_hash = HASH_FEATURES if settings.hashed else 0
    hash_coef = [[int(i), round(float(w), 6)] for i, w in enumerate(coef[n_dense:n_dense + n_hash]) if abs(w) > 1e-6]
    params = {
        "format": HEAD_FORMAT,
        "features": list(settings.features),
        "mean": [round(float(v), 8) for v in mean],
        "scale": [round(float(v), 8) for v in scale],
        "coef": [round(float(v), 6) for v in coef[:n_dense]],
        "intercept": round(float(model.intercept_[0]), 6),
        "hash": {"n_features": HASH_FEATURES, "ngram_range": list(HASH_NGRAMS),
                 "token_pattern": r"(?u)\b\w+\b", "preprocess": "lower, numbers to 0"} if settings.hashed else None,
        "hash_coef": hash_coef,
        "embedding": None,
        "training": {"n": int(len(y)), "positives": int(y.sum()), **settings.card(),
                     "scikit_learn": sklearn.__version__},
    }
    if embeddings is not None:
        w = coef[n_dense + n_hash:] * settings.emb_weight
        params["embedding"] = {"encoder": settings.encoder, "dim": int(len(w)), "pooling": "mean, l2-normalised",
                               "coef": [round(float(v), 6) for v in w]}
    return params


# ---------------------------------------------------------------------------------------------
# training data, grouped cross-validation, calibration
# ---------------------------------------------------------------------------------------------

@dataclass
class TrainingSet:
    """Sentences with 0/1 labels and a group each: a CLEF document id, or one group per team sentence
    (``team:<i>``); cross-validation never splits a group."""

    texts: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def extend(self, texts, labels, groups, source: str) -> None:
        self.texts += list(texts)
        self.labels += [int(v) for v in labels]
        self.groups += list(groups)
        self.sources += [source] * len(texts)


def load_training_data(path: str | Path = DEFAULT_TRAIN) -> tuple[list[str], list[int]]:
    """Texts and labels of a JSONL file of ``{"text", "label": 0|1}`` rows."""
    texts, labels = [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            texts.append(row["text"])
            labels.append(int(row["label"]))
    return texts, labels


def read_training_sets(paths: Sequence[str | Path], *, fmt: str = "auto", split: str = "all") -> TrainingSet:
    """Read JSONL sentence files and CLEF CheckThat! TSV files or folders (``fmt`` ``auto`` picks by
    suffix: ``.tsv`` or a folder is CLEF); ``split`` (all, train, dev) selects CLEF documents."""
    from .evaluate.claims import read_clef

    data = TrainingSet()
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise StancekitError(Errors.E001, path=str(path))
        kind = fmt if fmt != "auto" else ("clef" if path.is_dir() or path.suffix.lower() == ".tsv" else "jsonl")
        if kind == "clef":
            for doc in read_clef(path, split=split):
                data.extend([s for _, _, s, _ in doc.lines], [y for *_, y in doc.lines],
                            [f"clef:{doc.doc_id}"] * len(doc.lines), str(path))
        elif kind == "jsonl":
            try:
                texts, labels = load_training_data(path)
            except (ValueError, KeyError, TypeError) as exc:
                raise StancekitError(Errors.E012, name="--data",
                                     detail=f"{path}: each line must be {{\"text\": ..., \"label\": 0 or 1}} "
                                            f"({exc})") from exc
            start = len(data.texts)
            data.extend(texts, labels, [f"team:{start + i}" for i in range(len(texts))], str(path))
        else:
            raise StancekitError(Errors.E014, fmt=kind, known="auto, jsonl, clef")
    if not data.texts:
        raise StancekitError(Errors.E012, name="--data", detail="no training sentences were read")
    return data


def folds_of(data: TrainingSet, folds: int = CV_FOLDS, seed: int = SEED) -> list[tuple[list[int], list[int]]]:
    """Train/test index lists of a stratified k-fold split that keeps every group in one fold."""
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(data.labels)
    n_groups = len(set(data.groups))
    k = max(2, min(folds, n_groups, int(min(y.sum(), len(y) - y.sum()))))
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(list(a), list(b)) for a, b in splitter.split(np.zeros(len(y)), y, data.groups)]


def oof_logits(data: TrainingSet, settings: HeadSettings, *, embeddings=None,
               splits: list | None = None):
    """Out-of-fold decision values of every sentence (each predicted by a head that never saw its group)."""
    import numpy as np

    splits = splits if splits is not None else folds_of(data)
    z = np.zeros(len(data.texts))
    for train_idx, test_idx in splits:
        texts = [data.texts[i] for i in train_idx]
        labels = [data.labels[i] for i in train_idx]
        emb = embeddings[train_idx] if embeddings is not None else None
        params = fit_params(texts, labels, HeadSettings(**{**settings.__dict__}), embeddings=emb)
        test_emb = embeddings[test_idx] if embeddings is not None else None
        z[test_idx] = head_logits(params, [data.texts[i] for i in test_idx], embeddings=test_emb)
    return z


def fit_platt(z, y) -> dict:
    """Platt scaling: ``a, b`` of ``sigmoid(a·z + b)`` fitted on held-out decision values, with Platt's
    smoothed targets ((n₊ + 1) / (n₊ + 2) and 1 / (n₋ + 2)), so that separable folds give a finite slope."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    z, y = np.asarray(z, dtype=np.float64).reshape(-1, 1), np.asarray(y)
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    target = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    x = np.vstack([z, z])
    labels = np.r_[np.ones(len(z)), np.zeros(len(z))]
    weights = np.r_[target, 1 - target]
    model = LogisticRegression(C=1e4, max_iter=1000).fit(x, labels, sample_weight=weights)
    return {"a": round(float(model.coef_[0][0]), 6), "b": round(float(model.intercept_[0]), 6),
            "method": "platt (smoothed targets), out-of-fold decision values"}


def ranking_scores(data: TrainingSet, scores) -> dict:
    """MAP over the CLEF documents of ``data`` and average precision over its team sentences."""
    import numpy as np
    from .evaluate.claims import average_precision

    by_group: dict[str, list[int]] = {}
    for i, g in enumerate(data.groups):
        by_group.setdefault(g if g.startswith("clef:") else "team", []).append(i)
    out = {}
    docs = [idx for g, idx in by_group.items() if g != "team"]
    if docs:
        aps = [average_precision([data.labels[i] for i in idx], [scores[i] for i in idx]) for idx in docs]
        aps = [a for a in aps if a is not None]
        out["map"] = round(float(np.mean(aps)), 4) if aps else 0.0
        out["documents"] = len(aps)
    if "team" in by_group:
        idx = by_group["team"]
        ap = average_precision([data.labels[i] for i in idx], [scores[i] for i in idx])
        out["team_ap"] = round(float(ap or 0.0), 4)
    return out


def best_f1_threshold(y, p) -> tuple[float, float]:
    """The probability threshold of the highest F1 on (labels, calibrated scores), and that F1."""
    import numpy as np

    order = np.argsort(-np.asarray(p), kind="stable")
    y_sorted = np.asarray(y)[order]
    tp = np.cumsum(y_sorted)
    k = np.arange(1, len(y_sorted) + 1)
    f1 = 2 * tp / (k + y_sorted.sum())
    best = int(np.argmax(f1))
    return round(float(np.asarray(p)[order][best]), 6), round(float(f1[best]), 4)


def cross_validate(texts: Sequence[str], labels: Sequence[int], *, folds: int = CV_FOLDS,
                   c: float = DEFAULT_C, hashed: bool = True, seed: int = SEED) -> dict:
    """k-fold precision, recall and F1 at 0.5 of a head without embeddings (quick check of a data file)."""
    data = TrainingSet()
    data.extend(texts, labels, [f"team:{i}" for i in range(len(texts))], "texts")
    return _cv_card(data, HeadSettings(c=c, hashed=hashed, encoder=None), None, folds_of(data, folds, seed),
                    folds=folds, seed=seed)


def _cv_card(data: TrainingSet, settings: HeadSettings, embeddings, splits, *, folds: int, seed: int,
             threshold: float = 0.5) -> dict:
    import numpy as np
    from sklearn.metrics import precision_recall_fscore_support

    z = oof_logits(data, settings, embeddings=embeddings, splits=splits)
    cal = fit_platt(z, data.labels)
    p = calibrated({"calibration": cal}, z)
    y = np.asarray(data.labels)
    pr, rc, f, _ = precision_recall_fscore_support(y, p >= threshold, average="binary", zero_division=0)
    best_t, best_f = best_f1_threshold(y, p)
    return {"folds": len(splits), "seed": seed, "grouped": True, **settings.card(),
            "precision": round(float(pr), 4), "recall": round(float(rc), 4), "f1": round(float(f), 4),
            "accuracy": round(float(((p >= threshold) == y).mean()), 4), "best_f1": best_f,
            "best_f1_threshold": best_t, **ranking_scores(data, p), "_z": z, "_calibration": cal}


def train_head(data: TrainingSet, out: str | Path, *, encoder: str | None = DEFAULT_ENCODER,
               c_grid: Sequence[float] = (DEFAULT_C,), emb_weights: Sequence[float] = (DEFAULT_EMB_WEIGHT,),
               hashed: bool = True, folds: int = CV_FOLDS, seed: int = SEED, threshold: str | float = "auto",
               device: str = "auto", embedder=None) -> dict:
    """Train a calibrated head on ``data`` and write it to ``out`` (JSON); return its card.

    Settings (``c_grid`` × ``emb_weights``) are chosen by grouped k-fold CV (whole CLEF documents
    held out): by MAP when there are CLEF documents, else by average precision. The Platt
    calibration is fitted on the out-of-fold decision values of the chosen settings; ``threshold``
    ``"auto"`` is 0.5 for balanced data and the best out-of-fold F1 threshold when positives are
    rarer than one in five. ``embedder`` (an object with ``encode``) replaces loading ``encoder``.
    """
    import numpy as np

    enc = embedder if embedder is not None else (shared_encoder(encoder, device=device) if encoder else None)
    embeddings = _embed(enc, data.texts) if enc is not None else None
    splits = folds_of(data, folds, seed)
    trials = []
    for c in c_grid:
        for w in (emb_weights if enc is not None else (DEFAULT_EMB_WEIGHT,)):
            settings = HeadSettings(c=c, hashed=hashed, encoder=encoder if enc is not None else None, emb_weight=w)
            card = _cv_card(data, settings, embeddings, splits, folds=folds, seed=seed)
            trials.append((settings, card))
    key = "map" if "map" in trials[0][1] else "team_ap"
    settings, card = max(trials, key=lambda t: (t[1][key], t[1]["f1"]))
    params = fit_params(data.texts, data.labels, settings, embeddings=embeddings)
    params["calibration"] = card["_calibration"]
    rate = sum(data.labels) / len(data.labels)
    params["threshold"] = float(threshold) if threshold != "auto" else \
        (0.5 if rate >= 0.2 else card["best_f1_threshold"])
    params["training"]["sources"] = sorted({Path(s).name for s in data.sources})
    clef_docs = sorted({g[len("clef:"):] for g in data.groups if g.startswith("clef:")})
    params["training"]["documents"] = len(clef_docs)
    if clef_docs:  # lets an evaluation flag documents the head was trained on
        params["training"]["clef_documents"] = clef_docs
    params["cv"] = {k: v for k, v in card.items() if not k.startswith("_")}
    params["cv"]["selected_by"] = key
    params["cv"]["trials"] = [{**s.card(), key: cd[key], "f1": cd["f1"]} for s, cd in trials]
    ClaimDetector(params=params).save(out)
    return {"path": str(out), **params["training"], "threshold": params["threshold"], "cv": params["cv"]}


def train_default_head(path: str | Path = DEFAULT_HEAD, *, data: str | Path = DEFAULT_TRAIN,
                       c: float = DEFAULT_C, hashed: bool = True, encoder: str | None = DEFAULT_ENCODER,
                       embedder=None) -> dict:
    """Train a head on a JSONL file of ``{"text", "label": 0|1}`` rows (by default the shipped
    ``data/claims_train.jsonl``, which rebuilds the shipped head) and write it to ``path``."""
    if not Path(data).is_file():
        raise StancekitError(Errors.E001, path=data)
    card = train_head(read_training_sets([data], fmt="jsonl"), path, encoder=encoder, c_grid=(c,),
                      hashed=hashed, embedder=embedder)
    params = _load_head(Path(path))
    params["training"]["data"] = Path(data).name
    params["training"]["sha256"] = hashlib.sha256(Path(data).read_bytes()).hexdigest()
    ClaimDetector(params=params).save(path)
    return {**card, "data": Path(data).name, "sha256": params["training"]["sha256"]}


# ---------------------------------------------------------------------------------------------
# claims in a document
# ---------------------------------------------------------------------------------------------

def sentence_spans(doc: Doc) -> list[tuple[int, int]]:
    """Character spans of the sentences, split again at line breaks, without outer whitespace."""
    spans = []
    for sent in doc.sents:
        offset = sent.start_char
        for piece in re.finditer(r"[^\n]+", sent.text):
            a, b = _strip(doc_text(doc), offset + piece.start(), offset + piece.end())
            if b > a:
                spans.append((a, b))
    return spans


def layout_tag_end(text: str, pos: int) -> int:
    """Where the text of ``pos``'s line begins after a transcript tag ("TRUMP: …", "Q: …"): just after
    the tag when the line starts with one, else the line start."""
    line = text.rfind("\n", 0, pos) + 1
    m = LAYOUT_TAG.match(text, line, min(len(text), line + 60))
    return m.end() if m is not None else line


def claim_units(doc: Doc) -> list[tuple[int, int, int]]:
    """Candidate claims as (start, end, sentence index): sentences without a leading transcript tag,
    cut at semicolons between clauses. Every unit with a word is a candidate, however short."""
    text = doc_text(doc)
    units = []
    for k, (a, b) in enumerate(sentence_spans(doc)):
        a, b = _strip(text, max(a, layout_tag_end(text, a)), b)
        if b <= a:
            continue
        pieces = [(a, b)]
        cuts = [m.start() for m in re.finditer(";", text[a:b])]
        if cuts:
            bounds = [0] + [c + 1 for c in cuts] + [b - a + 1]
            parts = [(a + bounds[i], a + bounds[i + 1] - 1) for i in range(len(bounds) - 1)]
            if all(_n_words(text[s:e]) >= CLAUSE_WORDS for s, e in parts):
                pieces = [_strip(text, s, e) for s, e in parts]
        for s, e in pieces:
            if _n_words(text[s:e]) >= 1:
                units.append((s, e, k))
    return units


class _DocContext:
    """What the claims of one Doc share: its quotes and one speaker resolver, built on first use."""

    def __init__(self, doc: Doc):
        self.doc = doc
        self._resolver = None

    @property
    def resolver(self):
        if self._resolver is None:
            from .speakers import SpeakerResolver

            self._resolver = SpeakerResolver(self.doc)
        return self._resolver


def find_claims(doc: Doc, *, doc_id: str, ref_date: str | None = None,
                detector: ClaimDetector | None = None, min_score: float | None = 0.5,
                scores: Sequence[float] | None = None) -> list[dict]:
    """Claim records of one document (see the module doc and ``schemas/claim.v1.json``).

    ``min_score`` None uses the detector's threshold; ``scores`` (one per :func:`claim_units` unit)
    skips scoring, for callers that scored many documents in one batch.
    """
    detector = detector if detector is not None else _default_detector()
    min_score = detector.threshold if min_score is None else min_score
    units = claim_units(doc)
    if scores is None:
        scores = detector.score_sentences([doc_text(doc)[a:b] for a, b, _ in units])
    context = _DocContext(doc)
    claims = []
    for (start, end, k), score in zip(units, scores):
        if score < min_score:
            continue
        claims.append(_claim_record(doc, context, doc_id, start, end, k, score, ref_date))
    return claims


def _claim_record(doc: Doc, context: _DocContext, doc_id: str, start: int, end: int, k: int, score: float,
                  ref_date: str | None, *, quantities: bool = True) -> dict:
    """One claim record; ``quantities=False`` leaves ``quantities`` empty and ``kind`` None for
    :func:`_fill_quantities` (a deferred candidate gets them once it is settled)."""
    start, end = _claim_span(doc, start, end)
    text = doc_text(doc)[start:end]
    rec = {
        "doc_id": doc_id,
        "claim_id": f"{doc_id}#c{start}-{end}",
        "text": text,
        "start": start,
        "end": end,
        "sentence": k,
        "kind": None,
        "claimer": claimer_of(doc, start, end, resolver=lambda: context.resolver),
        "quantities": [],
        "entities": entities_in(doc, start, end),
        "checkworthiness": round(float(score), 4),
        "stances": [],
    }
    if quantities:
        _fill_quantities(rec, ref_date)
    return rec


def _fill_quantities(rec: dict, ref_date: str | None) -> None:
    """A record's quantities (offsets from its ``start``) and the kind read off them."""
    rec["quantities"] = [_shift_quantity(q, rec["start"]) for q in parse_quantities(rec["text"], ref_date=ref_date)]
    rec["kind"] = claim_kind(rec["text"], rec["quantities"])


# the part of a deferred candidate claim that settle_claims reads and removes
PENDING = "_pending"


def claim_candidates(doc: Doc, units: Sequence[tuple[int, int, int]], bases: dict[int, float], *, doc_id: str,
                     ref_date: str | None, floor: float, quantities: bool = True) -> list[dict]:
    """Candidate claim records of the units in ``bases`` (unit index → :meth:`ClaimDetector.bounds` base
    value): complete records but for the check-worthiness, each with a :data:`PENDING` part (the base
    value, the unit's text to encode, whether the record's span is the unit's, the floor, the article
    date). :func:`settle_claims` scores them and keeps those that reach the floor. ``quantities=False``
    leaves the quantities and the kind to :func:`settle_claims` too (the costliest step of a record, then
    done only for the claims that stay, in the process that settles them)."""
    text = doc_text(doc)
    context = _DocContext(doc)
    out = []
    for j, (start, end, k) in enumerate(units):
        if j not in bases:
            continue
        rec = _claim_record(doc, context, doc_id, start, end, k, 0.0, ref_date, quantities=quantities)
        rec[PENDING] = {"base": bases[j], "unit": text[start:end], "floor": floor, "ref_date": ref_date,
                        "same_span": (rec["start"], rec["end"]) == (start, end), "quantities": not quantities}
        out.append(rec)
    return out


def settle_claims(detector: ClaimDetector, analyses: Sequence[dict]) -> None:
    """Score the deferred candidates (:func:`claim_candidates`) of several documents in one encoder call.

    Each analysis is a dict with ``claims`` and ``claim_vectors`` (one per claim; ``(key, embedding)`` or
    None), as the pipeline's Analyser returns them; both are replaced in place: candidates below their
    floor are dropped, the others get their check-worthiness (and their quantities and kind when the
    candidate left them here), and their embedding when the claim's text is the unit that was encoded (the
    stance stage then reads it instead of encoding the claim again).
    Claims without a pending part are kept as they are. The scores equal :meth:`ClaimDetector.score_sentences`'s.
    """
    pending = [c for acc in analyses for c in acc.get("claims", ()) if PENDING in c]
    if not pending:
        return
    encoder = detector.encoder
    e = encoder.encode([c[PENDING]["unit"] for c in pending])
    scores = detector.complete([c[PENDING]["base"] for c in pending], e)
    found = zip(scores, e)  # in the order the loop below meets the pending claims
    key = getattr(encoder, "key", None)
    for acc in analyses:
        claims = acc.get("claims", [])
        vectors = acc.get("claim_vectors") or [None] * len(claims)
        kept_claims, kept_vectors = [], []
        for c, v in zip(claims, vectors):
            part = c.pop(PENDING, None)
            if part is not None:
                p, vec = next(found)
                score = round(float(p), 6)
                if score < part["floor"]:
                    continue
                c["checkworthiness"] = round(score, 4)
                if part.get("quantities"):
                    _fill_quantities(c, part["ref_date"])
                v = (key, vec) if key is not None and part["same_span"] else None
            kept_claims.append(c)
            kept_vectors.append(v)
        acc["claims"], acc["claim_vectors"] = kept_claims, kept_vectors


_DETECTORS: dict[str, ClaimDetector] = {}


def _default_detector(head: str | Path | None = None, device: str = "auto") -> ClaimDetector:
    key = f"{head or DEFAULT_HEAD}|{device}"
    if key not in _DETECTORS:
        _DETECTORS[key] = ClaimDetector(head_path=head, device=device)
    return _DETECTORS[key]


# ---------------------------------------------------------------------------------------------
# the spaCy component
# ---------------------------------------------------------------------------------------------

if not Doc.has_extension("stancekit_claims"):
    Doc.set_extension("stancekit_claims", default=None)


class ClaimFinder:
    """spaCy component ``stancekit_claims``: claim records in ``doc._.stancekit_claims``.

    Runs after ``stancekit_entities`` and ``stancekit_quotes``. :meth:`predict` scores the units of
    a batch of Docs in one encoder call; :meth:`set_annotations` builds the records (one speaker
    resolver per Doc). The document id and date are read from ``doc.user_data["doc_id"]`` and
    ``doc.user_data["date"]`` when set (else ``"doc"`` and no date).
    """

    def __init__(self, nlp: Language, name: str = "stancekit_claims", *, model: str = "",
                 min_score: float | None = None, detector: ClaimDetector | None = None, device: str = "auto"):
        self.name = name
        self.detector = detector if detector is not None else _default_detector(model or None, device)
        self.min_score = min_score
        self.seconds = 0.0  # time spent in this component, for the pipeline's per-stage timings
        # True: leave the sentence encoder to the process that runs the transformers (settle_claims);
        # the stancekit pipeline sets it while it runs, a spaCy user's pipeline gets final claims
        self.defer = False
        # True (with defer): the candidates' quantities are parsed when they are settled, not here; a spaCy
        # worker process sets it, so that this step runs in the main process, for the claims that stay
        self.settle_quantities = False
        self._error_handler = None

    def set_error_handler(self, handler) -> None:
        """Called on a batch that fails (as spaCy's trainable pipes do): ``handler(name, self, docs, exc)``."""
        self._error_handler = handler

    def get_error_handler(self):
        from spacy.util import raise_error

        return self._error_handler or raise_error

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 32):
        from spacy.util import minibatch

        for batch in minibatch(docs, size=batch_size):
            try:
                self.set_annotations(batch, self.predict(batch))
            except Exception as exc:  # the handler re-raises, or drops the batch
                self.get_error_handler()(self.name, self, batch, exc)
                continue
            yield from batch

    def predict(self, docs: Sequence[Doc]) -> list[tuple]:
        """Units and their scores for each Doc (all units of the batch scored together). Deferred
        (:attr:`defer`): units and the :meth:`ClaimDetector.bounds` base value of each unit that could
        reach the floor, nothing encoded."""
        t0 = time.perf_counter()
        units = [claim_units(doc) for doc in docs]
        texts = [doc_text(doc)[a:b] for doc, us in zip(docs, units) for a, b, _ in us]
        floor = self.floor
        out, i = [], 0
        if self.deferred:
            base, keep = self.detector.bounds(texts, floor=floor)
            kept = set(keep.tolist())
            for us in units:
                out.append((us, None, {j - i: float(base[j]) for j in range(i, i + len(us)) if j in kept}))
                i += len(us)
        else:
            vectors: dict = {}
            # only what can reach the floor is encoded
            scores = self.detector.score_sentences(texts, floor=floor, vectors=vectors)
            for us in units:
                out.append((us, scores[i:i + len(us)],
                            {j - i: vectors[j] for j in range(i, i + len(us)) if j in vectors}))
                i += len(us)
        self.seconds += time.perf_counter() - t0
        return out

    @property
    def floor(self) -> float:
        """The score a unit needs to be a claim."""
        return self.detector.threshold if self.min_score is None else self.min_score

    @property
    def deferred(self) -> bool:
        """Whether this component leaves the encoder to :func:`settle_claims` (:attr:`defer` set and a head
        with an embedding term)."""
        return self.defer and bool(self.detector.params.get("embedding"))

    def set_annotations(self, docs: Sequence[Doc], preds) -> None:
        """``doc._.stancekit_claims``, and in ``doc.user_data["stancekit_claim_vectors"]`` the embedding of
        each claim whose text is the unit that was encoded (else None), with the encoder's key in
        ``"stancekit_claim_vectors_key"``: the stance stage reads them instead of encoding the claims again.
        Deferred: the candidate records of the units that could reach the floor, each with its
        :data:`PENDING` part, for :func:`settle_claims`."""
        t0 = time.perf_counter()
        deferred = self.deferred
        encoder = None if deferred else self.detector.encoder
        for doc, (units, scores, extra) in zip(docs, preds):
            doc_id, ref_date = str(doc.user_data.get("doc_id", "doc")), doc.user_data.get("date")
            if deferred:
                doc._.stancekit_claims = claim_candidates(doc, units, extra, doc_id=doc_id, ref_date=ref_date,
                                                          floor=self.floor, quantities=not self.settle_quantities)
                continue
            claims = find_claims(doc, doc_id=doc_id, ref_date=ref_date, detector=self.detector,
                                 min_score=self.min_score, scores=scores)
            doc._.stancekit_claims = claims
            if encoder is not None and hasattr(encoder, "key"):
                by_span = {(a, b): extra[j] for j, (a, b, _) in enumerate(units) if j in extra}
                doc.user_data["stancekit_claim_vectors"] = [by_span.get((c["start"], c["end"])) for c in claims]
                doc.user_data["stancekit_claim_vectors_key"] = encoder.key
        self.seconds += time.perf_counter() - t0


@Language.factory("stancekit_claims", requires=["doc.sents", "doc._.stancekit_entities", "doc._.stancekit_quotes"],
                  assigns=["doc._.stancekit_claims"], default_config={"model": "", "min_score": None, "device": "auto"})
def make_claim_finder(nlp: Language, name: str, model: str, min_score: float | None,
                      device: str = "auto") -> ClaimFinder:
    """``model``: a head JSON written by ``stancekit train claims`` (empty: the bundled head);
    ``min_score`` None keeps the head's threshold; ``device``: where its sentence encoder runs."""
    return ClaimFinder(nlp, name, model=model, min_score=min_score, device=device)


# ---------------------------------------------------------------------------------------------
# who claims it
# ---------------------------------------------------------------------------------------------

def claimer_of(doc: Doc, start: int, end: int, *, resolver=None) -> dict:
    """Who makes the claim: a quote's speaker (a transcript line counts as a quote), an
    "according to" source, or the author. ``resolver``: a ``SpeakerResolver`` of ``doc`` (or a
    function returning one) to share across claims; built here when needed and not given."""
    best = quote_of(doc, start, end)
    if best is not None:
        speaker = best.get("speaker") or {}
        according = ((best.get("cue") or {}).get("text") or "").lower().startswith("according")
        return {"name": speaker.get("name"), "kind": "source" if according else "speaker",
                "label": speaker.get("label"), "role": speaker.get("role")}
    source = _according_to(doc, start, end, resolver)
    if source is not None:
        return source
    return {"name": None, "kind": "author"}


def quote_of(doc: Doc, start: int, end: int) -> dict | None:
    """The quote a claim lies in: it covers at least half of the claim, or a third when the quote
    lies wholly inside the claim ("Exports rose 5%, according to the central bank")."""
    best, best_frac = None, 0.0
    for q in doc._.stancekit_quotes or ():
        overlap = min(end, q["end"]) - max(start, q["start"])
        if overlap <= 0:
            continue
        frac = overlap / max(1, end - start)
        inside = start <= q["start"] and q["end"] <= end
        if (frac >= QUOTE_OVERLAP or (inside and frac >= QUOTE_INSIDE)) and frac > best_frac:
            best, best_frac = q, frac
    return best


def _claim_span(doc: Doc, start: int, end: int) -> tuple[int, int]:
    """A claim inside a direct quote is the quoted words, without the marks and the frame."""
    quote = quote_of(doc, start, end)
    if quote is None or quote.get("kind") != "direct":
        return start, end
    a, b = max(start, quote["start"]), min(end, quote["end"])
    text = doc_text(doc)
    while a < b and (text[a].isspace() or text[a] in EDGE_MARKS):
        a += 1
    while b > a and (text[b - 1].isspace() or text[b - 1] in EDGE_MARKS or text[b - 1] in ",;:"):
        b -= 1
    return (a, b) if _n_words(text[a:b]) >= 1 else (start, end)


def _according_to(doc: Doc, start: int, end: int, resolver=None) -> dict | None:
    """The source of "according to X" or "by X's (own) account" inside the claim, resolved to a name."""
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is None:
        return None
    for tok in span[:-1]:
        if tok.lower_ == "according" and doc[tok.i + 1].lower_ == "to":
            to = doc[tok.i + 1]
            source = next((c for c in to.children if c.dep_ == "pobj"), None)
            if source is None and to.i + 1 < len(doc):
                source = doc[to.i + 1]
        elif tok.lower_ == "by" and any(c.lower_ in ("account", "accounts") for c in tok.children):
            account = next(c for c in tok.children if c.lower_ in ("account", "accounts"))
            source = next((c for c in account.children if c.dep_ == "poss"), None)
            if source is None:
                continue
        else:
            continue
        if source is None:
            return None
        if callable(resolver):
            resolver = resolver()
        if resolver is None:
            from .speakers import SpeakerResolver

            resolver = SpeakerResolver(doc)
        return _source(doc, source, resolver)
    return None


def _source(doc: Doc, head, resolver) -> dict:
    """A named source for the phrase headed by ``head``: a resolved speaker, an entity, or the phrase itself."""
    subtree = sorted(head.subtree, key=lambda t: t.i)
    a, b = subtree[0].idx, subtree[-1].idx + len(subtree[-1])
    speaker = resolver.resolve(head)
    if speaker is not None and speaker.get("name"):
        return {"name": speaker["name"], "kind": "source", "label": speaker.get("label"), "role": speaker.get("role")}
    ent = _entity_overlapping(doc, head.idx, head.idx + len(head)) or _entity_overlapping(doc, a, b)
    if ent is not None:
        return {"name": ent["canonical"], "kind": "source", "label": ent["label"], "role": None}
    name = re.sub(r"^(the|a|an)\s+", "", doc_text(doc)[a:b].strip(" ,."), flags=re.IGNORECASE)
    name = re.sub(r"(?:'s|’s)$", "", name)
    return {"name": name or None, "kind": "source", "label": None, "role": None}


def _entity_overlapping(doc: Doc, a: int, b: int) -> dict | None:
    for e in doc._.stancekit_entities or ():
        if e["start"] < b and a < e["end"] and e["label"] in NAME_LABELS:
            return e
    return None


def entities_in(doc: Doc, start: int, end: int) -> list[dict]:
    """Canonical names of the entities inside the claim, once each, in order."""
    seen, out = set(), []
    for e in doc._.stancekit_entities or ():
        if e["start"] >= start and e["end"] <= end and e["label"] in NAME_LABELS and e["canonical"] not in seen:
            seen.add(e["canonical"])
            out.append({"name": e["canonical"], "label": e["label"]})
    return out


def claim_kind(text: str, quantities: Iterable[dict]) -> str:
    """statistic, comparison, causal, prediction, event or other (first that applies)."""
    quantities = list(quantities)
    if any(q["unit"] not in ("date", "year") and q.get("value") is not None for q in quantities):
        return "statistic"
    lower = text.lower()
    words = _TOKEN.findall(text)
    if _RES["comparative"].search(text) or any(
            len(w) > 5 and w.lower().endswith("est") and w.lower() not in NOT_SUPERLATIVE for w in words):
        return "comparison"
    if _RES["causal"].search(text):
        return "causal"
    if re.search(r"\b(will|expected|expects|forecasts?|projected|predicts?|is set to|are set to)\b", lower):
        return "prediction"
    if quantities or _YEAR.search(text) or _RES["event"].search(text):
        return "event"
    return "other"


def _shift_quantity(q: dict, offset: int) -> dict:
    q = dict(q)
    q["start"] += offset
    q["end"] += offset
    return q


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _n_words(text: str) -> int:
    return sum(1 for t in _TOKEN.findall(text) if t[0].isalpha())
