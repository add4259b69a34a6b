"""Loading targets: shipped names, target files, free-text targets, and what stays an error."""

from __future__ import annotations

import pytest

from stancekit.errors import StancekitError
from stancekit.stance import is_proposition
from stancekit.targets import load_target


@pytest.mark.parametrize("given,name", [
    ("the minimum wage should rise", "the minimum wage should rise"),
    ("  a   tobacco tax ", "a tobacco tax"),
    ("text:vaccines", "vaccines"),
    ("text: nuclear  power", "nuclear power"),
])
def test_a_topic_in_words_is_a_free_text_target(given, name):
    target = load_target(given)
    assert target.name == name and target.aliases == [name]
    assert target.examples == [] and target.keywords == [] and target.source is None
    assert target.id == name.replace(" ", "_")


def test_a_free_text_proposition_keeps_its_verb():
    assert is_proposition(load_target("the minimum wage should rise").name)
    assert not is_proposition(load_target("text:vaccines").name)


def test_shipped_names_and_files_come_first(tmp_path):
    assert load_target("certification").source.endswith("certification.toml")
    path = tmp_path / "my topic.toml"
    path.write_text('id = "mine"\nname = "My topic"\n', encoding="utf-8")
    assert load_target(str(path)).id == "mine"  # a file whose name holds a space is still a file


@pytest.mark.parametrize("given", ["certifcation", "vaccines", "text:", "text:   ", "missing dir/topic.toml",
                                   "a topic.toml", "folder/two words"])
def test_a_word_or_a_path_that_is_not_there_is_an_error(given):
    with pytest.raises(StancekitError) as err:
        load_target(given)
    assert err.value.code == "E003"
    assert "text:vaccines" in str(err.value)
