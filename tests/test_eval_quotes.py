"""Quote evaluation: BRAT reading, matching, the three protocols on tiny synthetic data."""

from __future__ import annotations

import json

import pytest

from stancekit.errors import StancekitError
from stancekit.evaluate.quotes import (Span, attributions, bio_spans, _with_marks, char_to_tokens, evaluate_quotes,
                                       jaccard, join_tokens, match, read_brat)
from tests.conftest import SHARED

TEXT = ("Senator Maria Lopez said that the budget would hurt families. "
        "“We will fight it,” Lopez told reporters.\n")


def _ann(text: str) -> str:
    def off(s):
        i = text.index(s)
        return f"{i} {i + len(s)}"
    c1 = "the budget would hurt families"
    c2 = "“We will fight it,”"
    return "\n".join([
        f"T1\tSource {off('Senator Maria Lopez')}\tSenator Maria Lopez",
        f"T2\tCue {off('said')}\tsaid",
        f"T3\tContent {off(c1)}\t{c1}",
        f"T4\tAttribution {off('said')}\tsaid",
        "E1\tAttribution:T4 Source:T1 Cue:T2 Content:T3",
        f"T5\tContent {off(c2)}\t{c2}",
        f"T6\tCue {off('told')}\ttold",
        f"T7\tAttribution-no-source {off('told')}\ttold",
        "E2\tAttribution-no-source:T7 Cue:T6 Content:T5",
        "#1\tAnnotatorNotes T1\tignored",
    ]) + "\n"


def test_read_brat():
    gold = read_brat(_ann(TEXT))
    assert len(gold) == 2
    assert TEXT[gold[0].source.start:gold[0].source.end] == "Senator Maria Lopez"
    assert gold[1].source is None


def test_discontinuous_span_and_jaccard():
    gold = read_brat("T1\tContent 0 5;10 15\tabcde fghij\nT2\tCue 6 9\tx\nE1\tAttribution:T2 Cue:T2 Content:T1\n")
    assert gold[0].content.frags == ((0, 5), (10, 15))
    assert jaccard(gold[0].content, Span(((0, 15),))) == pytest.approx(10 / 15)


def test_match_is_one_to_one():
    text = "x" * 100
    gold = [Span(((0, 10),)), Span(((0, 10),))]
    pred = [Span(((0, 10),))]
    assert len(match(gold, pred, text=text, mode="overlap")) == 1
    assert len(match(gold, [Span(((0, 4),))], text=text, mode="overlap")) == 0  # Jaccard 0.4


def test_exact_ignores_marks_and_punctuation():
    text = "“We will fight it,” she said"
    assert match([Span(((0, 19),))], [Span(((1, 17),))], text=text, mode="exact") == {0: 0}


def test_continuation_joins_previous_attribution():
    text = "“A b c,” she said. “D e f.”"
    quotes = [{"start": 1, "end": 6, "cue": {"start": 13, "end": 17}, "speaker": {"name": "X"}},
              {"start": 20, "end": 26, "cue": None, "speaker": {"name": "X", "resolution": "continuation"}}]
    heads, spans = attributions(text, quotes)
    assert len(heads) == 1 and spans[0].frags == ((1, 6), (20, 26))


def test_halves_of_a_quote_split_by_its_cue_are_one_attribution():
    text = "“A b c,” she said, “d e f.”\n“G h,” she said."
    cue = {"start": 13, "end": 17}
    quotes = [{"start": 1, "end": 6, "cue": cue, "speaker": {"name": "X"}},
              {"start": 20, "end": 26, "cue": cue, "speaker": {"name": "X"}},
              {"start": 30, "end": 34, "cue": {"start": 40, "end": 44}, "speaker": {"name": "X"}}]
    heads, spans = attributions(text, quotes)
    assert [s.frags for s in spans] == [((1, 6), (20, 26)), ((30, 34),)]


def test_polnear_protocol_on_synthetic_folder(tmp_path, nlp):
    (tmp_path / "text").mkdir()
    (tmp_path / "attributions").mkdir()
    (tmp_path / "text" / "a1.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "attributions" / "a1_0aaa.ann").write_text(_ann(TEXT), encoding="utf-8")
    (tmp_path / "attributions" / "a1_ffff.ann").write_text("", encoding="utf-8")  # second annotator: unused
    out = evaluate_quotes(tmp_path, fmt="polnear", nlp=nlp)
    assert out["documents"] == 1 and out["failures"] == []
    assert out["content_overlap"]["gold"] == 2
    assert out["content_overlap"]["tp"] == 2
    assert out["attribution"]["tp"] == 2  # the source-less gold counts once its content is matched
    assert out["cue_exact"]["tp"] == 2
    assert out["source_overlap"]["tp"] >= 1


def test_bio_and_token_mapping():
    assert bio_spans(["O", "B-source", "I-source", "B-cue", "B-content", "I-content", "O"]) == {
        "source": {(1, 3)}, "cue": {(3, 4)}, "content": {(4, 6)}}
    text, offs = join_tokens(["``", "Hi", "''", "he", "said"])
    assert text == "“ Hi ” he said"
    assert char_to_tokens(offs, 2, 4) == (1, 2)


def test_cofenet_protocol(tmp_path, nlp):
    tokens = ["Senator", "Maria", "Lopez", "said", "that", "the", "budget", "would", "hurt", "families", "."]
    labels = ["B-source", "I-source", "I-source", "B-cue", "B-content"] + ["I-content"] * 5 + ["O"]
    f = tmp_path / "valid.txt"
    f.write_text(json.dumps({"tokens": tokens, "labels": labels, "id": "x"}) + "\n", encoding="utf-8")
    out = evaluate_quotes(f, fmt="cofenet", nlp=nlp)
    assert out["instances"] == 1 and out["exact"]["cue"]["tp"] == 1
    assert out["exact"]["content"]["tp"] == 1  # "that" is CofeNet's content, not stancekit's


def test_content_in_cofenet_convention():
    text = "“ We will win , ” she said , and added that the vote was fair ."
    inner = text.index("We"), text.index(" , ”")  # stancekit's direct content: no marks, no comma
    assert text[slice(*_with_marks(text, *inner))] == "“ We will win , ”"
    fair = text.index("the vote"), text.index(" .")
    assert text[slice(*_with_marks(text, *fair))] == "that the vote was fair"
    plain = "Officials hoped the vote was fair ."
    span = plain.index("the"), plain.index(" .")
    assert _with_marks(plain, *span) == span


def test_sample_protocol(tmp_path, nlp):
    (tmp_path / "articles").mkdir()
    text = "“The budget is a disgrace,” Senator Maria Lopez said on Tuesday."
    (tmp_path / "articles" / "d1.txt").write_text(text, encoding="utf-8")
    gold = {"doc_id": "d1", "quotes": [{"text": "The budget is a disgrace", "start": 1, "end": 25,
                                        "kind": "direct", "speaker": "Maria Lopez"}], "claims": []}
    (tmp_path / "gold.jsonl").write_text(json.dumps(gold) + "\n", encoding="utf-8")
    out = evaluate_quotes(tmp_path / "gold.jsonl", fmt="sample", nlp=nlp)
    assert out["content_overlap"]["f1"] == 1.0 and out["speaker_accuracy"] == 1.0


def test_unknown_format_is_coded_error(tmp_path):
    with pytest.raises(StancekitError) as exc:
        evaluate_quotes(tmp_path, fmt="nope")
    assert exc.value.code == "E014"


@pytest.mark.skipif(not (SHARED / "eval-data" / "polnear" / "dev").exists(), reason="PolNeAR dev not present")
def test_polnear_dev_two_articles_run_without_failures(nlp):
    out = evaluate_quotes(SHARED / "eval-data" / "polnear" / "dev", fmt="polnear", limit=2, nlp=nlp)
    assert out["documents"] == 2 and out["failures"] == []
