"""llama.cpp is loaded only by the in-process backend, not by importing `dialogue` or its HTTP backend."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    # A fresh interpreter: this test process has long since imported llama_cpp through other tests.
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return set(out.stdout.split())


def test_dialogue_and_the_http_backend_import_without_llama_cpp() -> None:
    loaded = _modules_after(
        "import dialogue.interviewer, dialogue.scoring, dialogue.highlights\n"
        "from dialogue.llm import OpenAICompatibleBackend, build_backend, generate_structured"
    )
    assert "dialogue.llm" in loaded
    assert "llama_cpp" not in loaded


def test_naming_the_llama_cpp_backend_loads_it() -> None:
    assert "llama_cpp" in _modules_after("from dialogue.llm import LlamaCppBackend")
