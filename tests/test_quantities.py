"""Quantity parser: numbers, units, approximation, money, percentages, years and relative dates."""

from __future__ import annotations

import pytest

from stancekit.quantities import parse_quantities


def one(text: str, **kwargs) -> dict:
    """The single quantity of ``text`` (fails when there is not exactly one)."""
    found = parse_quantities(text, **kwargs)
    assert len(found) == 1, found
    return found[0]


def brief(q: dict) -> tuple:
    return q["value"], q["unit"], q["approx"]


@pytest.mark.parametrize("text, expected", [
    # the examples
    ("some 850 tonnes", (850, "tonne", "approximate")),
    ("more than 250,000 hectares", (250000, "hectare", "lower_bound")),
    ("billions of dollars", (1_000_000_000, "dollar", "lower_bound")),
    # approximation words
    ("about 3,000 families", (3000, "family", "approximate")),
    ("roughly 1,200 troops", (1200, "troop", "approximate")),
    ("an estimated 120,000 families", (120000, "family", "approximate")),
    ("nearly 40 percent", (40, "percent", "upper_bound")),
    ("almost 500 schools", (500, "school", "upper_bound")),
    ("at least 200 farms", (200, "farm", "lower_bound")),
    ("over 5,000 km", (5000, "kilometre", "lower_bound")),
    ("up to 60 megawatts", (60, "megawatt", "upper_bound")),
    ("less than 10 percent", (10, "percent", "upper_bound")),
    ("fewer than 2,000 animals", (2000, "animal", "upper_bound")),
    ("as many as 300 homes", (300, "home", "upper_bound")),
    ("500 or more protesters", (500, None, "lower_bound")),
    # written numbers and counted nouns
    ("two soldiers", (2, "soldier", "exact")),
    ("twelve people", (12, "person", "exact")),
    ("two local leaders", (2, "leader", "exact")),
    ("a decade", (1, "decade", "exact")),
    ("half a million people", (500000, "person", "exact")),
    ("some 40 million Colombians", (40_000_000, "colombian", "approximate")),
    # money
    ("$1.2 billion", (1_200_000_000, "dollar", "exact")),
    ("at least $1.2 billion", (1_200_000_000, "dollar", "lower_bound")),
    ("US$ 40 million", (40_000_000, "dollar", "exact")),
    ("12 million euros", (12_000_000, "euro", "exact")),
    ("£3bn", (3_000_000_000, "pound sterling", "exact")),
    ("$4.5m", (4_500_000, "dollar", "exact")),
    ("tens of millions of dollars", (10_000_000, "dollar", "lower_bound")),
    # percentages
    ("40 percent", (40, "percent", "exact")),
    ("40%", (40, "percent", "exact")),
    ("12 per cent", (12, "percent", "exact")),
    ("3.2 percentage points", (3.2, "percentage point", "exact")),
    # vague magnitudes and ratios
    ("hundreds of thousands of refugees", (100000, "refugee", "lower_bound")),
    ("dozens of people", (12, "person", "lower_bound")),
    ("nearly double", (2, None, "upper_bound")),
    ("cases have tripled", (3, None, "exact")),
    ("three times as many", (3, None, "exact")),
    ("less than a fifth of the price", (0.2, None, "upper_bound")),
    # hyphenated durations
    ("a three-year trial", (3, "year", "exact")),
    ("a 40-day stoppage", (40, "day", "exact")),
])
def test_quantity_forms(text, expected):
    assert brief(one(text)) == expected


def test_offsets_and_text_cover_the_modifier():
    text = "Yet coca cultivation has soared to more than 250,000 hectares, the highest ever."
    q = one(text)
    assert q["text"] == "more than 250,000 hectares"
    assert text[q["start"]:q["end"]] == q["text"]


def test_ranges_give_low_and_high():
    q = one("between 10 and 20 people died")
    assert (q["value"], q["value_max"], q["approx"], q["unit"]) == (10, 20, "range", "person")
    q = one("the 10-20 range")
    assert (q["value"], q["value_max"], q["approx"]) == (10, 20, "range")


def test_year_ranges_and_decades():
    q = one("between 2019 and 2021")
    assert (q["value"], q["value_max"], q["unit"], q["date"]) == (2019, 2021, "year", "2019/2021")
    q = one("the drug wars of the 1980s")
    assert (q["value"], q["value_max"], q["approx"], q["date"]) == (1980, 1989, "range", "1980/1989")


def test_calendar_year_is_a_year_with_a_date():
    q = one("The last time Colombia was decertified, in 1996, the decision reverberated.")
    assert (q["value"], q["unit"], q["approx"], q["date"]) == (1996, "year", "exact", "1996")


def test_four_digit_count_is_not_a_year():
    assert brief(one("In all, 2000 people signed the petition.")) == (2000, "person", "exact")


def test_years_ago_resolved_against_the_article_date():
    q = one("the figure from five years ago", ref_date="2025-09-01")
    assert (q["value"], q["unit"], q["text"], q["date"]) == (5, "year", "five years", "2020")
    assert "date" not in parse_quantities("the figure from five years ago")[0]
    assert one("a decade ago", ref_date="2025-03-10")["date"] == "2015"
    assert one("three months ago", ref_date="2025-03-10")["date"] == "2024-12"
    assert one("two weeks ago", ref_date="2025-03-10")["date"] == "2025-02-24"


def test_deictic_and_calendar_dates():
    assert one("last year", ref_date="2025-09-01")["date"] == "2024"
    assert one("Just last week", ref_date="2025-09-01")["date"] == "2025-08-25"
    assert one("yesterday", ref_date="2025-09-01T08:00:00Z")["date"] == "2025-08-31"
    q = one("By September 15, the White House will decide", ref_date="2025-09-01")
    assert (q["value"], q["unit"], q["date"]) == (None, "date", "2025-09-15")
    assert one("By September 15, the White House will decide")["date"] == "--09-15"
    assert [q["date"] for q in parse_quantities("on 15 May 2024 and in March 2020")] == ["2024-05-15", "2020-03"]


def test_rates_keep_the_base_unit():
    q = one("an estimated $90 million a day")
    assert brief(q) == (90_000_000, "dollar", "approximate") and q["per"] == "day"
    q = one("about 3.5 million barrels a day")
    assert brief(q) == (3_500_000, "barrel", "approximate") and q["per"] == "day"
    assert brief(one("about $5 a dose")) == (5, "dollar", "approximate")


def test_seed_sentence_quantities():
    text = ("Authorities seized record quantities of cocaine – some 850 tonnes in 2024, nearly double "
            "the figure from five years ago.")
    got = [(q["text"], q["value"], q["unit"], q["approx"]) for q in parse_quantities(text)]
    assert got == [("some 850 tonnes", 850, "tonne", "approximate"), ("2024", 2024, "year", "exact"),
                   ("nearly double", 2, None, "upper_bound"), ("five years", 5, "year", "exact")]


@pytest.mark.parametrize("text", [
    "COVID-19 spread quickly", "The 5G network", "at 9 a.m. on Monday", "at 10:30 GMT",
    "one of the most conflict-ridden departments", "for the second time", "World War II",
])
def test_not_quantities(text):
    assert parse_quantities(text) == []


def test_values_are_ints_when_whole_and_offsets_are_consistent():
    text = "Inflation slowed to 3.1% in October from 3.7% a month earlier, and 1,500 jobs were lost."
    found = parse_quantities(text)
    assert [q["value"] for q in found] == [3.1, 3.7, 1500]
    assert isinstance(found[-1]["value"], int)
    for q in found:
        assert text[q["start"]:q["end"]] == q["text"]


def test_empty_and_numberless_text():
    assert parse_quantities("") == []
    assert parse_quantities("The mood in the square was tense.") == []


def test_inflect_is_imported_without_typeguard_instrumentation():
    """quantulum3's inflect is imported as under ``python -O`` (no per-method recompilation), typeguard's
    decorator is put back afterwards, and the plurals quantulum3 and the counted nouns need still come out."""
    import subprocess
    import sys

    probe = (
        "import typeguard; original = typeguard.typechecked\n"
        "from stancekit.quantities import parse_quantities, _singular\n"
        "found = parse_quantities('two soldiers and more than 250,000 hectares')\n"
        "import inflect\n"
        "assert typeguard.typechecked is original\n"
        "assert 'typeguard' not in inflect.engine.plural.__code__.co_names\n"
        "assert [(q['value'], q['unit']) for q in found] == [(2, 'soldier'), (250000, 'hectare')], found\n"
        "assert inflect.engine().plural('tonne') == 'tonnes' and _singular('hectares') == 'hectare'\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_text_without_any_number_is_not_parsed_by_quantulum(monkeypatch):
    """quantulum3 reads "a"/"an" as one and glues the next word's letters into unit symbols ("a racist" as
    1 roentgen year curie stere): text with no digit, number word or "a" + counting unit is not given to it."""
    from quantulum3 import parser

    from stancekit.quantities import parse_quantities

    calls = []
    real = parser.parse
    monkeypatch.setattr(parser, "parse", lambda text, *a, **k: calls.append(text) or real(text, *a, **k))
    for text in ("The senator called his rival a racist and a fascist.", "It was a sham, a halt & a mess.",
                 "She took a bit of time to answer."):
        assert parse_quantities(text) == []
    assert calls == []
    # a number, a number word, or "a" before a counting unit still reach it
    assert [q["value"] for q in parse_quantities("Exports rose 12 percent.")] == [12]
    assert [q["value"] for q in parse_quantities("Seven ministers resigned.")] == [7]
    assert parse_quantities("The dam will be finished within a decade.", ref_date="2024-01-01")
    assert len(calls) == 3


def test_quantulum_reads_only_the_words_around_each_number(monkeypatch):
    """quantulum3's cost grows with the text it scans: it gets each number with a few words of context
    (numbers close together share one stretch), so an "a" far from any number is not read as one."""
    from quantulum3 import parser

    from stancekit.quantities import WINDOW_AFTER, WINDOW_BEFORE, _windows

    text = ("Officials counted 312 ballots on Tuesday, but the mayor then called a halt to the recount "
            "and blamed a slew of late filings, which she said had doubled since 2019.")
    calls = []
    real = parser.parse
    monkeypatch.setattr(parser, "parse", lambda t, *a, **k: calls.append(t) or real(t, *a, **k))
    found = parse_quantities(text)
    assert [(q["text"], q["value"], q["unit"]) for q in found] == [
        ("312 ballots", 312, "ballot"), ("doubled", 2, None), ("2019", 2019, "year")]
    for q in found:  # offsets are the text's, not a stretch's
        assert text[q["start"]:q["end"]] == q["text"]
    # "312" and "2019" are far apart: two stretches, neither holding "a halt" or "a slew"
    assert calls == [text[a:b] for a, b in _windows(text)] and len(calls) == 2
    assert all("a halt" not in c and "a slew" not in c for c in calls)
    first = calls[0].split()
    assert first[first.index("312") - 2:first.index("312")] == ["Officials", "counted"]
    assert len(first) <= WINDOW_BEFORE + 1 + WINDOW_AFTER
    # numbers a few words apart share a stretch; a text with none has no stretch
    assert _windows("between 2006 and 2012") == [(0, 21)]
    assert _windows("No figures were given.") == []


def test_ambiguous_units_are_told_apart_by_the_whole_text(monkeypatch):
    """quantulum3 chooses between units of one name ("pounds": money or weight) by the words of the text
    it parses; parsing a stretch of it, it still gets the whole text for that."""
    from quantulum3 import no_classifier

    from stancekit.quantities import _windows

    text = ("The bakery sold 5 pounds of flour to each family on the list, the owner told the council on "
            "Monday evening after the market had closed for the winter.")
    seen = []
    real = no_classifier.disambiguate_no_classifier
    monkeypatch.setattr(no_classifier, "disambiguate_no_classifier",
                        lambda entities, t, lang="en_US": seen.append(t) or real(entities, t, lang))
    found = parse_quantities(text)
    assert [q["value"] for q in found] == [5] and "pound" in found[0]["unit"]
    assert _windows(text) != [(0, len(text))]  # quantulum3 read a stretch ...
    assert seen and set(seen) == {text}  # ... and told the units apart by the whole text


@pytest.mark.parametrize("text, low, high, unit", [
    ("The party took the district 61% to 37%, its widest margin there.", 37, 61, "percent"),
    ("Estimates put the crowd at 1,500 to 2,000 people.", 1500, 2000, "person"),
    ("The project ran from 2019 to 2023.", 2019, 2023, "year"),
    ("Monthly passes would rise from $80 to $95.", 80, 95, "dollar"),
])
def test_ranges_with_a_sign_or_thousands_separators(text, low, high, unit):
    """Both ends are kept (not quantulum3's middle as an approximate value), "1,500 to 2,000" is a count,
    not a range of years. After "from" both ends are kept as a range too: "from 2 to 9 points" is a range,
    "rise from $80 to $95" a change, and the words do not tell them apart."""
    q = one(text)
    assert (q["value"], q.get("value_max"), q["unit"], q["approx"]) == (low, high, unit, "range")
    assert ("date" in q) == (unit == "year")
