"""Model weights: the manifest of embedded defaults with their checksums, and resolving a name or path to files."""

from models.registry import ModelError, ModelSpec, describe, embedded_sha256, manifest, resolve, sha256_of

__all__ = ["ModelError", "ModelSpec", "describe", "embedded_sha256", "manifest", "resolve", "sha256_of"]
