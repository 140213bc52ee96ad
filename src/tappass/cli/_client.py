"""A small synchronous client for the gateway's admin API, with errors that say what to do.

The gateway URL and admin key come from `tappass.cli.config` (TAPPASS_URL and
TAPPASS_ADMIN_API_KEY win over $TAPPASS_HOME/cli.json). Every failure becomes a
`click.ClickException` subclass, so commands print one clear line and exit 1; `tappass
status` catches the subclasses to report them as checklist lines instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import click
import httpx

from tappass.cli import config

TIMEOUT = 10.0
KEY_FIX = ("export TAPPASS_ADMIN_API_KEY=<the gateway's admin key>: the key `tappass up` "
           "printed on first start, or the TAPPASS_ADMIN_API_KEY the gateway was started with")
URL_FIX = "start it with `tappass up`, or set TAPPASS_URL"


class Problem(click.ClickException):
    """A failure with its remedy: printed as `problem: fix`; `tappass status` splits them."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}: {fix}")
        self.problem = problem
        self.fix = fix


class GatewayUnreachable(Problem):
    """No HTTP answer at all: refused, unknown host, timeout, bad URL."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem, URL_FIX)


class AdminKeyMissing(Problem):
    def __init__(self) -> None:
        super().__init__(f"no admin key found ({config.key_search_report()})", KEY_FIX)


class AdminKeyRejected(Problem):
    def __init__(self, source: str, url: str) -> None:
        super().__init__(f"the admin key from {source} was rejected by {url}", KEY_FIX)


class ApiError(click.ClickException):
    """The gateway answered with an error status; the message is the server's own."""

    def __init__(self, message: str, status: int, body: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def agent_path(name: str, *rest: str) -> str:
    return "/".join(["/v1/agents", quote(name, safe=""), *rest])


class AdminClient:
    def __init__(self, url: str | None = None, key: str | None = None,
                 timeout: float = TIMEOUT) -> None:
        self.url = url or config.gateway_url()
        self.key, self.key_source = (key, "the caller") if key is not None else \
            config.find_admin_key()
        self.timeout = timeout

    def get(self, path: str, *, params: dict[str, Any] | None = None,
            admin: bool = True) -> Any:
        return self.call("GET", path, params=params, admin=admin)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.call("POST", path, body=body)

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.call("PATCH", path, body=body)

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return self.call("PUT", path, body=body)

    def delete(self, path: str) -> Any:
        return self.call("DELETE", path)

    def call(self, method: str, path: str, *, body: dict[str, Any] | None = None,
             params: dict[str, Any] | None = None, admin: bool = True) -> Any:
        """Send one request; return the decoded JSON or raise a ClickException subclass."""
        response = self._send(method, path, body, params, admin)
        if response.status_code == 401 and admin:
            raise AdminKeyRejected(self.key_source, self.url)
        data = _decode(response)
        if response.is_error:
            raise ApiError(_error_message(response, data), response.status_code, data)
        if data is None:
            raise ApiError(f"{self.url} answered {method} {path} with something other than "
                           "JSON: is TAPPASS_URL pointing at a TapPass gateway?",
                           response.status_code, None)
        return data

    @contextmanager
    def stream_lines(self, path: str, *, params: dict[str, Any] | None = None,
                     timeout: float | None = None) -> Iterator[Iterator[str]]:
        """GET a streamed, line-oriented answer (an export); errors as in `call()`."""
        try:
            with httpx.stream("GET", self.url + path, params=params,
                              headers=self._headers(True),
                              timeout=timeout or self.timeout) as response:
                if response.status_code == 401:
                    raise AdminKeyRejected(self.key_source, self.url)
                if response.is_error:
                    response.read()
                    raise ApiError(_error_message(response, _decode(response)),
                                   response.status_code, _decode(response))
                yield response.iter_lines()
        except httpx.TimeoutException:
            raise GatewayUnreachable(f"the gateway at {self.url} did not answer within "
                                     f"{timeout or self.timeout:g} s") from None
        except (httpx.HTTPError, httpx.InvalidURL):
            raise GatewayUnreachable(f"cannot reach the gateway at {self.url}") from None

    def _headers(self, admin: bool) -> dict[str, str]:
        if not admin:
            return {}
        if not self.key:
            raise AdminKeyMissing()
        return {"Authorization": f"Bearer {self.key}"}

    def _send(self, method: str, path: str, body: dict[str, Any] | None,
              params: dict[str, Any] | None, admin: bool) -> httpx.Response:
        headers = self._headers(admin)
        try:
            return httpx.request(method, self.url + path, json=body, params=params,
                                 headers=headers, timeout=self.timeout)
        except httpx.TimeoutException:
            raise GatewayUnreachable(f"the gateway at {self.url} did not answer within "
                                     f"{self.timeout:g} s") from None
        except (httpx.HTTPError, httpx.InvalidURL):
            raise GatewayUnreachable(f"cannot reach the gateway at {self.url}") from None


def _decode(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_message(response: httpx.Response, data: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        message = data["error"].get("message")
        if message:
            return str(message)
    return (f"the gateway answered HTTP {response.status_code} to "
            f"{response.request.method} {response.request.url.path}")
