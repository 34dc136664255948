"""The CLI tests that need a Ray share the cluster tests' local Ray fixture."""

from tests.cluster.conftest import ray_local  # noqa: F401
