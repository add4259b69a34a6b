"""Property-based tests (hypothesis) of the pure functions: quotation-mark pairing, chunking, BIO
decoding (the NER backend and the attribution tagger), batch planning and quantity parsing.

Each property is an invariant the rest of the pipeline relies on: offsets inside the text, spans
that do not overlap (or nest properly), round trips, plans that cover every item exactly once.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from stancekit.attribution.data import LABELS as TAGGER_LABELS
from stancekit.attribution.data import ROLES
from stancekit.attribution.tagger import decode as decode_tagger
from stancekit.engine import InferenceEngine
from stancekit.ner import HF_LABELS, decode_bio
from stancekit.pipeline import split_chunks
from stancekit.quantities import parse_quantities
from stancekit.quotes import MAX_QUOTE_CHARS, QUOTE_CHARS, pair_quote_marks

# text made mostly of what the pairing reacts to: every mark, letters, spaces, line breaks, punctuation
MARKY = st.text(alphabet=st.sampled_from(sorted(QUOTE_CHARS) + list("''``") + list("ab c\n\n.,-(")), max_size=80)
WORDS = st.text(alphabet=st.sampled_from(list("abcdefgh ijk,;.")), min_size=1, max_size=60)


# -- quotation-mark pairing ---------------------------------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(MARKY)
@example('"a" “b” "c')
@example("“a\n\n“b”")
def test_pairing_offsets_and_nesting(text):
    spans, warnings = pair_quote_marks(text)
    n = len(text)
    for s in spans:
        assert 0 <= s.open_at < s.start <= s.end <= s.close_at < n
        assert text[s.open_at] in QUOTE_CHARS | {"'", "`"}  # the mark itself, a ``/'' counts by its first char
        assert text[s.close_at] in QUOTE_CHARS | {"'", "`"}
        assert 1 <= s.start - s.open_at <= 2 and 1 <= s.close_at + 1 - s.end <= 2  # one mark each side
        assert s.close_at - s.open_at <= MAX_QUOTE_CHARS + 1
    # two quotes are apart or one holds the other (a quote inside a quote), never crossed
    for i, a in enumerate(spans):
        for b in spans[i + 1:]:
            apart = a.close_at < b.open_at or b.close_at < a.open_at
            nested = (a.open_at < b.open_at and b.close_at < a.close_at) or \
                     (b.open_at < a.open_at and a.close_at < b.close_at)
            assert apart or nested, (a, b)
    assert spans == sorted(spans, key=lambda q: (q.open_at, q.close_at))
    # a mark is used by one quote at most
    marks = [m for s in spans for m in (s.open_at, s.close_at)]
    assert len(marks) == len(set(marks))
    for w in warnings:
        assert w["code"] in ("W003", "W005") and 0 <= w["offset"] < n


PLAIN = st.text(alphabet=st.sampled_from(list("abcdefghij ,;.")), min_size=1, max_size=200).filter(
    lambda s: s[0].isalpha() and s[-1] != " ")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abc ,.")), max_size=40), PLAIN,
       st.text(alphabet=st.sampled_from(list("abc ,.")), max_size=40),
       st.sampled_from([("“", "”"), ("«", "»"), ("„", "“"), ('"', '"')]))
def test_pairing_round_trip(before, content, after, marks):
    """A quote-free phrase put between a pair of marks comes back as the one quote, exactly."""
    left = before + ("" if not before or before.endswith(" ") else " ")
    text = f"{left}{marks[0]}{content}{marks[1]}{after}"
    spans, warnings = pair_quote_marks(text)
    assert len(spans) == 1 and not warnings
    s = spans[0]
    assert text[s.start:s.end] == content and (s.open_at, s.close_at) == (len(left), len(left) + len(content) + 1)


@settings(max_examples=100, deadline=None)
@given(st.lists(PLAIN, min_size=2, max_size=4))
def test_multi_paragraph_quote_round_trip(paragraphs):
    """The news convention: each paragraph reopens the quote, only the last one closes it."""
    text = "“" + "\n\n“".join(paragraphs) + "”"
    spans, warnings = pair_quote_marks(text)
    assert not warnings and len(spans) == 1
    assert (spans[0].open_at, spans[0].close_at) == (0, len(text) - 1)


# -- chunking long documents -------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .\n")), max_size=400), st.integers(1, 120))
def test_split_chunks_cover_the_text_within_the_limit(text, limit):
    pieces = split_chunks(text, limit)
    assert "".join(p for _, p in pieces) == text  # a round trip: nothing lost, nothing doubled
    pos = 0
    for off, piece in pieces:
        assert off == pos and text[off:off + len(piece)] == piece
        assert len(piece) <= limit and (piece or len(text) == 0)
        pos += len(piece)
    assert len(pieces) == 1 or len(text) > limit
    # a cut falls on the last line break of the window's second half where there is one
    for (off, piece), (nxt, _) in zip(pieces, pieces[1:]):
        window = text[off + limit // 2: off + limit]
        if "\n" in window and text.rfind("\n", off + limit // 2, off + limit) > off:
            assert text[nxt] == "\n"


# -- BIO decoding ------------------------------------------------------------------------------------

def _tokens(draw, n):
    """Offsets of ``n`` word pieces: words of 1-6 characters, one space apart or glued (a piece)."""
    offsets, pos = [], 0
    for _ in range(n):
        glue = offsets and draw(st.booleans())
        pos += 0 if glue else (1 if offsets else 0)
        length = draw(st.integers(1, 6))
        offsets.append((pos, pos + length))
        pos += length
    return offsets


@st.composite
def bio_case(draw, kinds):
    """Token offsets, tags and the entity spans they encode (B- at each start, I- inside)."""
    n = draw(st.integers(0, 30))
    offsets = _tokens(draw, n)
    tags, spans, i = [], [], 0
    while i < n:
        if draw(st.booleans()):
            k = draw(st.integers(1, min(4, n - i)))
            kind = draw(st.sampled_from(kinds))
            tags += [f"B-{kind}"] + [f"I-{kind}"] * (k - 1)
            spans.append((offsets[i][0], offsets[i + k - 1][1], kind))
            i += k
        else:
            tags.append("O")
            i += 1
    # special tokens (offset (0, 0)) anywhere are skipped
    for at in sorted(draw(st.lists(st.integers(0, n), max_size=3)), reverse=True):
        offsets.insert(at, (0, 0))
        tags.insert(at, draw(st.sampled_from(["O", f"B-{kinds[0]}"])))
    return offsets, tags, spans


NER_KINDS = ["PER", "ORG", "LOC", "MISC"]
NER_LABELS = ["O"] + [f"{p}-{k}" for k in NER_KINDS for p in "BI"]


@settings(max_examples=300, deadline=None)
@given(bio_case(NER_KINDS))
def test_decode_bio_round_trip(case):
    offsets, tags, spans = case
    id2label = dict(enumerate(NER_LABELS))
    ids = [NER_LABELS.index(t) for t in tags]
    got = decode_bio(offsets, ids, id2label)
    assert got == [(a, b, HF_LABELS[k]) for a, b, k in spans]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_decode_bio_spans_in_order_and_apart(data):
    """Whatever the tags (lenient IOB, plain tags, stray I-), spans lie on tokens, sorted, apart."""
    n = data.draw(st.integers(0, 30))
    offsets = _tokens(data.draw, n)
    labels = NER_LABELS + ["PER", "GPE"]  # plain tags too
    ids = data.draw(st.lists(st.integers(0, len(labels) - 1), min_size=n, max_size=n))
    got = decode_bio(offsets, ids, dict(enumerate(labels)))
    starts = {a for a, _ in offsets}
    ends = {b for _, b in offsets}
    for (a, b, kind), nxt in zip(got, got[1:] + [None]):
        assert a in starts and b in ends and a < b
        assert kind in set(HF_LABELS.values())
        if nxt is not None:
            assert b <= nxt[0]
    assert (not got) == all(labels[k] == "O" for k in ids)


@settings(max_examples=300, deadline=None)
@given(bio_case(list(ROLES)), st.lists(st.floats(0, 1), min_size=40, max_size=40))
def test_tagger_decode_round_trip(case, probs):
    offsets, tags, spans = case
    ids = [TAGGER_LABELS.index(t) for t in tags]
    got = decode_tagger(offsets, ids, probs[:len(ids)])
    assert [(s.start, s.end, s.role) for s in got] == spans
    assert all(0.0 <= s.score <= 1.0 for s in got)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.sampled_from(ROLES)), max_size=12))
def test_tagger_decode_continues_a_role_across_gaps(runs):
    """I- pieces of one role continue it across whitespace and paragraphs; a B- or another role starts one."""
    offsets, ids, pos, want = [], [], 0, []
    for gap, role in runs:
        pos += gap
        offsets += [(pos, pos + 2), (pos + 2 + gap, pos + 4 + gap)]
        ids += [TAGGER_LABELS.index(f"B-{role}"), TAGGER_LABELS.index(f"I-{role}")]
        want.append((pos, pos + 4 + gap, role))
        pos += 5 + gap
    assert [(s.start, s.end, s.role) for s in decode_tagger(offsets, ids)] == want


# -- batch planning ----------------------------------------------------------------------------------

def _planner(max_tokens: int, max_batch: int) -> InferenceEngine:
    engine = InferenceEngine.__new__(InferenceEngine)  # the planner needs no model
    engine.max_tokens, engine.max_batch = max_tokens, max_batch
    return engine


@settings(max_examples=400, deadline=None)
@given(st.lists(st.integers(1, 512), max_size=200), st.integers(1, 4096), st.integers(1, 64))
def test_plan_batches_cover_once_within_budget(lengths, max_tokens, max_batch):
    engine = _planner(max_tokens, max_batch)
    batches = engine.plan_batches(lengths)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))  # every item exactly once
    assert all(b for b in batches)
    for b in batches:
        assert len(b) <= max_batch
        # padded to its longest item; an item over the budget alone is its own batch
        assert len(b) == 1 or max(lengths[i] for i in b) * len(b) <= max_tokens
    # longest first: the plan walks the items from long to short
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)
    # greedy: a batch closes only when the next item would break the budget or the cap
    for b, nxt in zip(batches, batches[1:]):
        grown = b + [nxt[0]]
        assert len(grown) > max_batch or max(lengths[i] for i in grown) * len(grown) > max_tokens


# -- quantities --------------------------------------------------------------------------------------

QUANTITY_TEXT = st.lists(st.sampled_from(list("0123456789 .,%$€£-abcmkn") + [
    "million", " per cent", "bn", " in ", "last year", "about ", "nearly ", " or more", "to", "twenty", " May "]),
    max_size=30).map("".join)


@settings(max_examples=100, deadline=None)
@given(st.one_of(QUANTITY_TEXT, st.text(max_size=40)), st.sampled_from([None, "2024-05-01"]))
def test_quantities_are_spans_of_the_text_in_order_and_apart(text, ref_date):
    found = parse_quantities(text, ref_date=ref_date)
    for q in found:
        assert 0 <= q["start"] < q["end"] <= len(text)
        assert text[q["start"]:q["end"]] == q["text"]
        assert q["approx"] in ("exact", "approximate", "lower_bound", "upper_bound", "range")
    for a, b in zip(found, found[1:]):
        assert a["end"] <= b["start"]


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 99), st.sampled_from(["Prices rose", "Turnout fell by", "It was"]))
def test_percent_round_trip(n, lead):
    text = f"{lead} {n}% in the spring."
    found = parse_quantities(text)
    assert len(found) == 1
    q = found[0]
    assert q["value"] == n and q["unit"] == "percent" and q["text"].startswith(str(n))
    assert text[q["start"]:q["end"]] == q["text"]


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 999), st.sampled_from([("$", "bn", 1e9), ("£", "m", 1e6), ("€", "k", 1e3)]))
def test_money_shorthand_round_trip(n, money):
    symbol, suffix, scale = money
    text = f"The plan costs {symbol}{n}{suffix} a year."
    found = parse_quantities(text)
    assert found and found[0]["text"] == f"{symbol}{n}{suffix}"
    assert found[0]["value"] == pytest.approx(n * scale)


# -- linking tagged spans ------------------------------------------------------------------------------

def _link_by_brute_force(text, spans):
    """The linking rule of :func:`stancekit.attribution.tagger.link`, every pair compared."""
    from stancekit.attribution.tagger import MAX_CUE_GAP, MAX_SOURCE_GAP, PARAGRAPH_COST

    def gap(x, y):
        a, b = (x.end, y.start) if x.end <= y.start else (y.end, x.start)
        return 0 if a >= b else (b - a) + PARAGRAPH_COST * text[a:b].count("\n")

    cues = sorted((s for s in spans if s.role == "cue"), key=lambda s: s.start)
    sources = sorted((s for s in spans if s.role == "source"), key=lambda s: s.start)
    out, by_cue = [], {}
    for c in sorted((s for s in spans if s.role == "content"), key=lambda s: s.start):
        best = min(range(len(cues)), key=lambda k: gap(c, cues[k]), default=None)
        if best is None or gap(c, cues[best]) > MAX_CUE_GAP:
            out.append([c, None, None])
        elif best in by_cue:
            out.append([c, cues[best], out[by_cue[best]]])
        else:
            by_cue[best] = len(out)
            out.append([c, cues[best], None])
    for row in out:
        if row[1] is not None and row[2] is None:
            src = min(sources, key=lambda s: gap(s, row[1]), default=None)
            row[2] = src if src is not None and gap(src, row[1]) <= MAX_SOURCE_GAP else None
    return [(c, cue, head[2] if isinstance(head, list) else head) for c, cue, head in out]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 700), st.integers(1, 60), st.sampled_from(ROLES)), max_size=25),
       st.lists(st.integers(0, 2400), max_size=12))
def test_tagger_link_equals_comparing_every_pair(raw, breaks):
    """Linking looks only at spans within reach; it finds what comparing every content with every cue
    and every cue with every source finds (overlapping spans, line breaks and ties included)."""
    from stancekit.attribution.tagger import TaggedSpan, link

    text = "".join("\n" if i in set(breaks) else "x" for i in range(2500))
    spans, pos = [], 0
    for step, length, role in raw:
        pos += step
        spans.append(TaggedSpan(pos, pos + length, role, 1.0))
    got = [(a.content, a.cue, a.source) for a in link(text, spans)]
    assert got == _link_by_brute_force(text, spans)


# -- target mentions ------------------------------------------------------------------------------------

ALIAS = st.text(alphabet=st.sampled_from(list("abAB .+-(*")), min_size=0, max_size=6)


@settings(max_examples=300, deadline=None)
@given(aliases=st.lists(ALIAS, max_size=5), keywords=st.lists(ALIAS, max_size=3),
       text=st.text(alphabet=st.sampled_from(list("abAB .+-(*\n")), max_size=60))
def test_target_mentions_equal_searching_each_alias(aliases, keywords, text):
    """The compiled, cached patterns find what searching for each alias and keyword on its own finds."""
    import re

    from stancekit.targets import Target

    target = Target(id="t", name="t", aliases=aliases, keywords=keywords)
    low = text.lower()
    assert target.alias_hit(text) == any(re.search(r"\b" + re.escape(a.lower()), low) for a in aliases)
    words = sorted({w.lower() for w in aliases + keywords if w}, key=len, reverse=True)
    expected = len(re.findall(r"\b(" + "|".join(map(re.escape, words)) + ")", low)) if words else 0
    assert target.mentions(text) == expected
