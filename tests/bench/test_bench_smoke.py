"""The benchmark still runs end to end: `bench/run.py --quick` with a handful of requests.

Checks the shape of the JSON report and that no request failed; never checks speed (the
benchmark's figures are for people comparing runs, not for unit tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from numbers import Real
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRESETS = ("starter", "standard", "regulated")
CONCURRENCY = (1, 10)
STATS = ("p50_ms", "p99_ms", "rps", "requests", "ok", "errors")
ROW_NUMBERS = ("added_p50_ms", "added_p99_ms", "gateway_rps", "direct_rps")

pytestmark = pytest.mark.e2e


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "result.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--requests", "30",
         "--warmup", "10", "--output", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"bench failed ({done.returncode}):\n{done.stderr[-3000:]}"
    data = json.loads(done.stdout)
    assert json.loads(out.read_text()) == data
    return data


def _row(report: dict[str, Any], preset: str, c: int, stream: bool) -> dict[str, Any]:
    rows = [r for r in report["results"] if (r["preset"], r["concurrency"], r["stream"])
            == (preset, c, stream)]
    assert len(rows) == 1, f"expected one row for {preset} c={c} stream={stream}"
    return rows[0]


def test_every_preset_and_concurrency_is_reported(report: dict[str, Any]) -> None:
    for preset in PRESETS:
        for c in CONCURRENCY:
            row = _row(report, preset, c, stream=False)
            for key in ROW_NUMBERS:
                assert _is_number(row[key]), (preset, c, key, row[key])
            for side in ("direct", "gateway"):
                for key in STATS:
                    assert _is_number(row[side][key]), (preset, c, side, key)
                assert row[side]["ok"] == row[side]["requests"] == 30
    for preset in ("starter", "standard"):
        stream = _row(report, preset, 1, stream=True)
        assert _is_number(stream["added_p50_ms"]) and _is_number(stream["added_ttft_p50_ms"])
        assert stream["gateway"]["ttft_p50_ms"] <= stream["gateway"]["p99_ms"]
    assert "standard_stream_added_ttft_p50_ms" in report["goals"]


def test_no_request_failed(report: dict[str, Any]) -> None:
    assert report["ok"] is True
    assert report["total_errors"] == 0
    assert report["warmup_errors"]["count"] == 0
    assert all(row["errors"] == 0 for row in report["results"])


def test_machine_and_parameters_are_recorded(report: dict[str, Any]) -> None:
    assert report["machine"]["cpu_count"] >= 1
    assert report["machine"]["python"].startswith("3.")
    assert report["parameters"]["requests_per_cell"] == 30
    assert set(report["pipelines"]) == set(PRESETS)


def test_core_mode_compares_two_gateways_running_the_same_steps(tmp_path: Path) -> None:
    out = tmp_path / "core.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--core", "--presets", "starter",
         "--concurrency", "1", "--no-stream", "--requests", "20", "--rounds", "2",
         "--warmup", "5", "--gateway", f"base={sys.executable}",
         "--gateway", f"new={sys.executable}", "--output", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"bench failed ({done.returncode}):\n{done.stderr[-3000:]}"
    data = json.loads(out.read_text())
    headers = {name: gw["pipelines"]["starter"]["header"]
               for name, gw in data["gateways"].items()}
    assert headers["base"] == headers["new"]
    ran = [part.split("=")[0].strip() for part in headers["new"].split(",")]
    assert ran == ["validate_input", "rate_limit", "budget_enforcement", "model_routing",
                   "llm_call", "cost_tracking"]
    assert data["gateways"]["new"]["pipelines"]["starter"]["same_steps_as_baseline"] is True
    assert [r["gateway_name"] for r in data["results"]] == ["base", "new"]
    [entry] = data["comparison"]
    assert (entry["gateway_name"], entry["baseline"]) == ("new", "base")
    for key in ("added_p50_ms", "gateway_rps", "gateway_cpu_us_per_request"):
        assert _is_number(entry[key]["ratio"]), (key, entry[key])
    # per-round CPU of 10 requests can round to 0 clock ticks: present, not always a ratio
    assert set(entry["gateway_cpu_us_round_median"]) == {"baseline", "value", "ratio"}


@pytest.mark.parametrize("value", ["nopython", "=x", f"a={ROOT / 'README.md'}"])
def test_a_bad_gateway_option_is_refused_naming_it(value: str) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--gateway", value],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--gateway" in done.stderr
