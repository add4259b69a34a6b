"""Quote stage on real-world layouts: titles apart from the body, transcripts, pseudo-quotes and the
patterns of reported speech that were missed (participial cues, short quoted phrases, a cue in the
next paragraph). Every sentence here was written for these tests."""

from __future__ import annotations

import json

import pytest

from stancekit.ingest import iter_documents, title_span
from stancekit.quotes import apply_title_span, in_title, title_range, transcript_turns


def run(nlp, text: str, title: str | None = None):
    span = title_span(text, title)
    doc = nlp(apply_title_span(nlp.make_doc(text), span)) if span else nlp(text)
    return doc, list(doc._.stancekit_quotes)


def speaker(q) -> str | None:
    return (q.get("speaker") or {}).get("name")


# -- titles ----------------------------------------------------------------------------------------

def test_title_line_rule():
    text = "Port Deal Collapses\n\nThe harbor board voted on Monday."
    assert title_span(text) == (0, 19)
    assert title_span("  Port Deal Collapses  \n \nBody here.") == (2, 21)
    # no blank line after it, a sentence, nothing after it, the rule switched off: no title
    assert title_span("Port Deal Collapses\nThe board voted.") is None
    assert title_span("The harbor board voted on Monday.\n\nIt met again.") is None
    assert title_span("Port Deal Collapses\n\n") is None
    assert title_span(text, title_line=False) is None


def test_given_title_found_at_the_start_only():
    text = "Port  deal collapses\nThe harbor board voted on Monday."
    assert title_span(text, "Port Deal Collapses") == (0, 20)
    assert title_span("The board met. Port Deal Collapses", "Port Deal Collapses") is None
    assert title_span("Port Deal Collapsesque", "Port Deal Collapses") is None


def test_ingest_sets_title_and_span(tmp_path):
    (tmp_path / "a.txt").write_text("Port Deal Collapses\n\nThe board voted.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Port Deal Collapses\nThe board voted.", encoding="utf-8")
    (tmp_path / "c.jsonl").write_text(
        json.dumps({"id": "c1", "title": "Port Deal Collapses", "text": "Port Deal Collapses\n\nBody."}) + "\n"
        + json.dumps({"id": "c2", "title": "Port Deal Collapses", "text": "The board voted."}) + "\n",
        encoding="utf-8")
    docs = {d.doc_id: d for d in iter_documents([tmp_path])}
    assert docs["a"].title == "Port Deal Collapses" and docs["a"].title_span == (0, 19)
    assert docs["b"].title is None and docs["b"].title_span is None
    assert docs["c1"].title_span == (0, 19)
    assert docs["c2"].title == "Port Deal Collapses" and docs["c2"].title_span is None
    (off,) = [d for d in iter_documents([tmp_path / "a.txt"], title_line=False)]
    assert off.title is None and off.title_span is None


def test_title_is_no_speaker_and_holds_no_quote(nlp):
    text = ("Councilman Greer Slams Budget\n\n"
            "He said the budget would close two fire stations. “We cannot accept that,” he told the council.")
    doc, quotes = run(nlp, text)
    assert title_range(doc) == (0, 29)
    assert quotes, "the body's quotes are still found"
    for q in quotes:
        assert not in_title(doc, q["start"], q["end"])
        mention = (q.get("speaker") or {}).get("mention")
        assert mention is None or not in_title(doc, mention["start"], mention["end"])
        assert speaker(q) != "Greer"


def test_quote_mark_in_the_title_does_not_pair_with_the_body(nlp):
    text = ('Mayor: "No New Taxes\n\n'
            'The mayor spoke for an hour. "We will not raise the levy this year," she said.')
    doc, quotes = run(nlp, text)
    assert [q["text"] for q in quotes if q["kind"] == "direct"] == ["We will not raise the levy this year"]


def test_offsets_stay_in_the_stored_text(nlp):
    text = "Ferry Fares Rise\n\n“The fares go up in May,” said Lena Holt, the ferry manager."
    doc, quotes = run(nlp, text)
    (q,) = [q for q in quotes if q["kind"] == "direct"]
    assert text[q["start"]:q["end"]] == q["text"] == "The fares go up in May"
    assert speaker(q) == "Lena Holt"


# -- transcripts ------------------------------------------------------------------------------------

DEBATE = ("Debate notes\n\n"
          "The candidates for county judge, Maria Lopez and Dan Whitaker, met on Tuesday, moderated by "
          "reporter Ines Park.\n\n"
          "PARK: Judge Whitaker, what would you change first?\n\n"
          "MR. WHITAKER: I would hire two more clerks. We have waited too long.\n\n"
          "LOPEZ: I agree about the clerks. You have had eight years to hire them.\n\n"
          "And I would open the courthouse on Saturdays.\n\n"
          "MR. WHITAKER: That is not true. I asked for them every year.\n")


def test_transcript_turns_pure_text():
    turns = transcript_turns(DEBATE)
    assert [t.tag for t in turns] == ["PARK", "MR. WHITAKER", "LOPEZ", "LOPEZ", "MR. WHITAKER"]
    assert [t.continued for t in turns] == [False, False, False, True, False]
    assert DEBATE[turns[1].start:turns[1].end] == "I would hire two more clerks. We have waited too long."


def test_transcript_needs_two_tagged_lines_and_skips_labels():
    assert transcript_turns("SMITH: We won.\n\nThe count ended at midnight.") == []
    assert transcript_turns("UPDATE: The road reopened.\n\nNOTE: Times are local.") == []
    assert len(transcript_turns("Q: Why now?\n\nA: Because the money ran out.")) == 2


def test_transcript_lines_are_direct_speech_of_the_tag(nlp):
    doc, quotes = run(nlp, DEBATE)
    got = [(speaker(q), q["text"]) for q in quotes]
    assert got == [
        ("Ines Park", "Judge Whitaker, what would you change first?"),
        ("Dan Whitaker", "I would hire two more clerks. We have waited too long."),
        ("Maria Lopez", "I agree about the clerks. You have had eight years to hire them."),
        ("Maria Lopez", "And I would open the courthouse on Saturdays."),
        ("Dan Whitaker", "That is not true. I asked for them every year."),
    ]
    assert all(q["kind"] == "direct" for q in quotes)
    assert not any(speaker(q) and speaker(q).lower() in ("i", "you", "we") for q in quotes)


def test_transcript_tag_without_a_full_name_is_title_cased(nlp):
    text = "ODUYA-GRANT: The bridge stays open.\n\nMCNALLY: Until the inspection says otherwise.\n"
    _, quotes = run(nlp, text)
    assert [speaker(q) for q in quotes] == ["Oduya-Grant", "Mcnally"]


def test_interview_q_and_a(nlp):
    text = ("A conversation about the orchard season\n\n"
            "Our food writer, Tessa Morrow, spoke with apple grower Henrik Dahl at his farm.\n\n"
            "Q: How was the harvest?\n\n"
            "A: Better than last year. We lost fewer trees to the frost.\n")
    _, quotes = run(nlp, text)
    assert [(speaker(q), q["text"]) for q in quotes] == [
        ("Tessa Morrow", "How was the harvest?"),
        ("Henrik Dahl", "Better than last year. We lost fewer trees to the frost.")]


def test_claims_inside_a_transcript_line_get_the_line_speaker(nlp):
    from stancekit.claims import claimer_of

    doc, quotes = run(nlp, DEBATE)
    q = next(q for q in quotes if q["text"].startswith("I would hire"))
    assert claimer_of(doc, q["start"], q["end"])["name"] == "Dan Whitaker"


# -- pseudo-quotes and positions --------------------------------------------------------------------

@pytest.mark.parametrize("sentence", [
    "The pilots' union echoed the criticism on Thursday.",
    "The minister defended the mission in a short speech.",
    "Parents criticised the decision at the meeting.",
    "The coach praised the effort after the game.",
])
def test_bare_noun_phrase_object_is_no_quote(nlp, sentence):
    _, quotes = run(nlp, sentence)
    assert quotes == []


def test_position_verb_keeps_its_object(nlp):
    _, quotes = run(nlp, "The teachers' union backs the proposal.")
    assert [q["text"] for q in quotes] == ["the proposal"]


def test_object_with_a_proposition_is_content(nlp):
    _, quotes = run(nlp, "Ruiz criticised the claim that the levee was safe.")
    assert any("the levee was safe" in q["text"] and speaker(q) == "Ruiz" for q in quotes)


# -- missed patterns ---------------------------------------------------------------------------------

def test_short_quoted_phrase_in_reported_speech_is_one_mixed_quote(nlp):
    _, quotes = run(nlp, 'Carla Nunes said the harbor plan was "reckless."')
    assert len(quotes) == 1
    (q,) = quotes
    assert q["kind"] == "mixed" and speaker(q) == "Carla Nunes"
    assert q["text"].endswith('"reckless."')


@pytest.mark.parametrize("sentence, content, who", [
    ("Senator Ana Ruiz called the proposal “reckless and cruel.” The vote is Monday.",
     "the proposal “reckless and cruel.”", "Ana Ruiz"),
    ("The council described the budget as “a betrayal of every family in this town.”",
     "the budget as “a betrayal of every family in this town.”", "council"),
])
def test_quoted_predicate_of_a_cue_object_is_a_mixed_quote(nlp, sentence, content, who):
    """"X called the plan “…”": the object and its quoted predicate are X's words, not a direct quote
    without a speaker."""
    _, quotes = run(nlp, sentence)
    assert [(q["kind"], q["text"], speaker(q)) for q in quotes] == [("mixed", content, who)]


@pytest.mark.parametrize("text, who", [
    ("According to the union, “the offer does not cover the cost of living, and members will not accept it.”",
     "union"),
    ("The dock workers walked out on Friday. According to Marta Silva, the union’s lead negotiator, "
     "“nobody expected the talks to collapse this fast.”", "Marta Silva"),
])
def test_according_to_before_a_direct_quote(nlp, text, who):
    _, quotes = run(nlp, text)
    (q,) = [q for q in quotes if q["kind"] == "direct"]
    assert speaker(q) == who and q["cue"]["text"] == "According to"


def test_according_to_far_from_the_mark_is_no_cue(nlp):
    _, quotes = run(nlp, "According to the report, the port lost money and the board said “nothing at all.”")
    assert not any((q.get("cue") or {}).get("text") == "According to" and q["kind"] == "direct" for q in quotes)


def test_participial_cue(nlp):
    _, quotes = run(nlp, 'Calling the council a "circus," Tom Baker said the vote would be delayed again.')
    direct = [q for q in quotes if q["kind"] == "direct"]
    assert [(q["text"], speaker(q)) for q in direct] == [("circus", "Tom Baker")]
    assert direct[0]["cue"]["text"] == "Calling"


def test_cue_after_a_long_quote_across_a_paragraph_break(nlp):
    text = ("The talks ended without a deal.\n\n"
            "“We are nowhere near an agreement. Nobody in that room wants to move first.\n\n"
            "“I would not bet on a contract this month.”\n\n"
            "The union negotiator, Carla Nunes, said that after the talks broke up on Friday.")
    _, quotes = run(nlp, text)
    direct = [q for q in quotes if q["kind"] == "direct"]
    assert direct and all(speaker(q) == "Carla Nunes" for q in direct)
    # "said that after …" points back: it is no indirect quote of its own
    assert not any(q["text"].startswith("after the talks") for q in quotes)


# -- the pipeline ------------------------------------------------------------------------------------

def test_pipeline_marks_the_title_before_the_parse(nlp):
    from stancekit.config import load_config
    from stancekit.pipeline import Pipeline

    pipe = Pipeline(load_config(claims=False), nlp=nlp, targets=[])
    text = ("Councilman Greer Slams Budget\n\n"
            "“We cannot accept that,” said Dana Whitfield, who chairs the finance committee.")
    res = pipe(text, doc_id="t1")
    assert res.document["title"] == "Councilman Greer Slams Budget"
    (q,) = res.quotes
    assert text[q["start"]:q["end"]] == q["text"] == "We cannot accept that"
    assert q["speaker"]["name"] == "Dana Whitfield"
    # the JSONL way: a title kept apart from a text that does not hold it
    res = pipe("“We cannot accept that,” said Dana Whitfield.", doc_id="t2", title="Budget Row")
    assert res.document["title"] == "Budget Row" and len(res.quotes) == 1


def test_transcript_quote_records_match_the_schema(nlp):
    from stancekit.config import load_config
    from stancekit.pipeline import Pipeline
    from stancekit.schema import check_record

    res = Pipeline(load_config(claims=False), nlp=nlp, targets=[])(DEBATE, doc_id="debate")
    assert [q["speaker"]["resolution"] for q in res.quotes].count("transcript") == 4
    for q in res.quotes:
        check_record("quote", q)
    first_turn = DEBATE.index("PARK:")
    for c in res.claims:
        check_record("claim", c)
        if c["start"] > first_turn:  # inside the turns every sentence is a speaker's
            assert c["claimer"]["kind"] == "speaker" and c["claimer"]["name"]


# -- paragraphs and reporting patterns (issue 11; every sentence written for these tests) ------------

def test_paragraph_starts_pure_text():
    from stancekit.headlines import paragraph_starts

    text = "9:15 a.m.\n\nThe mayor says the bridge is safe.\nCritics disagree."
    assert [text[i:i + 4] for i in paragraph_starts(text)] == ["The ", "Crit"]
    wrapped = ("The harbour board met on Tuesday and said the new\n"
               "berths would open in spring, two months later than\n"
               "planned, because the dredging contract was delayed\n"
               "by a dispute over the price of the work done.\n\nA second paragraph.")
    assert [wrapped[i:i + 8] for i in paragraph_starts(wrapped)] == ["A second"]


def test_a_paragraph_break_ends_a_sentence(nlp):
    text = "4:10 p.m.\n\nThe transit authority says the night buses will run again in March."
    doc, quotes = run(nlp, text)
    sents = [s.text.strip() for s in doc.sents]
    assert "4:10 p.m." in sents
    [q] = quotes
    assert q["text"] == "the night buses will run again in March"
    assert q["speaker"]["mention"]["text"].lower() == "the transit authority"


def test_gerund_cue_takes_the_subject_of_its_clause(nlp):
    _, quotes = run(nlp, "The mayor angered parents by saying that the schools would close in June.")
    [q] = quotes
    assert q["text"] == "the schools would close in June"
    assert q["speaker"]["mention"]["text"] == "The mayor"
    _, quotes = run(nlp, "After saying he was tired of the fight, the senator left the room.")
    [q] = quotes
    assert q["text"] == "he was tired of the fight"
    assert q["speaker"]["mention"]["text"] == "the senator"


def test_lemma_with_a_dropped_e_is_still_a_cue(nlp):
    _, quotes = run(nlp, "Jones hoped that the talks would resume before the holiday.")
    [q] = quotes
    assert q["text"] == "the talks would resume before the holiday"
    assert q["cue"]["text"] == "hoped"


def test_question_and_call_for_clauses(nlp):
    _, quotes = run(nlp, "The host also asked the governor if the budget would cover the new schools next year.")
    [q] = quotes
    assert q["text"] == "the budget would cover the new schools next year"
    _, quotes = run(nlp, "Senator Lopez is calling for the state to expand the bus network in the valley.")
    [q] = quotes
    assert q["text"].endswith("the state to expand the bus network in the valley")
    assert q["speaker"]["name"] == "Lopez" or q["speaker"]["name"].endswith("Lopez")


def test_a_survey_found_that(nlp):
    _, quotes = run(nlp, "A university survey found last week that most residents would back the new tax on sugar.")
    [q] = quotes
    assert q["cue"]["text"] == "found"
    assert q["text"] == "most residents would back the new tax on sugar"
    assert "survey" in q["speaker"]["mention"]["text"]


def test_referred_to_as_needs_the_predicate(nlp):
    _, quotes = run(nlp, 'She referred to the councillor as "a tireless champion of the poor" in her speech.')
    [q] = quotes
    assert q["kind"] == "mixed" and q["text"].startswith("the councillor as")
    _, quotes = run(nlp, "She referred to the councillor in her speech.")
    assert quotes == []


def test_outer_attribution_wins_over_the_one_inside_it(nlp):
    _, quotes = run(nlp, "The council voted to close the library at the end of the year, the newspaper reported.")
    [q] = quotes
    assert q["cue"]["text"] == "reported"
    assert q["text"].startswith("The council voted to close the library")


def test_the_reason_after_the_object_is_part_of_the_position(nlp):
    _, quotes = run(nlp, "The union criticized the mayor for raising the fares twice in one year.")
    [q] = quotes
    assert q["text"] == "the mayor for raising the fares twice in one year"
    _, quotes = run(nlp, "The union criticized the mayor.")
    assert quotes == []  # a bare object, no proposition


def test_inverted_frame_with_a_misparsed_name(nlp):
    _, quotes = run(nlp, "''I'm better with my hands than with spreadsheets,'' said Rosa Lind, half joking.")
    [q] = quotes
    assert q["speaker"]["name"] == "Rosa Lind"


def test_short_frame_after_a_question_mark(nlp):
    _, quotes = run(nlp, "“It looks like we will not get along, who knows?” Jones told a radio station.")
    [q] = quotes
    assert q["cue"]["text"] == "told" and q["speaker"]["name"] == "Jones"
    _, quotes = run(nlp, "“We will appeal by Friday.” Ortega, for her part, argued that the ruling would not stand.")
    direct = next(q for q in quotes if q["kind"] == "direct")
    assert direct["speaker"] is None  # the next sentence has a content of its own


def test_cue_after_a_long_subject(nlp):
    _, quotes = run(nlp, "“Every hour in that cell felt like a day,” Mr. Harlan, now 79 and living in Portland, "
                         "Maine, said by telephone this week.")
    [q] = quotes
    assert q["cue"]["text"] == "said" and q["speaker"]["name"].endswith("Harlan")
    _, quotes = run(nlp, "“We have to finish the school first,” the crowd chanted as the mayor, who had arrived "
                         "late from the airport with two aides, said nothing.")
    # the distant cue's subject ("the mayor … said") is not the speaker: the crowd chanted the words
    assert quotes[0]["cue"]["text"] == "chanted" and quotes[0]["speaker"]["name"] == "crowd"


def test_as_she_put_it(nlp):
    _, quotes = run(nlp, 'As Tom Reyes, a professor of law at the state university, put it, '
                         '"the court will decide this in a week."')
    [q] = quotes
    assert q["cue"]["text"] == "put" and q["speaker"]["name"] == "Tom Reyes"
    _, quotes = run(nlp, 'He put it on the table and walked out.')
    assert quotes == []


def test_frame_first_and_split_clauses(nlp):
    _, quotes = run(nlp, "Instead, the governor told reporters, the plan would be to widen the road next summer.")
    [q] = quotes
    assert q["text"] == "the plan would be to widen the road next summer" and q["cue"]["text"] == "told"
    _, quotes = run(nlp, "But 22 percent of likely voters still say they don’t yet know enough about the mayor.")
    [q] = quotes
    assert q["text"] == "they don’t yet know enough about the mayor"
    _, quotes = run(nlp, "What he said was true.")
    assert quotes == []


def test_a_quoted_phrase_inside_a_sentence_is_no_direct_quote(nlp):
    _, quotes = run(nlp, "The senator saved her praise for the cause of “cheaper insulin for everyone.”")
    assert all(q["kind"] != "direct" for q in quotes)
    _, quotes = run(nlp, "Clinton slammed the proposal as “reprehensible, prejudiced and divisive.”")
    [q] = quotes
    assert q["kind"] == "mixed" and q["cue"]["text"] == "slammed"
    _, quotes = run(nlp, "He said “we will win this race, and we will win it soon.”")
    assert quotes[0]["kind"] == "direct"
