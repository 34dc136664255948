"""The one seam every provider sits behind.

Why a seam instead of `if provider == ...`: each provider module owns its SDK, its
error classification (`classify`, inspect_ai's `should_retry` idea) and its limiter
identity (`connection_key`), so the call path and the retry loop stay provider-blind.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from typing import Any, Literal

import msgspec

from harness.errors import RetryDecision
from harness.timing import CallClock


class Message(msgspec.Struct, kw_only=True):
    role: Literal["system", "user", "assistant"]
    content: str


class CallRequest(msgspec.Struct, kw_only=True):
    """What to ask a model: provider-neutral. `model` is the provider's own model ID."""

    model: str
    messages: list[Message]
    variant: str = ""
    max_tokens: int = 256
    temperature: float | None = 0.0
    stream: bool = True
    timeout_s: float = 60.0
    tools: list[dict[str, Any]] | None = None
    # A JSON Schema the reply must follow. Adapters whose provider constrains output natively
    # (OpenAI json_schema, Responses text.format, Ollama `format`) send it; the others leave
    # it to the prompt. Either way the caller still parses and validates the reply.
    response_schema: dict[str, Any] | None = None


def strict_schema_ok(schema: dict[str, Any]) -> bool:
    """OpenAI's strict mode needs every property required and no extra properties; a
    schema that is not so is sent non-strict (a hint) rather than rejected by the API."""
    props = schema.get("properties")
    return (schema.get("type") == "object" and schema.get("additionalProperties") is False
            and isinstance(props, dict) and set(schema.get("required") or []) == set(props))


class ProviderResponse(msgspec.Struct, kw_only=True):
    """What came back from one successful attempt. Timing lives in the CallClock."""

    text: str
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    request_id: str | None = None
    tool_calls: list[dict[str, Any]] = msgspec.field(default_factory=list)
    # agent SDKs (one call = a whole agent run): the SDK's own cost figure and turn count
    cost_usd: float | None = None
    turns: int | None = None
    # True when the provider gave no usage and the tokens were counted locally (cl100k)
    usage_counted: bool = False


class Capabilities(msgspec.Struct, kw_only=True, frozen=True):
    """What a provider can do. Callers read these (through `registry.capabilities_of`)
    instead of naming providers."""

    streaming: bool = True
    tools: bool = False  # the adapter forwards function tools
    reasoning: bool = False
    structured_output: bool = False  # honours CallRequest.response_schema natively
    # its models take tools natively; False: the tool-use phase describes them in the prompt
    native_tools: bool = True
    own_tokenizer: bool = False  # token counting: the models' own vocabulary is on this machine
    serial: bool = False  # one generation at a time (llama.cpp): one call in flight by default
    local: bool = False  # served on this machine by the run itself (simulator, embedded models)


def connection_key(provider: str, api_key: str | None, endpoint: str | None) -> str:
    """The identity of a limit pool, used by the limiter and every adapter alike: the
    provider plus a hash of its key, or its endpoint when it takes no key; never the key."""
    digest = hashlib.sha256(api_key.encode()).hexdigest()[:12] if api_key else (endpoint or "nokey")
    return f"{provider}:{digest}"


class ProviderAPI(ABC):
    """One provider (and one API key). Instances are cheap-ish and reused across calls."""

    provider: str

    @abstractmethod
    async def call(self, request: CallRequest, clock: CallClock) -> ProviderResponse:
        """Make one attempt. Mark `clock` as bytes and content arrive. Raise on failure;
        a stream that ends without its finish marker must raise (stream_broken)."""

    @abstractmethod
    def classify(self, error: BaseException) -> RetryDecision:
        """Map any exception `call` raised to a retry decision and error class."""

    @abstractmethod
    def capabilities(self, model: str) -> Capabilities: ...

    @abstractmethod
    def connection_key(self) -> str:
        """Identity of the limit pool: `connection_key(provider, key, endpoint)`, the same
        as the limiter's for this provider."""

    async def warm_up(self) -> None:
        """Open a connection and exercise the SDK's lazy set-up once, outside any timed call,
        so the first measured TTFT is not inflated by client start-up (llmperf's mistake)."""

    async def aclose(self) -> None:
        """Release HTTP connections."""
