"""What a load tool says about its own run, in one shape for every tool."""

from __future__ import annotations

import msgspec

from sidebyside.figures import Figure


class ToolReport(msgspec.Struct, frozen=True, kw_only=True):
    """The tool's own figures: completed and failed requests, its TTFT percentiles as it
    computes or records them, and its own throughput figure where it reports one."""

    tool: str
    completed: int
    failed: int
    ttft_p50_ms: Figure
    ttft_p95_ms: Figure
    reported_rps: float | None = None
    note: str = ""
