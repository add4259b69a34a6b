"""Quote stage: quote-mark pairing (pure functions) and the layouts of the quote issue (parsed with
the small English pipeline from the ``nlp`` fixture)."""

from __future__ import annotations

import pytest

from stancekit.quotes import pair_quote_marks
from tests.conftest import SEED


def contents(text: str) -> list[str]:
    spans, _ = pair_quote_marks(text)
    return [text[s.start:s.end] for s in spans]


def codes(text: str) -> list[str]:
    return [w["code"] for w in pair_quote_marks(text)[1]]


# -- pairing ---------------------------------------------------------------------------------------

def test_pairs_curly_and_straight():
    assert contents('He said “we will” and then "win."') == ["we will", "win."]


def test_straight_closes_curly_with_repair_warning():
    text = "She said “we are done\" and left."
    assert contents(text) == ["we are done"]
    assert codes(text) == ["W005"]


def test_stray_marks_are_skipped_not_fatal():
    text = "A stray ” closer and an “ opener that never closes."
    assert contents(text) == []
    assert codes(text) == ["W003", "W003"]


def test_multi_paragraph_quote_reopens():
    text = "“First paragraph of the quote.\n\n“Second paragraph,” she said."
    spans, warnings = pair_quote_marks(text)
    assert len(spans) == 1 and not warnings
    assert text[spans[0].start:spans[0].end].endswith("Second paragraph,")


def test_paragraph_end_without_reopen_is_stray():
    text = '"Kevin was snoring.\n\n“Here he is,” she said.'
    assert contents(text) == ["Here he is,"]
    assert codes(text) == ["W003"]


def test_nested_quote_inside_block_quote():
    text = '"The piece said “Finally,” she told me, and more." end'
    assert contents(text) == ["The piece said “Finally,” she told me, and more.", "Finally,"]


def test_doubled_apostrophes_are_marks():
    text = "''This isn't tax reform,'' said Douglas Holtz-Eakin."
    spans, _ = pair_quote_marks(text)
    assert [text[s.start:s.end] for s in spans] == ["This isn't tax reform,"]
    assert text[spans[0].close_at] == "'" and text[spans[0].close_at + 1] == " "


def test_apostrophes_are_not_marks():
    assert contents("It's the party's plan, isn't it?") == []


# -- layouts -----------------------------------------------------------------------------------------

def quotes_of(nlp, text):
    doc = nlp(text)
    qs = doc._.stancekit_quotes
    for q in qs:  # offsets are exact everywhere
        assert q["text"] == doc.text[q["start"]:q["end"]]
        if q["cue"]:
            assert q["cue"]["text"] == doc.text[q["cue"]["start"]:q["cue"]["end"]]
        if q["speaker"]:
            m = q["speaker"]["mention"]
            assert m["text"] == doc.text[m["start"]:m["end"]]
    return doc, qs


def test_said_after_quote(nlp):
    _, qs = quotes_of(nlp, "“The budget is a disgrace,” Senator Maria Lopez said on Tuesday.")
    assert len(qs) == 1
    assert qs[0]["kind"] == "direct" and qs[0]["text"] == "The budget is a disgrace"
    assert qs[0]["speaker"]["name"] == "Maria Lopez"
    assert qs[0]["cue"]["text"] == "said"


@pytest.mark.parametrize("text, content, cue, speaker", [
    ("“The pier stays shut until June,” the harbour director posted on social media.",
     "The pier stays shut until June", "posted", "harbour director"),
    ("Residents lamented that the ferry had been cut to two crossings a day.",
     "the ferry had been cut to two crossings a day", "lamented", "Residents"),
    ("“Nobody read the report,” Councillor Ines Varga emailed on Monday.",
     "Nobody read the report", "emailed", "Ines Varga"),
    ("The mayor made it clear that the pool would not reopen this summer.",
     "the pool would not reopen this summer", "made", "mayor"),
    ("Councillor Ines Varga made plain that she would vote against the levy.",
     "she would vote against the levy", "made", "Ines Varga"),
    ("The senator called on the government to release the audit before the vote.",
     "the government to release the audit before the vote", "called", "senator"),
    ("Ana Ruiz said on Friday during a press conference that she may wait until March to decide.",
     "she may wait until March to decide", "said", "Ana Ruiz"),
    ("The Harbor Pilots' Guild said in a statement that night crossings would stop in January.",
     "night crossings would stop in January", "said", "Harbor Pilots' Guild"),
    ("The county's chief engineer, Daniel Osei, told councillors that the repair bill had doubled since spring.",
     "the repair bill had doubled since spring", "told", "Daniel Osei"),
    # an "as" frame attributes the clause on its far side
    ("As The Harbour Gazette reported, even if the council approves the toll, the bridge will not open before 2028.",
     "even if the council approves the toll, the bridge will not open before 2028", "reported", "Harbour Gazette"),
    ("The harbour has lost money for six years, as the mayor noted on Monday.",
     "The harbour has lost money for six years", "noted", "mayor"),
    ("Of course, as Ana Ruiz pointed out, the toll was never meant to last.",
     "the toll was never meant to last", "pointed out", "Ana Ruiz"),
])
def test_cues_and_clause_patterns_of_reported_speech(nlp, text, content, cue, speaker):
    _, qs = quotes_of(nlp, text)
    assert [(q["text"], q["cue"]["text"], q["speaker"]["name"]) for q in qs] == [(content, cue, speaker)]


def test_a_word_of_the_quote_is_never_its_speaker(nlp):
    # the parser reads "U-S-A" as a clause whose subject "A" it gives to "chanting"
    _, qs = quotes_of(nlp, "The senator walked onto the stage, chanting “U-S-A! U-S-A!”")
    assert [(q["text"], q["speaker"]["name"]) for q in qs] == [("U-S-A! U-S-A!", "senator")]


def test_a_pronoun_object_with_a_predicate_is_content(nlp):
    _, qs = quotes_of(nlp, "Tom Baker went after the mayor on Sunday, calling him a failure.")
    assert [(q["text"], q["cue"]["text"], q["speaker"]["name"]) for q in qs] == [("him a failure", "calling", "Tom Baker")]
    _, qs = quotes_of(nlp, "Ana Ruiz criticized him.")  # a bare pronoun says nothing
    assert qs == []


def test_a_relative_clause_after_the_cue_is_no_content(nlp):
    _, qs = quotes_of(nlp, "Ana Ruiz spoke at a conference that lasted two days.")
    assert qs == []


def test_the_complement_of_a_noun_is_not_the_speakers_words(nlp):
    # what "the notion" says is what the engineer scoffs at, not what the engineer says
    _, qs = quotes_of(nlp, "Scoffing at the notion that the bridge was unsafe, the engineer said repairs would "
                           "finish in May.")
    assert [q["text"] for q in qs] == ["repairs would finish in May"]


def test_making_a_clear_choice_is_no_quote(nlp):
    _, qs = quotes_of(nlp, "The council made a clear choice to keep the library open.")
    assert qs == []


def test_posting_a_loss_is_no_quote(nlp):
    _, qs = quotes_of(nlp, "The bakery chain posted a loss of $3 million in the second quarter.")
    assert qs == []


def test_cue_inside_quote_gives_same_speaker(nlp):
    _, qs = quotes_of(nlp, "Governor Anna Berg spoke to reporters. “We will,” she said, “win this fight.”")
    direct = [q for q in qs if q["kind"] == "direct"]
    assert [q["text"] for q in direct] == ["We will", "win this fight."]
    assert {q["speaker"]["name"] for q in direct} == {"Anna Berg"}


def test_dash_name_layout(nlp):
    _, qs = quotes_of(nlp, "“Maybe we can build a wall around the stadium.” ― Steve Quinlan\n")
    assert len(qs) == 1 and qs[0]["speaker"]["name"] == "Steve Quinlan"


def test_name_colon_layout(nlp):
    _, qs = quotes_of(nlp, "Mayor John Smith: “We are ready for the storm and we will rebuild.”")
    assert len(qs) == 1 and qs[0]["speaker"]["name"] == "John Smith"


def test_from_x_on_previous_line(nlp):
    text = "From Senator Paula Reyes:\n“This bill protects every worker in the state.”"
    _, qs = quotes_of(nlp, text)
    assert len(qs) == 1 and qs[0]["speaker"]["name"] == "Paula Reyes"


def test_speaker_in_previous_sentence(nlp):
    text = ("Prime Minister Ellen Hart spoke after the vote. She was angry. “This result is a betrayal of "
            "the voters,” she said.")
    _, qs = quotes_of(nlp, text)
    assert qs[0]["speaker"]["name"] == "Ellen Hart"
    assert qs[0]["speaker"]["resolution"] == "pronoun"


def test_appositive_aside(nlp):
    text = "Mark Davis, who replaced Tom Lee in July, said that the company would cut its prices next year."
    _, qs = quotes_of(nlp, text)
    assert len(qs) == 1 and qs[0]["kind"] == "indirect"
    assert qs[0]["speaker"]["name"] == "Mark Davis"
    assert qs[0]["text"] == "the company would cut its prices next year"


def test_nominal_speaker_is_the_minister(nlp):
    text = ("Finance Minister Carla Ortiz presented the budget on Monday. The minister said that taxes "
            "would not rise this year.")
    _, qs = quotes_of(nlp, text)
    assert qs[-1]["speaker"]["name"] == "Carla Ortiz"
    assert qs[-1]["speaker"]["role"] == "Finance Minister"


def test_organisation_speaker(nlp):
    _, qs = quotes_of(nlp, "The World Health Organization said that the outbreak was under control.")
    assert qs[0]["speaker"]["name"] == "World Health Organization"
    assert qs[0]["speaker"]["label"] == "ORG"


def test_unquoted_clause_before_said(nlp):
    text = "The protocol called for the nominee to be taken to a trauma center, sources said."
    _, qs = quotes_of(nlp, text)
    assert qs[0]["kind"] == "indirect"
    assert qs[0]["text"].startswith("The protocol called for")
    assert qs[0]["speaker"]["mention"]["text"] == "sources"


def test_according_to(nlp):
    _, qs = quotes_of(nlp, "According to the police report, the driver was not wearing a seat belt.")
    assert qs[0]["cue"]["text"] == "According to"
    assert qs[0]["text"] == "the driver was not wearing a seat belt"


def test_position_verb_with_infinitive(nlp):
    _, qs = quotes_of(nlp, "Senator Bill Moss wants to release all the committee's investigations.")
    assert qs[0]["text"] == "to release all the committee's investigations"
    assert qs[0]["speaker"]["name"] == "Bill Moss"


def test_mixed_quote(nlp):
    text = "Mayor Ana Ruiz said the plan was “a betrayal of our city” and vowed to fight it."
    _, qs = quotes_of(nlp, text)
    mixed = [q for q in qs if q["kind"] == "mixed"]
    assert mixed and mixed[0]["speaker"]["name"] == "Ana Ruiz"
    assert "“a betrayal of our city”" in mixed[0]["text"]


@pytest.mark.parametrize("text", [
    "", "   \n\n  ", "“", "\"\"\"\"", "He said “never closed. And then ” again “", "!!! ??? ...",
    "Путин сказал: «Мы победим». 习近平说：“我们会赢。” He said “yes.”", "“" * 50 + "x" + "”" * 3,
])
def test_bad_input_never_raises(nlp, text):
    doc = nlp(text)
    assert isinstance(doc._.stancekit_quotes, list)
    assert {w["code"] for w in doc._.stancekit_warnings or []} <= {"W003", "W004", "W005"}


def test_unbalanced_mark_warns(nlp):
    doc = nlp("He said “this never ends. Then she left.")
    assert "W003" in {w["code"] for w in doc._.stancekit_warnings}


@pytest.mark.skipif(not SEED.exists(), reason="seed article not available")
def test_seed_article(nlp):
    doc, qs = quotes_of(nlp, SEED.read_text(encoding="utf-8"))
    direct = [q for q in qs if q["kind"] == "direct"]
    by = {}
    for q in direct:
        by.setdefault((q["speaker"] or {}).get("name"), []).append(q)
    assert len(by["Pedro Sánchez"]) == 2
    assert {q["speaker"]["mention"]["text"].lower() for q in by["Pedro Sánchez"]} == {"he"}
    # the quotes cued by "posted" and "lamenting" are no longer attributed: "post" and "lament" were cue verbs
    # written from this article and were dropped (issue 10 ablation on PolNeAR dev), so they are not checked;
    # the "posted" quote keeps no speaker rather than one from the next paragraph
    assert len(by["Federico Gutiérrez"]) == 2
    assert by["Federico Gutiérrez"][1]["speaker"]["resolution"] == "continuation"
    assert "Alejandro Éder" in by


def test_nominal_cue_with_possessive_or_by_phrase(nlp):
    cases = [("The mayor dismissed the senator's warning that the dam would collapse within a decade.",
              ("warning", "senator", "the dam would collapse within a decade")),
             ("Officials rejected the claim by Greenpeace that the river had been poisoned by the mine.",
              ("claim", "Greenpeace", "the river had been poisoned by the mine"))]
    for text, want in cases:
        doc = nlp(text)
        got = [(q["cue"]["text"], q["speaker"]["name"], q["text"]) for q in doc._.stancekit_quotes]
        assert want in got
        for q in doc._.stancekit_quotes:
            assert doc.text[q["start"]:q["end"]] == q["text"]


def test_a_trailing_participle_of_saying_is_a_quote_of_its_own(nlp):
    _, qs = quotes_of(nlp, "Ana Ruiz said the harbour would stay public, noting that the council had voted twice.")
    assert [(q["text"], q["cue"]["text"], q["speaker"]["name"]) for q in qs] == [
        ("the harbour would stay public", "said", "Ana Ruiz"),
        ("the council had voted twice", "noting", "Ana Ruiz")]


def test_a_quote_after_adding_is_direct_and_keeps_its_speaker(nlp):
    text = ("Ana Ruiz told reporters that Tom Hale “had no plan for the port,” adding, "
            "“He lost every vote in the valley.”")
    _, qs = quotes_of(nlp, text)
    assert [(q["kind"], q["text"], q["cue"]["text"], q["speaker"]["name"]) for q in qs] == [
        ("mixed", "Tom Hale “had no plan for the port,”", "told", "Ana Ruiz"),
        ("direct", "He lost every vote in the valley.", "adding", "Ana Ruiz")]
    assert qs[1]["marks"] == [text.rindex("“"), text.rindex("”")]


def test_a_participle_that_goes_on_describing_stays_in_the_content(nlp):
    _, qs = quotes_of(nlp, "The mayor said the city was growing fast, showing a chart of new permits to the council.")
    assert [(q["text"], q["cue"]["text"]) for q in qs] == [
        ("the city was growing fast, showing a chart of new permits to the council", "said")]


@pytest.mark.parametrize("text, expected", [
    ("A Harbour Gazette poll showed the mayor with a 12-point lead over her rival.",
     [("the mayor with a 12-point lead over her rival", "showed", "A Harbour Gazette poll")]),
    ("The letter accuses the council of hiding the cost of the bridge.",
     [("hiding the cost of the bridge", "accuses", "letter")]),
])
def test_a_poll_or_a_letter_is_a_source(nlp, text, expected):
    _, qs = quotes_of(nlp, text)
    assert [(q["text"], q["cue"]["text"], q["speaker"]["name"]) for q in qs] == expected


def test_a_document_is_never_the_person_a_pronoun_means(nlp):
    _, qs = quotes_of(nlp, "The report was published on Monday. “We counted every ballot twice,” she said.")
    assert [q["speaker"]["name"] for q in qs] == [None]


def test_as_with_a_verb_that_only_says_when_is_no_frame(nlp):
    _, qs = quotes_of(nlp, "As the mayor spoke, protesters shouted at the back of the hall.")
    assert qs == []


def test_in_a_poll_attributes_the_sentence_it_opens(nlp):
    _, qs = quotes_of(nlp, "In a Harbour Gazette poll released Monday, the mayor led her rival by 12 points.")
    assert [(q["text"], q["cue"]["text"], q["speaker"]["name"]) for q in qs] == [
        ("the mayor led her rival by 12 points", "In", "a Harbour Gazette poll released Monday")]
    # the speaker of a report's sentence that has a reporting verb of its own is that verb's subject
    _, qs = quotes_of(nlp, "In a report issued this month, the central bank said the economy had stopped shrinking.")
    assert [(q["cue"]["text"], q["speaker"]["name"]) for q in qs] == [("said", "central bank")]
