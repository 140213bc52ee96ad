"""`tappass up`: start the gateway (non-interactive; embedded defaults)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, cast

import click

from tappass.cli import config as cli_config
from tappass.errors import ConfigError, StorageError

if TYPE_CHECKING:
    from tappass.settings import Settings


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


async def _bootstrap(settings: Settings) -> str | None:
    """Apply migrations and settle the admin key before any worker starts."""
    from tappass.admin_key import ensure_admin_key
    from tappass.keys import generate_admin_key

    if settings.storage_kind == "memory":
        # nothing outlives the server process: hand it the key through its environment
        if settings.admin_api_key is not None:
            return None
        key = generate_admin_key()
        os.environ["TAPPASS_ADMIN_API_KEY"] = key
        return key
    from tappass.storage.startup import open_store
    from tappass.vault.service import Vault

    store = await open_store(settings)  # refuses a full or read-only disk with one line
    try:
        _, generated = await ensure_admin_key(store, settings)
        # a TAPPASS_VAULT_KEY that does not open the stored secrets stops here, in one line
        vault_key = settings.vault_key.get_secret_value() if settings.vault_key else None
        await Vault(store, vault_key).load()
    finally:
        await store.close()
    return generated


def _set_env(**values: object) -> None:
    for name, value in values.items():
        if value is not None:
            os.environ[f"TAPPASS_{name.upper()}"] = str(value)


@click.command()
@click.option("--host", default=None, help="Address to listen on [default: 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to listen on [default: 9620].")
@click.option("--storage", type=click.Choice(["memory", "local", "postgres"]), default=None,
              help="memory (throwaway), local (SQLite under TAPPASS_HOME) or postgres "
                   "(TAPPASS_DATABASE_URL) [default: local, or postgres if the URL is one].")
@click.option("--database-url", default=None, help="PostgreSQL URL (sets TAPPASS_DATABASE_URL).")
@click.option("--workers", type=int, default=None, help="Worker processes [default: 1].")
@click.option("--license", "license_key", default=None,
              help="Accepted for compatibility; the open-source gateway needs no license.")
def up(host: str | None, port: int | None, storage: str | None, database_url: str | None,
       workers: int | None, license_key: str | None) -> None:
    """Start the gateway on 127.0.0.1:9620 with embedded defaults (SQLite, in-process state).

    Settings come from TAPPASS_* environment variables; options override them. On first
    start an admin key is generated, printed once and saved for the CLI in
    $TAPPASS_HOME/cli.json (readable only by you).
    """
    from tappass.settings import load_settings

    _set_env(host=host, port=port, storage=storage, database_url=database_url, workers=workers)
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if settings.storage_kind == "memory" and settings.workers > 1:
        raise click.ClickException("--storage memory keeps data inside one process: use "
                                   "--workers 1, or --storage local/postgres for more workers")
    if not _port_free(settings.host, settings.port):
        raise click.ClickException(
            f"port {settings.port} on {settings.host} is already in use: is another gateway "
            f"running? Check with `tappass status`, or start on another port with --port")
    _announce(settings, license_key)
    try:
        generated = asyncio.run(_bootstrap(settings))
    except StorageError as exc:
        raise click.ClickException(f"storage ({settings.storage_kind}): {exc}") from None
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    url = f"http://{settings.host}:{settings.port}"
    if generated:
        path = cli_config.save(settings.home, url=url, admin_key=generated,
                               gateway_key_from_env=None)
        click.echo(f"\nAdmin key (shown once; stored only as a hash, and saved for the CLI in "
                   f"{path}):\n  {generated}\n", err=True)
    elif settings.admin_api_key is not None:
        # the environment's key replaced any generated one: a saved key no longer works
        cli_config.save(settings.home, url=url, admin_key=None, gateway_key_from_env=True)
    else:
        cli_config.remember_url(settings.home, url)
    with _signals_stop_cleanly():
        _serve(settings)


class _Stopped(Exception):
    """Ctrl-C or SIGTERM reached `tappass up` itself: the normal way to stop the gateway."""


@contextmanager
def _signals_stop_cleanly() -> Iterator[None]:
    """Exit 0 on Ctrl-C or SIGTERM instead of dying of the signal (uvicorn re-raises the
    signal it handled once it has shut down), so `make up` and shells report nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Stopped

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _announce(s: Settings, license_key: str | None) -> None:
    from tappass.settings import inert_settings_warning

    where = {"memory": "in memory (data is lost on exit)",
             "local": f"SQLite at {s.sqlite_path}",
             "postgres": "PostgreSQL"}[s.storage_kind]
    click.echo(f"TapPass gateway on http://{s.host}:{s.port}  storage: {where}  "
               f"workers: {s.workers}", err=True)
    if warning := inert_settings_warning():  # once, before any worker starts
        click.echo(warning, err=True)
    if license_key:
        click.echo("note: --license is not needed by the open-source gateway; ignored.",
                   err=True)


def _serve(s: Settings) -> None:
    import uvicorn

    from tappass.prometheus import prepare_multiprocess_dir
    prepare_multiprocess_dir(s)  # before a worker imports prometheus_client

    _raise_fd_limit(s)
    # the protocol adds the header size limit, the header and body deadlines and the
    # connection cap (tappass.server.http_protocol); keep-alive is uvicorn's own timeout
    uvicorn.run("tappass.app:create_app", factory=True, host=s.host, port=s.port,
                workers=s.workers, loop="uvloop" if sys.platform != "win32" else "asyncio",
                http="tappass.server.http_protocol:TapPassHttpProtocol",
                timeout_keep_alive=s.keepalive_timeout,  # type: ignore[arg-type]  # a float works
                log_level=s.log_level, access_log=False,
                # uvicorn hands this to asyncio.wait_for, which takes fractions of a second too
                timeout_graceful_shutdown=cast(int, s.shutdown_grace))


def _raise_fd_limit(s: Settings) -> None:
    """Let each worker hold its connection cap plus its upstream pool and files."""
    try:
        import resource
    except ImportError:  # Windows
        return
    needed = s.max_connections + s.upstream_max_connections + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            click.echo(f"warning: the open-file limit ({hard}) is below what "
                       f"TAPPASS_MAX_CONNECTIONS={s.max_connections} needs ({needed}); raise "
                       f"it (ulimit -n) or lower TAPPASS_MAX_CONNECTIONS", err=True)
