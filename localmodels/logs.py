"""llama.cpp's own log lines, kept off the terminal unless asked for.

Why our own callback: llama-cpp-python 0.3.36 maps ggml's log levels with an older table
(its 3 means ERROR; the vendored ggml's 3 is WARN), so with `verbose=False` every warning
("n_ctx_seq > n_ctx_train", "using full-size SWA cache", ...) still reaches stderr while real
errors (4) are dropped. This callback uses ggml.h's levels: errors always print, the rest only
when FLEETBENCH_VERBOSE is set (`fleetbench run --verbose`).
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Any

GGML_LOG_LEVEL_ERROR = 4  # ggml.h: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5
GGML_LOG_LEVEL_CONT = 5
VERBOSE_ENV = "FLEETBENCH_VERBOSE"  # the same switch as harness.logs (this package imports no harness)

_installed: list[Any] = []  # the ctypes callback must outlive the call that registers it


def quiet_llama_logs(verbose: bool | None = None) -> None:
    """Route llama.cpp's logs (process-wide) through a level filter; idempotent."""
    import llama_cpp

    show_all = os.environ.get(VERBOSE_ENV, "") not in ("", "0") if verbose is None else verbose
    last = [0]

    def emit(level: int, text: bytes, _user: Any) -> None:
        if level != GGML_LOG_LEVEL_CONT:
            last[0] = level
        if show_all or last[0] >= GGML_LOG_LEVEL_ERROR:
            sys.stderr.write(text.decode("utf-8", "replace"))
            sys.stderr.flush()

    callback = llama_cpp.llama_log_callback(emit)
    _installed[:] = [callback]
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
