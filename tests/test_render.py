"""stancekit.render: quotes highlighted by stance, speakers linked, everything from the article escaped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

import stancekit
from stancekit.pipeline import Result
from stancekit.render import STANCE_COLOURS, doc_anchor, displacy_options, safe_url, to_displacy

EVIL = '<script>alert(1)</script>" onmouseover="alert(2)" \'x\' javascript:alert(3)'


def _span(text: str, part: str) -> dict:
    start = re.search(r"(?<!\w)" + re.escape(part), text).start()
    return {"text": part, "start": start, "end": start + len(part)}


def _quote(text, doc_id, content, cue, mention, *, name, role=None, label="PERSON", resolution="name",
           stance="favor", target="certification"):
    q = _span(text, content)
    sp = None
    if mention is not None:
        sp = {"name": name, "mention": _span(text, mention), "label": label, "role": role, "affiliation": None,
              "resolution": resolution, "confidence": 0.9}
    stances = [] if stance is None else [{"target": target, "label": stance, "score": 0.7, "relevance": 0.9,
                                          "probs": {"favor": 0.7, "against": 0.2, "neutral": 0.1}}]
    return {"doc_id": doc_id, "quote_id": f"{doc_id}#q{q['start']}-{q['end']}", **q, "kind": "direct",
            "cue": _span(text, cue) if cue else None, "speaker": sp, "confidence": 0.9, "stances": stances}


def _example(evil: str = "") -> dict:
    text = (f"Title line {evil}\n\n"
            f"\u201cWe back the plan {evil},\u201d said Ana Ruiz{evil}, the mayor.\n"
            f"\u201cIt will fail,\u201d he added.\n"
            f"Officials warned that costs would rise.\n"
            f"\u201cNobody knows,\u201d she said.\n")
    name = f"Ana Ruiz{evil}"
    quotes = [
        _quote(text, "d1", f"We back the plan {evil},", "said", name, name=name, role=f"Mayor{evil}"),
        _quote(text, "d1", "It will fail,", "added", "he", name=name, role=f"Mayor{evil}", resolution="pronoun",
               stance="against"),
        _quote(text, "d1", "costs would rise", "warned", "Officials", name="Officials", label="GROUP",
               resolution="group", stance="neutral"),
        _quote(text, "d1", "Nobody knows,", "said", "she", name=None, resolution="pronoun", stance=None),
    ]
    speakers = [{"doc_id": "d1", "name": name, "label": "PERSON", "roles": [f"Mayor{evil}"], "affiliation": None,
                 "quote_ids": [quotes[0]["quote_id"], quotes[1]["quote_id"]],
                 "stances": [{"target": "certification", "label": "favor", "score": 0.6, "n_quotes": 2}],
                 "extra_field_from_a_newer_version": 1},
                {"doc_id": "d1", "name": "Officials", "label": "GROUP", "roles": [], "affiliation": None,
                 "quote_ids": [quotes[2]["quote_id"]], "stances": []}]
    document = {"doc_id": "d1", "source": "x.txt", "title": f"A title {evil}", "url": f"javascript:alert(4){evil}",
                "date": "2026-01-02", "status": "ok", "n_chars": len(text), "n_quotes": 4, "n_speakers": 2,
                "n_claims": 0, "entities": [], "warnings": []}
    return {"text": text, "document": document, "quotes": quotes, "speakers": speakers, "claims": []}


class _Collect(HTMLParser):
    """Parses the HTML the way a browser tokenizer would and records tags, attributes and text."""

    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.data = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.data.append(data)


def _parse(html: str) -> _Collect:
    p = _Collect()
    p.feed(html)
    return p


def test_quotes_coloured_by_stance_with_legend_and_speaker_labels():
    ex = _example()
    html = stancekit.render(ex)
    assert html.count('<mark class="sk-quote') == 4
    assert f'style="background:{STANCE_COLOURS["favor"]}" data-stance="favor"' in html
    assert 'data-stance="against"' in html and 'data-stance="neutral"' in html
    assert "stance toward <b>certification</b>" in html
    for word in ("favor", "against", "neutral", "no stance", "cue", "speaker mention"):
        assert word in html.split('class="sk-legend"')[1].split("</div>")[0]
    # each quote's whole text sits in one <mark>, the cue is marked, the label names speaker and role
    m = re.search(r'<mark [^>]*data-stance="favor"[^>]*>(.*?)</mark><a class="sk-label" href="#([^"]+)">(.*?)</a>',
                  html)
    assert m.group(1) == "We back the plan ,"
    assert m.group(3) == "Ana Ruiz, Mayor"
    assert '<span class="sk-cue" title="cue">said</span>' in html
    assert "Officials (group)" in html


def test_mentions_link_to_their_speaker_and_unresolved_pronouns_are_greyed():
    ex = _example()
    html = stancekit.render(ex)
    uid = doc_anchor("d1")
    assert f'<li id="{uid}-s0"><b class="sk-name">Ana Ruiz</b>' in html
    # the pronoun "he" links to the speaker entry of Ana Ruiz
    assert re.search(rf'<a class="sk-mention" href="#{uid}-s0" data-resolution="pronoun" [^>]*>he</a>', html)
    assert re.search(rf'<a class="sk-mention" href="#{uid}-s0" data-resolution="name" [^>]*>Ana Ruiz</a>', html)
    # "she" has no name: mention text shown, greyed, not linked
    assert re.search(r'<a class="sk-mention sk-unresolved" [^>]*>she</a>', html)
    assert '<span class="sk-label sk-unresolved">she (unresolved)</span>' in html
    assert "1 quotes without a resolved speaker" in html


@pytest.mark.parametrize("where", ["text", "fragments"])
def test_everything_from_the_article_is_escaped(where):
    ex = _example(EVIL)
    if where == "fragments":  # records without text: rendered from the spans' own text
        ex.pop("text")
    html = stancekit.render(ex, page=True)
    parsed = _parse(html)
    assert "script" not in parsed.tags
    assert all(not name.startswith("on") for name, _ in parsed.attrs)
    hrefs = [v for name, v in parsed.attrs if name == "href"]
    assert hrefs and all(v.startswith("#sk-") for v in hrefs)  # no javascript: link, only our anchors
    assert all(re.fullmatch(r"sk-[0-9a-f]{10}(-[qs]\d+)?", v) for n, v in parsed.attrs if n == "id")
    # the hostile strings are there, as text
    text = "".join(parsed.data)
    assert "<script>alert(1)</script>" in text
    assert "javascript:alert(4)" in text
    assert "<script>" not in html and 'onmouseover="' not in html


def test_safe_url_only_allows_http():
    assert safe_url("https://example.org/a?b=1") == "https://example.org/a?b=1"
    for bad in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "http://x\" onclick=\"y",
                "vbscript:x", None, 3):
        assert safe_url(bad) is None
    ex = _example()
    ex["document"]["url"] = "https://example.org/story"
    assert '<a href="https://example.org/story" rel="noopener noreferrer nofollow">' in stancekit.render(ex)


def test_fragments_without_text_keep_quotes_cues_and_mentions():
    ex = _example()
    ex.pop("text")
    html = stancekit.render(ex)
    assert "text not stored" in html
    assert re.search(r'<mark [^>]*data-stance="against"[^>]*>It will fail,</mark>', html)
    assert '<span class="sk-gap"> … </span>' in html


def test_targets_choose_the_colouring_target():
    ex = _example()
    for q in ex["quotes"]:
        q["stances"].append({"target": "other", "label": "against", "score": 0.9, "relevance": 1.0})
    html = stancekit.render(ex, targets=["other"])
    assert html.count('data-stance="against"') == 4
    assert "stance toward <b>other</b>" in html


def test_result_repr_html_and_lists():
    ex = _example()
    res = Result(document=ex["document"], quotes=ex["quotes"], speakers=ex["speakers"])
    html = res._repr_html_()
    assert html.count("<mark") == 4 and "<style>" in html
    two = stancekit.render([res, ex])
    assert two.count('<div class="sk-render"') == 2 and two.count("<style>") == 1


def test_displacy_manual_mode():
    from spacy import displacy

    ex = _example(EVIL)
    data = to_displacy(ex)
    labels = [e["label"] for e in data["ents"]]
    assert {"QUOTE FAVOR", "QUOTE AGAINST", "QUOTE NEUTRAL", "QUOTE NO STANCE", "CUE", "SPEAKER"} <= set(labels)
    for e in data["ents"]:
        assert data["text"][e["start"]:e["end"]]
    html = displacy.render(data, style="ent", manual=True, options=displacy_options(), page=False, jupyter=False)
    assert "<script>" not in html and "QUOTE FAVOR" in html
    spans = to_displacy(ex, style="span")
    assert len(spans["spans"]) >= 12
    html = displacy.render(spans, style="span", manual=True, page=False, jupyter=False)
    assert "<script>" not in html and "SPEAKER" in html
