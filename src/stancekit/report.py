"""One self-contained HTML report for a run directory (``stancekit report DIR --out report.html``).

The page works from a file: no server, no network. Plots are plotly figures with the plotly.js bundle
inlined once. It holds

* the counts of the run, errors by code (with examples) and warnings by code;
* a speaker × target stance table (speakers aggregated over documents by canonical name), each cell
  with its evidence quotes linking to the quote in the document's rendered view;
* stance over time, when documents have dates; a per-outlet breakdown (URL domain, else an
  ``outlet`` / ``publisher`` field, else the input file when a run has several);
* the top check-worthy claims with their quantities;
* rendered views (:func:`stancekit.render.render_document`) of a sample of the documents: those
  cited as evidence first.

Records are streamed and aggregated, and every list is capped, so that a 10,000-document run gives a
page of a few megabytes (most of it plotly.js).
"""

from __future__ import annotations

import datetime as _dt
import heapq
import html
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit

from . import __version__
from .errors import Errors, StancekitError
from .records import iter_jsonl
from .render import (_CSS, STANCE_COLOURS, _Doc, _e, doc_anchor, quote_anchor, quote_order,
                     render_document, safe_url)

LABELS = ("favor", "against", "neutral")
PLOT_COLOURS = {"favor": "#1b7837", "against": "#c2461b", "neutral": "#8c8c8c"}


@dataclass
class ReportLimits:
    """Caps that keep the page small on large runs."""

    speakers: int = 40          # rows of the speaker × target table
    evidence: int = 2           # evidence quotes per table cell
    claims: int = 25            # top claims listed
    outlets: int = 20           # outlets in the breakdown
    errors_per_code: int = 5    # example messages per error code
    documents: int = 60         # rendered document views
    views_bytes: int = 2_500_000  # budget of the rendered views
    quote_chars: int = 280      # evidence quotes are cut to this length


@dataclass
class _Stats:
    manifest: dict
    documents: dict = field(default_factory=dict)      # doc_id → slim document record
    n_documents: int = 0
    errors: Counter = field(default_factory=Counter)
    error_examples: dict = field(default_factory=lambda: defaultdict(list))
    warnings: Counter = field(default_factory=Counter)
    targets: list = field(default_factory=list)
    n_quotes: int = 0
    n_speakers: int = 0
    n_claims: int = 0
    quote_labels: dict = field(default_factory=lambda: defaultdict(Counter))  # target → label counts
    by_date: dict = field(default_factory=lambda: defaultdict(Counter))       # (target, date, label) counts
    by_outlet: dict = field(default_factory=lambda: defaultdict(Counter))     # (target, outlet) → labels
    speakers: dict = field(default_factory=dict)      # name → aggregate
    claims: list = field(default_factory=list)        # heap of top claims
    quotes: dict = field(default_factory=dict)        # quote_id → (doc_id, text) for evidence
    outlet_kind: str = "outlet"


def build_report(run_dir: str | Path, *, limits: ReportLimits | None = None, title: str | None = None) -> str:
    """The report page of ``run_dir`` as one HTML string."""
    run_dir = Path(run_dir)
    limits = limits or ReportLimits()
    if not (run_dir / "manifest.json").exists():
        raise StancekitError(Errors.E013, path=run_dir)
    stats = _collect(run_dir, limits)
    views, viewed = _views(run_dir, stats, limits)
    plots = _Plots()
    sections = [
        _summary(stats, run_dir),
        _speaker_table(stats, limits, viewed),
        _over_time(stats, plots),
        _outlets(stats, plots, limits),
        _claims(stats, limits, viewed),
        views,
    ]
    page_title = title or f"stancekit report: {run_dir.name}"
    nav = " · ".join(f'<a href="#{a}">{n}</a>' for a, n in (("summary", "summary"), ("speakers", "speakers"),
                                                            ("time", "over time"), ("outlets", "outlets"),
                                                            ("claims", "claims"), ("documents", "documents")))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width\"><title>{_e(page_title)}</title>"
        f"<style>{_PAGE_CSS}{_CSS}</style></head><body>\n"
        f"<header><h1>{_e(page_title)}</h1><nav>{nav}</nav></header>\n"
        + "\n".join(sections)
        + f"\n<footer>stancekit {_e(__version__)} · generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
          "</footer>\n</body></html>\n")


def write_report(run_dir: str | Path, out: str | Path, **kwargs) -> Path:
    """Write :func:`build_report` of ``run_dir`` to ``out``; returns the path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_report(run_dir, **kwargs), encoding="utf-8")
    return out


# -- reading and aggregating ---------------------------------------------------------------------

def _records(run_dir: Path, name: str) -> Iterable[dict]:
    path = run_dir / f"{name}.jsonl"
    return iter_jsonl(path) if path.exists() else iter(())


def _day(value) -> str | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return _dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def _outlet(doc: dict) -> tuple[str | None, str]:
    """(outlet, kind): the URL's domain, else a publisher field, else the input file."""
    url = doc.get("url")
    if isinstance(url, str) and "://" in url:
        host = (urlsplit(url).hostname or "").lower()
        if host:
            return (host[4:] if host.startswith("www.") else host), "outlet"
    for key in ("outlet", "publisher", "site", "source_name"):
        if isinstance(doc.get(key), str) and doc[key].strip():
            return doc[key].strip(), "outlet"
    src = doc.get("source")
    if isinstance(src, str) and src:
        return src.split("#")[0].rsplit(":", 1)[0] if ".jsonl:" in src else src.split("#")[0], "input"
    return None, "input"


def _collect(run_dir: Path, limits: ReportLimits) -> _Stats:
    stats = _Stats(manifest=json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")))
    kinds = Counter()
    for d in _records(run_dir, "documents"):
        stats.n_documents += 1
        outlet, kind = _outlet(d)
        kinds[kind] += outlet is not None
        stats.documents[d.get("doc_id")] = {
            "doc_id": d.get("doc_id"), "title": d.get("title"), "date": _day(d.get("date")), "url": d.get("url"),
            "source": d.get("source"), "outlet": outlet, "outlet_kind": kind, "n_chars": d.get("n_chars"),
            "n_quotes": d.get("n_quotes", 0), "text": d.get("text")}
        for w in d.get("warnings") or []:
            stats.warnings[w.get("code") or "?"] += 1
    # an input-file breakdown only says something when a run has several inputs and no outlet is known
    if kinds["outlet"] == 0:
        files = {d["outlet"] for d in stats.documents.values() if d["outlet"]}
        if len(files) < 2:
            for d in stats.documents.values():
                d["outlet"] = None
        stats.outlet_kind = "input file"
    else:
        for d in stats.documents.values():
            if d["outlet_kind"] != "outlet":
                d["outlet"] = None
    for e in _records(run_dir, "errors"):
        code = e.get("code") or "?"
        stats.errors[code] += 1
        if len(stats.error_examples[code]) < limits.errors_per_code:
            stats.error_examples[code].append(e)
    targets: list[str] = []
    for q in _records(run_dir, "quotes"):
        stats.n_quotes += 1
        doc = stats.documents.get(q.get("doc_id")) or {}
        stats.quotes[q.get("quote_id")] = (q.get("doc_id"), _cut(q.get("text") or "", limits.quote_chars),
                                           q.get("start"), q.get("end"))
        for st in q.get("stances") or []:
            t, label = st.get("target"), st.get("label")
            if t is None or label not in LABELS:
                continue
            if t not in targets:
                targets.append(t)
            stats.quote_labels[t][label] += 1
            if doc.get("date"):
                stats.by_date[(t, doc["date"])][label] += 1
            if doc.get("outlet"):
                stats.by_outlet[(t, doc["outlet"])][label] += 1
    stats.targets = targets
    for s in _records(run_dir, "speakers"):
        stats.n_speakers += 1
        name = s.get("name")
        if not name:
            continue
        agg = stats.speakers.setdefault(name, {"name": name, "label": s.get("label"), "roles": Counter(),
                                               "docs": set(), "n_quotes": 0, "targets": {}})
        agg["docs"].add(s.get("doc_id"))
        agg["n_quotes"] += len(s.get("quote_ids") or [])
        for r in s.get("roles") or []:
            agg["roles"][r] += 1
        for st in s.get("stances") or []:
            t, label = st.get("target"), st.get("label")
            if t is None or label not in LABELS:
                continue
            cell = agg["targets"].setdefault(t, {"labels": Counter(), "score": 0.0, "n": 0, "evidence": []})
            cell["labels"][label] += 1
            cell["score"] += float(st.get("score") or 0.0)
            cell["n"] += 1
            if len(cell["evidence"]) < limits.evidence * 3:
                cell["evidence"].extend((label, e) for e in (st.get("evidence") or [])[:1])
    for c in _records(run_dir, "claims"):
        stats.n_claims += 1
        quantities = [x for x in c.get("quantities") or [] if isinstance(x, dict)]
        if not quantities:
            continue
        key = (float(c.get("checkworthiness") or 0.0), len(quantities), stats.n_claims)
        slim = {"doc_id": c.get("doc_id"), "claim_id": c.get("claim_id"), "text": _cut(c.get("text") or "", 400),
                "claimer": c.get("claimer") or {}, "quantities": quantities[:8], "kind": c.get("kind"),
                "checkworthiness": key[0]}
        if len(stats.claims) < limits.claims:
            heapq.heappush(stats.claims, (key, slim))
        elif key > stats.claims[0][0]:
            heapq.heapreplace(stats.claims, (key, slim))
    return stats


def _cut(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _top_speakers(stats: _Stats, limits: ReportLimits) -> list[dict]:
    return sorted(stats.speakers.values(), key=lambda a: (-a["n_quotes"], -len(a["docs"]), a["name"]))[:limits.speakers]


# -- document views --------------------------------------------------------------------------------

def _views(run_dir: Path, stats: _Stats, limits: ReportLimits) -> tuple[str, dict]:
    """Rendered views of a sample of documents; returns (html, {quote_id: anchor})."""
    wanted: list[str] = []
    for agg in _top_speakers(stats, limits):
        for cell in agg["targets"].values():
            for _, qid in cell["evidence"][:limits.evidence]:
                doc_id = stats.quotes.get(qid, (None,))[0]
                if doc_id in stats.documents and doc_id not in wanted:
                    wanted.append(doc_id)
    for _, c in sorted(stats.claims, reverse=True):
        if c["doc_id"] in stats.documents and c["doc_id"] not in wanted:
            wanted.append(c["doc_id"])
    for doc_id, d in stats.documents.items():
        if len(wanted) >= limits.documents:
            break
        if doc_id not in wanted and d.get("n_quotes"):
            wanted.append(doc_id)
    wanted = wanted[:limits.documents]
    keep = set(wanted)
    quotes, speakers = defaultdict(list), defaultdict(list)
    for q in _records(run_dir, "quotes"):
        if q.get("doc_id") in keep:
            quotes[q["doc_id"]].append(q)
    for s in _records(run_dir, "speakers"):
        if s.get("doc_id") in keep:
            speakers[s["doc_id"]].append(s)
    texts = load_texts(run_dir, [stats.documents[d] for d in wanted])
    parts, anchors, size = [], {}, 0
    for doc_id in wanted:
        d = stats.documents[doc_id]
        record = {k: d.get(k) for k in ("doc_id", "title", "date", "url", "source")}
        view = render_document(_Doc(document=record, quotes=quotes[doc_id], speakers=speakers[doc_id],
                                    text=texts.get(doc_id)), targets=stats.targets or None)
        if size + len(view) > limits.views_bytes and parts:
            break
        size += len(view)
        parts.append(view)
        for q, rank in _ranks(quotes[doc_id]):
            anchors[q["quote_id"]] = quote_anchor(doc_id, rank)
        anchors[f"doc:{doc_id}"] = doc_anchor(doc_id)
    n = len(parts)
    intro = (f"<p>{n} of {stats.n_documents} documents, those cited as evidence first. "
             "Documents whose text the run did not store and whose input file is not at hand are shown as "
             "fragments (quotes, cues and mentions joined by “…”).</p>")
    return f'<section id="documents"><h2>Documents</h2>{intro}' + "\n".join(parts) + "</section>", anchors


def _ranks(quotes: list[dict]):
    order = quote_order(quotes)
    for q in quotes:
        if id(q) in order:
            yield q, order[id(q)]


def load_texts(run_dir: Path, docs: list[dict]) -> dict[str, str]:
    """The text of each document when it can be found: the record's ``text``, else its input file
    (a ``.txt`` file, or a line of a ``.jsonl`` file), read again; kept only when its length matches."""
    out: dict[str, str] = {}
    by_jsonl: dict[Path, dict[int, str]] = defaultdict(dict)
    for d in docs:
        if isinstance(d.get("text"), str):
            out[d["doc_id"]] = d["text"]
            continue
        src = d.get("source")
        if not isinstance(src, str) or "#" in src:
            continue
        path, line = src, None
        if ".jsonl:" in src:
            path, _, num = src.rpartition(":")
            line = int(num) if num.isdigit() else None
        p = _resolve(run_dir, path)
        if p is None:
            continue
        if line is not None:
            by_jsonl[p][line] = d["doc_id"]
        elif p.suffix.lower() == ".txt":
            try:
                text = p.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError):
                continue
            out[d["doc_id"]] = text
    for path, lines in by_jsonl.items():
        try:
            with path.open(encoding="utf-8") as fh:
                for lineno, raw in enumerate(fh, 1):
                    if lineno in lines:
                        try:
                            text = json.loads(raw).get("text")
                        except (json.JSONDecodeError, AttributeError):
                            continue
                        if isinstance(text, str):
                            out[lines[lineno]] = text
        except OSError:
            continue
    n_chars = {d["doc_id"]: d.get("n_chars") for d in docs}
    return {k: v for k, v in out.items() if n_chars.get(k) in (None, len(v))}


def _resolve(run_dir: Path, path: str) -> Path | None:
    for p in (Path(path), run_dir / path, run_dir.parent / path):
        if p.is_file():
            return p
    return None


# -- sections --------------------------------------------------------------------------------------

def _summary(stats: _Stats, run_dir: Path) -> str:
    m = stats.manifest
    counts = [("documents", stats.n_documents), ("quotes", stats.n_quotes), ("speakers", stats.n_speakers),
              ("claims", stats.n_claims), ("errors", sum(stats.errors.values()))]
    cards = "".join(f'<div class="card"><b>{n:,}</b><span>{_e(k)}</span></div>' for k, n in counts)
    models = m.get("models") or {}
    rows = [("run", run_dir.name), ("created", m.get("created")), ("stancekit", m.get("stancekit_version")),
            ("targets", ", ".join(stats.targets) or "none (no stance computed)"),
            ("spaCy", models.get("spacy")), ("stance backend", _backend_line(models.get("stance"))),
            ("time", f"{(m.get('timings_s') or {}).get('total', '?')} s")]
    meta = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows if v is not None)
    labels = ""
    for t in stats.targets:
        c = stats.quote_labels[t]
        total = sum(c.values()) or 1
        labels += (f"<tr><th>{_e(t)}</th>" + "".join(
            f'<td><i class="sk-swatch" style="background:{STANCE_COLOURS[lab]}"></i>{c[lab]:,} '
            f"({100 * c[lab] / total:.0f}%)</td>" for lab in LABELS) + "</tr>")
    if labels:
        labels = ("<h3>Quote stance per target</h3><table class=\"grid\"><tr><th>target</th><th>favor</th>"
                  f"<th>against</th><th>neutral</th></tr>{labels}</table>")
    err = ""
    if stats.errors:
        rows_e = ""
        for code, n in stats.errors.most_common():
            ex = "<br>".join(f"{_e(e.get('doc_id'))}: {_e(_cut(e.get('message') or '', 200))}"
                             for e in stats.error_examples[code])
            rows_e += f"<tr><td><code>{_e(code)}</code></td><td>{n:,}</td><td>{ex}</td></tr>"
        err = (f"<h3>Errors</h3><table class=\"grid\" id=\"errors\"><tr><th>code</th><th>documents</th>"
               f"<th>examples</th></tr>{rows_e}</table>")
    else:
        err = "<h3>Errors</h3><p>No document failed.</p>"
    warn = ""
    if stats.warnings:
        warn = "<h3>Warnings</h3><p>" + ", ".join(f"<code>{_e(c)}</code> × {n:,}"
                                                  for c, n in stats.warnings.most_common()) + "</p>"
    return (f'<section id="summary"><h2>Summary</h2><div class="cards">{cards}</div>'
            f'<table class="meta">{meta}</table>{labels}{err}{warn}</section>')


def _backend_line(desc) -> str | None:
    if not isinstance(desc, dict):
        return None if desc is None else str(desc)
    parts = [str(desc.get("backend") or "?")]
    for key in ("model", "encoder", "head"):
        if desc.get(key):
            parts.append(f"{key} {Path(str(desc[key])).name}")
    return ", ".join(parts)


def _speaker_table(stats: _Stats, limits: ReportLimits, anchors: dict) -> str:
    top = _top_speakers(stats, limits)
    if not top:
        return '<section id="speakers"><h2>Speakers</h2><p>No speaker with a name.</p></section>'
    if not stats.targets:
        note = "<p>No stance was computed (the run had no targets): speakers with their quote counts.</p>"
    else:
        note = (f"<p>The {len(top)} speakers with most quotes (of {len(stats.speakers):,}), aggregated over "
                "documents by name. A cell: the most frequent per-document stance, the per-document counts, "
                "the mean score, and evidence quotes (links go to the quote in its document below).</p>")
    head = "<tr><th>speaker</th><th>documents</th><th>quotes</th>" + "".join(
        f"<th>{_e(t)}</th>" for t in stats.targets) + "</tr>"
    rows = []
    for agg in top:
        roles = ", ".join(r for r, _ in agg["roles"].most_common(2))
        who = f'<b class="speaker">{_e(agg["name"])}</b>' + (f"<br><small>{_e(roles)}</small>" if roles else "")
        if agg.get("label") == "GROUP":
            who += " <small>(group)</small>"
        cells = []
        for t in stats.targets:
            cell = agg["targets"].get(t)
            if not cell:
                cells.append("<td></td>")
                continue
            label, _ = cell["labels"].most_common(1)[0]
            counts = ", ".join(f"{n} {lab}" for lab, n in cell["labels"].most_common())
            ev = []
            for _, qid in cell["evidence"][:limits.evidence]:
                doc_id, text, *_ = stats.quotes.get(qid, (None, None))
                if text is None:
                    continue
                href = anchors.get(qid)
                quote = f"“{_e(text)}”"
                ev.append(f'<a class="evidence" href="#{href}">{quote}</a>' if href else
                          f'<span class="evidence">{quote}</span>')
                ev[-1] += f' <small>({_e(doc_id)})</small>'
            cells.append(f'<td class="stance" style="background:{STANCE_COLOURS[label]}">'
                         f'<b data-stance="{label}">{label}</b> <small>{_e(counts)} · mean score '
                         f'{cell["score"] / max(cell["n"], 1):.2f}</small><div>{"<br>".join(ev)}</div></td>')
        rows.append(f"<tr><td>{who}</td><td>{len(agg['docs']):,}</td><td>{agg['n_quotes']:,}</td>"
                    + "".join(cells) + "</tr>")
    return (f'<section id="speakers"><h2>Speakers × targets</h2>{note}<table class="grid" id="speaker-table">'
            f"{head}{''.join(rows)}</table></section>")


class _Plots:
    """plotly figures as HTML; the first one carries the inlined plotly.js bundle."""

    def __init__(self):
        self.first = True
        try:
            import plotly  # noqa: F401
            self.available = True
        except ImportError:
            self.available = False

    @staticmethod
    def missing(what: str) -> str:
        return (f"<p>{what}: the plots need plotly (<code>pip install 'stancekit[report]'</code>); "
                "the tables are below.</p>")

    def html(self, fig) -> str:
        out = fig.to_html(full_html=False, include_plotlyjs=self.first, include_mathjax=False,
                          config={"displaylogo": False, "responsive": True})
        self.first = False
        return out


def _granularity(days: list[str]) -> str:
    first, last = _dt.date.fromisoformat(min(days)), _dt.date.fromisoformat(max(days))
    span = (last - first).days
    return "day" if span <= 90 else "week" if span <= 2 * 365 else "month"


def _period(day: str, unit: str) -> str:
    d = _dt.date.fromisoformat(day)
    if unit == "week":
        return (d - _dt.timedelta(days=d.weekday())).isoformat()
    if unit == "month":
        return d.replace(day=1).isoformat()
    return day


def _over_time(stats: _Stats, plots: _Plots) -> str:
    days = sorted({day for (_, day) in stats.by_date})
    if not days:
        why = "no document has a date" if stats.targets else "no stance was computed"
        return f'<section id="time"><h2>Stance over time</h2><p>Not shown: {why}.</p></section>'
    if not plots.available:
        return '<section id="time"><h2>Stance over time</h2>' + plots.missing("Stance over time") + "</section>"
    import plotly.graph_objects as go

    unit = _granularity(days)
    parts = []
    for t in stats.targets:
        series: dict[str, Counter] = defaultdict(Counter)
        for (tt, day), c in stats.by_date.items():
            if tt == t:
                series[_period(day, unit)].update(c)
        if not series:
            continue
        xs = sorted(series)
        fig = go.Figure()
        for lab in LABELS:
            totals = [sum(series[x].values()) or 1 for x in xs]
            fig.add_trace(go.Scatter(x=xs, y=[series[x][lab] / n for x, n in zip(xs, totals)], name=lab,
                                     mode="lines+markers", stackgroup="one", line={"color": PLOT_COLOURS[lab]},
                                     customdata=[series[x][lab] for x in xs],
                                     hovertemplate="%{x}: %{customdata} quotes (%{y:.0%})<extra>" + lab
                                                   + "</extra>"))
        fig.update_layout(title=f"Share of quotes per stance toward “{t}”, per {unit}", height=340,
                          margin={"l": 50, "r": 20, "t": 50, "b": 40}, yaxis={"tickformat": ".0%"},
                          xaxis={"type": "date", "tickformat": "%Y-%m-%d" if unit != "month" else "%Y-%m"},
                          legend={"orientation": "h", "y": -0.2})
        parts.append(plots.html(fig))
    return ('<section id="time"><h2>Stance over time</h2><p>Quotes of documents with a date, by the date of '
            f'their document ({len(days)} distinct days).</p>' + "".join(parts) + "</section>")


def _outlets(stats: _Stats, plots: _Plots, limits: ReportLimits) -> str:
    per = defaultdict(Counter)
    for (t, outlet), c in stats.by_outlet.items():
        per[outlet].update(c)
    docs_per = Counter(d["outlet"] for d in stats.documents.values() if d.get("outlet"))
    if not docs_per:
        return ('<section id="outlets"><h2>Outlets</h2><p>Not shown: no document has a URL or an outlet, and '
                'the run had a single input.</p></section>')
    top = [o for o, _ in docs_per.most_common(limits.outlets)]
    kind = stats.outlet_kind
    parts = [] if plots.available else [plots.missing(f"Per {kind}")]
    for t in stats.targets if plots.available else []:
        import plotly.graph_objects as go

        fig = go.Figure()
        for lab in LABELS:
            fig.add_trace(go.Bar(y=top, x=[stats.by_outlet[(t, o)][lab] for o in top], name=lab, orientation="h",
                                 marker={"color": PLOT_COLOURS[lab]}))
        fig.update_layout(barmode="stack", title=f"Quotes per stance toward “{t}”, per {kind}",
                          height=120 + 26 * len(top), margin={"l": 160, "r": 20, "t": 50, "b": 40},
                          yaxis={"autorange": "reversed"}, legend={"orientation": "h", "y": -0.15})
        parts.append(plots.html(fig))
    rows = "".join(f"<tr><td>{_e(o)}</td><td>{docs_per[o]:,}</td>" + "".join(
        f"<td>{per[o][lab]:,}</td>" for lab in LABELS) + "</tr>" for o in top)
    table = (f'<table class="grid" id="outlet-table"><tr><th>{_e(kind)}</th><th>documents</th><th>favor</th>'
             f"<th>against</th><th>neutral</th></tr>{rows}</table>")
    return (f'<section id="outlets"><h2>Per {_e(kind)}</h2><p>The {len(top)} {_e(kind)}s with most documents '
            f"(of {len(docs_per):,}); quote stance summed over all targets in the table.</p>"
            + "".join(parts) + table + "</section>")


def _claims(stats: _Stats, limits: ReportLimits, anchors: dict) -> str:
    top = [c for _, c in sorted(stats.claims, key=lambda kc: kc[0], reverse=True)]
    if not top:
        return '<section id="claims"><h2>Claims</h2><p>No claim with a quantity.</p></section>'
    rows = []
    for c in top:
        who = c["claimer"].get("name") or ("author" if c["claimer"].get("kind") == "author" else "unknown")
        qs = "<br>".join(_quantity(x) for x in c["quantities"])
        href = anchors.get(f"doc:{c['doc_id']}")
        doc = f'<a href="#{href}">{_e(c["doc_id"])}</a>' if href else _e(c["doc_id"])
        rows.append(f"<tr><td>{c['checkworthiness']:.2f}</td><td>{_e(c['text'])}</td><td>{_e(who)}</td>"
                    f"<td>{qs}</td><td>{doc}</td></tr>")
    return (f'<section id="claims"><h2>Top claims with quantities</h2><p>The {len(top)} most check-worthy '
            f"claims that carry a quantity (of {stats.n_claims:,} claims).</p><table class=\"grid\" "
            "id=\"claim-table\"><tr><th>check-worthiness</th><th>claim</th><th>claimer</th><th>quantities</th>"
            f"<th>document</th></tr>{''.join(rows)}</table></section>")


def _quantity(x: dict) -> str:
    value = x.get("value")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    parts = [f"<b>{_e(x.get('text'))}</b> → {_e(value)}"]
    if x.get("value_max") is not None:
        parts.append(f"–{_e(x['value_max'])}")
    if x.get("unit"):
        parts.append(f" {_e(x['unit'])}")
    if x.get("per"):
        parts.append(f" per {_e(x['per'])}")
    if x.get("approx") and x["approx"] != "exact":
        parts.append(f" <small>({_e(x['approx'])})</small>")
    if x.get("date"):
        parts.append(f" <small>[{_e(x['date'])}]</small>")
    return "".join(parts)


_PAGE_CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:72em;padding:0 1.2em 3em 1.2em;color:#222}
header{border-bottom:1px solid #ddd;margin-bottom:1em}header nav a{margin-right:.4em}
h2{border-bottom:1px solid #eee;padding-top:.6em}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;
 min-width:7em}.card b{display:block;font-size:1.6em}.card span{color:#666}
table.grid{border-collapse:collapse;margin:.5em 0;font-size:.9em}table.grid td,table.grid th{border:1px solid #ddd;
 padding:.3em .5em;vertical-align:top;text-align:left}table.meta th{text-align:left;padding-right:1em;color:#555}
td.stance{min-width:14em;max-width:28em}a.evidence{color:#222}td.stance small{color:#333}
.sk-render{border-top:1px dashed #ccc;padding-top:.6em;margin-top:1.2em}
footer{margin-top:3em;color:#888;font-size:.8em}
"""
