"""The per-request pipeline shared by every API: auth, model lookup, limits, faults,
context check, then the paced response.

Why one pipeline: the order of checks (auth before limits before faults) decides which
error a client sees when several apply, and it must be the same for every API so that
provider comparisons are fair. Every request, accepted or not, leaves a `RequestTruth`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import msgspec
from aiohttp import web

from simulator.brains import estimate_tokens, last_user_text, make_output, resolve_brain
from simulator.config import FaultRule, SimConfig
from simulator.faults import EARLY_KINDS, FaultEngine, limiter_headers, retry_after_headers
from simulator.limits import Limiter
from simulator.truth import RequestTruth, TruthLog
from simulator.wire import Ctx, ErrorSpec, ParsedRequest, Wire, run_json, run_stream

_QUOTA_MESSAGES = {
    "openai": ("You exceeded your current quota, please check your plan and billing details. For more "
               "information on this error, read the docs: "
               "https://platform.openai.com/docs/guides/error-codes/api-errors."),
    "anthropic": ("Your credit balance is too low to access the Anthropic API. "
                  "Please go to Plans & Billing to upgrade or purchase credits."),
    "ollama": "you (fleetbench-sim) have reached your usage limit; upgrade for higher limits",
}
_QUOTA_MESSAGES["responses"] = _QUOTA_MESSAGES["openai"]
_MESSAGES = {
    "server_error": "The server had an error while processing your request. Sorry about that!",
    "overloaded": "Overloaded",
    "rate_limit": "Rate limit reached for requests. Please try again later.",
    "auth": "Incorrect API key provided. You can find your API key in your account settings.",
}


@dataclass
class SimState:
    """The mutable simulator state; replaced piecewise by `configure`, only used on one loop."""

    cfg: SimConfig
    log: TruthLog = field(default_factory=TruthLog)
    limiter: Limiter = field(init=False)
    faults: FaultEngine = field(init=False)

    def __post_init__(self) -> None:
        self.configure(self.cfg)

    def configure(self, cfg: SimConfig) -> None:
        """New rules apply to new requests; in-flight ones release their own old limiter."""
        self.cfg = cfg
        self.limiter = Limiter(cfg)
        self.faults = FaultEngine(cfg.faults, cfg.seed)

    def reset(self) -> None:
        self.log.reset()
        self.limiter.reset()
        self.faults.reset()

    def model_names(self) -> list[str]:
        """Configured models with concrete names (patterns cannot be listed)."""
        return [n for n in self.cfg.models if not any(c in n for c in "*?[")]


async def _send_error(wire: Wire, request: web.Request, truth: RequestTruth, spec: ErrorSpec) -> web.Response:
    """Send immediately (not on handler return) so headers_sent_ns/end_ns are exact."""
    resp = wire.error(spec, truth.request_id)
    await resp.prepare(request)
    truth.status = resp.status
    truth.headers_sent_ns = time.monotonic_ns()
    await resp.write_eof()
    return resp


def _fault_spec(wire: Wire, rule: FaultRule) -> ErrorSpec:
    kind = rule.kind
    if kind == "quota":  # never a Retry-After: waiting does not refill a quota
        return ErrorSpec("quota", _QUOTA_MESSAGES[wire.api], rule.status)
    headers: dict[str, str] = {}
    if kind == "rate_limit" or rule.retry_after_s is not None:
        seconds = rule.retry_after_s if rule.retry_after_s is not None else 1.0
        headers = retry_after_headers(seconds, rule.retry_after_format)
    if kind == "auth":
        return ErrorSpec("auth", _MESSAGES["auth"], rule.status)
    if kind == "rate_limit":
        return ErrorSpec("rate_limit", _MESSAGES["rate_limit"], rule.status, headers)
    if kind == "overloaded":
        return ErrorSpec("overloaded", _MESSAGES["overloaded"], rule.status, headers)
    return ErrorSpec("server_error", _MESSAGES["server_error"], rule.status, headers)


async def handle(state: SimState, wire: Wire, request: web.Request) -> web.StreamResponse:
    """Serve one generation request of `wire`'s API and record its truth."""
    arrival_ns = time.monotonic_ns()
    parsed: ParsedRequest | None = None
    error: str | None = None
    try:
        body = msgspec.json.decode(await request.read())
        if not isinstance(body, dict):
            raise ValueError("request body must be a JSON object")  # noqa: TRY004 (caught just below)
        parsed = wire.parse(request, body)
    except (msgspec.DecodeError, ValueError) as err:
        error = f"could not parse request body: {err}"
    model = parsed.model if parsed is not None else ""
    truth = state.log.open(wire.api, model, parsed.stream if parsed else False, arrival_ns)
    try:
        if parsed is None or not parsed.model:
            return await _send_error(wire, request, truth,
                                     ErrorSpec("bad_request", error or "you must provide a model parameter"))
        return await _serve(state, wire, request, parsed, truth)
    except asyncio.CancelledError:
        truth.client_disconnected = True
        raise
    except ConnectionError:
        truth.client_disconnected = True
        raise
    finally:
        truth.end_ns = time.monotonic_ns()


async def _serve(state: SimState, wire: Wire, request: web.Request, parsed: ParsedRequest,
                 truth: RequestTruth) -> web.StreamResponse:
    cfg = state.cfg
    if cfg.api_keys is not None and parsed.api_key not in cfg.api_keys:
        return await _send_error(wire, request, truth, ErrorSpec("auth", _MESSAGES["auth"]))
    brain = resolve_brain(cfg, parsed.model)
    if brain is None:
        if cfg.unknown_model_404:
            return await _send_error(wire, request, truth, ErrorSpec(
                "not_found", f"The model `{parsed.model}` does not exist or you do not have access to it."))
        brain = cfg.default_brain
    limiter = state.limiter
    rejection = limiter.try_acquire(parsed.model, truth.arrival_ns)
    if rejection is not None:
        what = "requests per window" if rejection.reason == "rate" else "concurrent requests"
        return await _send_error(wire, request, truth, ErrorSpec(
            "rate_limit", f"Rate limit reached for {what}. Please try again later.",
            headers=limiter_headers(rejection.retry_after_s)))
    try:
        fault = state.faults.pick(wire.api, parsed.model, truth.model_seq)
        truth.fault = fault.kind if fault is not None else None
        if fault is not None and fault.kind in EARLY_KINDS:
            return await _send_error(wire, request, truth, _fault_spec(wire, fault))
        if fault is not None and fault.kind == "hang":
            await asyncio.sleep(fault.hang_s)  # cancelled when the client disconnects
        tokens = estimate_tokens(brain, parsed.messages, *parsed.extra_input)
        truth.input_tokens = tokens
        if brain.context_window is not None and tokens > brain.context_window:
            return await _send_error(wire, request, truth, wire.context_error(tokens, brain.context_window))
        output = make_output(brain, last_user_text(parsed.messages), parsed.max_tokens,
                             prompt_tokens=tokens, model_seq=truth.model_seq,
                             prompt=(parsed.messages, *parsed.extra_input),
                             # every wire parses the request's `tools` last into `extra_input`
                             tools=parsed.extra_input[-1] if parsed.extra_input else None)
        effort = parsed.options.get("reasoning_effort")
        reasoning = next((n for e, n in brain.reasoning_tokens.items() if e == effort), 0)
        truth.reasoning_tokens = reasoning
        visible = brain.reasoning_text if brain.reasoning_text is not None \
            else wire.stream_format.reasoning_text_default
        ctx = Ctx(request=request, parsed=parsed, brain=brain, output=output, truth=truth,
                  fault=fault, input_tokens=tokens, reasoning_tokens=reasoning,
                  reasoning_visible=bool(reasoning) and visible, limit_headers=limiter.remaining_headers())
        if parsed.stream:
            return await run_stream(ctx, wire.stream_format)
        return await run_json(ctx, wire)
    finally:
        limiter.release(parsed.model)
