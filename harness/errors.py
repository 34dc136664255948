"""Error vocabulary shared by every layer.

Why a closed set of error classes: a failed call must be recorded with a class that
aggregation and retry policy can reason about, independent of which SDK raised it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class ErrorClass(StrEnum):
    """Why a call failed. Stored verbatim in records as `error_class`."""

    RATE_LIMITED = "rate_limited"
    QUOTA_EXHAUSTED = "quota_exhausted"
    SERVER_ERROR = "server_error"
    OVERLOADED = "overloaded"
    TIMEOUT = "timeout"
    BAD_REQUEST = "bad_request"
    AUTH = "auth"
    CONTEXT_OVERFLOW = "context_overflow"
    STREAM_BROKEN = "stream_broken"
    MALFORMED_RESPONSE = "malformed_response"
    CONNECTION = "connection"
    NO_ACCESS = "no_access"
    # our own failures: the model never had its say, so they are never scored as its own
    SUBAGENT_LOST = "subagent_lost"
    SCORER_ERROR = "scorer_error"
    LIMITER_ERROR = "limiter_error"
    CLIENT_ERROR = "client_error"
    UNKNOWN = "unknown"


Fault = Literal["ours", "provider"]

# Failures of fleetbench itself (a dead subagent, an unreachable limiter, a scorer bug, a
# bug in our client code) or our decision not to call (no key). Everything else that ends
# a call in error was the provider's doing (rate limits exhausted, 5xx after retries, a
# context overflow, a broken stream) and is reported apart from answer quality.
OUR_FAULTS: frozenset[str] = frozenset({
    ErrorClass.NO_ACCESS, ErrorClass.SUBAGENT_LOST, ErrorClass.SCORER_ERROR,
    ErrorClass.LIMITER_ERROR, ErrorClass.CLIENT_ERROR,
})


def fault_of(error_class: str | None) -> Fault:
    """Whose failure an error record is: `ours` (never the model's) or the `provider`'s."""
    return "ours" if error_class in OUR_FAULTS else "provider"


RetryKind = Literal["no", "transient", "rate_limit"]


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """A provider hook's verdict on one failed attempt (inspect_ai's `should_retry` idea).

    `retry_after_s` is the server's own minimum wait, if it gave one; the retry loop
    never waits less than that.
    """

    kind: RetryKind
    error_class: ErrorClass
    message: str
    retry_after_s: float | None = None
    status: int | None = None

    @property
    def retryable(self) -> bool:
        return self.kind != "no"


class ProviderCallError(Exception):
    """Raised by adapters for failures they detect themselves (e.g. a stream that ends
    without its finish marker), carrying the class directly."""

    def __init__(self, error_class: ErrorClass, message: str, retry_after_s: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.retry_after_s = retry_after_s
        self.status = status


class InputError(Exception):
    """Bad user input (suite, config, CLI value). The CLI prints `str(err)` and exits 2.

    `where` names the file and line or field, so the user can fix it without a traceback.
    A plain exception, not a frozen dataclass: `contextlib` and Ray both set attributes
    (`__traceback__`, `__cause__`) on exceptions they re-raise, which a frozen one refuses.
    """

    def __init__(self, where: str, message: str) -> None:
        super().__init__(where, message)
        self.where = where
        self.message = message

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"
