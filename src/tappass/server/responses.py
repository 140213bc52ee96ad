"""JSON responses and the error shapes the gateway answers with (OpenAI-compatible)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from tappass.errors import RequestError


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_body(message: str, *, type: str, code: str, param: str | None = None,
               **extra: Any) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code, **extra}}


def error(status: int, message: str, *, type: str = "invalid_request_error",
          code: str = "invalid_request", param: str | None = None,
          headers: dict[str, str] | None = None, **extra: Any) -> JSON:
    return JSON(error_body(message, type=type, code=code, param=param, **extra),
                status_code=status, headers=headers)


def request_error(exc: RequestError) -> JSON:
    return error(exc.status, str(exc), code=exc.code, param=exc.field)


def blocked_body(step: str, reason: str, audit_id: str, *, code: str = "blocked",
                 **extra: Any) -> dict[str, Any]:
    """The 403 block shape of the seeds: `step`/`blocked_by` and `reason`, plus the audit id."""
    return error_body(reason, type="policy_violation", code=code, step=step, blocked_by=step,
                      reason=reason, audit_id=audit_id, **extra)


def parse_json_object(raw: bytes, what: str = "request body") -> dict[str, Any]:
    """Parse a JSON object whatever the Content-Type says (curl -d sends form encoding)."""
    if not raw.strip():
        raise RequestError(f"{what}: expected a JSON object, got an empty body", field="body")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"{what}: invalid JSON ({exc})", field="body") from None
    if not isinstance(data, dict):
        raise RequestError(f"{what}: expected a JSON object", field="body")
    return data
