"""The side-by-side benchmark's parts live in benchmarks/sidebyside/ (a script directory,
not an installed package): put that directory on the path, as running the script does."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))
