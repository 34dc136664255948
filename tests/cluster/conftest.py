from __future__ import annotations

from collections.abc import Iterator

import pytest
import ray


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    """One local Ray per test module (ray.init ~2 s); the driver reuses it."""
    if ray.is_initialized():
        ray.shutdown()
    ray.init(address="local", num_cpus=2, include_dashboard=False, namespace="fleetbench", configure_logging=False,
             log_to_driver=False)
    yield
    ray.shutdown()
