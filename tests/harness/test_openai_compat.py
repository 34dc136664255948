"""OpenAICompatProvider.classify on constructed SDK exceptions (no network)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import aiohttp
import httpx2
import openai
import pytest

from harness.errors import ErrorClass, ProviderCallError
from harness.providers.openai_compat import OpenAICompatProvider

KEY = "sk-unit-test-key-abcdef123456"
REQ = httpx2.Request("POST", "http://127.0.0.1:1/v1/chat/completions")


@pytest.fixture
async def api() -> Any:
    provider = OpenAICompatProvider("acme", "http://127.0.0.1:1/v1", KEY, "ACME_API_KEY", transport="httpx")
    yield provider
    await provider.aclose()


def status_error(status: int, error: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> openai.APIStatusError:
    """Build the exception the SDK raises, the way the SDK builds it."""
    body = {"error": error or {"message": "boom", "type": "x", "code": None}}
    response = httpx2.Response(status, headers={"x-request-id": "req-1", **(headers or {})},
                               content=json.dumps(body).encode(), request=REQ)
    client = openai.AsyncOpenAI(api_key="none", base_url="http://127.0.0.1:1/v1")
    return client._make_status_error(f"Error code: {status} - {body}", body=body, response=response)


def test_rate_limit_carries_server_wait(api: OpenAICompatProvider) -> None:
    d = api.classify(status_error(429, headers={"retry-after-ms": "1500"}))
    assert (d.kind, d.error_class, d.retry_after_s, d.status) == ("rate_limit", ErrorClass.RATE_LIMITED, 1.5, 429)
    assert "HTTP 429" in d.message


@pytest.mark.parametrize("error", [
    {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"},
    {"message": "quota", "type": "requests", "code": "insufficient_quota"},
    {"message": "quota", "type": "insufficient_quota", "code": None},
])
def test_quota_is_never_retried(api: OpenAICompatProvider, error: dict[str, Any]) -> None:
    d = api.classify(status_error(429, error, headers={"Retry-After": "5"}))
    assert (d.kind, d.error_class) == ("no", ErrorClass.QUOTA_EXHAUSTED)


@pytest.mark.parametrize("status, kind, cls", [
    (529, "transient", ErrorClass.OVERLOADED), (500, "transient", ErrorClass.SERVER_ERROR),
    (502, "transient", ErrorClass.SERVER_ERROR), (503, "transient", ErrorClass.SERVER_ERROR),
    (400, "no", ErrorClass.BAD_REQUEST), (404, "no", ErrorClass.BAD_REQUEST),
    (422, "no", ErrorClass.BAD_REQUEST), (401, "no", ErrorClass.AUTH), (403, "no", ErrorClass.AUTH),
    (408, "transient", ErrorClass.TIMEOUT),
])
def test_status_classes(api: OpenAICompatProvider, status: int, kind: str, cls: ErrorClass) -> None:
    d = api.classify(status_error(status))
    assert (d.kind, d.error_class, d.status) == (kind, cls, status)
    assert f"HTTP {status}" in d.message


def test_5xx_keeps_a_retry_after(api: OpenAICompatProvider) -> None:
    assert api.classify(status_error(503, headers={"Retry-After": "3"})).retry_after_s == 3.0


@pytest.mark.parametrize("error", [
    {"message": "too long", "type": "invalid_request_error", "code": "context_length_exceeded"},
    {"message": "This model's maximum context length is 8192 tokens.", "type": "invalid_request_error",
     "code": None},
])
def test_context_overflow(api: OpenAICompatProvider, error: dict[str, Any]) -> None:
    d = api.classify(status_error(400, error))
    assert (d.kind, d.error_class) == ("no", ErrorClass.CONTEXT_OVERFLOW)


def test_auth_names_the_env_var_and_never_the_key(api: OpenAICompatProvider) -> None:
    echoed = {"message": f"Incorrect API key provided: {KEY}.", "type": "invalid_request_error",
              "code": "invalid_api_key"}
    d = api.classify(status_error(401, echoed))
    assert d.error_class == ErrorClass.AUTH
    assert "authentication failed for provider 'acme'" in d.message and "$ACME_API_KEY" in d.message
    assert KEY not in d.message and "abcdef123456" not in d.message


def test_transport_errors(api: OpenAICompatProvider) -> None:
    timeout = openai.APITimeoutError(request=REQ)
    try:
        raise timeout from httpx2.ReadTimeout("slow")
    except openai.APITimeoutError as exc:
        assert api.classify(exc).error_class == ErrorClass.TIMEOUT
    try:
        raise openai.APIConnectionError(request=REQ) from httpx2.ConnectError("refused")
    except openai.APIConnectionError as exc:
        d = api.classify(exc)
        assert (d.kind, d.error_class) == ("transient", ErrorClass.CONNECTION)
    try:
        raise openai.APIConnectionError(request=REQ) from httpx2.RemoteProtocolError(
            "peer closed connection without sending complete message body")
    except openai.APIConnectionError as exc:
        assert api.classify(exc).error_class == ErrorClass.STREAM_BROKEN
    # raw transport errors escaping the SDK mid-stream: the same ladder as the anthropic adapter's
    assert api.classify(httpx2.RemoteProtocolError("peer closed")).error_class == ErrorClass.STREAM_BROKEN
    assert api.classify(aiohttp.ClientPayloadError("truncated")).error_class == ErrorClass.STREAM_BROKEN
    assert api.classify(aiohttp.ClientConnectionError("reset")).error_class == ErrorClass.CONNECTION
    assert api.classify(TimeoutError()).error_class == ErrorClass.TIMEOUT


def test_malformed_and_own_errors(api: OpenAICompatProvider) -> None:
    d = api.classify(json.JSONDecodeError("bad", "{", 0))
    assert (d.kind, d.error_class) == ("transient", ErrorClass.MALFORMED_RESPONSE)
    d = api.classify(ProviderCallError(ErrorClass.STREAM_BROKEN, f"cut with {KEY}", status=200))
    assert (d.kind, d.error_class, d.status) == ("transient", ErrorClass.STREAM_BROKEN, 200)
    assert KEY not in d.message
    assert api.classify(ProviderCallError(ErrorClass.CONTEXT_OVERFLOW, "x")).kind == "no"
    assert api.classify(RuntimeError("?")).error_class == ErrorClass.UNKNOWN


async def test_identity_and_capabilities(api: OpenAICompatProvider) -> None:
    assert api.connection_key() == f"acme:{hashlib.sha256(KEY.encode()).hexdigest()[:12]}"
    assert KEY not in api.connection_key()
    nokey = OpenAICompatProvider("acme", "http://127.0.0.1:1/v1", None, "ACME_API_KEY", transport="httpx")
    assert nokey.connection_key() == "acme:http://127.0.0.1:1/v1"  # no key: the endpoint is the pool
    await nokey.aclose()
    caps = api.capabilities("any")
    assert caps.streaming and caps.tools
