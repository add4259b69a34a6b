"""PolNeAR BRAT files → CofeNet-style BIO (paragraph instances of PTB-like tokens).

CofeNet's PolNeAR files hold one JSON line per paragraph (blank lines between paragraphs) of every
annotation file,
with Penn-Treebank-style tokens (``````/``''`` for double quotes, ``'s`` and ``n't`` split off,
``--`` for dashes, ``-LSB-``/``-RSB-``) and BIO labels over ``source`` / ``cue`` / ``content``.
:func:`brat_to_cofenet` rebuilds such lines from the BRAT files (so a train file can be made, which
CofeNet did not publish) and :func:`compare_cofenet` measures, instance for instance, how closely
the result matches a reference file. Our tokenizer is a compact rule set, not CoreNLP: the match
rate is measured, not assumed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable

from .data import RoleSpan

_ABBREV = ("Mr|Mrs|Ms|Dr|Sen|Sens|Rep|Reps|Gov|Rev|Lt|Gen|Col|Capt|Sgt|Cmdr|Adm|Prof|St|Mt|Ft|Jr|Sr|Inc|Corp|Co|"
           "Ltd|Bros|No|vs|v|etc|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Ala|Ariz|Ark|Calif|Colo|Conn|"
           "Del|Fla|Ga|Ill|Ind|Kan|Ky|La|Md|Mass|Mich|Minn|Miss|Mo|Mont|Neb|Nev|Okla|Ore|Pa|Tenn|Tex|Va|Vt|"
           "Wash|Wis|Wyo|Pres|Supt|Gens")
_TOKEN = re.compile(rf"""
    </?[A-Za-z][^<>\n]{{0,300}}?>          # markup left in the text (<tweet .../>, </tweet>), one token
  | [\w.+-]+@\w+(?:\.\w+)+ | [@#]\w+         # e-mail addresses, handles, hashtags
  | [DRI]-[A-Z][A-Za-z]*(?:\.[A-Z][A-Za-z]*)*  # party and state: D-N.Y ., R-Tenn . (the period apart)
  | (?:[A-Za-z]\.){{2,}}                     # U.S., a.m., D.C.
  | (?:{_ABBREV})\.(?=\s|$|[,;:)'"’”])       # Mr., Sen., Calif.
  | [A-Z]\.(?=\s)                          # an initial: J. Smith
  | \d+(?:[.,:/]\d+)+                       # 1,500 1.6 1:30 9/11
  | \.\.\.+ | … | -- | — | – | ―             # ellipses and dashes
  | '' | ``                                # doubled marks as quotes
  | ['’](?:cause|em|til|[0-9]0s)\b          # 'cause, 'em, '80s: one token
  | [\w]+(?:[-'’/&.]\w+)*                   # words, with inner hyphens, apostrophes, slashes
  | \S                                      # any other single character
""", re.VERBOSE)
_CONTRACTION = re.compile(r"(?i)(n['’]t|['’](?:s|re|ve|ll|m|d))$")
_MAP = {"“": "``", "”": "''", "‘": "`", "’": "'", "…": "...", "—": "--", "–": "--", "―": "--",
        "[": "-LSB-", "]": "-RSB-", "{": "-LCB-", "}": "-RCB-"}


def ptb_tokens(text: str) -> list[tuple[str, int, int]]:
    """PTB-like tokens of ``text`` as (token, start, end) with character offsets into ``text``."""
    out: list[tuple[str, int, int]] = []
    for m in _TOKEN.finditer(text):
        tok, a, b = m.group(), m.start(), m.end()
        c = _CONTRACTION.search(tok)
        if c is not None and c.start() > 0 and not re.search(r"(?i)^o['’]", tok):
            out.append((tok[:c.start()], a, a + c.start()))
            out.append((c.group().replace("’", "'"), a + c.start(), b))
            continue
        if tok.lower() in ("cannot", "gonna", "gotta", "wanna"):
            out.append((tok[:3], a, a + 3))
            out.append((tok[3:], a + 3, b))
            continue
        if tok in ("'", "’") and (a == 0 or text[a - 1].isspace() or text[a - 1] in "\"“(") \
                and b < len(text) and not text[b].isspace():
            out.append(("`", a, b))  # an opening single quote
            continue
        if tok == '"':
            opening = a == 0 or text[a - 1].isspace() or text[a - 1] in "([{—-"
            out.append(("``" if opening else "''", a, b))
            continue
        out.append((_MAP.get(tok, tok.replace("’", "'")), a, b))
    return out


def bio_labels(tokens: list[tuple[str, int, int]], spans: Iterable[RoleSpan]) -> list[str]:
    """BIO labels of ``tokens``: a token whose last character lies in a span fragment takes its role; a
    fragment starts with ``B-``. So, as in CofeNet's files, a fragment that stops a character short
    (``Mr. Obam``) leaves its last token ``O``, and one that starts a character late (``either`` of
    ``neither``) still takes the first token."""
    frags = sorted(spans, key=lambda s: s.start)
    labels = []
    prev = None
    for _, a, b in tokens:
        k = next((i for i, s in enumerate(frags) if s.start < b <= s.end), None)
        if k is None:
            labels.append("O")
        else:
            labels.append(("I-" if k == prev else "B-") + frags[k].role)
        prev = k
    return labels


def _brat_spans(ann: str) -> list[RoleSpan]:
    spans = []
    for line in ann.splitlines():
        parts = line.split("\t")
        if not line.startswith("T") or len(parts) < 2:
            continue
        typ, _, offs = parts[1].partition(" ")
        role = {"Source": "source", "Cue": "cue", "Content": "content"}.get(typ)
        if role is None:
            continue
        for frag in offs.split(";"):
            a, b = frag.split()
            spans.append(RoleSpan(int(a), int(b), role))
    return spans


def polnear_articles(folder: str | Path) -> Iterable[tuple[str, str, Path]]:
    """``(annotation id, article text, .ann path)`` for every ``.ann`` file of a PolNeAR split folder
    whose article text exists, in file order (the id is the ``.ann`` file's stem, as in CofeNet's ``id``)."""
    folder = Path(folder)
    for ann in sorted((folder / "attributions").glob("*.ann")):
        text_path = folder / "text" / f"{ann.stem.rsplit('_', 1)[0]}.txt"
        if text_path.exists():
            yield ann.stem, text_path.read_text(encoding="utf-8"), ann


def read_cofenet(path: str | Path) -> dict[str, list[dict]]:
    """A CofeNet file's instances, grouped by annotation ``id``, in file order."""
    out: dict[str, list[dict]] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                out.setdefault(row["id"], []).append(row)
    return out


def align_instances(a: list[list[str]], b: list[list[str]]) -> list[tuple[int, int]]:
    """Index pairs of the instances of two sequences (token lists) that are identical, in order, so
    that one instance merged or split on one side does not shift the rest."""
    import difflib

    matcher = difflib.SequenceMatcher(None, [tuple(t) for t in a], [tuple(t) for t in b], autojunk=False)
    return [(blk.a + k, blk.b + k) for blk in matcher.get_matching_blocks() for k in range(blk.size)]


def brat_to_cofenet(folder: str | Path) -> list[dict]:
    """CofeNet-style instances (``tokens``, ``labels``, ``id``) for every ``.ann`` file of a PolNeAR
    split folder, paragraph by paragraph, in file order."""
    rows = []
    for key, text, ann in polnear_articles(folder):
        spans = _brat_spans(ann.read_text(encoding="utf-8"))
        for toks in instances(text):
            inside = [s for s in spans if s.start < toks[-1][2] and toks[0][1] < s.end]
            rows.append({"tokens": [t for t, _, _ in toks], "labels": bio_labels(toks, inside), "id": key})
    return rows


_FINAL = {".", "?", "!", "...", "-RRB-", ")"}
_CLOSERS = {"''", "'", ")", "-RRB-", "-RSB-"}


def _ends_sentence(toks: list[tuple[str, int, int]]) -> bool:
    """Whether a paragraph's last token closes a sentence (``.``, ``?``, ``!``, possibly followed by
    closing quotes or brackets)."""
    k = len(toks) - 1
    while k > 0 and toks[k][0] in _CLOSERS:
        k -= 1
    return toks[k][0] in _FINAL


def instances(text: str) -> list[list[tuple[str, int, int]]]:
    """Token lists of the instances of one article: its paragraphs (blank lines between them), where
    a paragraph that does not end a sentence (``7 p.m.``, ``He added:``) runs on into the next one,
    as a sentence splitter that ignores line breaks has it."""
    out: list[list[tuple[str, int, int]]] = []
    run_on = False
    for m in re.finditer(r"\S(?:.|\n(?!\s*\n))*", text):
        a = m.start()
        toks = [(t, a + s, a + e) for t, s, e in ptb_tokens(m.group())]
        if not toks:
            continue
        if out and (run_on or (len(toks) == 2 and toks[1][0] == ".")):  # a one-word line ("___.") too
            out[-1].extend(toks)
        else:
            out.append(toks)
        run_on = not _ends_sentence(toks)
    return out


def compare_cofenet(ours: list[dict], reference: str | Path) -> dict:
    """Instance-for-instance agreement of ``ours`` with a CofeNet file. Per annotation file the two
    instance sequences are aligned on their token lists (so one merged paragraph does not shift the
    rest); ``same_tokens``: reference instances with an identical instance of ours, ``same_labels``:
    those whose labels are identical too."""
    ref = read_cofenet(reference)
    mine: dict[str, list[dict]] = {}
    for row in ours:
        mine.setdefault(row["id"], []).append(row)
    n_ref = sum(len(v) for v in ref.values())
    same_count = same_tokens = same_labels = 0
    examples = []
    for key, rows in ref.items():
        got = mine.get(key, [])
        same_count += len(got) == len(rows)
        for i, j in align_instances([r["tokens"] for r in rows], [g["tokens"] for g in got]):
            r, g = rows[i], got[j]
            same_tokens += 1
            if r["labels"] == g["labels"]:
                same_labels += 1
            elif len(examples) < 5:
                examples.append({"id": key, "tokens": " ".join(r["tokens"])[:200],
                                 "reference": r["labels"][:40], "ours": g["labels"][:40]})
    return {"reference_instances": n_ref, "our_instances": len(ours), "files": len(ref),
            "files_same_instance_count": same_count,
            "same_tokens": same_tokens, "same_tokens_rate": round(same_tokens / max(n_ref, 1), 4),
            "same_tokens_and_labels": same_labels, "same_labels_rate": round(same_labels / max(n_ref, 1), 4),
            "label_mismatches": examples}
