"""Claude through the Claude Agent SDK: `claude_agent_sdk.query()` driving the bundled CLI.

Why measure an agent SDK at all: it is how many users reach Claude, and it adds a process
spawn, its own system prompt and its own request shaping on top of the Messages API, so
its latency and cost differ from the raw API's. One `call` is one CLI run of one turn.

Why this shape:
- Isolation: each provider instance gets its own temporary `HOME`/`CLAUDE_CONFIG_DIR`
  and working directory, and `setting_sources=[]`, so no user settings, CLAUDE.md or
  session history leak into the prompt; everything reaches the CLI through
  `ClaudeAgentOptions.env` (our own `os.environ` is never touched).
- One retry layer: the CLI retries on its own unless `CLAUDE_CODE_MAX_RETRIES=0`; its
  non-streaming fallback and model fallback would also hide the server's answer, so
  both are off too. Its request timeout (`API_TIMEOUT_MS`) is the request's.
- Timing: the clock starts before the spawn, so TTFT here includes the CLI's start-up
  (~0.5 s): that is the latency a user of this SDK sees. First byte is the first message
  of any kind from the SDK; content is the first text delta (partial messages are on).
- Failures: the CLI reports an API failure as an error `ResultMessage` (with the HTTP
  status and error type) and then exits non-zero, which the SDK raises as `ResultError`;
  `classify` reads those fields, not the prose, wherever it can.
- The SDK is imported where it is used: it takes ~0.2-0.5 s to import (more on a busy
  box), and the provider registry imports this module in every process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ErrorClass, ProviderCallError, RetryDecision, RetryKind
from harness.providers.anthropic_messages import redacted, split_system
from harness.providers.registry import AdapterSettings, ApiSpec, Host, register_api, register_host
from harness.redact import Redactor
from harness.seam import CallRequest, Capabilities, Message, ProviderAPI, ProviderResponse, connection_key
from harness.timing import CallClock

if TYPE_CHECKING:
    from claude_agent_sdk import ClaudeAgentOptions, ResultError, ResultMessage

# function tools are not forwarded (only built-in CLI tools, by name)
CAPABILITIES = Capabilities(streaming=True, tools=False, reasoning=False)
DEFAULT_KEY_ENV = "ANTHROPIC_API_KEY"
STARTUP_GRACE_S = 20.0  # on top of the request timeout: CLI spawn, and its own timeout firing
_TRANSIENT = frozenset({ErrorClass.STREAM_BROKEN, ErrorClass.MALFORMED_RESPONSE, ErrorClass.TIMEOUT,
                        ErrorClass.CONNECTION, ErrorClass.SERVER_ERROR, ErrorClass.OVERLOADED})
_CLI_ENV = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
    "CLAUDE_CODE_MAX_RETRIES": "0",
    "CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK": "1",
    "CLAUDE_CODE_NO_MODEL_FALLBACK": "1",
}
# Prose the CLI uses when a failure carries no HTTP status (checked lower-cased, in order).
_PROSE: tuple[tuple[str, RetryKind, ErrorClass], ...] = (
    ("timed out", "transient", ErrorClass.TIMEOUT),
    ("connection to the api was lost", "transient", ErrorClass.STREAM_BROKEN),
    ("econnreset", "transient", ErrorClass.STREAM_BROKEN),
    ("unable to connect", "transient", ErrorClass.CONNECTION),
    ("econnrefused", "transient", ErrorClass.CONNECTION),
    ("json parse error", "transient", ErrorClass.MALFORMED_RESPONSE),
    ("credit balance", "no", ErrorClass.QUOTA_EXHAUSTED),
    ("prompt is too long", "no", ErrorClass.CONTEXT_OVERFLOW),
    ("overloaded", "transient", ErrorClass.OVERLOADED),
    ("rate limit", "rate_limit", ErrorClass.RATE_LIMITED),
    ("authenticat", "no", ErrorClass.AUTH),
    ("not logged in", "no", ErrorClass.AUTH),
)


def render_prompt(messages: list[Message]) -> str:
    """The CLI takes one user prompt: earlier turns, if any, become a labelled transcript."""
    turns = [m for m in messages if m.role != "system"]
    if len(turns) == 1:
        return turns[0].content
    return "\n\n".join(f"{m.role.capitalize()}: {m.content}" for m in turns)


def _tool_names(tools: list[dict[str, Any]]) -> list[str]:
    """Built-in Claude Code tools the request asks for, by name (OpenAI shape accepted)."""
    names = []
    for tool in tools:
        fn = tool.get("function")
        name = fn.get("name") if isinstance(fn, Mapping) else tool.get("name")
        if isinstance(name, str) and name:
            names.append(name)
    return names


def _usage(usage: Mapping[str, Any] | None, key: str) -> int | None:
    value = (usage or {}).get(key)
    return value if isinstance(value, int) else None


class ClaudeAgentSDKProvider(ProviderAPI):
    """One Anthropic endpoint and key, reached through the Claude Code CLI."""

    def __init__(self, provider: str, base_url: str | None, api_key: str | None,
                 api_key_env: str = DEFAULT_KEY_ENV) -> None:
        self.provider = provider
        self.api_key_env = api_key_env
        key = api_key if api_key is not None else (os.environ.get(api_key_env) or None)
        base = base_url if base_url is not None else os.environ.get("ANTHROPIC_BASE_URL")
        self._connection_key = connection_key(provider, key, base)
        self._redactor = Redactor([key] if key else [])
        self._home = tempfile.mkdtemp(prefix="fleetbench-claude-")
        self._env = {**_CLI_ENV, "HOME": self._home, "CLAUDE_CONFIG_DIR": str(Path(self._home, ".claude"))}
        if base:
            self._env["ANTHROPIC_BASE_URL"] = base
        if key:
            self._env["ANTHROPIC_API_KEY"] = key

    # -- the seam -----------------------------------------------------------------------

    def capabilities(self, model: str) -> Capabilities:
        return CAPABILITIES

    def connection_key(self) -> str:
        return self._connection_key

    async def warm_up(self) -> None:
        """Run the bundled CLI once (`--version`), untimed, so the first measured call does
        not pay for paging in a ~360 MB binary. Best effort: failures surface on `call`."""
        import claude_agent_sdk

        cli = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
        with contextlib.suppress(Exception):
            proc = await asyncio.create_subprocess_exec(
                str(cli), "--version", env={**os.environ, **self._env},
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            await asyncio.wait_for(proc.wait(), timeout=30)

    async def aclose(self) -> None:
        shutil.rmtree(self._home, ignore_errors=True)

    def options(self, request: CallRequest, stderr: list[str]) -> ClaudeAgentOptions:
        """One turn, no tools unless asked for, nothing loaded from disk, no prompts."""
        from claude_agent_sdk import ClaudeAgentOptions

        system, _ = split_system(request.messages)
        names = _tool_names(request.tools or [])
        # `max_tokens` is deliberately not passed on (CLAUDE_CODE_MAX_OUTPUT_TOKENS): the CLI
        # answers a max_tokens stop with up to 3 hidden continuation requests and then an
        # error result, so a cap would multiply requests instead of shortening one.
        env = {**self._env, "API_TIMEOUT_MS": str(max(1, round(request.timeout_s * 1000)))}
        return ClaudeAgentOptions(
            model=request.model, system_prompt=system, max_turns=1, tools=names,
            allowed_tools=names, permission_mode="dontAsk",  # root refuses bypassPermissions
            include_partial_messages=True, setting_sources=[], verbatim_prompts=True,
            cwd=self._home, env=env, stderr=lambda line: stderr.append(line) if len(stderr) < 50 else None)

    async def call(self, request: CallRequest, clock: CallClock) -> ProviderResponse:
        from claude_agent_sdk import ResultError, query

        stderr: list[str] = []
        run = _Run(clock)
        try:
            async with asyncio.timeout(request.timeout_s + STARTUP_GRACE_S):
                async for message in query(prompt=render_prompt(request.messages),
                                           options=self.options(request, stderr)):
                    run.feed(message)
        except TimeoutError as exc:
            raise ProviderCallError(ErrorClass.TIMEOUT, "Claude Code CLI did not finish in time") from exc
        finally:
            clock.finish()
        result = run.result
        if result is None:
            raise ProviderCallError(ErrorClass.STREAM_BROKEN,
                                    "Claude Code CLI ended without a result message")
        if result.is_error:  # normally raised by the SDK as ResultError; same payload here
            raise ResultError(f"Claude Code returned an error result: {result.result}", data={
                "subtype": result.subtype, "result": result.result, "errors": result.errors,
                "api_error_status": result.api_error_status, "terminal_reason": result.terminal_reason})
        return ProviderResponse(
            text=run.text(), finish_reason=result.stop_reason,
            input_tokens=_usage(result.usage, "input_tokens"),
            output_tokens=_usage(result.usage, "output_tokens"),
            request_id=run.message_id, tool_calls=run.tool_calls,
            cost_usd=result.total_cost_usd, turns=result.num_turns)

    # -- classification -----------------------------------------------------------------

    def classify(self, error: BaseException) -> RetryDecision:
        return redacted(self._classify(error), self._redactor)

    def _classify(self, error: BaseException) -> RetryDecision:
        from claude_agent_sdk import (
            CLIConnectionError,
            CLIJSONDecodeError,
            CLINotFoundError,
            ProcessError,
            ResultError,
        )
        from claude_agent_sdk._errors import MessageParseError

        if isinstance(error, ProviderCallError):
            kind: RetryKind = "transient" if error.error_class in _TRANSIENT else "no"
            return RetryDecision(kind, error.error_class, str(error), error.retry_after_s, error.status)
        if isinstance(error, ResultError):
            return self._classify_result(error)
        if isinstance(error, CLINotFoundError):
            return RetryDecision("no", ErrorClass.UNKNOWN, f"Claude Code CLI not found: {error}")
        if isinstance(error, (CLIJSONDecodeError, MessageParseError)):
            return RetryDecision("transient", ErrorClass.MALFORMED_RESPONSE,
                                 f"unreadable output from the Claude Code CLI: {error}")
        if isinstance(error, (ProcessError, CLIConnectionError)):
            return RetryDecision("transient", ErrorClass.SERVER_ERROR,
                                 f"Claude Code CLI process failed: {error}")
        if isinstance(error, TimeoutError):
            return RetryDecision("transient", ErrorClass.TIMEOUT, "Claude Code CLI timed out")
        return RetryDecision("no", ErrorClass.UNKNOWN, f"{type(error).__name__}: {error}")

    def _classify_result(self, error: ResultError) -> RetryDecision:
        """An error result: HTTP status and API error type first, the CLI's prose last."""
        status = error.api_error_status
        etype = str(error.data.get("api_error_type") or "").lower()
        detail = error.result or "; ".join(error.errors) or f"subtype {error.subtype}"
        where = f"provider '{self.provider}' via Claude Code" + (f" (HTTP {status})" if status else "")
        auth = (f"authentication failed for {where}: check the API key in ${self.api_key_env}; "
                f"CLI said: {detail}")
        if status == 429 or etype == "rate_limit_error":
            return RetryDecision("rate_limit", ErrorClass.RATE_LIMITED, f"rate limited by {where}: {detail}",
                                 status=status)
        if status in (401, 403) or etype in ("authentication_error", "permission_error"):
            return RetryDecision("no", ErrorClass.AUTH, auth, status=status)
        if status == 402 or etype == "billing_error":
            return RetryDecision("no", ErrorClass.QUOTA_EXHAUSTED, f"quota exhausted at {where}: {detail}",
                                 status=status)
        if status == 529 or etype == "overloaded_error":
            return RetryDecision("transient", ErrorClass.OVERLOADED, f"{where} overloaded: {detail}",
                                 status=status)
        if status is not None and status >= 500:
            return RetryDecision("transient", ErrorClass.SERVER_ERROR, f"server error at {where}: {detail}",
                                 status=status)
        text = f"{etype} {detail}".lower()
        for marker, kind, error_class in _PROSE:
            if marker in text:
                message = auth if error_class == ErrorClass.AUTH else f"{error_class} at {where}: {detail}"
                return RetryDecision(kind, error_class, message, status=status)
        if status is not None and 400 <= status < 500:
            return RetryDecision("no", ErrorClass.BAD_REQUEST, f"bad request to {where}: {detail}",
                                 status=status)
        return RetryDecision("no", ErrorClass.UNKNOWN, f"error result from {where}: {detail}", status=status)


class _Run:
    """What one CLI run said so far; marks the clock as messages arrive."""

    def __init__(self, clock: CallClock) -> None:
        self.clock = clock
        self.parts: list[str] = []
        self.final_text: list[str] = []
        self.tool_calls: list[dict[str, Any]] = []
        self.message_id: str | None = None
        self.result: ResultMessage | None = None

    def feed(self, message: object) -> None:
        from claude_agent_sdk import AssistantMessage, ResultMessage, StreamEvent, TextBlock, ToolUseBlock

        self.clock.mark_first_byte()
        if isinstance(message, StreamEvent) and message.parent_tool_use_id is None:
            event = message.event
            if event.get("type") == "message_start":
                self.message_id = (event.get("message") or {}).get("id") or self.message_id
            elif event.get("type") == "content_block_delta":
                delta = event.get("delta") or {}
                piece = delta.get("text") or delta.get("partial_json")
                if piece:
                    self.clock.mark_content()
                    if delta.get("type") == "text_delta":
                        self.parts.append(piece)
        elif (isinstance(message, AssistantMessage) and message.parent_tool_use_id is None
              and message.error is None):  # an error is reported as a synthetic text message
            texts = [b.text for b in message.content if isinstance(b, TextBlock)]
            if any(texts) and not self.parts:  # no partial messages: the whole text is the first
                self.clock.mark_content()
            self.final_text.extend(texts)
            self.tool_calls.extend({"id": b.id, "name": b.name, "arguments": b.input}
                                   for b in message.content if isinstance(b, ToolUseBlock))
        elif isinstance(message, ResultMessage):
            self.result = message

    def text(self) -> str:
        return "".join(self.final_text) or "".join(self.parts)


def build(name: str, base_url: str | None, api_key: str | None, settings: AdapterSettings) -> ProviderAPI:
    return ClaudeAgentSDKProvider(name, base_url, api_key, settings.api_key_env or DEFAULT_KEY_ENV)


# no model lister: a model is checked by a one-token call (one CLI run)
register_api(ApiSpec(kind="agent-sdk", build=build, capabilities=CAPABILITIES, needs_base_url=False))
register_host(Host("claude-sdk", "agent-sdk", None, "ANTHROPIC_BASE_URL", DEFAULT_KEY_ENV))
