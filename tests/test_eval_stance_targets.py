"""`stancekit eval stance --target FILE`: target files in evaluation, and the run table's target names."""

from __future__ import annotations

import json

import pytest

from stancekit.errors import StancekitError
from stancekit.evaluate.stance import evaluate_stance, match_target_files

TOML = '''id = "harbour"
name = "the harbour expansion"
aliases = ["harbour expansion", "new quay"]
keywords = ["dredging"]

[[examples]]
text = "The new quay will bring work back to the docks."
label = "favor"
'''


class Recorder:
    """A backend that says favor for texts with "good" and records what it was given."""

    name = "recorder"

    def __init__(self):
        self.inputs = []

    def predict(self, inputs):
        self.inputs.extend(inputs)
        return [{"label": "favor" if "good" in x.text else "against", "score": 1.0,
                 "probs": {}, "relevance": 1.0} for x in inputs]

    def describe(self):
        return {"backend": self.name}


@pytest.fixture()
def files(tmp_path):
    target = tmp_path / "harbour.toml"
    target.write_text(TOML, encoding="utf-8")
    data = tmp_path / "test.jsonl"
    rows = [{"target": "new quay", "text": "A good plan for the docks.", "label": "favor"},
            {"target": "The Harbour Expansion ", "text": "It will ruin the bay.", "label": "against"},
            {"target": "the bus lane should go", "text": "A good idea at last.", "label": "favor"}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return target, data


def test_rows_matching_a_target_file_get_its_aliases_keywords_and_examples(files):
    target, data = files
    be = Recorder()
    m = evaluate_stance(data, backend_obj=be, target_files=[str(target)])
    assert m["calibration"] is None  # the recorder gives labels without probabilities: scored on labels alone
    by_text = {x.text: x.target for x in be.inputs}
    harbour = by_text["A good plan for the docks."]
    assert harbour.name == "the harbour expansion" and "dredging" in harbour.keywords
    assert [ex["label"] for ex in harbour.examples] == ["favor"]
    assert by_text["It will ruin the bay."].name == "the harbour expansion"  # name matched, case and spaces aside
    free = by_text["A good idea at last."]
    assert free.name == "the bus lane should go" and free.examples == [] and free.keywords == []
    assert m["accuracy"] == 1.0
    assert {k: v["n"] for k, v in m["target_files"].items()} == {"new quay": 1, "The Harbour Expansion ": 1}


def test_target_file_matching_no_row_is_an_error(files, tmp_path):
    target, data = files
    other = tmp_path / "other.toml"
    other.write_text('id = "zoo"\nname = "the city zoo"\n', encoding="utf-8")
    with pytest.raises(StancekitError) as exc:
        evaluate_stance(data, backend_obj=Recorder(), target_files=[str(target), str(other)])
    assert exc.value.code == "E012" and "other.toml" in exc.value.message


def test_rows_without_target_take_the_single_target_file(tmp_path, files):
    target, _ = files
    data = tmp_path / "untargeted.jsonl"
    data.write_text(json.dumps({"text": "A good quay.", "label": "favor"}) + "\n", encoding="utf-8")
    be = Recorder()
    evaluate_stance(data, backend_obj=be, target_files=[str(target)])
    assert be.inputs[0].target.name == "the harbour expansion"
    with pytest.raises(StancekitError):
        evaluate_stance(data, backend_obj=Recorder())


def test_match_target_files_by_id_stem_and_alias(files):
    target, _ = files
    got = match_target_files(["harbour", "HARBOUR EXPANSION", "something else"], [target])
    assert set(got) == {"harbour", "HARBOUR EXPANSION"}


def test_run_table_shows_a_target_file_under_its_name(files, capsys):
    from stancekit.cli import _print_table, table_targets

    target, _ = files
    assert table_targets([str(target)]) == [("harbour", "the harbour expansion")]
    quote = {"doc_id": "d1", "text": "We will build the new quay.", "speaker": {"name": "Ana Ruiz"},
             "stances": [{"target": "harbour", "label": "favor", "score": 0.91}]}
    _print_table([quote], [str(target)])
    out = capsys.readouterr().out
    assert "the harbour expansion" in out and str(target) not in out
    assert "favor 0.91" in out
