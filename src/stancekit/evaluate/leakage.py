"""Leakage check: no shipped example or training sentence may be copied or paraphrased from text we
evaluate on.

Candidates are the sentences stancekit learns from: every target example (``configs/targets/*.toml``)
and every training sentence in ``src/stancekit/data/`` (the ``text`` fields of JSON lines, the strings
of TOML/JSON files, the non-comment lines of ``.txt`` lists). References are the texts we measure on:
the quotes and sentences of ``corpora/sample`` and ``corpora/news-dev``, the rows of our stance dev set
(``corpora/stance-dev``, itself checked like a shipped file), and, when the shared folder is
present, the demo article (``seeds/*.txt``) and the evaluation data (PolNeAR, SemEval-2016, VAST,
CLEF 2019).

A candidate *leaks* when one of its units (the whole text or one of its sentences) and a reference
sentence

- share a word 5-gram after normalisation (lower case, punctuation dropped), not counting 5-grams
  made only of function words ("as a matter of the"), or
- have a :class:`difflib.SequenceMatcher` ratio above 0.6 on their normalised strings, both being
  at least eight words long (on shorter units the ratio flags any two sentences that start alike:
  "There is no easy answer." and "There is no question about it." score 0.62; the 5-gram rule
  covers them).

Against our own corpora and the demo article every such 5-gram counts. Against the large evaluation
data (``strict=False`` references) a 5-gram found in three or more different documents is an idiom of
English ("more than half of the", "a slap in the face"), not evidence that a sentence was written
from one of them, and is not reported. Entries of fewer than five words (word lists, titles, cue
verbs) cannot share a 5-gram and are not checked. To keep the check fast, candidates are indexed by their n-grams and the references are
streamed past the index: difflib only runs on pairs of similar length that share at least three
word bigrams (bigrams of two function words do not count).

Run it on the repository (prints the offending rows per file, exit status 1 when any)::

    python -m stancekit.evaluate.leakage [--shared PATH] [--no-shared] [FILE ...]
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Iterable, Iterator

from ..resources import DATA_DIR, configs_dir, read_toml

NGRAM = 5
RATIO = 0.6
MIN_WORDS = NGRAM
MIN_RATIO_WORDS = 8
IDIOM_DOCS = 3
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_SENT = re.compile(r"(?<=[.!?…])[”\"’)]*\s+|\n+")
_QUOTED = re.compile(r"[“\"]([^“”\"]{20,}?)[”\"]")
# 5-grams made only of these words say nothing about where a sentence came from
_FUNCTION = frozenset("""
a an the and or but nor so yet if then than that this these those there here it its it's is are was were
be been being am do does did done have has had having to of in on at by for from with without into onto
over under about as not no i you he she we they me him her us them my your his our their what which who
whom whose when where why how all any some each every more most much many very can could will would
shall should may might must just also too only even still s t one
""".split())


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` with punctuation dropped ("Don't!" -> ["don't"])."""
    return [w.replace("’", "'") for w in _WORD.findall(text.lower())]


def sentences(text: str) -> list[str]:
    """Sentence-like units of a reference or candidate text: sentences and long quoted passages."""
    out = [s.strip() for s in _SENT.split(text) if s and s.strip()]
    out.extend(m.group(1) for m in _QUOTED.finditer(text))
    return out


def ngrams(ws: list[str], n: int) -> list[tuple[str, ...]]:
    """The distinct word ``n``-grams of ``ws``, in text order."""
    return list(dict.fromkeys(tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)))


def _informative(gram: tuple[str, ...]) -> bool:
    return any(w not in _FUNCTION for w in gram)


@dataclass(frozen=True)
class Candidate:
    """One sentence we ship: ``file`` and ``row`` say where (line number or TOML path)."""

    file: str
    row: str
    text: str


@dataclass(frozen=True)
class Reference:
    """One sentence we evaluate on; ``source`` names the document it came from. ``strict``: every
    shared 5-gram counts (our corpora, the demo article); else idioms are skipped (see the module doc)."""

    source: str
    text: str
    strict: bool = True


@dataclass(frozen=True)
class Leak:
    candidate: Candidate
    reference: Reference
    reason: str  # "5-gram: ..." or "ratio 0.71"

    def line(self) -> str:
        return (f"{self.candidate.file}:{self.candidate.row}: {self.reason}\n"
                f"    ours: {_short(self.candidate.text)}\n"
                f"    ref:  {_short(self.reference.text)}  [{self.reference.source}]")


def _short(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# ---------------------------------------------------------------------------------------------
# the check
# ---------------------------------------------------------------------------------------------

@dataclass
class _Unit:
    cand: int
    norm: str
    n_words: int
    pairs: set


def find_leaks(candidates: Iterable[Candidate], references: Iterable[Reference], *,
               n: int = NGRAM, ratio: float = RATIO, idiom_docs: int = IDIOM_DOCS) -> list[Leak]:
    """Every (candidate, reference) pair that shares an informative word ``n``-gram or whose
    normalised strings have a difflib ratio above ``ratio``. One leak per pair, the n-gram first.
    A 5-gram that non-strict references share from ``idiom_docs`` or more documents is skipped."""
    cands = list(candidates)
    units: list[_Unit] = []
    by_gram: dict[tuple, set[int]] = defaultdict(set)  # n-gram -> candidate indices
    by_pair: dict[tuple, set[int]] = defaultdict(set)  # informative bigram -> unit indices
    for ci, cand in enumerate(cands):
        ws = words(cand.text)
        if len(ws) < MIN_WORDS:
            continue
        for g in ngrams(ws, n):
            if _informative(g):
                by_gram[g].add(ci)
        pieces = {cand.text, *sentences(cand.text)}
        for piece in pieces:
            pw = words(piece)
            if len(pw) < MIN_WORDS:
                continue
            pairs = {g for g in ngrams(pw, 2) if _informative(g)}
            units.append(_Unit(ci, " ".join(pw), len(pw), pairs))
            for g in pairs:
                by_pair[g].add(len(units) - 1)
    found: dict[tuple[int, str, str], Leak] = {}
    gram_of: dict[tuple[int, str, str], tuple] = {}
    by_ratio: dict[tuple[int, str, str], Leak] = {}
    doc_freq: dict[tuple, set[str]] = defaultdict(set)  # n-gram -> non-strict documents sharing it
    for ref in references:
        rw = words(ref.text)
        if len(rw) < MIN_WORDS:
            continue
        for g in ngrams(rw, n):
            hits = by_gram.get(g, ())
            if hits and not ref.strict:
                doc_freq[g].add(ref.source)
            for ci in hits:
                key = (ci, ref.source, ref.text)
                if key not in found:
                    found[key] = Leak(cands[ci], ref, "5-gram: " + " ".join(g))
                    if not ref.strict:
                        gram_of[key] = g
        shared: dict[int, int] = defaultdict(int)
        for g in ngrams(rw, 2):
            for ui in by_pair.get(g, ()):
                shared[ui] += 1
        if not shared:
            continue
        rnorm = " ".join(rw)
        for ui, k in shared.items():
            u = units[ui]
            if k < 3 or len(rw) < MIN_RATIO_WORDS or u.n_words < MIN_RATIO_WORDS \
                    or (u.cand, ref.source, ref.text) in by_ratio:
                continue
            lo, hi = sorted((u.n_words, len(rw)))
            if lo / hi < 0.4:  # 2·min/(a+b) bounds the ratio from above
                continue
            sm = SequenceMatcher(None, u.norm, rnorm, autojunk=False)
            if sm.real_quick_ratio() > ratio and sm.quick_ratio() > ratio:
                r = sm.ratio()
                if r > ratio:
                    by_ratio[(u.cand, ref.source, ref.text)] = Leak(cands[u.cand], ref, f"ratio {r:.2f}")
    for key, g in gram_of.items():
        if len(doc_freq[g]) >= idiom_docs:
            del found[key]
    for key, leak in by_ratio.items():
        found.setdefault(key, leak)
    return sorted(found.values(), key=lambda lk: (lk.candidate.file, _row_key(lk.candidate.row),
                                                   lk.reference.source))


def _row_key(row: str) -> tuple:
    return tuple(int(x) if x.isdigit() else x for x in re.split(r"(\d+)", row))


# ---------------------------------------------------------------------------------------------
# candidates: what we ship
# ---------------------------------------------------------------------------------------------

def repo_root() -> Path:
    """The repository root of a checkout (the folder that holds ``configs/`` and ``corpora/``)."""
    return configs_dir().parent


def _strings(value, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")


def candidates_from_file(path: Path, *, label: str | None = None) -> list[Candidate]:
    """The sentences of one shipped file (see the module doc for which fields count)."""
    path = Path(path)
    name = label or path.name
    out: list[Candidate] = []
    if path.suffix == ".jsonl":
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                row = json.loads(line)
                if isinstance(row.get("text"), str):
                    out.append(Candidate(name, str(i), row["text"]))
    elif path.suffix == ".toml":
        data = read_toml(path)
        for key, text in _strings(data, ""):
            if key in ("id", "name") or key.startswith(("aliases", "keywords")):
                continue
            out.append(Candidate(name, key, text))
    elif path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        out.extend(Candidate(name, key, text) for key, text in _strings(data, ""))
    elif path.suffix == ".txt":
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                out.append(Candidate(name, str(i), line.strip()))
    return [c for c in out if len(words(c.text)) >= MIN_WORDS]


def shipped_files() -> list[Path]:
    """Target files and training data files, the files whose sentences are checked."""
    targets = sorted((configs_dir() / "targets").glob("*.toml"))
    data = sorted(p for p in DATA_DIR.iterdir() if p.suffix in (".jsonl", ".toml", ".json", ".txt"))
    return targets + data


def file_label(path: Path) -> str:
    path = Path(path).resolve()
    for base in (repo_root(), DATA_DIR.parents[1]):
        try:
            return str(path.relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


# ---------------------------------------------------------------------------------------------
# references: what we evaluate on
# ---------------------------------------------------------------------------------------------

def _text_refs(path: Path, source: str, strict: bool = True) -> Iterator[Reference]:
    for s in sentences(path.read_text(encoding="utf-8", errors="replace")):
        yield Reference(source, s, strict)


def corpus_references(folder: Path) -> Iterator[Reference]:
    """Gold quotes and article sentences of a stancekit corpus folder (``gold.jsonl`` + ``articles/``)."""
    folder = Path(folder)
    gold = folder / "gold.jsonl"
    if gold.exists():
        for line in gold.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                for q in row.get("quotes", []):
                    yield Reference(f"{folder.name}/gold.jsonl {row.get('doc_id')}", q["text"])
    for path in sorted((folder / "articles").glob("*.txt")):
        yield from _text_refs(path, f"{folder.name}/articles/{path.name}")


def find_shared(root: Path | None = None) -> Path | None:
    """The shared folder: ``$STANCEKIT_SHARED``, else ``../shared`` next to the repository."""
    env = os.environ.get("STANCEKIT_SHARED")
    path = Path(env) if env else (root or repo_root()).parent / "shared"
    return path if path.is_dir() else None


def seed_references(shared: Path) -> Iterator[Reference]:
    for path in sorted((shared / "seeds").glob("*.txt")):
        yield from _text_refs(path, f"seeds/{path.name}")


def eval_references(shared: Path) -> Iterator[Reference]:
    """Sentences of the evaluation data under ``shared/eval-data`` (every file that is present)."""
    base = shared / "eval-data"
    for split in ("dev", "train"):
        for path in sorted((base / "polnear" / split / "text").glob("*.txt")):
            yield from _text_refs(path, f"polnear/{split}/{path.name}", strict=False)
    sem = base / "semeval2016-task6"
    for path in sorted(sem.glob("*.txt")):
        if "README" in path.name:
            continue
        raw = path.read_bytes().decode("utf-8", errors="replace")
        for line in raw.splitlines()[1:]:
            parts = line.split("\t")
            if len(parts) >= 3:
                yield Reference(f"semeval2016/{path.name}:{parts[0]}", parts[2], strict=False)
    for path in sorted((base / "vast").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            for i, row in enumerate(reader, 2):
                for key in ("post", "Tweet", "text"):
                    if row.get(key):
                        for s in sentences(row[key]):
                            yield Reference(f"vast/{path.name}:{i}", s, strict=False)
                        break
    for path in sorted((base / "clef2019-checkworthy").rglob("*.tsv")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3:
                yield Reference(f"clef2019/{path.name}", parts[2], strict=False)


def sample_corpora() -> list[Path]:
    base = repo_root() / "corpora"
    return [p for p in (base / "sample", base / "news-dev") if p.is_dir()]


def dev_files() -> list[Path]:
    """Our own labelled evaluation sets (``corpora/stance-dev/*.jsonl``): checked like shipped files (they
    must not copy evaluation data or the demo article) and used as references (nothing we train on may
    copy them)."""
    folder = repo_root() / "corpora" / "stance-dev"
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


def jsonl_references(path: Path) -> Iterator[Reference]:
    """The ``text`` of every row of a JSONL file, sources named ``<file label>:<line>``."""
    label = file_label(path)
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            text = json.loads(line).get("text")
            if isinstance(text, str):
                yield Reference(f"{label}:{i}", text)


def is_self_match(leak: "Leak") -> bool:
    """A candidate matched against the file it comes from (a dev set is both candidate and reference)."""
    return leak.reference.source.startswith(leak.candidate.file + ":")


def local_references() -> Iterator[Reference]:
    for folder in sample_corpora():
        yield from corpus_references(folder)
    for path in dev_files():
        yield from jsonl_references(path)


def shared_references(shared: Path) -> Iterator[Reference]:
    yield from seed_references(shared)
    yield from eval_references(shared)


# ---------------------------------------------------------------------------------------------
# script
# ---------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m stancekit.evaluate.leakage",
                                 description="List shipped sentences that copy or paraphrase evaluation text.")
    ap.add_argument("files", nargs="*", type=Path, help="files to check (default: every target and data file)")
    ap.add_argument("--shared", type=Path, default=None, help="shared folder (default $STANCEKIT_SHARED or ../shared)")
    ap.add_argument("--no-shared", action="store_true", help="check against corpora/ only")
    args = ap.parse_args(argv)
    files = args.files or shipped_files() + dev_files()
    cands = [c for f in files for c in candidates_from_file(f, label=file_label(f))]
    shared = None if args.no_shared else (args.shared if args.shared else find_shared())
    refs: Iterable[Reference] = local_references()
    if shared is not None:
        refs = _chain(refs, shared_references(shared))
    leaks = [lk for lk in find_leaks(cands, refs) if not is_self_match(lk)]
    print(f"checked {len(cands)} sentences from {len(files)} files against corpora/"
          + (f" and {shared}" if shared else " (no shared folder)"))
    by_file: dict[str, list[Leak]] = defaultdict(list)
    for lk in leaks:
        by_file[lk.candidate.file].append(lk)
    for f in files:
        label = file_label(f)
        rows = by_file.get(label, [])
        n_rows = len({lk.candidate.row for lk in rows})
        print(f"\n{label}: {n_rows} offending rows" if rows else f"\n{label}: ok")
        for lk in rows:
            print(lk.line())
    return 1 if leaks else 0


def _chain(*its: Iterable) -> Iterator:
    for it in its:
        yield from it


if __name__ == "__main__":
    sys.exit(main())
