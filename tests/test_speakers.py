"""Speaker resolution on hand-built sentences: agreement, unresolved pronouns, groups, nominals, headlines.

Every sentence here was written for these tests (invented people and places).
"""

from __future__ import annotations

import pytest

from stancekit.aggregate import aggregate
from stancekit.headlines import TITLE_KEY, first_line_title
from stancekit.speakers import LOCAL_PRONOUNS, PRONOUN_MIN_CONFIDENCE, SpeakerResolver, first_name_gender
from stancekit.targets import Target


def quotes(nlp, text):
    doc = nlp(text)
    return doc, list(doc._.stancekit_quotes or [])


def speaker_of(qs, fragment):
    q = next(q for q in qs if fragment in q["text"])
    return q["speaker"]


def token(doc, text, nth=0):
    return [t for t in doc if t.text == text][nth]


# -- gender --------------------------------------------------------------------------------------

def test_she_skips_the_nearer_man_marked_by_an_honorific(nlp):
    text = ("Ms. Dana Whitfield met Mr. Paul Renner at the depot. Mr. Renner spoke first. "
            "“The line will reopen in May,” she said.")
    _, qs = quotes(nlp, text)
    sp = speaker_of(qs, "reopen in May")
    assert sp["name"] == "Dana Whitfield" and sp["resolution"] == "pronoun"
    assert sp["mention"]["text"] == "she"


def test_he_skips_the_nearer_woman(nlp):
    text = ("Councilman Omar Tesh backed the levy. Councilwoman Ruth Anand opposed it on Tuesday. "
            "“We need the money for the pumps,” he said.")
    _, qs = quotes(nlp, text)
    assert speaker_of(qs, "for the pumps")["name"] == "Omar Tesh"


def test_gender_learned_from_an_earlier_pronoun(nlp):
    # "Tavin" is no listed first name: the gender comes from "She thanked …"
    doc = nlp("Tavin Quorrel opened the meeting. She thanked the volunteers. Mr. Dobb arrived late. "
              "“We will finish the survey by June,” she said.")
    r = SpeakerResolver(doc)
    assert r.gender.get("Tavin Quorrel") == "f"
    she = token(doc, "she", 0)
    assert r.resolve(she)["name"] == "Tavin Quorrel"


def test_first_names_through_the_optional_package():
    pytest.importorskip("gender_guesser")
    assert first_name_gender("Margaret") == "f" and first_name_gender("Robert") == "m"
    assert first_name_gender("Xqzv") is None


# -- unresolved pronouns -------------------------------------------------------------------------

def test_unresolved_he_keeps_the_mention_without_a_name(nlp):
    text = "“The bridge must close before winter,” he said. “Nobody else will say it,” he added."
    _, qs = quotes(nlp, text)
    assert len(qs) == 2
    for q in qs:
        assert q["speaker"]["name"] is None
        assert q["speaker"]["mention"]["text"] == "he"
        assert q["speaker"]["confidence"] < PRONOUN_MIN_CONFIDENCE


def test_unresolved_speakers_are_not_aggregated_nor_merged():
    def q(qid, name, conf):
        return {"quote_id": qid, "speaker": {"name": name, "label": "PERSON", "role": None, "confidence": conf,
                                             "resolution": "pronoun"},
                "stances": [{"target": "t", "label": "favor", "relevance": 1.0,
                             "probs": {"favor": 0.8, "against": 0.1, "neutral": 0.1}}]}
    target = Target(id="t", name="the levy")
    out = aggregate([q("a", None, 0.15), q("b", None, 0.15), q("c", "Omar Tesh", 0.9), q("d", "Omar Tesh", 0.1)],
                    [target])
    assert [s["name"] for s in out] == ["Omar Tesh"]
    assert out[0]["quote_ids"] == ["c"]


def test_first_and_second_person_are_never_a_name(nlp):
    doc, qs = quotes(nlp, "“You are wrong about the tax, and we will prove it,” I told the council.")
    r = SpeakerResolver(doc)
    for word in ("You", "we", "I"):
        rec = r.resolve(token(doc, word))
        assert rec is not None and rec["name"] is None and rec["mention"]["text"] == word
    assert all((q["speaker"] or {}).get("name") is None for q in qs)


# -- he and she for an unnamed person ------------------------------------------------------------

@pytest.mark.parametrize("text, fragment, name", [
    ("The harbour director closed the east pier on Friday. “The cranes are not safe,” she said.",
     "cranes are not safe", "harbour director"),
    ("A ministry spokesperson declined to give figures. “We publish the totals in March,” he told reporters.",
     "publish the totals", "A ministry spokesperson"),
    ("The district prosecutor defended the new timetable. She said the buses would adapt within a week.",
     "buses would adapt", "district prosecutor"),
])
def test_he_or_she_takes_an_unnamed_person_when_nobody_is_named(nlp, text, fragment, name):
    _, qs = quotes(nlp, text)
    sp = speaker_of(qs, fragment)
    assert sp["name"] == name and sp["label"] == "PERSON"
    assert sp["resolution"] == "pronoun" and sp["confidence"] >= PRONOUN_MIN_CONFIDENCE


def test_an_unnamed_office_holder_keeps_the_role_and_affiliation(nlp):
    _, qs = quotes(nlp, "A Treasury Department spokesperson declined to comment. "
                        "“We do not discuss audits,” he said.")
    assert len(qs) == 2  # "to comment" and the direct quote
    for q in qs:
        assert q["speaker"]["role"] == "Spokesperson" and q["speaker"]["affiliation"] == "Treasury Department"


def test_a_gendered_noun_refuses_the_other_pronoun(nlp):
    text = "The spokeswoman declined to comment on the lease. “The board has not met,” he said."
    _, qs = quotes(nlp, text)
    assert speaker_of(qs, "board has not met")["name"] is None


def test_a_named_person_keeps_the_pronoun_from_an_epithet(nlp):
    # "the candidate" is the named person again, not somebody new
    text = ("Rosa Iturbe opened her campaign in the port on Sunday. The candidate promised cheaper ferries. "
            "“Every island deserves a daily boat,” she said.")
    _, qs = quotes(nlp, text)
    sp = speaker_of(qs, "daily boat")
    assert sp["name"] == "Rosa Iturbe" and sp["resolution"] == "pronoun"


def test_a_poll_share_is_named_in_full(nlp):
    _, qs = quotes(nlp, "Six in 10 say the harbour tax is unfair.")
    assert speaker_of(qs, "harbour tax")["name"] == "Six in 10"


# -- number: they --------------------------------------------------------------------------------

def test_they_takes_the_group_subject_before(nlp):
    text = ("Dairy farmers in the valley said that the permit fee was unfair. "
            "“We cannot pay twice for the same water,” they said.")
    _, qs = quotes(nlp, text)
    sp = speaker_of(qs, "pay twice")
    assert sp["name"] == "Dairy farmers in the valley" and sp["label"] == "GROUP"
    assert sp["resolution"] == "pronoun" and sp["mention"]["text"] == "they"


def test_they_takes_two_coordinated_people(nlp):
    text = "Mina Sato and Olek Brandt walked out of the session. “Nobody asked us,” they said."
    _, qs = quotes(nlp, text)
    sp = speaker_of(qs, "Nobody asked us")
    assert sp["name"] == "Mina Sato and Olek Brandt" and sp["label"] == "GROUP"


def test_he_is_never_a_group(nlp):
    doc = nlp("Dairy farmers in the valley protested. “It is too late,” he said.")
    rec = SpeakerResolver(doc).resolve(token(doc, "he"))
    assert rec["name"] is None and rec["label"] == "PERSON"


# -- groups stay groups --------------------------------------------------------------------------

def test_plural_subject_is_the_group_not_a_nearby_person(nlp):
    text = "Senator Lyle Gant spoke for an hour. Republican senators said that the audit was overdue."
    _, qs = quotes(nlp, text)
    sp = speaker_of(qs, "audit was overdue")
    assert sp["name"] == "Republican senators" and sp["label"] == "GROUP"


def test_officials_and_the_white_house(nlp):
    _, qs = quotes(nlp, "County officials said that the shelter would open at noon.")
    assert speaker_of(qs, "shelter")["name"] == "County officials"
    _, qs = quotes(nlp, "The White House said that the talks would resume in March.")
    sp = speaker_of(qs, "talks")
    assert sp["name"] == "White House" and sp["label"] in ("ORG", "GPE", "FAC")


def test_the_campaign_links_to_the_campaign_named_before(nlp):
    text = ("The ad was paid for by the Ferro campaign. Lena Ferro is running for the open seat, and the "
            "campaign said that the ad would run statewide.")
    _, qs = quotes(nlp, text)
    sp = speaker_of(qs, "run statewide")
    assert sp["name"] == "Ferro campaign" and sp["label"] == "ORG" and sp["resolution"] == "nominal"


def test_a_name_that_modifies_a_group_is_not_the_speaker(nlp):
    text = "Governor Alma Reese toured the plant. The Reese campaign said that turnout was rising."
    _, qs = quotes(nlp, text)
    sp = speaker_of(qs, "turnout")
    assert sp["name"] == "Reese campaign" and sp["label"] == "ORG"


# -- nominal speakers ----------------------------------------------------------------------------

def test_the_governor_is_the_holder_of_the_abbreviated_title(nlp):
    text = "Gov. Ines Calloway signed the bill on Friday. The governor said that the law would take effect in July."
    _, qs = quotes(nlp, text)
    sp = speaker_of(qs, "take effect")
    assert sp["name"] == "Ines Calloway" and sp["label"] == "PERSON"
    assert sp["role"] == "Governor" and sp["resolution"] == "nominal"


def test_a_role_without_holder_stays_nominal(nlp):
    _, qs = quotes(nlp, "The minister said that the harbour tax would be cut.")
    sp = speaker_of(qs, "harbour tax")
    assert sp["resolution"] == "nominal" and sp["name"] == "minister"


def test_the_ministry_is_the_ministry_named_before(nlp):
    text = ("The Ministry of Fisheries published new quotas on Monday. The ministry said that the quotas "
            "were final.")
    _, qs = quotes(nlp, text)
    sp = speaker_of(qs, "quotas were final")
    assert sp["name"] == "Ministry of Fisheries" and sp["label"] == "ORG"


# -- headlines -----------------------------------------------------------------------------------

HEADLINE = ("Senator Brill Criticized Over Ferry Deal\n\n"
            "Senator Hugo Brill defended the ferry contract on Monday. “It saves the county money,” he said.")


def test_the_title_line_is_never_a_mention(nlp):
    doc, qs = quotes(nlp, HEADLINE)
    title_end = HEADLINE.index("\n")
    assert all(e["start"] >= title_end for e in doc._.stancekit_entities)
    assert not any("Criticized" in e["text"] for e in doc._.stancekit_entities)
    sp = speaker_of(qs, "saves the county")
    assert sp["name"] == "Hugo Brill"


def test_a_title_range_given_by_the_caller(nlp):
    text = "Mayor Tova Linde Wins Again. Mayor Tova Linde thanked the voters. “We did it,” she said."
    doc = nlp.make_doc(text)
    doc.user_data[TITLE_KEY] = (0, text.index(". ") + 1)
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    assert all(e["start"] > text.index(". ") for e in doc._.stancekit_entities)
    r = SpeakerResolver(doc)
    assert r.resolve(doc[1]) is None  # "Tova" inside the title
    assert r.resolve(token(doc, "she"))["name"] == "Tova Linde"


def test_plain_text_title_rule():
    assert first_line_title("Fare Rise Approved\n\nThe board voted on Monday.") == (0, 18)
    assert first_line_title("Board Approves New Fare Plan\nThe board voted on Monday.") == (0, 28)
    assert first_line_title("The board voted on Monday.\n\nIt was close.") is None  # a sentence
    assert first_line_title("From Senator Paula Reyes:\n“This bill protects workers.”") is None  # a cue
    assert first_line_title("one line only") is None


def test_headline_run_in_in_a_title_cased_body_line(nlp):
    doc = nlp("A report was published.\nSenator Tomas Vell Slams Port Authority Budget\nThe port said little.")
    assert not any(e["text"].endswith("Slams") for e in doc._.stancekit_entities)


# -- no resolution names a first- or second-person pronoun ------------------------------------------

def test_no_speaker_name_is_a_local_pronoun(nlp):
    text = ("“We are done waiting,” we said. Ms. Ada Roon nodded. “You heard them,” she told me. "
            "“I agree with you,” I said. “They are right,” they said.")
    _, qs = quotes(nlp, text)
    for q in qs:
        name = (q["speaker"] or {}).get("name")
        assert name is None or name.lower() not in LOCAL_PRONOUNS | {"he", "she", "they", "it"}


def test_a_title_marked_on_the_doc_extension(nlp):
    from spacy.tokens import Doc

    if not Doc.has_extension("stancekit_title"):
        Doc.set_extension("stancekit_title", default=None)
    text = "Chair Ilse Varga Quits Board. Chair Ilse Varga left on Friday. “It was time,” she said."
    doc = nlp.make_doc(text)
    doc._.stancekit_title = (0, text.index(". ") + 1)
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    assert all(e["start"] > text.index(". ") for e in doc._.stancekit_entities)
    assert SpeakerResolver(doc).resolve(token(doc, "she"))["name"] == "Ilse Varga"
