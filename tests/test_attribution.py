"""The learned attribution tagger: BIO labels and decoding, windows and their stitching back to
character offsets, cue-centred linking, training a tiny random-weight tagger on a few sentences
written for these tests, the model folder it writes, reloading it, the pipeline with
``quotes_model`` set, and the BRAT → CofeNet-style BIO converter. Nothing here reads ../shared."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import numpy as np
import pytest

from stancekit.attribution.data import (LABELS, RoleSpan, make_windows, read_documents, sentence_starts,
                                        token_labels)
from stancekit.attribution.tagger import TaggedSpan, decode, link, stitch, transitions, viterbi

torch = pytest.importorskip("torch")

# Sentences written for these tests (three attributions: a reported claim, a direct quote, an
# "according to"), in one document of two paragraphs, plus a sentence with no attribution.
DOC = ("Port talks\n\nAna Lopez said that the bridge would reopen in May. "
       "“We will not close the school,” the principal told parents.\n"
       "According to the report, rents rose sharply last year. The weather was cold today.")


def _at(s: str) -> dict:
    a = DOC.index(s)
    return {"start": a, "end": a + len(s)}


GOLD = [  # (source, cue, content)
    ("Ana Lopez", "said", "the bridge would reopen in May"),
    ("the principal", "told", "We will not close the school"),
    ("the report", "According to", "rents rose sharply last year"),
]
GOLD_SPANS = sorted([RoleSpan(**_at(s), role=r, attribution=k) for k, row in enumerate(GOLD)
                     for s, r in zip(row, ("source", "cue", "content"))], key=lambda s: s.start)


def _gold_rows() -> list[dict]:
    return [{"doc_id": "d1", "text": DOC,
             "quotes": [dict(_at(content), cue=_at(cue), source=_at(source)) for source, cue, content in GOLD]}]


def build_base(folder: Path, text: str = DOC, seed: int = 0) -> Path:
    """A random-weight 2-layer BERT encoder with a WordPiece tokenizer over the words of ``text``
    (and single characters), built offline."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    chars = list(string.ascii_lowercase + string.digits + string.punctuation + "“”‘’")
    vocab: dict[str, int] = {}
    for tok in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(re.findall(r"\w+", text.lower()))) \
            + chars + ["##" + c for c in chars]:
        vocab.setdefault(tok, len(vocab))
    tk = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tk.normalizer = normalizers.BertNormalizer(lowercase=True)
    tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tk.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
                                                      special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")
    folder.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(folder)
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=48, max_position_embeddings=64, hidden_dropout_prob=0.0,
                     attention_probs_dropout_prob=0.0)
    BertModel(cfg).save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny tagger trained on DOC (windows of 18 pieces with a stride of 6: four windows)."""
    from stancekit.attribution.train import train_tagger

    root = tmp_path_factory.mktemp("attribution")
    base = build_base(root / "base")
    gold = root / "gold.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in _gold_rows()), encoding="utf-8")
    meta = train_tagger(gold, fmt="sample", base=str(base), out=root / "tagger", dev=gold, epochs=80,
                        batch_size=8, lr=5e-3, max_length=20, stride=6, device="cpu", precision="fp32",
                        threads=1)
    return root / "tagger", meta


def _spans(found) -> set[tuple[str, str]]:
    return {(s.role, DOC[s.start:s.end]) for s in found}


GOLD_SET = {(s.role, DOC[s.start:s.end]) for s in GOLD_SPANS}


# ---------------------------------------------------------------------------------------------
# labels, decoding, windows, stitching, linking (no model)
# ---------------------------------------------------------------------------------------------

def test_token_labels_bio_by_first_character():
    text = "Ana Lopez said yes."
    offsets = [(0, 3), (4, 9), (10, 14), (15, 18), (18, 19)]
    spans = [RoleSpan(0, 9, "source"), RoleSpan(10, 14, "cue"), RoleSpan(15, 18, "content")]
    got = [LABELS[i] for i in token_labels(offsets, spans)]
    assert got == ["B-source", "I-source", "B-cue", "B-content", "O"]
    assert text[0:9] == "Ana Lopez"


def test_decode_bio_to_character_spans():
    pieces = [(0, 3), (4, 9), (10, 14), (15, 18), (19, 22), (22, 23), (24, 27), (28, 31)]
    ids = [LABELS.index(t) for t in
           ["B-source", "I-source", "B-cue", "B-content", "I-content", "O", "I-content", "I-cue"]]
    probs = [0.9, 0.7, 1.0, 0.5, 0.5, 1.0, 0.8, 0.6]
    spans = decode(pieces, ids, probs=probs, bridge=0)
    assert [(s.role, s.start, s.end) for s in spans] == [
        ("source", 0, 9), ("cue", 10, 14), ("content", 15, 22),
        ("content", 24, 27),  # without a bridge an I- after O starts a new span
        ("cue", 28, 31)]      # an I- of another role starts one too
    assert spans[0].score == pytest.approx(0.8)
    spans = decode(pieces, ids, probs=probs)  # the default bridges a short run of O pieces
    assert [(s.role, s.start, s.end) for s in spans] == [
        ("source", 0, 9), ("cue", 10, 14), ("content", 15, 27), ("cue", 28, 31)]
    many_o = ids[:5] + [LABELS.index("O")] * 5 + [LABELS.index("I-content")]
    far = decode(pieces[:5] + [(23 + k, 24 + k) for k in range(5)] + [(30, 33)], many_o)
    assert [(s.role, s.start, s.end) for s in far][-2:] == [("content", 15, 22), ("content", 30, 33)]


def _allowed(labels: list[str]) -> bool:
    prev = "O"
    for lab in labels:
        if lab.startswith("I-") and prev[2:] != lab[2:]:
            return False
        prev = lab
    return True


def test_viterbi_keeps_a_doubted_piece_inside_a_content():
    names = ["B-source", "B-cue", "B-content", "I-content", "I-content", "I-content", "O"]
    probs = np.full((len(names), len(LABELS)), 0.02)
    for k, name in enumerate(names):
        probs[k, LABELS.index(name)] = 0.9
    probs[4, LABELS.index("O")], probs[4, LABELS.index("I-content")] = 0.5, 0.4  # a doubted piece
    greedy = [LABELS[i] for i in probs.argmax(-1)]
    assert greedy[4] == "O"
    best = [LABELS[i] for i in viterbi(np.log(probs))]
    assert best == names  # breaking the content would cost a likely I- turned into an unlikely B-
    probs[5, LABELS.index("B-content")], probs[5, LABELS.index("I-content")] = 0.9, 0.02
    assert [LABELS[i] for i in viterbi(np.log(probs))][4:6] == ["O", "B-content"]  # two contents


def test_viterbi_is_the_best_allowed_sequence():
    """Against brute force over every label sequence of a few pieces, on random scores."""
    import itertools

    rng = np.random.default_rng(7)
    trans = transitions()
    assert trans[LABELS.index("O"), LABELS.index("I-cue")] == -np.inf
    assert trans[LABELS.index("B-cue"), LABELS.index("I-cue")] == 0
    for _ in range(20):
        n = int(rng.integers(1, 5))
        logp = np.log(rng.dirichlet(np.ones(len(LABELS)) * 0.5, size=n))
        got = [LABELS[i] for i in viterbi(logp)]
        assert _allowed(got)
        best = max((seq for seq in itertools.product(range(len(LABELS)), repeat=n)
                    if _allowed([LABELS[i] for i in seq])),
                   key=lambda seq: sum(logp[k, i] for k, i in enumerate(seq)))
        assert sum(logp[k, LABELS.index(lab)] for k, lab in enumerate(got)) == pytest.approx(
            sum(logp[k, i] for k, i in enumerate(best)))
    assert len(viterbi(np.zeros((0, len(LABELS))))) == 0


def test_decode_continues_content_across_a_paragraph_break():
    text = "He said it was fine.\nAnd it will stay so."
    pieces = [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text)]
    labels = ["B-source", "B-cue"] + ["B-content"] + ["I-content"] * (len(pieces) - 3)
    spans = decode(pieces, [LABELS.index(t) for t in labels])
    assert [text[s.start:s.end] for s in spans] == ["He", "said", "it was fine.\nAnd it will stay so."]


def test_windows_overlap_cover_and_start_at_sentences():
    text = "One two three. Four five six. Seven eight nine. Ten eleven twelve."
    offsets = [(m.start(), m.end()) for m in re.finditer(r"\w+|\.", text)]
    starts = sentence_starts(text, offsets)
    assert [text[a:b] for (a, b), s in zip(offsets, starts) if s] == ["One", "Four", "Seven", "Ten"]
    windows = make_windows(text, offsets, size=8, stride=4)
    assert windows[0].first == 0 and windows[-1].last == len(offsets)
    for w, nxt in zip(windows, windows[1:]):
        assert nxt.first < w.last                  # they overlap
        assert w.last - nxt.first >= 2             # by at least half the stride
        assert starts[nxt.first]                   # and begin at a sentence start where one is in reach
        assert (w.start, w.end) == (offsets[w.first][0], offsets[w.last - 1][1])
    assert all(w.last - w.first <= 8 for w in windows)


def test_paragraph_windows_stand_alone_and_begin_their_spans(tmp_path):
    """``paragraphs=True`` adds each paragraph as a window of its own; a content that runs in from the
    paragraph before starts there with B-, while the document's window keeps it I-. A paragraph that
    does not end a sentence ("He added:") runs on into the next."""
    from transformers import AutoTokenizer

    from stancekit.attribution.data import AttributionDoc, encode_document, paragraph_ranges

    text = ("Ravi Shah said the port would reopen soon.\n\n“The ships are waiting.\n\n"
            "The crews are ready,” he said.\n\nHe added:\n\nthe plan is final.")
    content = "The ships are waiting.\n\nThe crews are ready"
    a = text.index(content)
    doc = AttributionDoc("p", text, [RoleSpan(a, a + len(content), "content")])
    tok = AutoTokenizer.from_pretrained(build_base(tmp_path / "base", text=text))
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    offsets = [tuple(o) for o in enc["offset_mapping"]]
    paras = [text[offsets[f][0]:offsets[last - 1][1]] for f, last in paragraph_ranges(text, offsets)]
    assert paras == ["Ravi Shah said the port would reopen soon.", "“The ships are waiting.",
                     "The crews are ready,” he said.", "He added:\n\nthe plan is final."]
    whole = encode_document(tok, doc, max_length=64, stride=8)
    both = encode_document(tok, doc, max_length=64, stride=8, paragraphs=True)
    assert len(whole) == 1 and both[0] == whole[0] and len(both) == 1 + len(paras)
    names = [[LABELS[k] for k in f["labels"][1:-1]] for f in both]
    third = tok("The crews are ready,” he said.", add_special_tokens=False)["input_ids"]
    assert both[3]["input_ids"][1:-1] == third
    assert names[3][0] == "B-content" and names[3][1] == "I-content"
    k = [t for t, (x, _) in enumerate(offsets) if x == text.index("The crews")][0]
    assert names[0][k] == "I-content"                       # the document window keeps the span whole
    assert set(names[1]) == {"O"} and names[2][:2] == ["O", "B-content"]   # “ | The ships …
    short = encode_document(tok, doc, max_length=12, stride=4, paragraphs=True)  # long paragraphs stay out
    assert all(len(f["input_ids"]) <= 12 for f in short)
    assert len(short) < len(encode_document(tok, doc, max_length=12, stride=4)) + len(paras)


def test_stitch_keeps_the_most_central_window():
    seen: dict = {}
    a = np.eye(len(LABELS))[[1, 2, 2, 2]]  # window A says B-source I-source ...
    b = np.eye(len(LABELS))[[0, 0, 0, 0]]  # window B says O for the same pieces
    offs_a = [(0, 0), (0, 3), (4, 7), (8, 11), (12, 15), (0, 0)]   # with [CLS] … [SEP]
    rows_a = np.vstack([np.zeros(len(LABELS)), a, np.zeros(len(LABELS))])
    stitch(seen, rows_a, offs_a, shift=100)
    # window B starts at A's third piece: pieces 108 and 112 are in both windows
    offs_b = [(0, 0), (0, 3), (4, 7), (8, 11), (12, 15), (0, 0)]
    rows_b = np.vstack([np.zeros(len(LABELS)), b, np.zeros(len(LABELS))])
    stitch(seen, rows_b, offs_b, shift=108)
    assert sorted(seen) == [100, 104, 108, 112, 116, 120]
    assert seen[104][2].argmax() == 2                          # only A has it
    assert seen[108][2].argmax() == 2 and seen[108][0] == 1   # A's third piece (1 from an edge) beats B's first
    assert seen[112][2].argmax() == 0 and seen[112][0] == 1   # B's second piece beats A's last (an edge)
    assert seen[120][1] == 123                                # end offsets are shifted too


def test_link_is_cue_centred():
    text = "Ana Lopez said the bridge would reopen. Rain fell.\n\nThe mayor added that it was safe."
    def sp(s, role, nth=0):
        a = [m.start() for m in re.finditer(re.escape(s), text)][nth]
        return TaggedSpan(a, a + len(s), role, 1.0)
    spans = [sp("Ana Lopez", "source"), sp("said", "cue"), sp("the bridge would reopen", "content"),
             sp("The mayor", "source"), sp("added", "cue"), sp("it was safe", "content")]
    atts = link(text, spans)
    assert [(text[a.content.start:a.content.end], text[a.cue.start:a.cue.end], text[a.source.start:a.source.end])
            for a in atts] == [("the bridge would reopen", "said", "Ana Lopez"), ("it was safe", "added", "The mayor")]


def test_sample_reader_labels_content_cue_and_source(tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps(_gold_rows()[0]) + "\n", encoding="utf-8")
    (doc,) = read_documents(gold, "sample")
    assert [(s.role, doc.text[s.start:s.end]) for s in doc.spans] == [(s.role, DOC[s.start:s.end]) for s in GOLD_SPANS]


# ---------------------------------------------------------------------------------------------
# windows stitched back to offsets, end to end (an oracle in place of the network)
# ---------------------------------------------------------------------------------------------

class _OracleEngine:
    """Per-window logits from the gold labels, wrong on the two outermost pieces of every window edge
    that another window also covers: stitching must take those pieces from the other window."""

    def __init__(self, tagger, text: str, spans):
        self.tok, self.text, self.spans = tagger.tokenizer, text, spans
        self.windows = tagger.windows(text)
        self.n_pieces = self.windows[-1].last

    def run(self, pieces, stack=False):
        out = []
        for piece in pieces:
            w = next(w for w in self.windows if self.text[w.start:w.end] == piece)
            enc = self.tok(piece, return_offsets_mapping=True)
            offs = [(a + w.start, b + w.start) if b > a else (0, 0) for a, b in enc["offset_mapping"]]
            labels = token_labels(offs, self.spans)
            real = [k for k, (a, b) in enumerate(offs) if b > a]
            bad = (real[:2] if w.first > 0 else []) + (real[-2:] if w.last < self.n_pieces else [])
            for k in bad:
                labels[k] = LABELS.index("B-cue") if labels[k] == 0 else 0  # a wrong guess
            out.append(np.eye(len(LABELS))[labels] * 10.0)
        return out


def test_windows_stitch_back_to_gold_character_offsets(trained):
    from stancekit.attribution.tagger import AttributionTagger

    folder, _ = trained
    tagger = AttributionTagger(folder, device="cpu")
    windows = tagger.windows(DOC)
    assert len(windows) >= 3 and all(w2.first < w1.last for w1, w2 in zip(windows, windows[1:]))
    tagger.engine = _OracleEngine(tagger, DOC, GOLD_SPANS)
    (found,) = tagger.tag([DOC])
    assert {(s.role, s.start, s.end) for s in found} == {(s.role, s.start, s.end) for s in GOLD_SPANS}


# ---------------------------------------------------------------------------------------------
# training, the model folder, reloading
# ---------------------------------------------------------------------------------------------

def test_tiny_tagger_learns_the_training_sentences(trained):
    from stancekit.attribution.tagger import AttributionTagger

    folder, meta = trained
    assert meta["data"]["windows"] >= 3                       # the document ran over several windows
    assert meta["training"]["steps"] == meta["training"]["total_steps"]
    assert meta["training"]["final_loss"] < 0.2
    tagger = AttributionTagger(folder, device="cpu")
    (found,) = tagger.tag([DOC])
    assert _spans(found) == GOLD_SET
    atts = tagger.attributions([DOC])[0]
    got = {(DOC[a.source.start:a.source.end], DOC[a.cue.start:a.cue.end], DOC[a.content.start:a.content.end])
           for a in atts if a.source is not None and a.cue is not None}
    assert got == set(GOLD)
    assert meta["dev"]["spans_exact"]["content"]["f1"] == 1.0
    greedy = AttributionTagger(folder, device="cpu", decoding="argmax")
    assert _spans(greedy.tag([DOC])[0]) == GOLD_SET


def test_model_folder_describes_itself(trained):
    folder, meta = trained
    names = {p.name for p in folder.iterdir()}
    assert {"model.safetensors", "config.json", "stancekit_tagger.json", "README.md", "tokenizer.json"} <= names
    assert not any(n.endswith((".bin", ".pkl", ".pt", ".joblib")) for n in names)
    config = json.loads((folder / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(len(LABELS))] == list(LABELS)
    info = json.loads((folder / "stancekit_tagger.json").read_text())
    assert info["kind"] == "stancekit-quote-tagger" and info["labels"] == list(LABELS)
    assert (info["max_length"], info["stride"]) == (20, 6)
    assert {"stancekit", "torch", "transformers"} <= set(info["versions"])
    assert info["dev"]["spans_exact"]["cue"]["f1"] == 1.0
    card = (folder / "README.md").read_text()
    for needle in ("Base model", "Training data", "Windows: 20 word pieces, stride 6", "Dev metrics", "Versions",
                   "Licence of the data"):
        assert needle in card


def test_reloaded_tagger_gives_the_same_predictions(trained):
    from stancekit.attribution.tagger import AttributionTagger

    folder, _ = trained
    first = AttributionTagger(folder, device="cpu")
    second = AttributionTagger(folder, device="cpu")
    texts = [DOC, "The principal said that the school would reopen.", ""]
    a, b = first.tag(texts), second.tag(texts)
    assert [[(s.role, s.start, s.end, s.score) for s in d] for d in a] == \
           [[(s.role, s.start, s.end, s.score) for s in d] for d in b]
    assert a[2] == []
    la = first.engine.run([DOC[:60]], stack=False)[0]
    lb = second.engine.run([DOC[:60]], stack=False)[0]
    assert np.allclose(la, lb)


def test_a_shallower_tagger_from_a_trained_one(trained, tmp_path):
    """``layers`` keeps the first N layers of the base; the saved folder reloads at that depth, the
    card says so, and fine-tuning the cut tagger recovers the training sentences."""
    from stancekit.attribution.tagger import AttributionTagger
    from stancekit.attribution.train import train_tagger
    from stancekit.errors import StancekitError

    folder, _ = trained
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in _gold_rows()), encoding="utf-8")
    common = dict(fmt="sample", base=str(folder), batch_size=8, lr=5e-3, max_length=20, stride=6, device="cpu",
                  precision="fp32", threads=1)
    meta = train_tagger(gold, out=tmp_path / "one", epochs=40, layers=1, **common)
    assert meta["layers"] == {"kept": 1, "of": 2}
    assert json.loads((tmp_path / "one" / "config.json").read_text())["num_hidden_layers"] == 1
    assert "first 1 of its 2 layers" in (tmp_path / "one" / "README.md").read_text()
    shallow = AttributionTagger(tmp_path / "one", device="cpu")
    assert len(shallow.engine.model.base_model.encoder.layer) == 1
    assert _spans(shallow.tag([DOC])[0]) == GOLD_SET
    for bad in (0, 3):
        with pytest.raises(StancekitError) as err:
            train_tagger(gold, out=tmp_path / "bad", epochs=1, layers=bad, **common)
        assert err.value.code == "E012" and "layers" in str(err.value)


def test_not_a_tagger_folder_is_a_coded_error(tmp_path):
    from stancekit.attribution.tagger import AttributionTagger
    from stancekit.errors import StancekitError

    with pytest.raises(StancekitError) as err:
        AttributionTagger(tmp_path)
    assert err.value.code == "E010"


def test_unknown_decoding_is_a_coded_error(trained):
    from stancekit.attribution.tagger import AttributionTagger
    from stancekit.errors import StancekitError

    with pytest.raises(StancekitError) as err:
        AttributionTagger(trained[0], decoding="beam")
    assert err.value.code == "E012" and "viterbi" in str(err.value)


def test_time_budget_stops_the_loop_with_a_decayed_rate():
    from stancekit.trainloop import LoopConfig, _budget_schedule, train_loop

    model = torch.nn.Linear(2, 2)
    x, y = torch.randn(8, 2), torch.tensor([0, 1] * 4)
    res = train_loop(model, lambda: iter(range(10)), lambda _: torch.nn.functional.cross_entropy(model(x), y),
                     LoopConfig(total_steps=10 ** 6, lr=0.01, time_budget_s=0.3), device=torch.device("cpu"),
                     precision="fp32")
    assert res.stopped and "time budget" in res.stopped and 0 < res.steps < 10 ** 6
    f = _budget_schedule(total=100, warmup=0.1, budget_s=1e9, t0=0.0)  # the time is far from spent
    assert f(0) == pytest.approx(0.1) and f(55) == pytest.approx(0.5) and f(100) == 0.0
    import time
    g = _budget_schedule(total=100, warmup=0.1, budget_s=1.0, t0=time.perf_counter() - 10)  # spent
    assert g(20) == 0.0


# ---------------------------------------------------------------------------------------------
# the pipeline with quotes_model
# ---------------------------------------------------------------------------------------------

def test_pipeline_with_quotes_model_uses_the_tagger_and_resolves_speakers(trained):
    import stancekit
    from stancekit.ner import load_spacy
    from stancekit.records import validate

    folder, _ = trained
    pipe = stancekit.load(nlp=load_spacy(), quotes_model=str(folder), device="cpu")
    assert "stancekit_quote_tagger" in pipe.nlp.pipe_names and "stancekit_quotes" not in pipe.nlp.pipe_names
    res = pipe(DOC, doc_id="port")
    by_text = {q["text"]: q for q in res.quotes}
    assert set(by_text) == {content for _, _, content in GOLD}
    direct = by_text["We will not close the school"]
    assert direct["kind"] == "direct" and DOC[direct["start"]:direct["end"]] == direct["text"]
    assert direct["cue"]["text"] == "told"
    reported = by_text["the bridge would reopen in May"]
    assert reported["kind"] == "indirect" and reported["cue"]["text"] == "said"
    assert reported["speaker"]["name"] == "Ana Lopez"                     # resolved, not just the span
    assert reported["speaker"]["mention"]["text"] == "Ana Lopez"
    assert by_text["rents rose sharply last year"]["speaker"]["mention"]["text"] == "the report"
    for q in res.quotes:
        assert not validate(q, "quote"), validate(q, "quote")


def test_quotes_precision_reaches_the_tagger(trained):
    import stancekit
    from stancekit.errors import StancekitError
    from stancekit.ner import load_spacy

    folder, _ = trained
    pipe = stancekit.load(nlp=load_spacy(), quotes_model=str(folder), quotes_precision="int8", device="cpu")
    engine = pipe.nlp.get_pipe("stancekit_quote_tagger").tagger.engine
    assert engine.compute_precision == "int8"
    res = pipe(DOC, doc_id="port")                     # the quantised tiny tagger still gives records
    assert all(DOC[q["start"]:q["end"]] == q["text"] for q in res.quotes)
    with pytest.raises(StancekitError, match="E005"):
        stancekit.load(nlp=load_spacy(), quotes_model=str(folder), quotes_precision="int4", device="cpu")


# ---------------------------------------------------------------------------------------------
# BRAT → CofeNet-style BIO
# ---------------------------------------------------------------------------------------------

def test_ptb_tokens_and_labels_by_last_character():
    from stancekit.attribution.cofenet import bio_labels, ptb_tokens

    text = "“We can’t wait,” said Rep. Ana Lopez (D-N.Y.) at 7 p.m."
    toks = ptb_tokens(text)
    assert [t for t, _, _ in toks] == ["``", "We", "ca", "n't", "wait", ",", "''", "said", "Rep.", "Ana", "Lopez",
                                       "(", "D-N.Y", ".", ")", "at", "7", "p.m."]
    assert all(text[a:b] for _, a, b in toks)
    a = text.index("Ana")
    # a source that stops one character short leaves its last token out; a cue that starts late keeps it
    labels = bio_labels(toks, [RoleSpan(a, a + 8, "source"), RoleSpan(text.index("said") + 1, text.index("said") + 4,
                                                                   "cue")])
    assert labels[7:11] == ["B-cue", "O", "B-source", "O"]


def test_brat_to_cofenet_and_comparison(tmp_path):
    from stancekit.attribution.cofenet import brat_to_cofenet, compare_cofenet

    text = ("Ana Lopez said the bridge would reopen.\n\n7 p.m.\n\nThe mayor told reporters it was safe.\n\n___.\n")
    (tmp_path / "text").mkdir()
    (tmp_path / "attributions").mkdir()
    (tmp_path / "text" / "art1.txt").write_text(text, encoding="utf-8")
    def t(n, role, s):
        a = text.index(s)
        return f"T{n}\t{role} {a} {a + len(s)}\t{s}"
    ann = "\n".join([t(1, "Source", "Ana Lopez"), t(2, "Cue", "said"), t(3, "Content", "the bridge would reopen"),
                     t(4, "Source", "The mayor"), t(5, "Cue", "told"), t(6, "Content", "it was safe"),
                     "E1\tAttribution:T2 Source:T1 Cue:T2 Content:T3"]) + "\n"
    (tmp_path / "attributions" / "art1_00aa.ann").write_text(ann, encoding="utf-8")
    rows = brat_to_cofenet(tmp_path)
    assert [r["tokens"] for r in rows] == [
        ["Ana", "Lopez", "said", "the", "bridge", "would", "reopen", "."],
        # "7 p.m." ends no sentence: it runs on into the next paragraph; "___." joins the one before
        ["7", "p.m.", "The", "mayor", "told", "reporters", "it", "was", "safe", ".", "___", "."]]
    assert rows[0]["labels"] == ["B-source", "I-source", "B-cue", "B-content", "I-content", "I-content",
                                 "I-content", "O"]
    assert rows[1]["labels"][2:9] == ["B-source", "I-source", "B-cue", "O", "B-content", "I-content", "I-content"]
    assert {r["id"] for r in rows} == {"art1_00aa"}
    ref = tmp_path / "ref.txt"
    wrong = dict(rows[1], labels=["O"] * len(rows[1]["labels"]))
    ref.write_text(json.dumps(rows[0]) + "\n" + json.dumps(wrong) + "\n", encoding="utf-8")
    cmp = compare_cofenet(rows, ref)
    assert (cmp["reference_instances"], cmp["same_tokens"], cmp["same_tokens_and_labels"]) == (2, 2, 1)
    assert cmp["same_labels_rate"] == 0.5 and len(cmp["label_mismatches"]) == 1


# ---------------------------------------------------------------------------------------------
# the commands
# ---------------------------------------------------------------------------------------------

def test_train_quotes_and_cofenet_bio_commands(tmp_path):
    from typer.testing import CliRunner

    from stancekit.cli import app

    runner = CliRunner()
    base = build_base(tmp_path / "base")
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in _gold_rows()), encoding="utf-8")
    res = runner.invoke(app, ["train", "quotes", "--data", str(gold), "--format", "sample", "--base", str(base),
                              "--out", str(tmp_path / "tagger"), "--epochs", "3", "--max-length", "20",
                              "--stride", "6", "--device", "cpu", "--precision", "fp32"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "tagger" / "model.safetensors").exists()
    assert json.loads((tmp_path / "tagger" / "stancekit_tagger.json").read_text())["training"]["steps"] == 3

    split = tmp_path / "split"
    (split / "text").mkdir(parents=True)
    (split / "attributions").mkdir()
    text = "Ana Lopez said the bridge would reopen.\n"
    (split / "text" / "a.txt").write_text(text, encoding="utf-8")
    (split / "attributions" / "a_00aa.ann").write_text("T1\tCue 10 14\tsaid\n", encoding="utf-8")
    out = tmp_path / "bio.jsonl"
    res = runner.invoke(app, ["eval", "cofenet-bio", str(split), "--out", str(out)])
    assert res.exit_code == 0, res.output
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["labels"] == ["O", "O", "B-cue", "O", "O", "O", "O", "O"]
    res = runner.invoke(app, ["eval", "cofenet-bio", str(split), "--reference", str(out)])
    assert res.exit_code == 0 and json.loads(res.output)["comparison"]["same_labels_rate"] == 1.0
