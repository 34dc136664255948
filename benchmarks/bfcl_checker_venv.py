"""The side venv that runs BFCL's own checker (`benchmarks/bfcl_agreement.py` uses it).

Why a separate venv: bfcl-eval declares heavy, pinned dependencies (numpy==1.26.4,
sentence-transformers, faiss, vllm extras) that would fight fleetbench's own. Its checker
needs only a part of them, but not a small part: `ast_checker` imports
`constants.model_config`, which imports every provider handler and so every provider SDK.
`CHECKER_DEPS` is that import chain's distributions (measured: the modules loaded by
`ast_checker` and `bfcl_eval.utils`; qwen-agent imports soundfile unasked), at bfcl-eval's own pins where it pins them; nothing
for embeddings, retrieval or serving is installed.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

BFCL_VERSION = "2026.3.23"
DEFAULT_VENV = Path.home() / ".cache" / "fleetbench" / f"bfcl-checker-{BFCL_VERSION}"
CHECKER_DEPS = (
    "anthropic>=0.75.0", "boto3", "cohere==5.18.0", "datamodel-code-generator==0.25.7", "filelock==3.20.0",
    "google-genai>=1.52.0", "mistralai==1.7.0", "numpy==1.26.4", "openai>=1.86.0", "overrides",
    "pydantic>=2.8.2", "python-dotenv>=1.0.1", "qwen-agent", "requests", "soundfile", "tenacity>=8.5.0", "tqdm",
    "tree_sitter==0.21.3", "tree-sitter-java==0.21.0", "tree-sitter-javascript==0.21.4", "writer-sdk>=2.1.0",
)
PROBE = "from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker"


def python_of(root: Path) -> Path:
    return root / "bin" / "python"


def ready(root: Path) -> bool:
    """The venv exists and imports BFCL's checker."""
    python = python_of(root)
    return python.is_file() and subprocess.run([str(python), "-c", PROBE], check=False, capture_output=True).returncode == 0


def ensure(root: Path = DEFAULT_VENV) -> Path:
    """The venv's python, creating the venv (bfcl-eval with --no-deps, then CHECKER_DEPS) when absent."""
    if ready(root):
        return python_of(root)
    print(f"bfcl_checker_venv: creating {root} (bfcl-eval {BFCL_VERSION} and its checker's imports)", file=sys.stderr)
    venv.create(root, with_pip=True)
    pip = [str(python_of(root)), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--no-deps", f"bfcl-eval=={BFCL_VERSION}"], check=True)
    subprocess.run([*pip, *CHECKER_DEPS], check=True)
    if not ready(root):
        raise RuntimeError(f"{root}: BFCL's checker still does not import; run `{python_of(root)} -c '{PROBE}'`")
    return python_of(root)


if __name__ == "__main__":
    print(ensure(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_VENV))
