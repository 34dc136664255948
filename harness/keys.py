"""API keys from `.env` files, without ever letting them escape.

Why not plain `load_dotenv`: a key set in the real environment (CI secret, shell export)
must win over a stale `.env` copy; every key read from a file must be known to the
redactor *before* any error could echo it; and the process-wide redactor only finds env
secrets by name suffix (`*_API_KEY`, `*_TOKEN`, `*_SECRET`), which misses names such as
Scaleway's `SCW_SECRET_KEY`. Keys are returned and put in `os.environ`, never logged: the
log names the variables and files, not values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, MutableMapping
from pathlib import Path

import structlog
from dotenv import dotenv_values

from harness.errors import InputError
from harness.redact import _KEY_SHAPES, MIN_ENV_SECRET_LEN, register_secrets

DEFAULT_ENV_FILES = (".env", ".env.benchmark-models")
# names whose values are credentials; config values (base URLs, LLM_PROVIDER) are not
# registered, or an ordinary word like "scaleway" would be masked in every record
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$|API_KEY|SECRET", re.IGNORECASE)
_log = structlog.get_logger("fleetbench.keys")


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def _looks_like_key(value: str) -> bool:
    return any(shape.search(value) for shape in _KEY_SHAPES)


def secret_values(values: dict[str, str]) -> set[str]:
    """The values of `values` that are credentials, by name or by shape (`sk-...`)."""
    return {v for name, v in values.items()
            if len(v) >= MIN_ENV_SECRET_LEN and (is_secret_name(name) or _looks_like_key(v))}


def load_env_files(extra: Iterable[Path] = (), *, cwd: Path | None = None,
                   environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Load `.env` and `.env.benchmark-models` from `cwd` (if present), then each `extra` file
    (which must exist), into `environ` without overriding what is already set there.

    Returns the effective value of every variable the files define (the real environment's
    value where it had one). Earlier files win over later ones, like the environment over
    all files. Every credential-looking value, from the files or the overriding environment,
    is registered with the process-wide redactor.
    """
    target = os.environ if environ is None else environ
    base = cwd or Path.cwd()
    paths = [base / name for name in DEFAULT_ENV_FILES if (base / name).is_file()]
    for path in extra:
        if not path.is_file():
            raise InputError(str(path), "env file not found")
        paths.append(path)
    loaded: dict[str, str] = {}
    for path in paths:
        try:
            values = dotenv_values(path, interpolate=False)
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(str(path), f"cannot read env file: {type(exc).__name__}") from None
        for name, value in values.items():
            if value is not None and name not in loaded:
                loaded[name] = value
        _log.debug("env file loaded", path=str(path), names=sorted(k for k in values if values[k] is not None))
    effective: dict[str, str] = {}
    for name, value in loaded.items():
        if name in target:
            effective[name] = target[name]
        else:
            target[name] = effective[name] = value
    # both copies: a file's key may differ from the one in the environment that wins
    register_secrets(*secret_values(loaded), *secret_values(effective))
    return effective
