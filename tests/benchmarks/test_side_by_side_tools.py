"""The tools' inputs and outputs: the files fleetbench gets pass fleetbench's own loaders,
guidellm's command carries the flags its 0.8.1 sources define, and both reports parse.
No guidellm is needed: its report is given here in the shape its JSON output has."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sidebyside import fleetbench_tool, guidellm_tool
from sidebyside.session import Settings, fleetbench_requests, guidellm_rows, prompts

from agents.config import load_config
from agents.suite import load_suite


def test_the_generated_suite_and_config_are_valid_fleetbench_input(tmp_path: Path) -> None:
    fleetbench_tool.write_suite(tmp_path / "suite.yaml", prompts(300), output_tokens=64)
    loaded = load_suite(tmp_path / "suite.yaml")
    assert len(loaded.suite.items) == 300
    assert len({item.id for item in loaded.suite.items}) == 300
    assert loaded.suite.defaults.max_tokens == 64 and loaded.suite.defaults.stream
    assert all(not item.constraints for item in loaded.suite.items)
    fleetbench_tool.write_config(tmp_path / "config.yaml", timeout_s=120.0)
    config = load_config(tmp_path / "config.yaml")
    limits = config.providers["openai"].limits
    assert (limits.max_concurrent, limits.requests_per_window, limits.tokens_per_window) == (None, None, None)
    assert config.retry.max_attempts == 1
    assert config.timeout_for("openai") == 120.0


def test_fleetbench_is_run_as_a_user_runs_it(tmp_path: Path) -> None:
    command = fleetbench_tool.run_command(tmp_path / "s.yaml", tmp_path / "c.yaml", 64, tmp_path / "runs")
    tail = command[command.index("run"):]
    assert tail == ["run", str(tmp_path / "s.yaml"), "--phase", "baseline", "--models", "openai/mock-llm",
                    "--concurrency", "64", "--runs-dir", str(tmp_path / "runs"), "--config", str(tmp_path / "c.yaml")]
    env = fleetbench_tool.run_env("http://127.0.0.1:9/v1")
    assert env["OPENAI_BASE_URL"] == "http://127.0.0.1:9/v1" and env["OPENAI_API_KEY"]
    assert "RAY_ADDRESS" not in env


def _record(status: str, ttft: float | None, error: str | None = None, request_id: str | None = None) -> bytes:
    return json.dumps({"run_id": "r", "phase": "baseline", "item_id": "i", "model": "openai/mock-llm",
                       "status": status, "ttft_ms": ttft, "error_class": error, "attempts": 1,
                       "request_id": request_id}).encode()


def test_fleetbench_results_give_counts_and_its_ttft_percentiles() -> None:
    lines = [_record("ok", float(v), request_id=f"chatcmpl-{v}") for v in range(50, 150)]
    lines += [_record("error", None, "provider_timeout", "chatcmpl-x"), _record("ok", None),
              b'{"run_id": "r", "sta']
    report, by_id = fleetbench_tool.parse_results(lines)
    assert len(by_id) == 100 and by_id["chatcmpl-60"] == 60.0 and "chatcmpl-x" not in by_id
    assert report.completed == 101 and report.failed == 1
    assert report.ttft_p50_ms.point == pytest.approx(99.5) and report.ttft_p50_ms.n == 100
    assert report.ttft_p95_ms.point == pytest.approx(50 + 0.95 * 99)
    assert "provider_timeout" in report.note
    with pytest.raises(ValueError, match="line 1"):
        fleetbench_tool.parse_results([b"{", _record("ok", 1.0)])


def test_fleetbench_results_are_found_in_the_archive_layout(tmp_path: Path) -> None:
    run = tmp_path / "2026-12-01" / "20261201T000000Z-abcdef"
    run.mkdir(parents=True)
    (run / "results.jsonl").write_bytes(_record("ok", 55.0) + b"\n")
    assert fleetbench_tool.read_results(tmp_path)[0].completed == 1
    (tmp_path / "2026-12-01" / "other").mkdir()
    (tmp_path / "2026-12-01" / "other" / "results.jsonl").write_bytes(b"")
    with pytest.raises(ValueError, match="found 2"):
        fleetbench_tool.read_results(tmp_path)


def test_guidellm_command_uses_its_key_value_specs(tmp_path: Path) -> None:
    python = Path("/venv/bin/python")
    command = guidellm_tool.benchmark_command(python, "http://127.0.0.1:8000", 16, 20.0, tmp_path / "d.jsonl",
                                              tmp_path / "o.json")
    assert command[:2] == ["/venv/bin/guidellm", "run"]
    pairs = dict(zip(command[2::2], command[3::2], strict=False))
    assert pairs["--backend"] == "kind=openai_http,target=http://127.0.0.1:8000"
    assert pairs["--profile"] == "kind=concurrent,streams=16"
    assert pairs["--constraint"] == "kind=max_duration,seconds=20"
    assert pairs["--data"] == f"kind=json_file,path={tmp_path / 'd.jsonl'}"
    assert pairs["--output"] == f"kind=json,path={tmp_path / 'o.json'}"
    mock = guidellm_tool.mock_command(python, tmp_path / "served.jsonl", 8123, 50.0, 5.0, 64)
    assert mock[mock.index("mock-server"):] == ["mock-server", "--host", "127.0.0.1", "--port", "8123",
                                                 "--ttft-ms", "50", "--itl-ms", "5", "--output-tokens", "64"]


def test_guidellm_data_rows_carry_the_output_length(tmp_path: Path) -> None:
    guidellm_tool.write_data(tmp_path / "d.jsonl", prompts(3), 64)
    rows = [json.loads(line) for line in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert [r["output_tokens_count"] for r in rows] == [64, 64, 64]
    assert rows[0]["prompt"] == prompts(1)[0]


def _stat(count: int, p50: float, p95: float, ci: dict[str, Any] | None) -> dict[str, Any]:
    return {"count": count, "percentiles": {"p50": p50, "p95": p95}, "percentile_cis": ci}


def guidellm_document(ci: dict[str, Any] | None) -> dict[str, Any]:
    metrics = {"request_totals": {"successful": 48, "errored": 1, "incomplete": 4, "total": 53},
               "time_to_first_token_ms": {"successful": _stat(48, 55.3, 74.5, ci)},
               "requests_per_second": {"successful": {"mean": 9.6}}}
    requests = {"successful": [{"response_id": "chatcmpl-a", "time_to_first_token_ms": 55.0},
                               {"response_id": "chatcmpl-b", "time_to_first_token_ms": None}]}
    return {"benchmarks": [{"metrics": metrics, "requests": requests}]}


def test_guidellm_report_gives_its_own_percentiles_and_counts() -> None:
    report, by_id = guidellm_tool.parse_report(
        guidellm_document({"p50": {"lower": 54.4, "upper": 56.3}, "p95": None}))
    assert by_id == {"chatcmpl-a": 55.0}
    assert report.completed == 48 and report.failed == 1
    assert report.ttft_p50_ms.point == 55.3 and report.ttft_p50_ms.lo == 54.4 and report.ttft_p50_ms.n == 48
    assert report.ttft_p95_ms.point == 74.5 and report.ttft_p95_ms.hi is None
    assert report.reported_rps == 9.6 and "4 cut off" in report.note
    assert guidellm_tool.parse_report(guidellm_document(None))[0].ttft_p50_ms.lo is None
    with pytest.raises(ValueError, match="found 0"):
        guidellm_tool.parse_report({"benchmarks": []})


def test_work_is_sized_for_the_run_length() -> None:
    settings = Settings(seconds=20, ttft_ms=50, itl_ms=5, output_tokens=64, guidellm_python=Path("p"),
                        fleetbench_max_s=180)
    assert settings.ideal_request_s == pytest.approx(0.365)
    assert fleetbench_requests(256, 20, 70.0) == 1400
    assert fleetbench_requests(256, 1, 70.0) == 1024  # four turns of every stream at least
    ideal = 64 / settings.ideal_request_s
    assert guidellm_rows(64, 20, ideal) > ideal * 20  # its deadline, never the data, ends it
