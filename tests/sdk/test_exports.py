"""The public surface: `from tappass import ...`, a sorted and complete `__all__`, lightness."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import tappass
import tappass.sdk
from tappass.sdk import _errors

HEAVY = ("starlette", "uvicorn", "aiohttp", "aiosqlite", "asyncpg", "pydantic",
         "pydantic_settings", "yaml", "orjson", "openai", "tappass.app", "tappass.server",
         "tappass.storage", "tappass.pipeline", "tappass.kv", "redis")


def test_exported_members_are_sorted_and_complete() -> None:
    assert tappass.__all__ == sorted(tappass.__all__)
    assert tappass.sdk.__all__ == sorted(tappass.sdk.__all__)
    assert tappass.__all__ == sorted([*tappass.sdk.__all__, "__version__"])
    public = {name for name, value in vars(tappass.sdk).items()
              if not name.startswith("_") and not isinstance(value, ModuleType)}
    assert public == set(tappass.sdk.__all__)
    for name in tappass.__all__:
        assert getattr(tappass, name) is not None
    assert set(tappass.__all__) <= set(dir(tappass))


def test_the_seed_import_line_works() -> None:
    from tappass import Agent, AsyncAgent, PolicyBlockError  # noqa: F401

    assert tappass.__version__


def test_unknown_names_raise_attribute_error() -> None:
    try:
        tappass.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def _modules_after(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\n"
                           "print('\\n'.join(sys.modules))"],
                          capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_import_tappass_pulls_no_server_dependency() -> None:
    for code in ("import tappass", "from tappass import Agent, AsyncAgent, PolicyBlockError"):
        loaded = _modules_after(code)
        heavy = {m for m in loaded for h in HEAVY if m == h or m.startswith(h + ".")}
        assert heavy == set(), f"{code!r} imported {sorted(heavy)}"


def test_bare_import_does_not_even_load_httpx() -> None:
    assert "httpx" not in _modules_after("import tappass")


def test_error_tree_is_drawn_in_the_module_docstring() -> None:
    assert _errors.__doc__ is not None
    for name in _errors.__all__:
        assert name in _errors.__doc__
        assert getattr(_errors, name).__doc__


def test_error_hierarchy() -> None:
    from tappass import (
        APIError,
        ConfigurationError,
        GatewayConnectionError,
        GatewayTimeout,
        GovernanceError,
        PolicyBlockError,
        RateLimitError,
        TapPassError,
        UpstreamError,
    )
    assert issubclass(PolicyBlockError, GovernanceError)
    assert issubclass(GovernanceError, APIError) and issubclass(APIError, TapPassError)
    assert issubclass(RateLimitError, PolicyBlockError)
    assert issubclass(UpstreamError, APIError)
    assert issubclass(ConfigurationError, TapPassError)
    assert issubclass(GatewayTimeout, GatewayConnectionError)
    assert issubclass(GatewayConnectionError, ConnectionError)
    assert issubclass(GatewayTimeout, TimeoutError)
