"""Render one article's records as HTML: quotes highlighted by stance, cues and speakers marked.

:func:`render` takes a :class:`~stancekit.pipeline.Result` (or its ``to_dict()``, or a list of them) and
returns one HTML fragment with its own scoped stylesheet, so that it shows inline in Jupyter
(``Result._repr_html_``), inside the run report (:mod:`stancekit.report`) or in any page.

* every quote is a ``<mark>`` coloured by its stance toward the first selected target (a legend
  explains the colours); its cue is underlined, and a label after it names the speaker and role;
* every speaker mention (a name, "he", "the minister") links to the speaker's entry below the text;
  a pronoun that could not be resolved (``name`` null) is shown greyed, with its mention text;
* everything that comes from the article (text, title, names, roles, ids, URLs) is HTML-escaped, and
  a document URL becomes a link only when it is ``http(s)``.

The records do not always carry the document text (a run directory stores offsets, not text). Without
it, the known spans (quotes, cues, mentions) are rendered as fragments joined by "…".

:func:`to_displacy` gives the same spans as data for displaCy's manual mode.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence
from urllib.parse import urlsplit

STANCE_COLOURS = {"favor": "#a6dba0", "against": "#f4a582", "neutral": "#d9d9d9", None: "#c6dbef"}
"""Background colour of a quote per stance label (``None``: no stance toward the selected target)."""

STANCE_NAMES = {"favor": "favor", "against": "against", "neutral": "neutral", None: "no stance"}

_GAP = " … "

_CSS = """
.sk-render{font-family:Georgia,'Times New Roman',serif;line-height:1.7;max-width:52em;color:#222}
.sk-render h3.sk-title{font-family:system-ui,sans-serif;margin:.2em 0 .4em 0}
.sk-render .sk-meta{font-family:system-ui,sans-serif;font-size:.8em;color:#666;margin-bottom:.5em}
.sk-render .sk-legend{font-family:system-ui,sans-serif;font-size:.8em;margin:.3em 0 .8em 0}
.sk-render .sk-legend span{display:inline-block;margin-right:1em}
.sk-render .sk-swatch{display:inline-block;width:.9em;height:.9em;border-radius:2px;vertical-align:-.1em;
 margin-right:.3em;border:1px solid #999}
.sk-render .sk-text{white-space:pre-wrap}
.sk-render mark.sk-quote{padding:.1em 0;border-radius:3px;color:inherit}
.sk-render .sk-cue{text-decoration:underline;text-decoration-thickness:2px;font-weight:bold}
.sk-render a.sk-mention{color:#08519c;text-decoration:none;border-bottom:2px dotted #08519c}
.sk-render a.sk-mention.sk-unresolved,.sk-render .sk-label.sk-unresolved{color:#888;border-color:#bbb}
.sk-render .sk-label{font-family:system-ui,sans-serif;font-size:.7em;background:#f0f0f0;color:#333;
 border-radius:3px;padding:0 .35em;margin:0 .2em;white-space:nowrap;vertical-align:.15em;text-decoration:none}
.sk-render .sk-gap{color:#999}
.sk-render ol.sk-speakers{font-family:system-ui,sans-serif;font-size:.85em}
.sk-render ol.sk-speakers .sk-role{color:#555}
"""


@dataclass
class _Doc:
    """One document's records, whatever container they came in."""

    document: dict
    quotes: list[dict]
    speakers: list[dict]
    claims: list[dict] = field(default_factory=list)
    text: str | None = None


def render(result_or_records: Any, *, targets: Sequence[str] | None = None, text: str | None = None,
           page: bool = False) -> str:
    """HTML of one or more documents' records with quotes highlighted by stance.

    ``result_or_records``: a ``Result``, a dict with ``document`` / ``quotes`` / ``speakers`` (as from
    ``Result.to_dict()`` or the service), or a list of these. ``targets`` picks the targets shown
    (default: every target in the quotes); quotes are coloured by the first. ``text`` is the document
    text when the records do not carry it. ``page=True`` wraps the fragment in a full HTML page.
    """
    docs = _as_docs(result_or_records)
    if text is not None and len(docs) == 1:
        docs[0].text = text
    parts = [f"<style>{_CSS}</style>"] + [render_document(d, targets=targets) for d in docs]
    body = "\n".join(parts)
    if not page:
        return body
    title = html.escape(docs[0].document.get("title") or docs[0].document.get("doc_id") or "stancekit") \
        if docs else "stancekit"
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>"
            f"<body>\n{body}\n</body></html>\n")


def render_document(doc: "_Doc | Any", *, targets: Sequence[str] | None = None, anchor: str | None = None) -> str:
    """The HTML fragment of one document (no stylesheet; :func:`render` adds it once)."""
    if not isinstance(doc, _Doc):
        doc = _as_docs(doc)[0]
    uid = anchor or doc_anchor(doc.document.get("doc_id") or "doc")
    shown = list(targets) if targets else _targets_in(doc.quotes)
    colour_by = shown[0] if shown else None
    text, shift = _text_and_shift(doc)
    speakers = _speaker_index(doc)
    spans = _spans(doc, shift, len(text))
    out = [f'<div class="sk-render" id="{uid}" data-doc-id="{_e(doc.document.get("doc_id"))}">']
    out.append(_header(doc, gapped=doc.text is None))
    out.append(_legend(colour_by))
    out.append('<div class="sk-text">' + _body(text, spans, speakers, uid, colour_by, shown,
                                                 gapped=doc.text is None) + "</div>")
    out.append(_speaker_list(doc, speakers, uid, shown))
    out.append("</div>")
    return "\n".join(out)


def doc_anchor(doc_id: str) -> str:
    """A stable HTML id for a document (a hash: article ids never reach an ``id`` attribute raw)."""
    return "sk-" + hashlib.sha1(str(doc_id).encode("utf-8")).hexdigest()[:10]


def quote_anchor(doc_id: str, index: int) -> str:
    """The HTML id of the quote of rank ``index`` in :func:`quote_order` of a document rendered by :func:`render`."""
    return f"{doc_anchor(doc_id)}-q{index}"


def quote_order(quotes: Sequence[dict]) -> dict[int, int]:
    """``id(quote record)`` → its rank in text order (by start, longer first): the ``-q<rank>`` anchors."""
    ok = [q for q in quotes if _ok(q)]
    ok.sort(key=lambda q: (q["start"], -q["end"]))
    return {id(q): i for i, q in enumerate(ok)}


# -- displaCy ------------------------------------------------------------------------------------

def to_displacy(result_or_records: Any, *, targets: Sequence[str] | None = None, text: str | None = None,
                style: str = "ent") -> dict:
    """Data for ``spacy.displacy.render(data, style=style, manual=True, options=displacy_options())``.

    ``style="ent"``: non-overlapping character spans (quotes labelled ``QUOTE FAVOR`` etc., cues
    ``CUE``, speaker mentions ``SPEAKER``). ``style="span"``: token spans (tokens split at whitespace),
    which may overlap. displaCy escapes the text; the title is escaped here.
    """
    doc = _as_docs(result_or_records)[0]
    if text is not None:
        doc.text = text
    shown = list(targets) if targets else _targets_in(doc.quotes)
    colour_by = shown[0] if shown else None
    full, shift = _text_and_shift(doc)
    spans = []
    for kind, start, end, rec in _raw_spans(doc, shift):
        if kind == "quote":
            label = "QUOTE " + STANCE_NAMES[_stance_of(rec, colour_by)].upper()
        else:
            label = "CUE" if kind == "cue" else "SPEAKER"
        spans.append((start, end, label))
    spans.sort()
    # displaCy escapes the text but writes the title as it is
    title = _e(doc.document.get("title") or doc.document.get("doc_id"))
    if style == "ent":
        ents, last = [], 0
        for start, end, label in spans:
            if start >= last and end <= len(full):
                ents.append({"start": start, "end": end, "label": label})
                last = end
        return {"text": full, "ents": ents, "title": title}
    if style == "span":
        import re

        toks = [(m.start(), m.end()) for m in re.finditer(r"\S+", full)]
        out = []
        for start, end, label in spans:
            idx = [i for i, (a, b) in enumerate(toks) if a < end and b > start]
            if idx:
                out.append({"start_token": idx[0], "end_token": idx[-1] + 1, "label": label})
        return {"text": full, "tokens": [full[a:b] for a, b in toks], "spans": out, "title": title}
    raise ValueError(f"style must be 'ent' or 'span', not {style!r}")


def displacy_options() -> dict:
    """displaCy ``options`` with the stance colours of :data:`STANCE_COLOURS`."""
    colors = {"QUOTE " + STANCE_NAMES[k].upper(): v for k, v in STANCE_COLOURS.items()}
    colors.update({"CUE": "#fdd49e", "SPEAKER": "#9ecae1"})
    return {"colors": colors}


# -- input shapes --------------------------------------------------------------------------------

def _as_docs(obj: Any) -> list[_Doc]:
    if isinstance(obj, _Doc):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [d for item in obj for d in _as_docs(item)]
    if isinstance(obj, dict):
        get = obj.get
    else:
        def get(key, default=None):
            return getattr(obj, key, default)
    document = dict(get("document") or {})
    text = get("text") or document.get("text")
    quotes = list(get("quotes") or [])
    if not document.get("doc_id") and quotes:
        document["doc_id"] = quotes[0].get("doc_id")
    return [_Doc(document=document, quotes=quotes, speakers=list(get("speakers") or []),
                 claims=list(get("claims") or []), text=text if isinstance(text, str) else None)]


def _targets_in(quotes: Iterable[dict]) -> list[str]:
    seen: list[str] = []
    for q in quotes:
        for st in q.get("stances") or []:
            t = st.get("target")
            if t is not None and t not in seen:
                seen.append(t)
    return seen


def _stance_of(quote: dict, target: str | None) -> str | None:
    for st in quote.get("stances") or []:
        if st.get("target") == target:
            label = st.get("label")
            return label if label in STANCE_COLOURS else None
    return None


# -- text and spans ------------------------------------------------------------------------------

def _raw_spans(doc: _Doc, shift) -> list[tuple[str, int, int, dict]]:
    """(kind, start, end, quote record) for quotes, cues and speaker mentions, in rendered offsets."""
    out = []
    for q in doc.quotes:
        if _ok(q):
            out.append(("quote", shift(q["start"]), shift(q["end"]), q))
        cue = q.get("cue")
        if _ok(cue):
            out.append(("cue", shift(cue["start"]), shift(cue["end"]), q))
        mention = (q.get("speaker") or {}).get("mention")
        if _ok(mention):
            out.append(("mention", shift(mention["start"]), shift(mention["end"]), q))
    return out


def _ok(span: Any) -> bool:
    return isinstance(span, dict) and isinstance(span.get("start"), int) and isinstance(span.get("end"), int) \
        and 0 <= span["start"] < span["end"]


def _text_and_shift(doc: _Doc):
    """The text to render and a map from document offsets to offsets in it.

    With the document text the map is the identity. Without it, the known spans are stitched together
    (joined by " … ") into a shorter text, and offsets move into it.
    """
    if doc.text is not None:
        n = len(doc.text)
        return doc.text, lambda off: min(max(off, 0), n)
    pieces: list[tuple[int, int, str]] = []
    for q in doc.quotes:
        for span in (q, q.get("cue"), (q.get("speaker") or {}).get("mention")):
            if _ok(span) and isinstance(span.get("text"), str) and len(span["text"]) == span["end"] - span["start"]:
                pieces.append((span["start"], span["end"], span["text"]))
    pieces.sort()
    merged: list[list] = []  # [start, end, chars]
    for start, end, piece in pieces:
        if merged and start <= merged[-1][1]:
            m = merged[-1]
            if end > m[1]:
                m[2] = m[2] + piece[m[1] - start:]
                m[1] = end
        else:
            merged.append([start, end, piece])
    starts, new_starts, out, pos = [], [], [], 0
    for i, (start, end, chars) in enumerate(merged):
        if i or start > 0:
            out.append(_GAP)
            pos += len(_GAP)
        starts.append(start)
        new_starts.append(pos)
        out.append(chars)
        pos += len(chars)
    if merged:
        out.append(_GAP)
    import bisect

    def shift(off: int) -> int:
        i = bisect.bisect_right(starts, off) - 1
        if i < 0:
            return 0
        return new_starts[i] + min(off - starts[i], merged[i][1] - starts[i])

    return "".join(out), shift


@dataclass
class _Span:
    kind: str
    start: int
    end: int
    quote: dict
    index: int = 0
    children: list = field(default_factory=list)


def _spans(doc: _Doc, shift, n: int) -> list[_Span]:
    """Non-overlapping quote spans (text order), each holding the cue / mention spans inside it, plus
    the cue / mention spans outside every quote: a tree that nests as valid HTML."""
    raw = [(k, a, min(b, n), q) for k, a, b, q in _raw_spans(doc, shift) if a < min(b, n)]
    rank = quote_order(doc.quotes)
    quotes: list[_Span] = []
    for k, a, b, q in sorted((r for r in raw if r[0] == "quote"), key=lambda r: (r[1], -r[2])):
        if quotes and a < quotes[-1].end:
            continue  # an overlapping quote: keep the first (it is still in the speaker list)
        quotes.append(_Span(k, a, b, q, index=rank.get(id(q), len(quotes))))
    top: list[_Span] = list(quotes)
    marks = sorted((r for r in raw if r[0] != "quote"), key=lambda r: (r[1], -r[2]))
    for k, a, b, q in marks:
        # split a mark at quote boundaries so that it nests
        cuts = sorted({a, b} | {x for s in quotes for x in (s.start, s.end) if a < x < b})
        for lo, hi in zip(cuts, cuts[1:]):
            host = next((s for s in quotes if s.start <= lo and hi <= s.end), None)
            siblings = host.children if host else top
            if any(lo < s.end and s.start < hi for s in siblings if s.kind != "quote"):
                continue  # overlaps a mark already placed
            siblings.append(_Span(k, lo, hi, q))
    top.sort(key=lambda s: s.start)
    for s in quotes:
        s.children.sort(key=lambda c: c.start)
    return top


# -- speakers ------------------------------------------------------------------------------------

def _speaker_key(sp: dict | None) -> str | None:
    if not sp or not sp.get("name"):
        return None
    return str(sp["name"])


def _speaker_index(doc: _Doc) -> dict[str, int]:
    """Speaker name → its number in the speaker list (speaker records first, then quote speakers)."""
    index: dict[str, int] = {}
    for s in doc.speakers:
        key = _speaker_key(s)
        if key is not None and key not in index:
            index[key] = len(index)
    for q in doc.quotes:
        key = _speaker_key(q.get("speaker"))
        if key is not None and key not in index:
            index[key] = len(index)
    return index


def _speaker_label(sp: dict | None) -> tuple[str, bool]:
    """(label text, resolved?) for the tag after a quote."""
    if not sp:
        return "unknown speaker", False
    role = sp.get("role")
    if sp.get("name"):
        text = str(sp["name"])
        if role:
            text += f", {role}"
        if sp.get("label") == "GROUP":
            text += " (group)"
        return text, True
    mention = (sp.get("mention") or {}).get("text") or "?"
    return f"{mention} (unresolved)", False


# -- HTML pieces ---------------------------------------------------------------------------------

def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def safe_url(url: Any) -> str | None:
    """``url`` when it is an http(s) URL without whitespace or control characters, else None."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if any(ord(c) < 33 or c in "\"'<>`" for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def _header(doc: _Doc, *, gapped: bool) -> str:
    d = doc.document
    title = d.get("title") or d.get("doc_id") or ""
    meta = [_e(d.get("doc_id"))]
    if d.get("date"):
        meta.append(_e(d["date"]))
    url = safe_url(d.get("url"))
    if url:
        meta.append(f'<a href="{_e(url)}" rel="noopener noreferrer nofollow">{_e(url)}</a>')
    elif d.get("url"):
        meta.append(_e(d["url"]))
    meta.append(f"{len(doc.quotes)} quotes")
    if gapped:
        meta.append("text not stored: quotes shown as fragments")
    return f'<h3 class="sk-title">{_e(title)}</h3><div class="sk-meta">{" · ".join(meta)}</div>'


def _legend(target: str | None) -> str:
    items = []
    for label in ("favor", "against", "neutral", None):
        items.append(f'<span><i class="sk-swatch" style="background:{STANCE_COLOURS[label]}"></i>'
                     f"{STANCE_NAMES[label]}</span>")
    items.append('<span><span class="sk-cue">cue</span></span>')
    items.append('<span><a class="sk-mention">speaker mention</a></span>')
    about = f"stance toward <b>{_e(target)}</b>: " if target else "no target selected: "
    return f'<div class="sk-legend">{about}{"".join(items)}</div>'


def _quote_title(q: dict, shown: Sequence[str]) -> str:
    parts = [f"{q.get('kind') or 'quote'} quote"]
    for t in shown:
        st = next((s for s in q.get("stances") or [] if s.get("target") == t), None)
        if st:
            score = st.get("score")
            parts.append(f"{t}: {st.get('label')}" + (f" {score:.2f}" if isinstance(score, (int, float)) else ""))
    return " · ".join(parts)


def _body(text: str, spans: list[_Span], speakers: dict[str, int], uid: str, colour_by: str | None,
          shown: Sequence[str], *, gapped: bool = False) -> str:
    def plain(segment: str) -> str:  # a text node: escaped; the fragment gaps greyed
        if not gapped:
            return _e(segment)
        return f'<span class="sk-gap">{_e(_GAP)}</span>'.join(_e(p) for p in segment.split(_GAP))

    def emit(lo: int, hi: int, items: list[_Span]) -> str:
        out, pos = [], lo
        for s in items:
            out.append(plain(text[pos:s.start]))
            inner = text[s.start:s.end]
            if s.kind == "quote":
                out.append(_quote_html(s, emit(s.start, s.end, s.children), uid, speakers, colour_by, shown))
            elif s.kind == "cue":
                out.append(f'<span class="sk-cue" title="cue">{_e(inner)}</span>')
            else:
                out.append(_mention_html(s, inner, uid, speakers))
            pos = s.end
        out.append(plain(text[pos:hi]))
        return "".join(out)

    return emit(0, len(text), spans)


def _quote_html(s: _Span, inner: str, uid: str, speakers: dict[str, int], colour_by: str | None,
                shown: Sequence[str]) -> str:
    q = s.quote
    label = _stance_of(q, colour_by)
    sp = q.get("speaker")
    key = _speaker_key(sp)
    tag, resolved = _speaker_label(sp)
    attrs = (f'class="sk-quote sk-{STANCE_NAMES[label].replace(" ", "-")}" id="{uid}-q{s.index}" '
             f'style="background:{STANCE_COLOURS[label]}" data-stance="{_e(label or "")}" '
             f'data-quote-id="{_e(q.get("quote_id"))}" title="{_e(_quote_title(q, shown))}"')
    if key is not None:
        attrs += f' data-speaker="{uid}-s{speakers[key]}"'
        label_html = f'<a class="sk-label" href="#{uid}-s{speakers[key]}">{_e(tag)}</a>'
    else:
        label_html = f'<span class="sk-label{"" if resolved else " sk-unresolved"}">{_e(tag)}</span>'
    return f"<mark {attrs}>{inner}</mark>{label_html}"


def _mention_html(s: _Span, inner: str, uid: str, speakers: dict[str, int]) -> str:
    sp = s.quote.get("speaker") or {}
    key = _speaker_key(sp)
    how = sp.get("resolution") or "mention"
    if key is None:
        return (f'<a class="sk-mention sk-unresolved" title="{_e(f"{how}: speaker not resolved")}">'
                f"{_e(inner)}</a>")
    return (f'<a class="sk-mention" href="#{uid}-s{speakers[key]}" data-resolution="{_e(how)}" '
            f'title="{_e(f"{how} → {key}")}">{_e(inner)}</a>')


def _speaker_list(doc: _Doc, speakers: dict[str, int], uid: str, shown: Sequence[str]) -> str:
    records = {}
    for s in doc.speakers:
        key = _speaker_key(s)
        if key is not None:
            records.setdefault(key, s)
    first_quote = {}
    n_quotes: dict[str, int] = {}
    for q in doc.quotes:
        key = _speaker_key(q.get("speaker"))
        if key is not None:
            first_quote.setdefault(key, q.get("speaker"))
            n_quotes[key] = n_quotes.get(key, 0) + 1
    items = []
    for key, i in speakers.items():
        rec = records.get(key) or {}
        qsp = first_quote.get(key) or {}
        roles = rec.get("roles") or ([qsp["role"]] if qsp.get("role") else [])
        label = rec.get("label") or qsp.get("label")
        line = f'<li id="{uid}-s{i}"><b class="sk-name">{_e(key)}</b>'
        if roles:
            line += f' <span class="sk-role">{_e(", ".join(str(r) for r in roles))}</span>'
        if label:
            line += f" <small>[{_e(label)}]</small>"
        line += f" · {n_quotes.get(key, 0)} quotes"
        for st in rec.get("stances") or []:
            if not shown or st.get("target") in shown:
                line += f' · {_e(st.get("target"))}: <b>{_e(st.get("label"))}</b>'
        items.append(line + "</li>")
    unresolved = sum(1 for q in doc.quotes if _speaker_key(q.get("speaker")) is None)
    if unresolved:
        items.append(f'<li class="sk-unresolved">{unresolved} quotes without a resolved speaker</li>')
    return '<ol class="sk-speakers">' + "".join(items) + "</ol>" if items else ""
