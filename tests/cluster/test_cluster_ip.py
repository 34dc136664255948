"""Where the servers a run starts listen: loopback for a local Ray, the driver's node address
when joining a cluster (the namespace test shows a worker node reaching it), and a clear
refusal of an address Ray could not read, before anything is started or written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.sim_host import LOOPBACK, SimHost
from cli.app import app
from cluster.ray_runtime import cluster_ip
from harness.errors import InputError
from simulator.client import health


@pytest.mark.parametrize("address", [None, "local", "ray://head.example:10001"])
def test_a_local_ray_or_a_ray_client_keeps_the_servers_on_loopback(address: str | None) -> None:
    assert cluster_ip(address) == LOOPBACK


def test_joining_over_loopback_stays_on_loopback() -> None:
    # the test session keeps Ray on loopback (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0), as Ray does
    assert cluster_ip("127.0.0.1:6379") == LOOPBACK


def test_an_address_ray_cannot_read_is_bad_input() -> None:
    with pytest.raises(InputError, match="--address") as caught:
        cluster_ip("no port here")
    assert "Invalid address format" in str(caught.value)


def test_the_cli_refuses_it_with_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = CliRunner().invoke(app, ["run", "smoke", "--models", "sim/a", "--address", "no port here",
                                      "--runs-dir", str(runs)])
    assert result.exit_code == 2, result.output
    assert "--address" in result.output and "Traceback" not in result.output
    assert not runs.exists() or not any(runs.rglob("*"))


def test_the_simulator_listens_on_the_host_it_is_given(tmp_path: Path) -> None:
    config = tmp_path / "sim.yaml"
    config.write_text("default_brain: {output_tokens: 2}\n")
    host = SimHost(config, host="127.0.0.2")  # all of 127/8 is loopback on Linux
    try:
        assert host.url.startswith("http://127.0.0.2:")
        assert health(host.url)["status"] == "ok"
    finally:
        host.stop()
