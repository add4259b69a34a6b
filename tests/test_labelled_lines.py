"""Lines that name their speaker before a colon ("Ruiz: The port plan will cost jobs."), headlines included
(:mod:`stancekit.quotes.labelled`). Team-written texts, parsed with the ``nlp`` fixture's pipeline."""

from __future__ import annotations

from stancekit.evaluate.quotes import titled
from tests.test_quotes import quotes_of

BODY = ("Mayor Ana Ruiz spoke to dock workers in Port Alder on Monday. Ruiz said the harbour plan had been "
        "rushed through the council without a study of its cost.")


def labelled(qs: list[dict]) -> list[tuple]:
    return [(q["text"], q["kind"], q["speaker"]["name"], q["speaker"]["mention"]["text"]) for q in qs
            if q["cue"] and q["cue"]["text"] == ":"]


def test_headline_surname_is_the_person_the_body_names(nlp):
    _, qs = quotes_of(nlp, "Ruiz: Harbour Plan Will Cost Port Alder Its Jobs.\n\n" + BODY)
    assert labelled(qs) == [("Harbour Plan Will Cost Port Alder Its Jobs", "indirect", "Ana Ruiz", "Ruiz")]


def test_headline_in_quotation_marks_is_direct_and_keeps_them(nlp):
    _, qs = quotes_of(nlp, "Ana Ruiz: ‘We Will Not Sell the Harbour.’\n\n" + BODY)
    assert labelled(qs) == [("‘We Will Not Sell the Harbour.’", "direct", "Ana Ruiz", "Ana Ruiz")]


def test_marked_title_counts_and_a_title_before_the_name_stays_out_of_it(nlp):
    text = "Mayor Ruiz to Dock Workers: The Harbour Is Not for Sale\n\n" + BODY
    doc = nlp(titled(nlp, text))
    assert doc._.stancekit_title is not None  # the title rule marked the first line
    qs = doc._.stancekit_quotes
    assert labelled(qs) == [("The Harbour Is Not for Sale", "indirect", "Ana Ruiz", "Mayor Ruiz")]
    head = next(q for q in qs if q["cue"]["text"] == ":")
    assert (head["cue"]["start"], head["speaker"]["role"]) == (text.index(":"), "Mayor")


def test_mixed_case_panel_lines(nlp):
    text = ("The panel was moderated by Dana Okafor and included the economist Luis Brandt.\n\n"
            "Okafor: Is the toll on the new bridge fair to commuters?\n\n"
            "Brandt: Well, nobody likes a toll, but the bridge has to be paid for somehow.\n")
    _, qs = quotes_of(nlp, text)
    assert labelled(qs) == [
        ("Is the toll on the new bridge fair to commuters?", "indirect", "Dana Okafor", "Okafor"),
        ("Well, nobody likes a toll, but the bridge has to be paid for somehow", "indirect", "Luis Brandt",
         "Brandt")]


def test_words_that_name_nobody_make_no_quote(nlp):
    for first in ("Update: The Council Vote Was Moved to Friday.",            # a label
                  "Council Endorses Ana Ruiz: A Plan for the Harbour.",       # a verb before the name
                  "Harbour Watch: The Council Has Few Ways to Pay.",          # a heading, named nowhere else
                  "Ruiz and the Council: A Year of Disputes Over the Port.",  # a topic, not a speaker
                  "Ruiz: Yes."):                                              # too short to say anything
        _, qs = quotes_of(nlp, first + "\n\n" + BODY)
        assert labelled(qs) == [], first


def test_a_named_speaker_inside_the_line_keeps_it(nlp):
    text = "Ruiz: Governor Tom Hale said that the harbour would stay public.\n\n" + BODY
    _, qs = quotes_of(nlp, text)
    assert labelled(qs) == []
    assert [(q["text"], q["speaker"]["name"]) for q in qs if q["cue"]["text"] == "said"][0] == \
        ("the harbour would stay public", "Tom Hale")
