"""No shipped target example or training sentence is copied or paraphrased from text we evaluate on.

One test per shipped file and reference set, so a failure names the file to fix. The shared folder
(demo article, evaluation data) is read when present (``$STANCEKIT_SHARED`` or ``../shared``); those
tests skip without it. ``python -m stancekit.evaluate.leakage`` prints the offending rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stancekit.evaluate import leakage
from stancekit.evaluate.leakage import Candidate, Reference, find_leaks

FILES = leakage.shipped_files() + leakage.dev_files()
IDS = [leakage.file_label(f) for f in FILES]


def _candidates() -> list[Candidate]:
    return [c for f in FILES for c in leakage.candidates_from_file(f, label=leakage.file_label(f))]


@pytest.fixture(scope="module")
def local_leaks():
    return [lk for lk in find_leaks(_candidates(), leakage.local_references()) if not leakage.is_self_match(lk)]


@pytest.fixture(scope="module")
def shared_leaks():
    shared = leakage.find_shared()
    if shared is None:
        pytest.skip("shared folder (demo article, eval data) not present")
    return find_leaks(_candidates(), leakage.shared_references(shared))


def _report(leaks, label: str) -> str:
    rows = [lk for lk in leaks if lk.candidate.file == label]
    return "\n".join(lk.line() for lk in rows[:20]) + (f"\n… {len(rows)} in all" if len(rows) > 20 else "")


@pytest.mark.parametrize("label", IDS)
def test_no_leak_into_sample_corpora(local_leaks, label):
    assert not [lk for lk in local_leaks if lk.candidate.file == label], _report(local_leaks, label)


@pytest.mark.parametrize("label", IDS)
def test_no_leak_from_demo_or_eval_data(shared_leaks, label):
    assert not [lk for lk in shared_leaks if lk.candidate.file == label], _report(shared_leaks, label)


def test_every_shipped_file_is_read():
    names = {f.name for f in FILES}
    assert {"certification.toml", "stance_general.jsonl", "claims_train.jsonl"} <= names
    cands = _candidates()
    assert sum(c.file.endswith("certification.toml") and c.row.startswith("examples[") for c in cands) >= 30
    assert sum(c.file.endswith("stance_general.jsonl") for c in cands) >= 500
    assert sum(c.file.endswith("stance-dev/dev.jsonl") for c in cands) >= 400


def test_stance_dev_set_is_independent_of_the_general_set():
    """The dev set is never trained on: no target of it is a general-set target, no sentence is shared
    (the leakage tests above check the wording: every dev row is a strict reference for the general set)."""
    import json

    dev_path = Path(leakage.repo_root()) / "corpora" / "stance-dev" / "dev.jsonl"
    dev = [json.loads(ln) for ln in dev_path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    general = leakage.DATA_DIR / "stance_general.jsonl"
    gen = [json.loads(ln) for ln in general.read_text(encoding="utf-8").splitlines() if ln.strip()]
    assert len(dev) >= 400 and len({r["target"] for r in dev}) >= 10
    counts = {lab: sum(r["label"] == lab for r in dev) for lab in ("favor", "against", "neutral")}
    assert max(counts.values()) - min(counts.values()) <= 0.05 * len(dev), counts
    assert not {r["target"].lower() for r in dev} & {r["target"].lower() for r in gen}
    assert not {r["text"] for r in dev} & {r["text"] for r in gen}


def test_copied_five_gram_is_found():
    cand = [Candidate("t.jsonl", "1", "Our harbour pilots reported heavy fog over the northern channel today.")]
    refs = [Reference("ref", "Witnesses said heavy fog over the northern channel delayed ferries.")]
    leaks = find_leaks(cand, refs)
    assert len(leaks) == 1 and leaks[0].reason == "5-gram: heavy fog over the northern"


def test_case_and_punctuation_do_not_hide_a_copy():
    cand = [Candidate("t", "1", "Heavy FOG, over the -- northern channel!")]
    assert find_leaks(cand, [Reference("ref", "heavy fog over the northern channel")])


def test_close_paraphrase_is_found_by_ratio():
    cand = [Candidate("t", "1", "Ferry crews said they would return to their boats in early May.")]
    refs = [Reference("ref", "Ferry crew says they will return to the boats in early June.")]
    leaks = find_leaks(cand, refs)
    assert leaks and leaks[0].reason.startswith("ratio ")


def test_unrelated_sentences_and_function_word_runs_pass():
    cand = [Candidate("t", "1", "It was one of the most difficult winters the valley had seen."),
            Candidate("t", "2", "Sheep prices fell sharply at the autumn market.")]
    refs = [Reference("ref", "It was one of the best films of the decade."),
            Reference("ref", "The council approved a new budget for road repairs.")]
    assert find_leaks(cand, refs) == []


def test_idiom_in_many_eval_documents_is_skipped_but_not_in_our_corpora():
    cand = [Candidate("t", "1", "The ruling was a slap in the face to the tenants.")]
    common = [Reference(f"eval/{i}", f"Story {i}: critics said the new parking rules were a slap in the face "
                        "for small shop owners across town.", strict=False)
              for i in range(3)]
    assert find_leaks(cand, common) == []
    assert find_leaks(cand, common[:2])  # two documents: still reported
    assert find_leaks(cand, [Reference("sample", "It is a slap in the face, she said.")])


def test_short_entries_are_not_checked(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("# comment line that is long enough to have five words\nmayor\nvice president\n",
                    encoding="utf-8")
    assert leakage.candidates_from_file(path) == []


def test_candidates_from_toml_skip_ids_and_aliases(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('id = "x"\nname = "a long name with many words in it"\n'
                    'aliases = ["one two three four five six"]\n'
                    '[[examples]]\ntext = "The harbour will reopen after the storm passes."\nlabel = "favor"\n',
                    encoding="utf-8")
    cands = leakage.candidates_from_file(path)
    assert [(c.row, c.text) for c in cands] == [("examples[0].text",
                                                 "The harbour will reopen after the storm passes.")]


def test_script_prints_offending_rows(tmp_path, capsys, monkeypatch):
    data = tmp_path / "mine.jsonl"
    sample_gold = Path(leakage.repo_root()) / "corpora" / "sample" / "gold.jsonl"
    if not sample_gold.exists():
        pytest.skip("sample corpus not present")
    import json

    quote = json.loads(sample_gold.read_text(encoding="utf-8").splitlines()[0])["quotes"][0]["text"]
    data.write_text(json.dumps({"text": "clean sentence about a harbour and its seven cranes"}) + "\n"
                    + json.dumps({"text": quote}) + "\n", encoding="utf-8")
    monkeypatch.delenv("STANCEKIT_SHARED", raising=False)
    code = leakage.main([str(data), "--no-shared"])
    out = capsys.readouterr().out
    assert code == 1
    assert "1 offending rows" in out and f"{data}:2:" in out and f"{data}:1:" not in out


def test_second_target_rows_reuse_general_set_texts_and_no_dev_target():
    """The second-target rows (shipped for the mpnet reader, and the neutral ones in benchmarks/data) add
    targets, never sentences: each row's text is the general-set row it names, and no new target is a stance
    dev set target (the dev set stays unseen by readers trained with them)."""
    import json

    root = Path(leakage.repo_root())
    read = lambda p: [json.loads(ln) for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]  # noqa: E731
    gen = read(leakage.DATA_DIR / "stance_general.jsonl")
    dev = {r["target"].lower() for r in read(root / "corpora" / "stance-dev" / "dev.jsonl")}
    files = [leakage.DATA_DIR / "stance_second_targets.jsonl", root / "benchmarks" / "data" /
             "stance_second_targets_neutral.jsonl"]
    for path in files:
        for r in read(path):
            source = gen[r["row"]]
            assert (r["text"], r["row_target"], r["row_label"]) == (source["text"], source["target"], source["label"])
            assert r["target"].lower() not in dev and r["target"] != source["target"]
            assert r["label"] != source["label"] and r["batch"] == source.get("batch", 1)
    contrary = read(root / "benchmarks" / "data" / "stance_contrary_targets.jsonl")
    targets = {r["target"] for r in gen}
    assert all(r["target"] in targets and r["contrary"].lower() not in dev for r in contrary)
