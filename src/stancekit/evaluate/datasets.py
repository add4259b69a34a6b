"""Readers for stance data sets: one list of :class:`StanceRow` per file, whatever the format.

* ``semeval`` — SemEval-2016 Task 6 TSV (``ID, Target, Tweet, Stance``). The training file is
  Windows-1252, the gold files ASCII with CRLF; the ``#SemST`` marker hashtag (unseen by annotators)
  is dropped. Row id = the SemEval ``ID``.
* ``vast`` — the compact VAST CSV (``Tweet, Target, Stance, seen?``; 0 = con, 1 = pro, 2 = neutral;
  ``seen? == 0`` marks zero-shot topics), or the original VAST columns (``post``, ``topic_str``,
  ``label``, ``seen?``). Row id = the 0-based row index.
* ``jsonl`` — stancekit's own format, one ``{"target", "text", "label"}`` object per line
  (optional ``id`` and ``split``). Row id = ``id`` or the 0-based line index.
* ``auto`` — one of the above, recognised from the first line (so that files of different formats can be
  combined in one ``stancekit train stance`` call).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import Errors, StancekitError

FORMATS = ("semeval", "vast", "jsonl", "auto")
SEMEVAL_LABELS = {"FAVOR": "favor", "AGAINST": "against", "NONE": "neutral"}
VAST_LABELS = {"0": "against", "1": "favor", "2": "neutral"}


@dataclass
class StanceRow:
    id: str | int
    target: str
    text: str
    label: str | None
    split: str | None = None  # VAST: "zero-shot" or "few-shot"


def read_stance_data(path: str | Path, fmt: str) -> list[StanceRow]:
    """Rows of a stance data file in ``fmt`` (``semeval``, ``vast`` or ``jsonl``)."""
    path = Path(path)
    if fmt not in FORMATS:
        raise StancekitError(Errors.E014, fmt=fmt, known=", ".join(FORMATS))
    if not path.exists():
        raise StancekitError(Errors.E001, path=path)
    if fmt == "auto":
        fmt = detect_format(path)
    return {"semeval": read_semeval, "vast": read_vast, "jsonl": read_jsonl}[fmt](path)


def detect_format(path: Path) -> str:
    """``auto``: JSON lines, a SemEval TSV (``ID<TAB>Target`` header) or a VAST CSV, from the first line."""
    with Path(path).open("rb") as fh:
        head = _decode(fh.readline()).strip()
    if head.startswith("{"):
        return "jsonl"
    if head.startswith("ID\tTarget"):
        return "semeval"
    if "," in head and ("Tweet" in head or "post" in head):
        return "vast"
    raise StancekitError(Errors.E012, name=str(path), detail="format not recognised; give --format")


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def read_semeval(path: Path) -> list[StanceRow]:
    lines = _decode(path.read_bytes()).replace("\r\n", "\n").split("\n")
    rows = []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 4:
            raise StancekitError(Errors.E012, name=f"{path} line {n}", detail="expected ID, Target, Tweet, Stance")
        rid, target, tweet, stance = parts[0], parts[1], "\t".join(parts[2:-1]), parts[-1].strip()
        text = " ".join(tweet.replace("#SemST", " ").split())
        rows.append(StanceRow(id=rid.strip(), target=target.strip(), text=text,
                              label=SEMEVAL_LABELS.get(stance.upper())))
    return rows


def read_vast(path: Path) -> list[StanceRow]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        cols = reader.fieldnames or []
        text_col = "Tweet" if "Tweet" in cols else "post"
        target_col = "Target" if "Target" in cols else "topic_str"
        label_col = "Stance" if "Stance" in cols else "label"
        if text_col not in cols or target_col not in cols:
            raise StancekitError(Errors.E012, name=str(path), detail=f"not a VAST file (columns {cols})")
        rows = []
        for i, rec in enumerate(reader):
            seen = str(rec.get("seen?", "")).strip()
            split = {"0": "zero-shot", "1": "few-shot"}.get(seen)
            rows.append(StanceRow(id=i, target=rec[target_col].strip(), text=rec[text_col].strip(),
                                  label=VAST_LABELS.get(str(rec.get(label_col, "")).strip()), split=split))
    return rows


def read_jsonl(path: Path) -> list[StanceRow]:
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise StancekitError(Errors.E101, line=i + 1, source=path, detail=str(exc)) from exc
        rows.append(StanceRow(id=rec.get("id", i), target=str(rec.get("target") or ""), text=str(rec["text"]),
                              label=rec.get("label"), split=rec.get("split")))
    return rows
