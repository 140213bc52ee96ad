"""TapPass latency benchmark: what the gateway adds on top of a direct call to the upstream.

One command (`make bench`, or `.venv/bin/python bench/run.py`): starts the fixed-response
upstream (`bench/upstream.py`) and the gateway (`python -m tappass up --storage memory`) as
subprocesses on free loopback ports, registers one agent per preset, warms up, then for
each concurrency measures the direct cell (client -> upstream) and one gateway cell per
preset (client -> gateway -> upstream), plus streaming cells at concurrency 1 (direct,
starter, standard; with the time to first token beside the whole stream's time). The load
generator (`bench/loadgen.py`) runs in this process, apart from both servers.

Cells are measured in rounds: every round runs every cell once, in a rotated order, so
machine noise and the gateway's slow growth (in-memory audit trail) hit direct and gateway
alike. A cell's p50 is the median of its per-round p50s; its p99 is taken over all its
samples; added latency is gateway minus direct from the same run.

Apples to apples across commits: `--gateway base=/other/checkout/.venv/bin/python --gateway
new=.venv/bin/python` runs one gateway per checkout side by side, measured by the same load
generator in the same rounds (their cells interleave), with `comparison` giving each gateway's
figures as ratios of the first one's. `--core` gives every bench agent a custom pipeline with
only the core steps (CORE_STEPS: the ones that ran at 98a5a7d, before any detection step
existed), so the request path itself is compared; the run fails when the gateways do not
report the same X-TapPass-Steps for a preset.

JSON goes to stdout and to bench/results/latest.json; progress goes to stderr. The exit
status is 1 when any request failed (any non-200, bad body, timeout, broken connection) or a
process failed to start or died; subprocesses are always stopped, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uvloop
from loadgen import CellResult, Target, build_request, run_cell
from workload import BODY_BYTES, chat_body, encode

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "latest.json"
PRESETS = ("starter", "standard", "regulated")
ADMIN_KEY = "tp_admin_bench-not-a-secret-0123456789"
UPSTREAM_KEY = "sk-bench"
COMPLETION_MARKER = b'"chatcmpl-bench"'
STREAM_MARKER = b"chatcmpl-bench"
STARTUP_TIMEOUT = 30.0
DEFAULTS = {"requests": 5000, "rounds": 10, "warmup": 500}
QUICK = {"requests": 300, "rounds": 3, "warmup": 50}
# Goals from the performance issue; reported, never enforced by the exit status.
GOALS = (
    ("starter_c1_added_p50_ms", "starter", 1, "added_p50_ms", "<=", 1.5),
    ("starter_c1_added_p50_ms_later", "starter", 1, "added_p50_ms", "<=", 0.5),
    ("starter_c10_gateway_rps_later", "starter", 10, "gateway_rps", ">=", 1800.0),
    ("regulated_c1_added_p50_ms_later", "regulated", 1, "added_p50_ms", "<=", 5.0),
    ("standard_stream_added_ttft_p50_ms", "standard-stream", 1, "added_ttft_p50_ms", "<=", 5.0),
)
# `--core`: the steps that ran (verdict allow) at 98a5a7d, the commit before the hardening
# and the detection steps; every other step of the preset is disabled in the bench agents'
# custom pipeline, so any two commits run the same governance work per request.
CORE_STEPS = frozenset({"validate_input", "rate_limit", "budget_enforcement", "model_routing",
                        "llm_call", "cost_tracking", "debug_logging"})
CORE_PREFIX = "bench-core-"
STREAM_PRESETS = ("starter", "standard")


class BenchError(RuntimeError):
    """A setup failure: a process did not start, an agent could not be registered."""


# ---------------------------------------------------------------- arguments and output

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="TapPass gateway latency benchmark.")
    parser.add_argument("--requests", type=int, help="measured requests per cell, split over "
                        f"the rounds [default {DEFAULTS['requests']}, quick {QUICK['requests']}]")
    parser.add_argument("--rounds", type=int, help=f"rounds [default {DEFAULTS['rounds']}, "
                        f"quick {QUICK['rounds']}]")
    parser.add_argument("--warmup", type=int, help="untimed requests per cell before round 1 "
                        f"[default {DEFAULTS['warmup']}, quick {QUICK['warmup']}]")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--concurrency", default="1,10", help="comma list [default 1,10]")
    parser.add_argument("--presets", default=",".join(PRESETS), help="comma list of presets")
    parser.add_argument("--no-stream", action="store_true", help="skip the streaming cells")
    parser.add_argument("--storage", choices=("memory", "local"), default="memory",
                        help="gateway storage; local uses SQLite in a temp TAPPASS_HOME")
    parser.add_argument("--siem", action="store_true",
                        help="forward every audit event to a SIEM webhook (the upstream "
                             "accepts POST /siem): measures the outbox and the sender")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, s")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON file to write")
    parser.add_argument("--gateway", action="append", metavar="NAME=PYTHON", default=None,
                        help="a gateway to measure: a name and the Python of the checkout "
                        "whose `-m tappass up` runs it (e.g. base=/work/wt-base/.venv/bin/"
                        "python); repeat to compare checkouts in the same run, the first "
                        "is the baseline of the ratios [default: gateway=this Python]")
    parser.add_argument("--core", action="store_true",
                        help="agents run only the core steps (those that ran at 98a5a7d): "
                        "compares the request path without the detection steps")
    args = parser.parse_args(argv)
    args.gateways = _gateways(parser, args.gateway)
    base = QUICK if args.quick else DEFAULTS
    for name, value in base.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    try:
        args.concurrency = sorted({int(c) for c in args.concurrency.split(",") if c.strip()})
    except ValueError:
        parser.error(f"--concurrency: expected a comma list of integers, got {args.concurrency}")
    args.presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    unknown = sorted(set(args.presets) - set(PRESETS))
    if unknown or not args.presets:
        parser.error(f"--presets: unknown {unknown}; choose from {', '.join(PRESETS)}")
    if (args.requests < 1 or args.rounds < 1 or args.warmup < 0 or not args.concurrency
            or min(args.concurrency) < 1):
        parser.error("--requests, --rounds and --concurrency must be >= 1, --warmup >= 0")
    return args


def _gateways(parser: argparse.ArgumentParser, raw: list[str] | None) -> dict[str, str]:
    """NAME -> python executable, in the order given."""
    if not raw:
        return {"gateway": sys.executable}
    gateways: dict[str, str] = {}
    for item in raw:
        name, sep, python = item.partition("=")
        name = name.strip()
        if not sep or not name or not python or name in gateways or "@" in name:
            parser.error(f"--gateway: expected a unique NAME=PYTHON (no '@' in NAME), "
                         f"got {item!r}")
        if not os.access(python, os.X_OK):
            parser.error(f"--gateway {name}: {python} is not an executable")
        gateways[name] = python
    return gateways


class Progress:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self.start:6.1f}s] {message}", file=sys.stderr, flush=True)


def machine_info() -> dict[str, Any]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {"cpu_count": os.cpu_count(), "cpu_affinity": affinity,
            "python": platform.python_version(), "implementation": platform.python_implementation(),
            "platform": platform.platform(), "machine": platform.machine(),
            "loadavg_at_start": _loadavg(),
            "tappass_version": _tappass_version()}


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def _tappass_version() -> str | None:
    try:
        from tappass._version import __version__
    except ImportError:
        return None
    return str(__version__)


# ---------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the benchmark itself is killed (Linux)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.process.poll() is None


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@contextmanager
def started(name: str, cmd: list[str], env: dict[str, str], port: int,
            log_dir: Path) -> Iterator[Server]:
    """Run `cmd` in its own session with output to a log; stop it on the way out."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True,
                                   preexec_fn=_die_with_parent if sys.platform == "linux"
                                   else None)
    server = Server(name, f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_healthy(server)
        yield server
    finally:
        stop(server)


def http_call(url: str, method: str, path: str, body: bytes | None = None,
              headers: dict[str, str] | None = None,
              timeout: float = 5.0) -> tuple[int, bytes, http.client.HTTPMessage]:
    """(status, body, headers) of one plain request; for setup, never for measuring."""
    host, _, port = url.removeprefix("http://").partition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), response.headers
    finally:
        conn.close()


def wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if not server.alive():
            raise BenchError(f"{server.name} exited with {server.process.returncode}:\n"
                             f"{server.log_tail()}")
        try:
            if http_call(server.url, "GET", "/health", timeout=1.0)[0] == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.05)
    raise BenchError(f"{server.name} not healthy after {STARTUP_TIMEOUT:.0f} s:\n"
                     f"{server.log_tail()}")


def died(*servers: Server, say: Progress) -> list[str]:
    """Names of the servers that exited before the end of the run (their logs to stderr)."""
    dead = [s for s in servers if not s.alive()]
    for server in dead:
        say(f"{server.name} exited with {server.process.returncode} during the run:\n"
            f"{server.log_tail()}")
    return [f"{s.name} exited with {s.process.returncode}" for s in dead]


def gateway_env(home: Path, upstream_port: int, storage: str,
                siem: bool = False) -> dict[str, str]:
    prefixes = ("TAPPASS_", "OPENAI_", "VLLM_", "OLLAMA_", "LMSTUDIO_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update({"TAPPASS_HOME": str(home), "TAPPASS_ADMIN_API_KEY": ADMIN_KEY,
                "TAPPASS_STORAGE": storage, "TAPPASS_LOG_LEVEL": "warning",
                "TAPPASS_RATE_LIMIT_RPM": "100000000",
                "OPENAI_BASE_URL": f"http://127.0.0.1:{upstream_port}/v1",
                "OPENAI_API_KEY": UPSTREAM_KEY, "PYTHONUNBUFFERED": "1"})
    if siem:
        env["TAPPASS_SIEM_WEBHOOK_URL"] = f"http://127.0.0.1:{upstream_port}/siem"
    return env


def admin_post(gateway: Server, path: str, payload: dict[str, Any]) -> tuple[int, bytes]:
    status, raw, _ = http_call(gateway.url, "POST", path, orjson.dumps(payload), {
        "Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"})
    return status, raw


def core_pipeline(gateway: Server, preset: str) -> str:
    """A custom pipeline: `preset` with every step outside CORE_STEPS disabled."""
    status, raw, _ = http_call(gateway.url, "GET", f"/admin/pipelines/{preset}", None,
                               {"Authorization": f"Bearer {ADMIN_KEY}"})
    if status != 200:
        raise BenchError(f"reading pipeline {preset}: HTTP {status}: {raw[:300]!r}")
    ids = sorted(set(_step_ids(orjson.loads(raw))) - CORE_STEPS)
    name = f"{CORE_PREFIX}{preset}"
    status, raw = admin_post(gateway, "/admin/pipelines", {
        "name": name, "base": preset, "disable": ids,
        "description": f"bench --core: {preset} without the steps added after 98a5a7d"})
    if status != 201:
        raise BenchError(f"creating pipeline {name}: HTTP {status}: {raw[:300]!r}")
    return name


def _step_ids(view: dict[str, Any]) -> list[str]:
    """Every step id in an admin pipeline view (`phases`: phase -> [{step, ...}])."""
    return [row["step"] for rows in view["phases"].values() for row in rows]


def register_agent(gateway: Server, preset: str, pipeline: str | None = None) -> str:
    body = orjson.dumps({"name": f"bench-{preset}", "preset": pipeline or preset})
    status, raw, _ = http_call(gateway.url, "POST", "/v1/agents", body, {
        "Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"})
    if status != 201:
        raise BenchError(f"registering the {preset} agent: HTTP {status}: {raw[:300]!r}")
    return str(orjson.loads(raw)["api_key"])


def pipeline_info(gateway: Server, preset: str, key: str) -> dict[str, Any]:
    """What one request through `preset` ran: step verdict counts, from X-TapPass-Steps.

    Steps not implemented yet are `unavailable` and cost ~nothing, so a preset's figure is
    only comparable between runs with the same counts.
    """
    status, raw, headers = http_call(gateway.url, "POST", "/v1/chat/completions",
                                     encode(chat_body()), {
                                         "Authorization": f"Bearer {key}",
                                         "Content-Type": "application/json"})
    if status != 200:
        raise BenchError(f"probe request through {preset}: HTTP {status}: {raw[:300]!r}")
    steps = [part.strip().rpartition("=") for part in
             (headers.get("x-tappass-steps") or "").split(",") if part.strip()]
    verdicts = Counter(verdict for _, _, verdict in steps)
    return {"mode": headers.get("x-tappass-mode"), "steps": len(steps),
            "verdicts": dict(verdicts), "header": headers.get("x-tappass-steps") or "",
            "unavailable": [step for step, _, verdict in steps if verdict == "unavailable"]}


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its threads so far, None off Linux.

    /proc counts in clock ticks (10 ms): one round's figure is coarse, the sum over all
    rounds of a gateway cell is good to a few percent.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- cells

@dataclass(frozen=True)
class Cell:
    """One measured combination: a target at one concurrency."""

    label: str          # "direct", "starter", "direct-stream", "starter-stream", ...
    concurrency: int
    target: Target
    server_pid: int     # the process this cell's target hits (upstream or gateway)


@dataclass
class Samples:
    """Everything measured for one cell, round by round."""

    latencies_ms: list[float] = field(default_factory=list)
    first_token_ms: list[float] = field(default_factory=list)
    round_p50_ms: list[float] = field(default_factory=list)
    round_rps: list[float] = field(default_factory=list)
    requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    server_cpu_s: float | None = 0.0
    client_cpu_s: float = 0.0
    sent: int = 0
    round_cpu_us: list[float] = field(default_factory=list)  # server CPU per request

    def add(self, result: CellResult, requests: int, cpu_s: float | None,
            client_cpu_s: float) -> None:
        values = [ns / 1e6 for ns in result.latencies_ns]
        self.requests += requests
        self.sent += result.sent
        self.client_cpu_s += client_cpu_s
        self.server_cpu_s = (None if cpu_s is None or self.server_cpu_s is None
                             else self.server_cpu_s + cpu_s)
        if cpu_s is not None and result.sent:
            self.round_cpu_us.append(cpu_s / result.sent * 1e6)
        self.latencies_ms.extend(values)
        self.first_token_ms.extend(ns / 1e6 for ns in result.first_token_ns)
        if values:
            self.round_p50_ms.append(statistics.median(values))
        if result.wall_s > 0:
            self.round_rps.append(len(values) / result.wall_s)
        self.errors.update(result.errors)
        self.error_samples.extend(result.error_samples[:5 - len(self.error_samples)])


@dataclass
class Measured:
    warmup: Samples = field(default_factory=Samples)
    cells: dict[tuple[str, int], Samples] = field(default_factory=dict)
    aborted: str | None = None      # why the run stopped early, if it did


@dataclass
class GatewayRun:
    """One gateway under test: its process, its agents' keys and what their pipelines ran."""

    name: str
    python: str
    server: Server
    keys: dict[str, str] = field(default_factory=dict)
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)


def cell_label(kind: str, gateway: str) -> str:
    """`starter@base`: a preset (or `starter-stream`) through one gateway."""
    return f"{kind}@{gateway}"


def make_targets(upstream: Server, gateways: list[GatewayRun],
                 stream: bool) -> dict[str, tuple[Target, int]]:
    """Label -> (Target, pid of the server it hits) for direct, each gateway's presets, and
    (optionally) the streaming cells."""
    body = encode(chat_body())
    sbody = encode(chat_body(stream=True))
    direct_url = f"{upstream.url}/v1/chat/completions"
    upstream_auth = {"authorization": f"Bearer {UPSTREAM_KEY}"}
    pid = upstream.process.pid
    host, port, raw = build_request(direct_url, body, upstream_auth)
    targets = {"direct": (Target("direct", host, port, raw, COMPLETION_MARKER), pid)}
    streamed = [p for p in STREAM_PRESETS if any(p in gw.keys for gw in gateways)] if stream \
        else []
    if streamed:
        host, port, raw = build_request(direct_url, sbody, upstream_auth)
        targets["direct-stream"] = (Target("direct-stream", host, port, raw, STREAM_MARKER,
                                           True), pid)
    for gw in gateways:
        gateway_url = f"{gw.server.url}/v1/chat/completions"
        pid = gw.server.process.pid
        for preset, key in gw.keys.items():
            label = cell_label(preset, gw.name)
            host, port, raw = build_request(gateway_url, body, {"authorization": f"Bearer {key}"})
            targets[label] = (Target(label, host, port, raw, COMPLETION_MARKER), pid)
        for preset in streamed:
            if preset not in gw.keys:
                continue
            label = cell_label(f"{preset}-stream", gw.name)
            host, port, raw = build_request(gateway_url, sbody,
                                            {"authorization": f"Bearer {gw.keys[preset]}"})
            targets[label] = (Target(label, host, port, raw, STREAM_MARKER, True), pid)
    return targets


def make_cells(targets: dict[str, tuple[Target, int]], concurrencies: list[int]) -> list[Cell]:
    cells = []
    for c in concurrencies:
        for label, (target, pid) in targets.items():
            if "-stream" in label and c != 1:
                continue  # streaming is measured at concurrency 1 only
            cells.append(Cell(label, c, target, pid))
    return cells


def rotated(items: list[Cell], by: int) -> list[Cell]:
    if not items:
        return items
    by %= len(items)
    return items[by:] + items[:by]


def abort_reason(result: CellResult, cell: Cell, servers: tuple[Server, ...]) -> str | None:
    """Why measuring further is pointless: a server died, or a whole cell failed."""
    dead = [s.name for s in servers if not s.alive()]
    if dead:
        return f"{', '.join(dead)} exited during the run"
    if result.errors and not result.latencies_ns:
        return f"every request of c={cell.concurrency} {cell.label} failed"
    return None


async def warm_up(cells: list[Cell], warmup: int, timeout: float, servers: tuple[Server, ...],
                  say: Progress) -> Measured:
    """Untimed traffic through every cell; its errors fail the run and stop it early."""
    measured = Measured()
    for cell in cells if warmup else []:
        result = await run_cell(cell.target, cell.concurrency, warmup, timeout)
        measured.warmup.add(result, warmup, None, 0.0)
        say(f"warm-up c={cell.concurrency} {cell.label}: {sum(result.errors.values())} errors")
        if result.errors:
            measured.aborted = (abort_reason(result, cell, servers)
                                or f"errors while warming up c={cell.concurrency} {cell.label}")
            break
    return measured


def _round_line(r: int, rounds: int, cell: Cell, result: CellResult) -> str:
    p50 = statistics.median(result.latencies_ns) / 1e6 if result.latencies_ns else float("nan")
    rps = len(result.latencies_ns) / result.wall_s if result.wall_s else 0.0
    return (f"round {r + 1}/{rounds} c={cell.concurrency} {cell.label:<15} p50 {p50:7.3f} ms  "
            f"{rps:8.1f} req/s  errors {sum(result.errors.values())}")


async def measure_cell(cell: Cell, requests: int, timeout: float, into: Samples) -> CellResult:
    """One round of one cell, with the server's and the client's CPU time around it."""
    cpu_before, client_before = cpu_seconds(cell.server_pid), time.process_time()
    result = await run_cell(cell.target, cell.concurrency, requests, timeout)
    cpu_after, client_after = cpu_seconds(cell.server_pid), time.process_time()
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    into.add(result, requests, cpu, client_after - client_before)
    return result


async def measure(cells: list[Cell], args: argparse.Namespace, per_round: int,
                  servers: tuple[Server, ...], say: Progress) -> Measured:
    """Warm up, then run every cell once per round, rotating the order within each
    concurrency. Stops early (and says why) when a server dies or a cell fails outright."""
    measured = await warm_up(cells, args.warmup, args.timeout, servers, say)
    if measured.aborted:
        return measured
    measured.cells = {(cell.label, cell.concurrency): Samples() for cell in cells}
    for r in range(args.rounds):
        for c in sorted({cell.concurrency for cell in cells}):
            group = [cell for cell in cells if cell.concurrency == c]
            for cell in rotated(group, r):
                result = await measure_cell(cell, per_round, args.timeout,
                                            measured.cells[cell.label, c])
                say(_round_line(r, args.rounds, cell, result))
                measured.aborted = abort_reason(result, cell, servers)
                if measured.aborted:
                    return measured
    return measured


# ---------------------------------------------------------------- statistics and report

def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _r(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 3)


def cell_stats(s: Samples) -> dict[str, Any]:
    p50 = statistics.median(s.round_p50_ms) if s.round_p50_ms else None
    spread = (max(s.round_p50_ms) - min(s.round_p50_ms)) / p50 * 100 if p50 else None
    cpu_us = (s.server_cpu_s / s.sent * 1e6 if s.server_cpu_s is not None and s.sent
              else None)
    client_us = s.client_cpu_s / s.sent * 1e6 if s.sent else None
    return {
        "p50_ms": _r(p50), "p99_ms": _r(percentile(s.latencies_ms, 99)),
        "p90_ms": _r(percentile(s.latencies_ms, 90)),
        "mean_ms": _r(statistics.fmean(s.latencies_ms) if s.latencies_ms else None),
        "max_ms": _r(max(s.latencies_ms) if s.latencies_ms else None),
        "rps": _r(statistics.median(s.round_rps) if s.round_rps else None),
        "requests": s.requests, "ok": len(s.latencies_ms),
        "errors": sum(s.errors.values()), "error_kinds": dict(s.errors),
        "error_samples": s.error_samples,
        "ttft_p50_ms": _r(statistics.median(s.first_token_ms) if s.first_token_ms else None),
        "ttft_p99_ms": _r(percentile(s.first_token_ms, 99)),
        "round_p50_ms": [_r(v) for v in s.round_p50_ms],
        "round_p50_spread_pct": _r(spread),
        "server_cpu_us_per_request": _r(cpu_us),
        "server_cpu_us_per_request_round_median": _r(
            statistics.median(s.round_cpu_us) if s.round_cpu_us else None),
        "client_cpu_us_per_request": _r(client_us),
    }


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 3)


def build_rows(samples: dict[tuple[str, int], Samples], presets: list[str],
               concurrencies: list[int], gateways: list[str]) -> list[dict[str, Any]]:
    """One row per (gateway, preset, concurrency[, stream]): direct, gateway and added."""
    rows = []
    pairs = [(p, c, False, "direct", p) for c in concurrencies for p in presets]
    pairs += [(p, 1, True, "direct-stream", f"{p}-stream") for p in STREAM_PRESETS]
    for name in gateways:
        for preset, c, stream, direct_label, kind in pairs:
            gateway_label = cell_label(kind, name)
            if (gateway_label, c) not in samples:
                continue
            direct, gateway = (cell_stats(samples[direct_label, c]),
                               cell_stats(samples[gateway_label, c]))
            rows.append({
                "gateway_name": name, "preset": preset, "concurrency": c, "stream": stream,
                "added_p50_ms": _minus(gateway["p50_ms"], direct["p50_ms"]),
                "added_p99_ms": _minus(gateway["p99_ms"], direct["p99_ms"]),
                "added_ttft_p50_ms": _minus(gateway["ttft_p50_ms"], direct["ttft_p50_ms"]),
                "gateway_rps": gateway["rps"], "direct_rps": direct["rps"],
                "gateway_cpu_us_per_request": gateway["server_cpu_us_per_request"],
                "gateway_cpu_us_round_median": gateway["server_cpu_us_per_request_round_median"],
                "errors": gateway["errors"] + direct["errors"],
                "direct": direct, "gateway": gateway})
    return rows


COMPARED = ("added_p50_ms", "gateway_rps", "gateway_cpu_us_per_request",
            "gateway_cpu_us_round_median")


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else round(a / b, 3)


def comparison(rows: list[dict[str, Any]], gateways: list[str]) -> list[dict[str, Any]]:
    """Each other gateway's figures over the first gateway's, row by row (new / base: below
    1 is cheaper for added_p50_ms and cpu, above 1 is faster for gateway_rps)."""
    if len(gateways) < 2:
        return []
    base, others = gateways[0], gateways[1:]
    index = {(r["gateway_name"], r["preset"], r["concurrency"], r["stream"]): r for r in rows}
    out = []
    for name in others:
        for (gw, preset, c, stream), row in index.items():
            ref = index.get((base, preset, c, stream))
            if gw != name or ref is None:
                continue
            entry: dict[str, Any] = {"gateway_name": name, "baseline": base, "preset": preset,
                                     "concurrency": c, "stream": stream}
            for key in COMPARED:
                entry[key] = {"baseline": ref[key], "value": row[key],
                              "ratio": _ratio(row[key], ref[key])}
            out.append(entry)
    return out


def goals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The goals, for the last gateway listed (the candidate when comparing)."""
    out = {}
    for name, cell, c, key, op, limit in GOALS:
        preset, _, stream = cell.partition("-")
        row = next((r for r in reversed(rows) if r["preset"] == preset
                    and r["concurrency"] == c and r["stream"] == bool(stream)), None)
        value = row[key] if row else None
        met = None if value is None else (value <= limit if op == "<=" else value >= limit)
        out[name] = {"value": value, "goal": f"{op} {limit}", "met": met}
    return out


def summary_lines(rows: list[dict[str, Any]],
                  compared: list[dict[str, Any]] | None = None) -> list[str]:
    head = (f"{'gateway':<10}{'preset':<10}{'c':>3} {'stream':<7}{'added p50':>10}"
            f"{'added p99':>10}{'gw p50':>9}{'dir p50':>9}{'gw req/s':>10}{'dir req/s':>10}"
            f"{'cpu us/req':>11}{'errors':>7}{'added ttft':>11}")
    lines = [head]
    for r in rows:
        lines.append(f"{r['gateway_name']:<10}{r['preset']:<10}{r['concurrency']:>3} "
                     f"{str(r['stream']):<7}"
                     f"{_fmt(r['added_p50_ms']):>10}{_fmt(r['added_p99_ms']):>10}"
                     f"{_fmt(r['gateway']['p50_ms']):>9}{_fmt(r['direct']['p50_ms']):>9}"
                     f"{_fmt(r['gateway_rps'], 1):>10}{_fmt(r['direct_rps'], 1):>10}"
                     f"{_fmt(r['gateway_cpu_us_per_request'], 0):>11}{r['errors']:>7}"
                     f"{_fmt(r['added_ttft_p50_ms']) if r['stream'] else '':>11}")
    for e in compared or []:
        lines.append(f"{e['gateway_name']}/{e['baseline']} {e['preset']} c={e['concurrency']}"
                     f"{' stream' if e['stream'] else ''}: added p50 x"
                     f"{_fmt(e['added_p50_ms']['ratio'])}, req/s x"
                     f"{_fmt(e['gateway_rps']['ratio'])}, cpu/req x"
                     f"{_fmt(e['gateway_cpu_us_per_request']['ratio'])} (round median x"
                     f"{_fmt(e['gateway_cpu_us_round_median']['ratio'])})")
    return lines


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


# ---------------------------------------------------------------- main

def run(args: argparse.Namespace, say: Progress) -> dict[str, Any]:
    per_round = max(1, math.ceil(args.requests / args.rounds))
    report: dict[str, Any] = {
        "benchmark": "tappass-gateway-added-latency", "schema": 2,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine_info(),
        "parameters": {"requests_per_cell": per_round * args.rounds,
                       "requests_per_round": per_round, "rounds": args.rounds,
                       "warmup_per_cell": args.warmup, "concurrency": args.concurrency,
                       "presets": args.presets, "stream": not args.no_stream,
                       "storage": args.storage, "body_bytes": BODY_BYTES,
                       "timeout_s": args.timeout, "quick": args.quick,
                       "core": args.core, "gateways": args.gateways,
                       "siem": args.siem}}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tappass-bench-")))
        up_port = free_port()
        say(f"starting upstream on :{up_port}")
        upstream = stack.enter_context(started(
            "upstream", [sys.executable, str(BENCH_DIR / "upstream.py"), "--port", str(up_port)],
            dict(os.environ), up_port, tmp))
        gateways = [start_gateway(stack, name, python, tmp, up_port, args, say)
                    for name, python in args.gateways.items()]
        report["gateways"] = {gw.name: {"python": gw.python, "pipelines": gw.pipelines}
                              for gw in gateways}
        report["pipelines"] = gateways[-1].pipelines
        check_same_steps(gateways, strict=args.core)
        cells = make_cells(make_targets(upstream, gateways, stream=not args.no_stream),
                           args.concurrency)
        servers = (upstream, *(gw.server for gw in gateways))
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            measured = runner.run(measure(cells, args, per_round, servers, say))
        report["process_failures"] = died(*servers, say=say)
    if measured.aborted:
        say(f"stopped early: {measured.aborted}")
    return finish(report, measured, args, say)


def start_gateway(stack: ExitStack, name: str, python: str, tmp: Path, up_port: int,
                  args: argparse.Namespace, say: Progress) -> GatewayRun:
    """Start `python -m tappass up`, register one agent per preset (on a core pipeline
    with --core) and probe what each agent's pipeline runs."""
    port = free_port()
    say(f"starting gateway {name} on :{port} (storage {args.storage}, {python})")
    server = stack.enter_context(started(
        f"gateway-{name}", [python, "-m", "tappass", "up", "--port", str(port),
                            "--storage", args.storage],
        gateway_env(tmp / f"home-{name}", up_port, args.storage, args.siem), port, tmp))
    gw = GatewayRun(name, python, server)
    for preset in args.presets:
        pipeline = core_pipeline(server, preset) if args.core else None
        gw.keys[preset] = register_agent(server, preset, pipeline)
        gw.pipelines[preset] = pipeline_info(server, preset, gw.keys[preset])
    return gw


def check_same_steps(gateways: list[GatewayRun], *, strict: bool) -> None:
    """With several gateways, a preset's figures compare only if the same steps ran."""
    base = gateways[0]
    for gw in gateways[1:]:
        for preset, info in gw.pipelines.items():
            ours, theirs = info["header"], base.pipelines[preset]["header"]
            info["same_steps_as_baseline"] = ours == theirs
            if strict and ours != theirs:
                raise BenchError(f"--core: {preset} runs different steps on {gw.name} and "
                                 f"{base.name}:\n  {gw.name}: {ours}\n  {base.name}: {theirs}")


def finish(report: dict[str, Any], measured: Measured, args: argparse.Namespace,
           say: Progress) -> dict[str, Any]:
    """Add the results, the goals and the verdict to the report."""
    rows = build_rows(measured.cells, args.presets, args.concurrency, list(args.gateways))
    warm = measured.warmup
    report["duration_s"] = round(time.monotonic() - say.start, 1)
    report["machine"]["loadavg_at_end"] = _loadavg()
    report["aborted"] = measured.aborted
    report["warmup_errors"] = {"count": sum(warm.errors.values()),
                               "kinds": dict(warm.errors), "samples": warm.error_samples}
    report["results"] = rows
    report["comparison"] = comparison(rows, list(args.gateways))
    report["goals"] = goals(rows)
    report["total_errors"] = report["warmup_errors"]["count"] + sum(r["errors"] for r in rows)
    report["ok"] = (report["total_errors"] == 0 and bool(rows) and not measured.aborted
                    and not report["process_failures"])
    return report


def write_report(report: dict[str, Any], path: Path) -> None:
    text = json.dumps(report, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _terminate_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the subprocesses are stopped."""
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    say = Progress()
    _terminate_on_sigterm()
    try:
        report = run(args, say)
    except BenchError as exc:
        say(f"FAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        say("interrupted; subprocesses stopped")
        return 130
    write_report(report, args.output)
    for line in summary_lines(report["results"], report["comparison"]):
        say(line)
    say(f"written to {args.output}; {report['total_errors']} errors")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
