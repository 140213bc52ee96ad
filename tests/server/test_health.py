"""Health endpoints, healthy and with a failing database."""

from __future__ import annotations

import pytest

from tappass.errors import StorageError
from tests.conftest import ADMIN_HEADERS, Gateway


async def test_health_reports_version_and_storage(gateway: Gateway) -> None:
    response = await gateway.client.get("/health")
    assert response.json() == {"status": "healthy", "version": "0.5.0", "storage": "memory"}
    assert (await gateway.client.get("/health/live")).json() == {"status": "alive"}
    ready = await gateway.client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert set(ready.json()["checks"]) == {"storage", "audit_writer", "kv"}


async def test_failing_database_makes_ready_503_with_the_reason(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    async def down() -> None:
        raise StorageError("connection refused")

    monkeypatch.setattr(gateway.services.store, "ping", down)
    ready = await gateway.client.get("/health/ready")
    assert ready.status_code == 503
    storage = ready.json()["checks"]["storage"]
    assert storage["status"] == "fail" and "database connection failed" in storage["error"]
    assert (await gateway.client.get("/health")).status_code == 503
    assert (await gateway.client.get("/health/live")).status_code == 200


async def test_detailed_needs_the_admin_key_and_has_no_unavailable_steps(
        gateway: Gateway) -> None:
    assert (await gateway.client.get("/health/detailed")).status_code == 401
    detail = (await gateway.client.get("/health/detailed", headers=ADMIN_HEADERS)).json()
    starter = detail["pipelines"]["starter"]
    assert (starter["before"], starter["call"], starter["after"], starter["total"]) == \
        (7, 2, 2, 11)
    for name, summary in detail["pipelines"].items():    # every registered step is implemented
        assert (summary["unavailable"], summary["unavailable_slots"]) == ([], 0), name
    assert not any("unavailable" in w for w in detail["warnings"])
    assert any("OPENAI_API_KEY" in w for w in detail["warnings"])
    assert detail["audit"]["running"] is True


async def test_detailed_warns_about_a_registered_step_without_implementation(
        gateway_missing_steps: Gateway, unimplemented_steps: tuple[str, ...]) -> None:
    detail = (await gateway_missing_steps.client.get("/health/detailed",
                                                     headers=ADMIN_HEADERS)).json()
    pipelines = detail["pipelines"]
    assert pipelines["starter"]["unavailable"] == []    # starter does not list the step
    assert pipelines["regulated"]["unavailable"] == list(unimplemented_steps)
    assert pipelines["regulated"]["unavailable_slots"] >= 1
    warned = [w for w in detail["warnings"] if "report 'unavailable'" in w]
    assert any(w.startswith("pipeline regulated: 1 registered steps are not implemented")
               and w.endswith(unimplemented_steps[0]) for w in warned)
    assert not any("pipeline starter" in w for w in warned)
    for path in ("/admin/steps", f"/admin/steps/{unimplemented_steps[0]}"):  # same registry
        body = (await gateway_missing_steps.client.get(path, headers=ADMIN_HEADERS)).json()
        rows = body.get("data", [body])
        assert {r["id"] for r in rows if not r["available"]} == set(unimplemented_steps), path


async def test_openapi_document_lists_every_route(gateway: Gateway) -> None:
    document = (await gateway.client.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0" and document["info"]["version"] == "0.5.0"
    paths = document["paths"]
    assert paths["/v1/chat/completions"]["post"]["security"] == [{"agentKey": []}]
    assert paths["/v1/agents/{name}/rotate-key"]["post"]["security"] == [{"adminKey": []}]
    assert paths["/health"]["get"]["security"] == []
    assert {"/v1/audit", "/admin/pipelines/{name}", "/health/ready"} <= set(paths)
