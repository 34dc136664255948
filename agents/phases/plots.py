"""Small matplotlib helpers shared by phases that draw plots into the run directory.

Why the Agg backend and a helper module: phases run headless (Ray actors, CI), and each plot
must be a self-contained PNG with readable labels; keeping figure setup here keeps the phase
modules about what is measured, not about axes styling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt


@dataclass(frozen=True)
class Series:
    """One line: a label, x values, central values (p50) and optional upper values (p95)."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    upper: Sequence[float] | None = None


def line_panels(path: Path, panels: Sequence[tuple[str, Sequence[Series]]], *, xlabel: str,
                ylabel: str, title: str, log_x: bool = True,
                xticks: Sequence[tuple[float, str]] = ()) -> None:
    """Side-by-side panels of p50 lines (solid, markers) with p95 drawn dashed in the same
    colour, one line per series; writes a PNG at `path`."""
    fig, axes = plt.subplots(1, len(panels), figsize=(6.0 * len(panels), 4.5), squeeze=False)
    for ax, (panel_title, series) in zip(axes[0], panels, strict=True):
        for s in series:
            (line,) = ax.plot(list(s.x), list(s.y), marker="o", label=f"{s.label} p50")
            if s.upper is not None:
                ax.plot(list(s.x), list(s.upper), linestyle="--", marker=".",
                        color=line.get_color(), alpha=0.8, label=f"{s.label} p95")
        if log_x:
            ax.set_xscale("log", base=2)
        if xticks:
            ax.set_xticks([t for t, _ in xticks], [label for _, label in xticks])
            ax.minorticks_off()
        ax.set_title(panel_title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        if series:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def box_strip(path: Path, groups: Sequence[tuple[str, Sequence[float]]], *, ylabel: str,
              title: str) -> None:
    """A box plot per group with every sample overlaid as a jittered dot, so small samples
    (a handful of calls) are visible as points rather than hidden in a box."""
    import random

    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(groups) + 2.0), 4.5))
    labels = [label for label, _ in groups]
    data = [list(values) for _, values in groups]
    if data:
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(labels) + 1), labels, rotation=20, ha="right")
        rng = random.Random(0)  # fixed jitter: the same records draw the same picture
        for i, values in enumerate(data, start=1):
            ax.scatter([i + rng.uniform(-0.12, 0.12) for _ in values], values, s=12, alpha=0.6)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
