"""`tappass status`: a checklist of everything the gateway needs, each ✗ with its fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import click

from tappass.cli._client import AdminClient, ApiError, GatewayUnreachable, Problem
from tappass.cli._output import check_line, say
from tappass.errors import ConfigError

ADD_AGENT = "tappass agents add NAME --preset starter"
DB_FIX = ("check that the database is running and TAPPASS_DATABASE_URL is right "
          "(see the gateway log); `tappass up` applies migrations on start")
AUDIT_FIX = ("free disk space where the database lives (TAPPASS_HOME for SQLite) or make it "
             "writable; the gateway recovers on its own once an audit write succeeds")


@dataclass
class Check:
    label: str
    state: str                      # ok | fail | warn | skip
    detail: str
    fix: str | None = None
    lines: list[str] = field(default_factory=list)

    def print(self) -> None:
        check_line(self.state, self.label, self.detail, self.fix, self.lines)


@click.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Check config, server, auth, agents, pipeline and database; exit 1 on any ✗."""
    checks = run_checks(AdminClient())
    for check in checks:
        check.print()
    failed = [check.label for check in checks if check.state == "fail"]
    warned = [check.label for check in checks if check.state == "warn"]
    say()
    if failed:
        say(f"{len(failed)} problem(s): {', '.join(failed)}")
        ctx.exit(1)
    say("All checks passed" + (f" ({len(warned)} warning(s): {', '.join(warned)})."
                               if warned else "."))


def run_checks(client: AdminClient) -> list[Check]:
    checks = [check_config()]
    server, reachable = check_server(client)
    checks.append(server)
    if not reachable:
        return checks + _skipped(("auth", "agents", "pipeline", "database"),
                                 "no TapPass gateway answered")
    auth, detailed = check_auth(client)
    checks.append(auth)
    if detailed is None:
        return checks + _skipped(("agents", "pipeline", "database"),
                                 "needs an accepted admin key")
    return checks + [check_agents(client), check_pipeline(detailed.get("pipelines") or {}),
                     check_database(detailed.get("storage") or {}, detailed.get("audit")),
                     check_providers(detailed.get("providers") or {}),
                     check_forwarding(detailed.get("forwarding")), _not_applicable()]


def _skipped(labels: tuple[str, ...], why: str) -> list[Check]:
    return [Check(label, "skip", f"skipped: {why}") for label in labels]


def _not_applicable() -> Check:
    return Check("extras", "skip", "OPA, SPIRE and license: not used by the open-source "
                 "gateway, nothing to check")


def check_config() -> Check:
    from tappass.settings import load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        first, *rest = str(exc).splitlines()
        return Check("config", "fail", first, "correct the variables named here; `tappass up` "
                     "reads them", [line.strip() for line in rest])
    return Check("config", "ok", f"settings valid (storage {settings.storage_kind}, default "
                 f"preset {settings.default_preset})")


def check_server(client: AdminClient) -> tuple[Check, bool]:
    try:
        health = client.get("/health", admin=False)
    except GatewayUnreachable as exc:
        return Check("server", "fail", exc.problem,
                     "start it with `tappass up` (or set TAPPASS_URL)"), False
    except ApiError as exc:
        return _unhealthy(client.url, exc), exc.body is not None
    return Check("server", "ok", f"{client.url} healthy (version {health.get('version')}, "
                 f"storage {health.get('storage')})"), True


def _unhealthy(url: str, exc: ApiError) -> Check:
    body = exc.body if isinstance(exc.body, dict) else {}
    if body.get("status") == "unhealthy" and body.get("audit"):
        return Check("server", "fail", f"{url} answers but audit writes are failing, so it "
                     f"refuses requests (storage {body.get('storage')})",
                     "see the database line below")
    if body.get("status") == "unhealthy":
        return Check("server", "fail", f"{url} answers but is unhealthy (storage "
                     f"{body.get('storage')})", "see the database line below")
    return Check("server", "fail", f"{url}: {exc.message}",
                 "check that TAPPASS_URL points at a TapPass gateway")


def check_auth(client: AdminClient) -> tuple[Check, dict[str, Any] | None]:
    try:
        detailed = client.get("/health/detailed")
    except Problem as exc:
        return Check("auth", "fail", exc.problem, exc.fix), None
    except ApiError as exc:
        return Check("auth", "fail", exc.message, "see the gateway log"), None
    return Check("auth", "ok", "admin key accepted"), detailed


def check_agents(client: AdminClient) -> Check:
    try:
        agents = client.get("/v1/agents")["data"]
    except (Problem, ApiError) as exc:
        return Check("agents", "fail", f"could not list agents: {exc.message}")
    if not agents:
        return Check("agents", "fail", "no agents registered", ADD_AGENT)
    enabled = sum(1 for agent in agents if agent.get("enabled"))
    detail = f"{len(agents)} registered, {enabled} enabled"
    if not enabled:
        return Check("agents", "warn", detail, "tappass agents enable NAME")
    return Check("agents", "ok", detail)


def check_pipeline(pipelines: dict[str, Any]) -> Check:
    if not pipelines:
        return Check("pipeline", "fail", "no preset pipelines compiled", "see the gateway log")
    lines = [_preset_line(name, summary) for name, summary in pipelines.items()]
    lines += ["(a slot is one step in one phase: some steps run both before and after the",
              " call; the X-TapPass-Steps header lists one entry per slot)"]
    missing = {name: unavailable_text(summary) for name, summary in pipelines.items()}
    if any(missing.values()):
        return Check("pipeline", "warn", f"{len(pipelines)} presets compiled; steps not "
                     "implemented in this version report 'unavailable'", lines=lines)
    return Check("pipeline", "ok", f"{len(pipelines)} presets compiled", lines=lines[:-2])


def unavailable_text(summary: dict[str, Any]) -> str:
    """`34 steps in 38 slots` (or `34 steps` from a gateway that does not count slots)."""
    steps = len(summary.get("unavailable") or ())
    if not steps:
        return ""
    slots = summary.get("unavailable_slots")
    return f"{steps} steps in {slots} slots" if isinstance(slots, int) else f"{steps} steps"


def _preset_line(name: str, summary: dict[str, Any]) -> str:
    line = (f"{name:<10} before {summary.get('before', 0):>2}  call {summary.get('call', 0):>2}"
            f"  after {summary.get('after', 0):>2}  = {summary.get('total', 0):>2} slots")
    unavailable = unavailable_text(summary)
    return line + (f"  ({unavailable} unavailable)" if unavailable else "")


def check_database(storage: dict[str, Any], audit: dict[str, Any] | None = None) -> Check:
    kind = storage.get("kind", "?")
    if storage.get("status") != "ok":
        return Check("database", "fail", f"{kind}: {storage.get('error') or 'not ok'}",
                     DB_FIX)
    if audit and audit.get("status") == "failing":
        return Check("database", "fail", f"{kind}: audit writes failing since "
                     f"{audit.get('failing_since')}: {audit.get('last_error')}", AUDIT_FIX)
    return Check("database", "ok", f"{kind} ok ({storage.get('latency_ms')} ms), "
                 f"migrations: {_migrations(kind, storage.get('migrations') or [])}")


def _migrations(kind: str, applied: list[str]) -> str:
    if not applied:
        return "none (the memory store has no schema)" if kind == "memory" else "none applied"
    return f"{len(applied)} applied (latest {applied[-1]})"


def check_forwarding(forwarding: dict[str, Any] | None) -> Check:
    """SIEM export and alert webhooks: configured, queued, dead letters."""
    if not forwarding:
        return Check("siem", "skip", "not reported by this gateway")
    siem = forwarding.get("siem")
    sinks = forwarding.get("sinks") or {}
    pending = sum(s.get("pending", 0) for s in sinks.values())
    where = (f"{siem['destination']['type']} ({siem['format']}, "
             f"{'enabled' if siem['enabled'] else 'disabled'})" if siem else "no SIEM set")
    detail = f"{where}, {forwarding.get('webhooks', 0)} alert webhook(s), {pending} queued"
    dead = forwarding.get("dead_letters", 0)
    if dead:
        errors = {s.get("last_error") for s in sinks.values() if s.get("dead")}
        return Check("siem", "warn", f"{detail}, {dead} dead letter(s): "
                     f"{'; '.join(sorted(e for e in errors if e))}",
                     "fix the destination, then: curl -X POST "
                     "$TAPPASS_URL/admin/siem/dead-letters/retry -H 'Authorization: Bearer "
                     "$TAPPASS_ADMIN_API_KEY'")
    if siem is None and not forwarding.get("webhooks"):
        return Check("siem", "skip", "none set (PUT /admin/siem/config, POST /admin/webhooks)")
    return Check("siem", "ok", detail)


def check_providers(providers: dict[str, Any]) -> Check:
    names = ", ".join(sorted(providers)) or "none"
    if "openai" in providers:
        return Check("providers", "ok", f"configured: {names}")
    return Check("providers", "warn", f"configured: {names}; only tappass/echo and local "
                 "models answer",
                 "set OPENAI_API_KEY (or OPENAI_BASE_URL) where the gateway runs")
