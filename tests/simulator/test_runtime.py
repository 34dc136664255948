"""SimThread, the HTTP control API, config files and the `python -m simulator` entry point."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from simulator import SimConfig, SimThread, load_sim_config
from simulator.client import configure, fetch_truths, health, reset


def _post_chat(url: str, model: str = "m") -> dict[str, object]:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]}).encode()
    req = urllib.request.Request(url + "/v1/chat/completions", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        result: dict[str, object] = json.loads(resp.read())
        return result


def test_simthread_control_api() -> None:
    cfg = SimConfig.model_validate({"default_brain": {"ttft_ms": 1, "itl_ms": 0, "output_tokens": 2}})
    with SimThread(cfg) as sim:
        assert health(sim.url)["status"] == "ok"
        _post_chat(sim.url)
        truths = fetch_truths(sim.url)
        assert len(truths) == 1 and truths[0]["request_id"] == "sim-1" and truths[0]["status"] == 200
        assert sim.truths()[0].output_tokens == 2
        reset(sim.url)
        assert fetch_truths(sim.url) == []
        configure(sim.url, {"default_brain": {"ttft_ms": 1, "itl_ms": 0, "output_tokens": 3}})
        assert _post_chat(sim.url)["usage"] == {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}
        sim.configure(SimConfig(unknown_model_404=True))
        with pytest.raises(urllib.error.HTTPError) as info:
            _post_chat(sim.url)
        assert info.value.code == 404
        sim.reset()
        assert sim.truths() == []
    url = sim.url
    with pytest.raises(OSError):
        health(url, timeout=1)


def test_bad_config_post_is_400() -> None:
    with SimThread() as sim:
        with pytest.raises(urllib.error.HTTPError) as info:
            configure(sim.url, {"modles": {}})
        assert info.value.code == 400


def test_load_sim_config(tmp_path: Path) -> None:
    good = tmp_path / "sim.yaml"
    good.write_text("models:\n  m:\n    ttft_ms: 5\nfaults:\n  - kind: hang\n    at: [1]\n")
    cfg = load_sim_config(good)
    assert cfg.models["m"].ttft_ms == 5 and cfg.faults[0].kind == "hang"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"models": {"m": {"ttft_ms": -1}}, "faults": [{"kind": "boom"}]}))
    with pytest.raises(ValueError) as info:
        load_sim_config(bad)
    text = str(info.value)
    assert str(bad) in text and "models.m.ttft_ms" in text and "faults.0.kind" in text


def test_module_subprocess(tmp_path: Path) -> None:
    cfg = tmp_path / "sim.json"
    cfg.write_text(json.dumps({"models": {"m": {"ttft_ms": 1, "output_tokens": 2}}}))
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "--port", "0", "--config", str(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("SIM_URL=http://127.0.0.1:"), line
        url = line.split("=", 1)[1]
        assert health(url)["status"] == "ok"
        assert _post_chat(url)["model"] == "m"
        assert fetch_truths(url)[0]["api"] == "openai"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_module_bad_config_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "sim.yaml"
    cfg.write_text("limits: {window_s: 0}\n")
    proc = subprocess.run([sys.executable, "-m", "simulator", "--config", str(cfg)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 2 and "limits.window_s" in proc.stderr
