"""Quantities in claims: numbers with their unit, approximation and, for dates, an ISO value.

:func:`parse_quantities` turns "some 850 tonnes", "more than 250,000 hectares", "billions of dollars",
"$1.2 billion", "40 percent", "in 1996" or "five years ago" into plain dicts::

    {"text": "some 850 tonnes", "start": 0, "end": 15, "value": 850, "unit": "tonne",
     "approx": "approximate"}

The steps, each one function below:

1. expressions quantulum3 does not cover are found first: newsroom money ("£3bn"), vague
   magnitudes ("billions of dollars", "tens of thousands of people"), calendar dates
   ("September 15", "15 May 2024"), decades ("the 1980s"), deictic dates ("last year",
   "yesterday") and ratios ("nearly double", "tripled": unit None);
2. quantulum3 finds numbers, number words, ranges and units everywhere else, reading only a few
   words around each number (:func:`_windows`; its pickled unit classifier is switched off: units
   are resolved by its rule-based disambiguation, over the whole text);
3. each number is normalised: a bare four-digit number that counts nothing is a calendar year; a
   currency symbol before the number gives the unit ("US$ 40 million"); a dimensionless number takes
   the noun it counts as unit ("two soldiers" → soldier, singular by ``inflect``); "per cent" and
   "percentage" become ``percent``; "N years ago" is resolved against ``ref_date`` (the text stays
   "N years"); a rate keeps its base unit and names the period in ``per`` ("$90 million a day");
4. the words around the number give the approximation: "some", "about", "an estimated" →
   approximate; "more than", "at least", "over" → lower_bound; "nearly", "almost", "up to",
   "less than", "as many as" → upper_bound; "between 10 and 20", "10-20" → range (``value`` is the
   low end, ``value_max`` the high end). These follow the sample corpus annotation guidelines.

Units are singular and lower-case ("tonne", "hectare", "dollar", "percent", "year", "soldier");
dates are ISO 8601 at the precision the text gives ("2020", "2024-09", "2025-09-15", "--09-15").
"""

from __future__ import annotations

import bisect
import calendar
import re
import sys
import warnings
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache
from typing import Iterator

APPROX_BEFORE = (
    ("lower_bound", r"more than|greater than|over|above|at least|upwards of|in excess of|exceeding|"
                    r"no fewer than|no less than|not less than|a minimum of|just over|well over|"
                    r"north of|beyond"),
    ("upper_bound", r"up to|less than|fewer than|under|below|at most|no more than|not more than|"
                    r"as many as|as much as|as high as|a maximum of|just under|shy of|short of|nearly|"
                    r"almost|not quite"),
    ("approximate", r"some|about|around|roughly|approximately|close to|circa|ca\.|"
                    r"an estimated|estimated|an approximate|approx\.|~|±|just about|the equivalent of"),
)
APPROX_AFTER = (
    ("lower_bound", r"or more|and more|and up|or higher|and counting|\+|-plus"),
    ("upper_bound", r"or less|or fewer|or lower|at most"),
    ("approximate", r"or so|or thereabouts|odd"),
)
RATIOS = {"double": 2, "doubled": 2, "doubling": 2, "twice": 2, "twofold": 2, "triple": 3, "tripled": 3,
          "tripling": 3, "treble": 3, "trebled": 3, "threefold": 3, "quadruple": 4, "quadrupled": 4,
          "fourfold": 4, "halved": 0.5, "tenfold": 10}
VAGUE_SCALES = {"tens": 10, "dozens": 12, "scores": 20}  # the others come from quantulum3's SCALES
MONEY_SUFFIXES = {"bn": 1e9, "b": 1e9, "mn": 1e6, "m": 1e6, "mln": 1e6, "tn": 1e12, "trn": 1e12, "k": 1e3}
TIME_UNITS = ("day", "week", "month", "year", "decade", "century")
DEICTIC = {"last": -1, "previous": -1, "next": 1, "coming": 1, "this": 0}
CURRENCY_PREFIX = re.compile(r"(?:[A-Z]{1,3})?[$€£¥₹₩₽]\s?$")
NUMBER_INSIDE_WORD = re.compile(r"[A-Za-z]-?$")
PERCENT_NAMES = {"percentage": "percent", "per cent": "percent", "percent": "percent",
                 "percentage point": "percentage point"}
UNIT_RENAMES = {"united states dollar": "dollar", "metric ton": "tonne", "degree angle": "degree"}


# ---------------------------------------------------------------------------------------------
# the entry point
# ---------------------------------------------------------------------------------------------

def parse_quantities(text: str, *, ref_date: str | None = None) -> list[dict]:
    """All quantities in ``text``, sorted by offset (see the module doc for the fields).

    ``ref_date`` (ISO date of the article, e.g. ``"2025-09-01"``) resolves relative dates such as
    "five years ago" or "last year" into a ``date`` field; without it they keep value and unit only.
    """
    ref = _parse_ref_date(ref_date)
    found: list[dict] = []
    for finder in (_money_abbreviations, _vague_magnitudes, _calendar_dates, _decades, _deictic_dates,
                   _ratios):
        for q in finder(text, ref):
            if _free(found, q["start"], q["end"]):
                found.append(q)
    for q in _quantulum(text, ref):
        if _free(found, q["start"], q["end"]):
            found.append(q)
    found.sort(key=lambda q: q["start"])
    found = _merge_rates(text, found)
    for q in found:
        _apply_approximation(text, q)
    return found


def _free(found: list[dict], start: int, end: int) -> bool:
    return all(end <= q["start"] or start >= q["end"] for q in found)


def _quantity(text: str, start: int, end: int, value, unit: str | None, approx: str = "exact",
              **extra) -> dict:
    q = {"text": text[start:end], "start": start, "end": end, "value": _clean_number(value),
         "unit": unit, "approx": approx}
    q.update({k: v for k, v in extra.items() if v is not None})
    return q


def _clean_number(value):
    if value is None:
        return None
    value = float(value)
    if value.is_integer() and abs(value) < 1e18:
        return int(value)
    return round(value, 6)


# ---------------------------------------------------------------------------------------------
# 1. expressions found before quantulum3
# ---------------------------------------------------------------------------------------------

def _money_abbreviations(text: str, ref: date | None) -> Iterator[dict]:
    """ "£3bn", "$4.5m", "€200k": the newsroom shorthand quantulum3 reads as units (barn, metre)."""
    suffixes = "|".join(sorted(MONEY_SUFFIXES, key=len, reverse=True))
    pattern = rf"((?:[A-Z]{{1,3}})?[$€£¥₹])\s?(\d[\d,]*(?:\.\d+)?)\s?({suffixes})\b"
    for m in re.finditer(pattern, text, re.IGNORECASE):
        unit = _currency_name(m.group(1))
        value = float(m.group(2).replace(",", "")) * MONEY_SUFFIXES[m.group(3).lower()]
        yield _quantity(text, m.start(), m.end(), value, unit)


@lru_cache(maxsize=None)
def _scales() -> dict[str, int]:
    """Vague magnitude words ("hundreds", "billions") and their value, from quantulum3's SCALES."""
    _import_inflect()
    from quantulum3._lang.en_US.regex import SCALES

    out = dict(VAGUE_SCALES)
    for i, word in enumerate(SCALES):
        out[word + "s"] = 100 if word == "hundred" else 10 ** (3 * i)
    return out


@lru_cache(maxsize=None)
def _vague_re() -> re.Pattern:
    words = "|".join(sorted(_scales(), key=len, reverse=True))
    return re.compile(rf"\b((?:{words})(?:\s+of\s+(?:{words}))*)\b(?:\s+of\s+((?:[A-Za-z-]+\s+){{0,2}}[a-z]+)\b)?",
                      re.IGNORECASE)


def _vague_magnitudes(text: str, ref: date | None) -> Iterator[dict]:
    """ "billions of dollars" → 1e9 dollar lower_bound; "tens of thousands of people" → 1e4 person."""
    scales = _scales()
    for m in _vague_re().finditer(text):
        value = 1
        for word in re.split(r"\s+of\s+", m.group(1).lower()):
            value *= scales[word]
        unit, end = None, m.end(1)
        if m.group(2):
            offset = m.start(2)
            for word in re.finditer(r"\S+", m.group(2)):
                unit = _currency_name(word.group(0)) or _singular(word.group(0))
                if unit is not None:
                    end = offset + word.end()
                    break
        yield _quantity(text, m.start(1), end, value, unit, "lower_bound")


@lru_cache(maxsize=None)
def _month_numbers() -> dict[str, int]:
    months = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
    months.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
    months["sept"] = 9
    return months


@lru_cache(maxsize=None)
def _date_res() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    month = "|".join(sorted(_month_numbers(), key=len, reverse=True))
    month = rf"(?P<month>(?:{month})\.?)"
    day = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
    year = r"(?P<year>1[5-9]\d\d|20\d\d)"
    month_day = re.compile(rf"\b{month}\s+{day}\b(?:,?\s+{year}\b)?", re.IGNORECASE)
    day_month = re.compile(rf"\b{day}\s+(?:of\s+)?{month}(?:,?\s+{year}\b)?", re.IGNORECASE)
    month_year = re.compile(rf"\b{month}\s+(?:of\s+)?{year}\b", re.IGNORECASE)
    return month_day, day_month, month_year


def _calendar_dates(text: str, ref: date | None) -> Iterator[dict]:
    """ "September 15" (year from the article date), "15 May 2024", "March 2020"."""
    months = _month_numbers()
    seen: list[dict] = []
    for pattern in _date_res():
        for m in pattern.finditer(text):
            name = m.group("month").rstrip(".")
            if not name[0].isupper():  # "may", "march" as verbs
                continue
            month = months[name.lower()]
            groups = m.groupdict()
            day = int(groups["day"]) if groups.get("day") else None
            year = int(groups["year"]) if groups.get("year") else None
            if day is not None and not 1 <= day <= calendar.monthrange(year or 2000, month)[1]:
                continue
            if day is None:
                iso = f"{year:04d}-{month:02d}"
            elif year is not None:
                iso = f"{year:04d}-{month:02d}-{day:02d}"
            elif ref is not None:
                iso = f"{ref.year:04d}-{month:02d}-{day:02d}"
            else:
                iso = f"--{month:02d}-{day:02d}"
            q = _quantity(text, m.start(), m.end(), None, "date", date=iso)
            if _free(seen, q["start"], q["end"]):
                seen.append(q)
                yield q


def _ratios(text: str, ref: date | None) -> Iterator[dict]:
    """ "nearly double", "has tripled", "threefold": a ratio, unit None."""
    words = "|".join(RATIOS)
    for m in re.finditer(rf"(?<![\w-])({words})(?![\w-])(?!\s+(?:a|an|per|each)\s)", text, re.IGNORECASE):
        yield _quantity(text, m.start(), m.end(), RATIOS[m.group(1).lower()], None)


def _decades(text: str, ref: date | None) -> Iterator[dict]:
    """ "the 1980s" → 1980..1989, unit year, range."""
    for m in re.finditer(r"\b(1[5-9]\d0|20\d0)['’]?s\b", text):
        first = int(m.group(1))
        yield _quantity(text, m.start(), m.end(), first, "year", "range", value_max=first + 9,
                        date=f"{first}/{first + 9}")


def _deictic_dates(text: str, ref: date | None) -> Iterator[dict]:
    """ "last year", "next month", "this week", "yesterday": a date when the article date is known."""
    units = "|".join(TIME_UNITS)
    for m in re.finditer(rf"\b(last|previous|next|coming|this)\s+({units})\b", text, re.IGNORECASE):
        step, unit = DEICTIC[m.group(1).lower()], m.group(2).lower()
        yield _quantity(text, m.start(), m.end(), None, "date", date=_shift(ref, step, unit))
    for m in re.finditer(r"\b(yesterday|tomorrow)\b", text, re.IGNORECASE):
        step = -1 if m.group(1).lower() == "yesterday" else 1
        yield _quantity(text, m.start(), m.end(), None, "date", date=_shift(ref, step, "day"))


# ---------------------------------------------------------------------------------------------
# 2.-3. numbers and units by quantulum3, normalised
# ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _import_inflect():
    """``inflect`` (quantulum3 builds its plural unit names with it), imported the way ``python -O`` would.

    inflect decorates its methods with typeguard's ``@typechecked``, which at import re-parses and
    recompiles inflect's whole module once per decorated method (about 2 s of CPU, most of the claims
    stage's first call) and then checks argument types on every call. typeguard documents the
    decorator as a no-op under ``python -O``; the same is done here, for the import of inflect only:
    ``typeguard.typechecked`` is the identity while inflect is imported, and restored after. The type
    checks only ever raise (on a non-string or empty word), and neither quantulum3 nor
    :func:`_singular` passes such a word, so no result changes. Every quantulum3 entry point below
    calls this first, so that quantulum3's own lazy import of inflect finds it loaded.
    """
    if "inflect" not in sys.modules:
        try:
            import typeguard
        except ImportError:  # an inflect without typeguard: nothing to switch off
            typeguard = None
        original = getattr(typeguard, "typechecked", None)
        if original is not None:
            typeguard.typechecked = _no_typecheck
        try:
            import inflect  # noqa: F401
        finally:
            if original is not None:
                typeguard.typechecked = original
    return sys.modules["inflect"]


def _no_typecheck(target=None, **_options):
    """Stands in for ``typeguard.typechecked`` (bare or with options) while inflect is imported."""
    if target is None:
        return lambda f: f
    return target


def _import_classifier_module():
    """``quantulum3.classifier``, imported as if its optional classifier dependencies were missing.

    Its module imports joblib and scikit-learn (about 1.5 s with SciPy) only to offer the pickled unit
    classifier, which stancekit never uses (:func:`_rule_based_units`); with ``joblib`` unimportable
    for the length of that import, the module takes its own documented no-classifier path
    (``USE_CLF = False``). A process that has imported joblib already keeps it: nothing is blocked then.
    """
    if "quantulum3.classifier" in sys.modules:
        return sys.modules["quantulum3.classifier"]
    blocked = "joblib" not in sys.modules
    if blocked:
        sys.modules["joblib"] = None  # ``import joblib`` raises ImportError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its "classifier dependencies not installed" warning
            from quantulum3 import classifier
    finally:
        if blocked:
            del sys.modules["joblib"]
    return classifier


@contextmanager
def _rule_based_units() -> Iterator[None]:
    """quantulum3 without its pickled scikit-learn classifier (rule-based unit disambiguation)."""
    _import_inflect()
    classifier = _import_classifier_module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        old = classifier.USE_CLF
        classifier.USE_CLF = False
        try:
            yield
        finally:
            classifier.USE_CLF = old


@lru_cache(maxsize=1)
def _number_pattern() -> re.Pattern:
    """A digit, a vulgar fraction or one of quantulum3's own number words: text without any of them holds
    no quantity for quantulum3, whose parse is the costliest step of a claim record."""
    from quantulum3._lang.en_US import regex as words

    vocab = [w for w in (*words.UNITS, *words.TENS, *words.SCALES, *words.DECIMALS) if w]
    vocab += ["once", "twice", "thrice", "dozen"]
    # quantulum3 reads "a"/"an" as one: kept before a unit a news claim counts in ("within a decade", "a dime")
    units = [*TIME_UNITS, "hour", "minute", "second", "night", "dime", "penny", "cent", "dollar", "pound", "euro",
             "mile", "kilomet", "metre", "meter", "ton", "barrel", "acre", "gallon", "litre", "liter"]
    return re.compile(r"\d|[\u00bc-\u00be\u2150-\u215e]|\b(?:%s)|\ban?\s+(?:%s)" % (
        "|".join(sorted(vocab, key=len, reverse=True)), "|".join(units)), re.IGNORECASE)


# words of context quantulum3 gets on each side of a number: before, the approximation words and its own
# "several/couple/some hundred" check (three words); after, the unit ("metric tons", "kilometres per hour")
WINDOW_BEFORE, WINDOW_AFTER = 6, 8


def _windows(text: str) -> list[tuple[int, int]]:
    """The stretches of ``text`` that can hold a quantity for quantulum3: each number (digit, fraction,
    number word, "a" + counting unit) with :data:`WINDOW_BEFORE` words before it and
    :data:`WINDOW_AFTER` after, overlapping stretches merged; empty when there is no number. They
    begin and end at whitespace, so no word is cut."""
    anchors = [m.span() for m in _number_pattern().finditer(text)]
    if not anchors:
        return []
    words = [m.span() for m in re.finditer(r"\S+", text)]
    starts = [a for a, _ in words]
    out: list[list[int]] = []
    for a, b in anchors:
        i = max(0, bisect.bisect_right(starts, a) - 1 - WINDOW_BEFORE)
        j = min(len(words) - 1, bisect.bisect_left(starts, b) - 1 + WINDOW_AFTER)
        lo, hi = words[i][0], words[max(i, j)][1]
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(a, b) for a, b in out]


def _parse_windows(text: str, windows: list[tuple[int, int]]) -> list:
    """quantulum3's parse of each :func:`_windows` stretch (its cost grows with the text it scans: a
    claim's numbers are usually a few words of a long sentence), spans relative to ``text``."""
    from quantulum3 import parser

    found = []
    with _units_told_apart_in(text):
        for a, b in windows:
            for item in _safe_parse(parser, text[a:b]):
                found.append((item, (item.span[0] + a, item.span[1] + a)))
    return found


@contextmanager
def _units_told_apart_in(text: str) -> Iterator[None]:
    """quantulum3 tells ambiguous units apart ("second": time or arc) by the words of the text it parses:
    while it parses windows, it is given the whole ``text`` for that, as when it parsed the whole text."""
    from quantulum3 import no_classifier

    rule = no_classifier.disambiguate_no_classifier
    no_classifier.disambiguate_no_classifier = lambda entities, _window, lang="en_US": rule(entities, text, lang)
    try:
        yield
    finally:
        no_classifier.disambiguate_no_classifier = rule


def _safe_parse(parser, text: str) -> list:
    try:
        return parser.parse(text)
    except Exception:  # quantulum3 fails on some odd strings; a claim without numbers is fine
        return []


def _quantulum(text: str, ref: date | None) -> Iterator[dict]:
    windows = _windows(text)
    if not windows:
        return
    with _rule_based_units():
        from quantulum3 import parser

        parsed = _parse_windows(text, windows)
    for item, (start, end) in parsed:
        if not text[start:end].strip():
            continue
        article = re.search(r"\d\s+an?$", text[start:end])
        if article is not None:  # "$5 a dose": the "a" is an article, not the annum symbol
            end = start + article.start() + 1
            with _rule_based_units():
                again = parser.parse(text[start:end])
            if not again:
                continue
            item = again[0]
        if start > 0 and NUMBER_INSIDE_WORD.search(text[max(0, start - 2):start]) and \
                text[start:start + 1].isdigit():
            continue  # "COVID-19", "F-16", "G7"
        if re.search(r"\d[:.]$", text[max(0, start - 2):start]):
            continue  # the minutes of "10:30"
        if end < len(text) and text[end].isalpha() and text[end - 1].isdigit():
            continue  # "5G", "3D"
        q = _normalise(text, item, start, end, ref)
        if q is not None:
            yield q


def _normalise(text: str, item, start: int, end: int, ref: date | None) -> dict | None:
    surface = text[start:end]
    value = item.value
    unit_name = item.unit.name
    entity = item.unit.entity.name
    extra: dict = {}
    approx = "exact"
    if re.fullmatch(r"\d+[A-Z]", surface) and entity != "dimensionless":
        return None  # "5G", "3D": names, not quantities
    if re.match(r"\s*(?:a\.m\.|p\.m\.|am\b|pm\b|[:.]\d\d\s*(?:a\.?m|p\.?m|h\b|GMT|UTC))", text[end:] if
                unit_name == "dimensionless" else text[start + len(re.match(r"[\d.,:]*", surface).group(0)):]):
        return None  # a clock time ("9 a.m.")
    scale = re.match(r"\s+(hundred|thousand|million|billion|trillion)\b", text[end:])
    if scale is not None and re.fullmatch(r"[\d.,]+", surface):
        value *= _scales()[scale.group(1) + "s"]  # quantulum3 drops the scale after "some 40"
        end += scale.end()
        surface = text[start:end]
    half = re.match(r"half an? (\w+)", surface, re.IGNORECASE)
    if half is not None and half.group(1).lower() + "s" in _scales():
        value = _scales()[half.group(1).lower() + "s"] / 2  # quantulum3 reads "half a million" as 1.5 million
    # ranges: quantulum3 gives the middle and a half-width
    if item.uncertainty and re.search(r"\d\s*(?:%|per ?cent|percent)?\s*(?:-|–|to|and)\s*\S", surface):
        low, high = value - item.uncertainty, value + item.uncertainty  # "66% to 30%": low 30, high 66
        value, approx, extra["value_max"] = low, "range", _clean_number(high)
        if unit_name == "dimensionless" and "," not in surface and \
                all(1500 <= v <= 2100 and float(v).is_integer() for v in (low, high)):
            return _quantity(text, start, end, low, "year", "range", value_max=_clean_number(high),
                             date=f"{int(low)}/{int(high)}")
    elif item.uncertainty:
        approx = "approximate"
    unit: str | None
    if unit_name in PERCENT_NAMES or surface.lower().endswith(("per cent", "percent", "%")):
        unit = "percent"
        points = re.match(r"\s*(?:-\s*)?points?\b", text[end:])
        if "point" in surface.lower() or points is not None:
            unit = "percentage point"
            end += points.end() if points is not None else 0
    elif entity == "currency":
        unit = _currency_unit(unit_name)
    elif unit_name == "dimensionless":
        unit = None
        prefix = CURRENCY_PREFIX.search(text[max(0, start - 4):start])
        if prefix is not None:
            unit = _currency_name(prefix.group(0).strip())
            start = start - len(prefix.group(0))
        elif re.fullmatch(r"1[5-9]\d\d|20\d\d", surface) and _counted_noun(text, end, value) is None:
            return _quantity(text, start, end, value, "year", date=surface)
        else:
            times = re.match(r"\s*(?:-\s*)?(times|fold)\b", text[end:])
            noun = _counted_noun(text, end, value)
            if times is not None:
                unit, end = None, end + times.end()  # a ratio ("three times", "10-fold")
            elif noun is not None:
                unit, end = noun
    elif unit_name == "unk":
        unit = None
    else:
        unit = UNIT_RENAMES.get(unit_name, unit_name)
    q = _quantity(text, start, end, value, unit, approx, **extra)
    if unit in TIME_UNITS:
        after = re.match(r"\s+(ago|earlier|before now|from now|later)\b", text[end:])
        if after is not None and after.group(1) in ("ago", "from now"):
            sign = -1 if after.group(1) == "ago" else 1
            if ref is not None and q["value"] is not None:
                q["date"] = _shift(ref, sign * q["value"], unit)
    return q


def _currency_unit(name: str) -> str:
    return UNIT_RENAMES.get(name, name)


@lru_cache(maxsize=None)
def _units():
    with _rule_based_units():
        from quantulum3 import load

        return load.units("en_US")


def _currency_name(surface: str) -> str | None:
    """Currency unit of a symbol or word ("$", "US$", "euros") from quantulum3's unit tables."""
    units = _units()
    for table in (units.symbols, units.surfaces, units.surfaces_lower, units.symbols_lower):
        key = surface if table in (units.symbols, units.surfaces) else surface.lower()
        hits = table.get(key)
        if hits:
            currencies = [u for u in hits if u.entity.name == "currency"]
            if currencies:
                names = sorted(u.name for u in currencies)
                name = "dollar" if any("dollar" in n for n in names) and surface.strip("US")[:1] == "$" \
                    else names[0]
                return _currency_unit(name)
    return None


@lru_cache(maxsize=None)
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS) | {"percent", "cent", "per", "times", "year", "years", "times"}


@lru_cache(maxsize=None)
def _inflect():
    return _import_inflect().engine()


def _singular(word: str) -> str | None:
    """Singular of a plural noun ("hectares" → "hectare"); None when ``word`` is not one."""
    low = word.lower()
    if low in _stop_words() or not low.isalpha() or len(low) < 3:
        return None
    if low.endswith(("ss", "us", "is", "ics", "news")):
        return None
    single = _inflect().singular_noun(low)
    return single or None


def _counted_noun(text: str, end: int, value) -> tuple[str, int] | None:
    """The noun a bare number counts ("two soldiers", "250,000 hectares", "three new hospitals")."""
    words = list(re.finditer(r"[A-Za-z][A-Za-z'-]*|[^\sA-Za-z]", text[end:end + 60]))[:3]
    if not words or text[end:end + words[0].start()].count("\n"):
        return None
    for k, m in enumerate(words[:2]):
        word = m.group(0)
        if not word[0].isalpha() or word.lower() in _stop_words():
            return None
        single = _singular(word)
        if single is not None and (word.islower() or word.endswith("s")):
            return single, end + m.end()
        if k == 0 and value == 1 and word.islower() and \
                (len(words) == 1 or not words[1].group(0)[0].isalpha() or
                 words[1].group(0).lower() in _stop_words()):
            return word.lower(), end + m.end()
    return None


def _merge_rates(text: str, found: list[dict]) -> list[dict]:
    """ "3.5 million barrels a day": the rate joins the quantity before it ("barrel per day")."""
    out: list[dict] = []
    for q in found:
        prev = out[-1] if out else None
        if prev is not None and q["unit"] in TIME_UNITS and q["value"] == 1 and prev["unit"] and \
                re.fullmatch(r"\s*(a|an|per|each|every)\s+\w+", text[prev["end"]:q["end"]]):
            prev["per"] = q["unit"]
            continue
        out.append(q)
    for q in out:
        if q["unit"] and " per " in q["unit"]:  # quantulum3's "dollar per barrel"
            q["unit"], q["per"] = q["unit"].split(" per ", 1)
            rate = re.search(r"\s+(?:a|an|per|each)\s+\w+$", q["text"])
            if rate is not None:
                q["end"] -= len(rate.group(0))
                q["text"] = text[q["start"]:q["end"]]
    return out


# ---------------------------------------------------------------------------------------------
# 4. approximation from the words around
# ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _approx_res() -> tuple[list, list]:
    before = [(flag, re.compile(rf"(?:^|[^\w])({words})\s*$", re.IGNORECASE)) for flag, words in APPROX_BEFORE]
    after = [(flag, re.compile(rf"^\s*({words})(?![\w])", re.IGNORECASE)) for flag, words in APPROX_AFTER]
    return before, after


def _apply_approximation(text: str, q: dict) -> None:
    if q["approx"] == "range" or q["unit"] == "date" or q.get("date") and q["unit"] == "year" \
            and q["value"] is not None and q["value"] > 1000:
        return
    before, after = _approx_res()
    left = text[max(0, q["start"] - 30):q["start"]]
    for flag, pattern in before:
        m = pattern.search(left)
        if m is not None:
            if flag == "lower_bound" and m.group(1).lower() == "over" and q["unit"] in TIME_UNITS:
                continue  # "over five years" is a duration
            q["approx"] = flag
            q["start"] -= len(left) - m.start(1)
            q["text"] = text[q["start"]:q["end"]]
            return
    right = text[q["end"]:q["end"] + 20]
    for flag, pattern in after:
        m = pattern.search(right)
        if m is not None:
            q["approx"] = flag
            q["end"] += m.end(1)
            q["text"] = text[q["start"]:q["end"]]
            return


# ---------------------------------------------------------------------------------------------
# dates
# ---------------------------------------------------------------------------------------------

def _parse_ref_date(ref_date: str | None) -> date | None:
    if not ref_date:
        return None
    try:
        return datetime.fromisoformat(ref_date.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    try:
        from dateutil import parser as dateparser

        return dateparser.parse(ref_date).date()
    except (ValueError, OverflowError, TypeError):
        return None


def _shift(ref: date | None, amount, unit: str) -> str | None:
    """``ref`` moved by ``amount`` ``unit``s, as ISO at the unit's precision ("2020", "2025-08")."""
    if ref is None or amount is None:
        return None
    from dateutil.relativedelta import relativedelta

    amount = float(amount)
    if unit in ("year", "decade", "century"):
        years = amount * {"year": 1, "decade": 10, "century": 100}[unit]
        return f"{ref.year + int(round(years)):04d}"
    if unit == "month":
        moved = ref + relativedelta(months=int(round(amount)))
        return f"{moved.year:04d}-{moved.month:02d}"
    days = amount * (7 if unit == "week" else 1)
    return (ref + relativedelta(days=int(round(days)))).isoformat()
