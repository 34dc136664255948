"""What the limit pool and its clients say to each other, and what the pool saves.

Why its own module: the messages are the contract between a client's allowance
(harness/allowance.py), the asyncio service that parks syncs (harness/limit_service.py) and
the Ray actor that snapshots the state (cluster/limiter_actor.py); each of them imports the
messages without importing the pool's arithmetic. msgspec structs, because a sync is sent
for every client every heartbeat and the snapshot is rewritten on each change.
"""

from __future__ import annotations

import msgspec

from harness.aimd import AdaptiveState
from harness.limit_contract import ProviderLimits

# a credit's validity is never under 0.2 s: a sync's reply on a loaded 2-core machine can take
# longer than 50 ms (the old floor), and credits that arrive already expired, every time,
# starve the run ("no permit within 60 s" under a CPU hog). It only costs windows under 4 s.
VALID_MIN_S = 0.2
VALID_MAX_S = 1.0


class Returned(msgspec.Struct, frozen=True):
    """Credits of a batch the client will never use (expired, or no longer wanted)."""

    batch: str
    requests: int = 0
    tokens: int = 0


class ClientReport(msgspec.Struct, kw_only=True):
    """What a client tells the pool on each sync: its state, its wants, what it returns."""

    client: str
    run: str
    limits: ProviderLimits
    in_flight: int = 0
    waiting: int = 0
    max_local: int | None = None  # the most this client would ever run at once
    allocation_ack: int | None = None  # the allocation it applies now (None: none received)
    want_requests: int = 0
    want_tokens: int = 0
    min_tokens: int = 0  # the head call's shortfall: fewer tokens than this are of no use
    returned: list[Returned] = msgspec.field(default_factory=list)
    token_corrections: list[tuple[str, int]] = msgspec.field(default_factory=list)
    completed_ok: int = 0
    rate_limited: int = 0
    low_remaining: bool = False
    pause_epoch_ack: int = 0
    final: bool = False  # the client is closing: take everything back


class CreditBatch(msgspec.Struct, kw_only=True):
    id: str
    client: str
    issued_at: float
    requests: int
    tokens: int


class Grant(msgspec.Struct, kw_only=True):
    """The pool's answer: the client's allocation, new credits, the provider pause."""

    known: bool = True  # False: the pool had dropped this client (its share was reclaimed)
    allocation: int | None = None  # None: no concurrency limit
    batches: list[CreditBatch] = msgspec.field(default_factory=list)
    valid_s: float = VALID_MAX_S
    credits_needed: bool = False  # False: no window is configured, credits are not checked
    paused_for_s: float = 0.0
    pause_reason: str = ""
    heartbeat_s: float = 1.0
    lease_ttl_s: float = 10.0
    pause_epoch: int = 0
    held_s: float = 0.0  # how long the pool held the sync before answering (its credits' clock starts then)

    def is_news(self, report: ClientReport) -> bool:
        """Worth answering a parked sync for: something the client does not have yet."""
        return (not self.known or bool(self.batches) or self.allocation != report.allocation_ack
                or self.pause_epoch != report.pause_epoch_ack)


class ClientState(msgspec.Struct, kw_only=True):
    client: str
    run: str
    last_seen: float
    demand: int = 0
    in_flight: int = 0
    sent: int | None = None  # the allocation last sent
    held: int = 0  # slots counted as taken: what the client may be using right now


class Registration(msgspec.Struct, kw_only=True):
    run: str
    limits: ProviderLimits
    last_seen: float


class PoolState(msgspec.Struct, kw_only=True):
    """Everything the pool knows; a restarted limiter loads it and carries on."""

    registrations: dict[str, Registration] = msgspec.field(default_factory=dict)
    clients: dict[str, ClientState] = msgspec.field(default_factory=dict)
    batches: list[CreditBatch] = msgspec.field(default_factory=list)
    paused_until: float = 0.0  # monotonic seconds; 0 is "never paused" (JSON has no -inf)
    pause_reason: str = ""
    pause_epoch: int = 0
    adaptive: AdaptiveState | None = None
    next_batch: int = 0
    granted_requests: int = 0
    reclaimed_clients: int = 0



def _encode_hook(obj: object) -> object:
    if isinstance(obj, ProviderLimits):
        return obj.model_dump(mode="json")
    raise NotImplementedError(type(obj))


def _decode_hook(kind: type, obj: object) -> object:
    if kind is ProviderLimits:
        return ProviderLimits.model_validate(obj)
    raise NotImplementedError(kind)


_state_encoder = msgspec.json.Encoder(enc_hook=_encode_hook)
_state_decoder = msgspec.json.Decoder(PoolState, dec_hook=_decode_hook)


def encode_state(state: PoolState) -> bytes:
    """The pool's state as JSON, for the limiter actor's snapshot file."""
    return _state_encoder.encode(state)


def decode_state(data: bytes) -> PoolState:
    return _state_decoder.decode(data)


__all__ = ["VALID_MAX_S", "VALID_MIN_S", "ClientReport", "ClientState", "CreditBatch", "Grant", "PoolState",
           "Registration", "Returned", "decode_state", "encode_state"]
