"""Claim stage: check-worthy factual claims, who makes them, and the quantities they state.

A *claim* is a clause or sentence that asserts something a fact-checker could verify: a statistic
("some 850 tonnes in 2024"), a comparison or superlative ("the highest since …"), a dated event
("in 1996 …"), a causal statement or a prediction with numbers. Opinions, scene description,
feelings and procedure are not claims. The algorithm, step by step:

1. the document is cut into *units*: spaCy sentences, split again at line breaks and, when both
   halves are full clauses, at semicolons (:func:`claim_units`);
2. each unit gets a check-worthiness score in 0..1 from :class:`ClaimDetector`, a logistic regression
   over hand-crafted features (numbers, quantity words, comparatives, dates, causal and modal
   markers, hedges, person, questions, capitalised names, length) plus hashed word n-grams, with
   its parameters in ``data/claims_head.json`` (retrain with :func:`train_default_head`);
3. for each unit at or above ``min_score`` (:func:`find_claims`):
   the claimer is the speaker of the quote the unit lies in (``doc._.stancekit_quotes``), else the
   source of an "according to X" in the sentence, else the author (``{"name": None, "kind": "author"}``);
   quantities come from :func:`stancekit.quantities.parse_quantities` (resolved against the article
   date); entities are the canonical names of ``doc._.stancekit_entities`` inside the unit; the kind
   (statistic, comparison, causal, prediction, event, other) is read off the quantities and markers.

Records follow ``schemas/claim.v1.json``; ``stances`` is left empty (the pipeline fills it).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Iterable, Sequence

from spacy.tokens import Doc

from .errors import Errors, StancekitError
from .quantities import parse_quantities
from .resources import DATA_DIR, doc_text
from .speakers import SpeakerResolver

HEAD_FORMAT = "stancekit.claims_head.v1"
DEFAULT_HEAD = DATA_DIR / "claims_head.json"
DEFAULT_TRAIN = DATA_DIR / "claims_train.jsonl"
HASH_FEATURES = 2 ** 12
HASH_NGRAMS = (1, 2)
DEFAULT_C = 0.3
CV_FOLDS = 5
SEED = 13
NAME_LABELS = ("PERSON", "ORG", "GPE", "NORP", "LOC", "FAC")
MIN_UNIT_WORDS = 4
QUOTE_OVERLAP = 0.5
QUOTE_INSIDE = 0.35
QUOTE_MARKS = "“”\"«»„‘’"

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
ANALYSIS = (r"underscor\w*|highlight\w*|laid bare|lays bare|exposed|exposes|reveal\w*|reflects?|reflected|"
            r"symbol\w*|relic|remnant|holdover|legacy|reminder|testament|emblematic|fragility|fragile|brittle|"
            r"as much about|as much (?:a|an) \w+ as|has always been|have always been|long been|at stake|stakes|"
            r"war of words|spat|standoff|saga|drama|theatre|theater")
SCENE = (r"^(?:as|with|while|now that)\b[^,]{0,60}\b(?:approach\w*|nears?|looms?|draws? near|away|sets? in|"
         r"begins?|unfolds?|wears? on|closes? in)\b")
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
            "event", "analysis", "scene", "first_person", "second_person", "question", "exclamation", "quote",
            "names", "length")


def _words_re(words: str) -> re.Pattern:
    return re.compile(rf"(?<![\w-])(?:{words})(?![\w-])", re.IGNORECASE)


_RES = {name: _words_re(words) for name, words in (
    ("number_words", NUMBER_WORDS), ("comparative", COMPARATIVE), ("change", CHANGE),
    ("causal", CAUSAL), ("prediction", PREDICTION), ("hedge", HEDGE), ("evidence", EVIDENCE),
    ("event", EVENT), ("analysis", ANALYSIS), ("date", f"{MONTHS}|{RELATIVE_TIME}"))}
_SCENE = re.compile(SCENE, re.IGNORECASE)
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_YEAR = re.compile(r"(?<!\d)(?:1[89]\d\d|20\d\d)(?:s|'s|’s)?(?!\d)")
_PERCENT = re.compile(r"%|\bper ?cent\b|\bpercentage\b", re.IGNORECASE)
_CURRENCY = re.compile(r"[$€£¥₹]|\b(?:dollars?|euros?|pounds?|pesos?|yuan|yen|rupees?|reais|bn)\b",
                       re.IGNORECASE)
_FIRST = re.compile(r"\b(?:i|me|my|we|our|us|ours|myself|ourselves)\b", re.IGNORECASE)
_SECOND = re.compile(r"\b(?:you|your|yours)\b", re.IGNORECASE)
_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
_QUOTES = re.compile(r"[“”\"«»„]")


def sentence_features(text: str) -> list[float]:
    """The hand-crafted features of one sentence, in the order of :data:`FEATURES`."""
    tokens = _TOKEN.findall(text)
    words = [t for t in tokens if t[0].isalnum()]
    n_digits = len(_DIGITS.findall(text))
    supers = [w for w in words if len(w) > 5 and w.lower().endswith("est") and w.lower() not in NOT_SUPERLATIVE]
    names = sum(1 for i, t in enumerate(tokens) if i > 0 and t[:1].isupper() and t.isalpha()
                and tokens[i - 1] not in (".", "“", '"', "‘", ":") and t.lower() != "i")

    def count(name: str) -> float:
        return math.log1p(len(_RES[name].findall(text)))

    values = {
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
        "analysis": count("analysis"),
        "scene": float(bool(_SCENE.search(text.strip(" “”\"'‘’")))),
        "first_person": math.log1p(len(_FIRST.findall(text))),
        "second_person": math.log1p(len(_SECOND.findall(text))),
        "question": float("?" in text),
        "exclamation": float("!" in text),
        "quote": float(bool(_QUOTES.search(text))),
        "names": math.log1p(names),
        "length": math.log1p(len(words)),
    }
    return [values[name] for name in FEATURES]


def normalise_for_hashing(text: str) -> str:
    """Lower-case text with every number replaced by ``0`` (the hashed n-grams see "0 percent")."""
    return _DIGITS.sub("0", text.lower()).replace("’", "'")


def _hasher():
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(n_features=HASH_FEATURES, ngram_range=HASH_NGRAMS, alternate_sign=False,
                             norm="l2", token_pattern=r"(?u)\b\w+\b", preprocessor=normalise_for_hashing)


# ---------------------------------------------------------------------------------------------
# the check-worthiness model
# ---------------------------------------------------------------------------------------------

class ClaimDetector:
    """Check-worthiness of sentences: logistic regression over features and hashed n-grams.

    The parameters are plain JSON (``data/claims_head.json`` by default): feature names, scaler
    mean and scale, coefficients, intercept and a training card. Refit with :meth:`train`.
    """

    def __init__(self, *, head_path: str | Path | None = None, threshold: float = 0.5,
                 params: dict | None = None):
        if not 0.0 <= threshold <= 1.0:
            raise StancekitError(Errors.E012, name="threshold", detail=f"{threshold} is not in 0..1")
        self.threshold = threshold
        self.head_path = Path(head_path) if head_path is not None else DEFAULT_HEAD
        self.params = params if params is not None else _load_head(self.head_path)
        self._check(self.params)

    @staticmethod
    def _check(params: dict) -> None:
        if params.get("format") != HEAD_FORMAT or list(params.get("features", [])) != list(FEATURES):
            raise StancekitError(Errors.E010, source="claims head",
                                 detail=f"expected format {HEAD_FORMAT} with features {', '.join(FEATURES)}; "
                                        "rebuild it with stancekit.claims.train_default_head()")

    # -- inference -------------------------------------------------------------------------------
    def score_sentences(self, sentences: Sequence[str]) -> list[float]:
        """Check-worthiness in 0..1 of each sentence."""
        import numpy as np

        if len(sentences) == 0:
            return []
        p = self.params
        dense = np.array([sentence_features(s) for s in sentences], dtype=np.float64)
        dense = (dense - np.array(p["mean"])) / np.array(p["scale"])
        z = dense @ np.array(p["coef"]) + p["intercept"]
        if p.get("hash_coef"):
            weights = np.zeros(p["hash"]["n_features"])
            idx, w = zip(*p["hash_coef"])
            weights[list(idx)] = w
            z = z + _hasher().transform(list(sentences)) @ weights
        return [round(float(v), 6) for v in 1.0 / (1.0 + np.exp(-z))]

    def predict(self, sentences: Sequence[str]) -> list[bool]:
        return [s >= self.threshold for s in self.score_sentences(sentences)]

    # -- training --------------------------------------------------------------------------------
    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[int], *, c: float = DEFAULT_C,
              hashed: bool = True, threshold: float = 0.5) -> "ClaimDetector":
        """Fit a new detector on ``texts`` with 0/1 ``labels`` (deterministic)."""
        return cls(params=fit_params(texts, labels, c=c, hashed=hashed), threshold=threshold)

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


def fit_params(texts: Sequence[str], labels: Sequence[int], *, c: float = DEFAULT_C,
               hashed: bool = True) -> dict:
    """Train the logistic regression; return its JSON-ready parameters."""
    import numpy as np
    import sklearn
    from scipy.sparse import csr_matrix, hstack
    from sklearn.linear_model import LogisticRegression

    y = np.asarray([int(v) for v in labels])
    if len(texts) != len(y) or set(y.tolist()) != {0, 1}:
        raise StancekitError(Errors.E012, name="labels",
                             detail="need one 0/1 label per text and examples of both classes")
    dense = np.array([sentence_features(t) for t in texts], dtype=np.float64)
    mean = dense.mean(axis=0)
    scale = dense.std(axis=0)
    scale[scale == 0] = 1.0
    x = csr_matrix((dense - mean) / scale)
    if hashed:
        x = hstack([x, _hasher().transform(list(texts))]).tocsr()
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, solver="lbfgs")
    model.fit(x, y)
    coef = model.coef_[0]
    n_dense = len(FEATURES)
    hash_coef = [[int(i), round(float(w), 6)] for i, w in enumerate(coef[n_dense:]) if abs(w) > 1e-6]
    return {
        "format": HEAD_FORMAT,
        "features": list(FEATURES),
        "mean": [round(float(v), 8) for v in mean],
        "scale": [round(float(v), 8) for v in scale],
        "coef": [round(float(v), 6) for v in coef[:n_dense]],
        "intercept": round(float(model.intercept_[0]), 6),
        "hash": {"n_features": HASH_FEATURES, "ngram_range": list(HASH_NGRAMS),
                 "token_pattern": r"(?u)\b\w+\b", "preprocess": "lower, numbers to 0"} if hashed else None,
        "hash_coef": hash_coef,
        "training": {"n": int(len(y)), "positives": int(y.sum()), "C": c, "class_weight": "balanced",
                     "scikit_learn": sklearn.__version__},
    }


def cross_validate(texts: Sequence[str], labels: Sequence[int], *, folds: int = CV_FOLDS,
                   c: float = DEFAULT_C, hashed: bool = True, seed: int = SEED) -> dict:
    """Stratified k-fold precision, recall and F1 of the positive class (pooled over folds)."""
    import numpy as np
    from sklearn.metrics import precision_recall_fscore_support
    from sklearn.model_selection import StratifiedKFold

    texts = list(texts)
    y = np.asarray([int(v) for v in labels])
    pred = np.zeros_like(y)
    for train_idx, test_idx in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(texts, y):
        det = ClaimDetector.train([texts[i] for i in train_idx], y[train_idx], c=c, hashed=hashed)
        pred[test_idx] = det.predict([texts[i] for i in test_idx])
    p, r, f, _ = precision_recall_fscore_support(y, pred, average="binary", zero_division=0)
    return {"folds": folds, "seed": seed, "C": c, "hashed": hashed, "precision": round(float(p), 4),
            "recall": round(float(r), 4), "f1": round(float(f), 4),
            "accuracy": round(float((pred == y).mean()), 4)}


def load_training_data(path: str | Path = DEFAULT_TRAIN) -> tuple[list[str], list[int]]:
    texts, labels = [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            texts.append(row["text"])
            labels.append(int(row["label"]))
    return texts, labels


def train_default_head(path: str | Path = DEFAULT_HEAD, *, data: str | Path = DEFAULT_TRAIN,
                       c: float = DEFAULT_C, hashed: bool = True) -> dict:
    """Train a head on ``data`` (JSONL rows ``{"text", "label": 0|1}``; by default the shipped
    ``data/claims_train.jsonl``, which rebuilds the shipped head) and write it to ``path``
    (deterministic); return its card with cross-validated scores."""
    if not Path(data).is_file():
        raise StancekitError(Errors.E001, path=data)
    try:
        texts, labels = load_training_data(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise StancekitError(Errors.E012, name="--data",
                             detail=f"{data}: each line must be {{\"text\": ..., \"label\": 0 or 1}} ({exc})") from exc
    detector = ClaimDetector.train(texts, labels, c=c, hashed=hashed)
    detector.params["training"]["data"] = Path(data).name
    detector.params["training"]["sha256"] = hashlib.sha256(Path(data).read_bytes()).hexdigest()
    detector.params["cv"] = cross_validate(texts, labels, c=c, hashed=hashed)
    detector.save(path)
    return {"path": str(path), **detector.params["training"], "cv": detector.params["cv"]}


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


def claim_units(doc: Doc) -> list[tuple[int, int, int]]:
    """Candidate claims as (start, end, sentence index): sentences, cut at semicolons between clauses."""
    units = []
    for k, (a, b) in enumerate(sentence_spans(doc)):
        pieces = [(a, b)]
        text = doc_text(doc)[a:b]
        cuts = [m.start() for m in re.finditer(";", text)]
        if cuts:
            bounds = [0] + [c + 1 for c in cuts] + [len(text) + 1]
            parts = [(a + bounds[i], a + bounds[i + 1] - 1) for i in range(len(bounds) - 1)]
            if all(_n_words(doc_text(doc)[s:e]) >= MIN_UNIT_WORDS for s, e in parts):
                pieces = [_strip(doc_text(doc), s, e) for s, e in parts]
        for s, e in pieces:
            if _n_words(doc_text(doc)[s:e]) >= MIN_UNIT_WORDS:
                units.append((s, e, k))
    return units


def find_claims(doc: Doc, *, doc_id: str, ref_date: str | None = None,
                detector: ClaimDetector | None = None, min_score: float = 0.5) -> list[dict]:
    """Claim records of one document (see the module doc and ``schemas/claim.v1.json``)."""
    detector = detector if detector is not None else _default_detector()
    units = claim_units(doc)
    scores = detector.score_sentences([doc_text(doc)[a:b] for a, b, _ in units])
    claims = []
    for (start, end, k), score in zip(units, scores):
        if score < min_score:
            continue
        start, end = _claim_span(doc, start, end)
        text = doc_text(doc)[start:end]
        quantities = [_shift_quantity(q, start) for q in parse_quantities(text, ref_date=ref_date)]
        claims.append({
            "doc_id": doc_id,
            "claim_id": f"{doc_id}#c{start}-{end}",
            "text": text,
            "start": start,
            "end": end,
            "sentence": k,
            "kind": claim_kind(text, quantities),
            "claimer": claimer_of(doc, start, end),
            "quantities": quantities,
            "entities": entities_in(doc, start, end),
            "checkworthiness": round(score, 4),
            "stances": [],
        })
    return claims


_DETECTOR: ClaimDetector | None = None


def _default_detector() -> ClaimDetector:
    global _DETECTOR
    if _DETECTOR is None:
        _DETECTOR = ClaimDetector()
    return _DETECTOR


def claimer_of(doc: Doc, start: int, end: int) -> dict:
    """Who makes the claim: a quote's speaker, an "according to" source, or the author."""
    best = quote_of(doc, start, end)
    if best is not None:
        speaker = best.get("speaker") or {}
        according = ((best.get("cue") or {}).get("text") or "").lower().startswith("according")
        return {"name": speaker.get("name"), "kind": "source" if according else "speaker",
                "label": speaker.get("label"), "role": speaker.get("role")}
    source = _according_to(doc, start, end)
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
    while a < b and (text[a].isspace() or text[a] in QUOTE_MARKS):
        a += 1
    while b > a and (text[b - 1].isspace() or text[b - 1] in QUOTE_MARKS or text[b - 1] in ",;:"):
        b -= 1
    return (a, b) if _n_words(text[a:b]) >= MIN_UNIT_WORDS else (start, end)


def _according_to(doc: Doc, start: int, end: int) -> dict | None:
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
        return _source(doc, source)
    return None


def _source(doc: Doc, head) -> dict:
    """A named source for the phrase headed by ``head``: a resolved speaker, an entity, or the phrase itself."""
    subtree = sorted(head.subtree, key=lambda t: t.i)
    a, b = subtree[0].idx, subtree[-1].idx + len(subtree[-1])
    speaker = SpeakerResolver(doc).resolve(head)
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
