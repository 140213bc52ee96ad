"""docs/configuration.md names every setting the gateway reads and every variable it warns
about, so the reference cannot fall behind `Settings`."""

from __future__ import annotations

from pathlib import Path

from tappass.settings import NOT_IMPLEMENTED, Settings, inert_variables, known_variables

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_every_setting_and_planned_variable_is_documented() -> None:
    text = DOC.read_text()
    for field in Settings.model_fields:
        name = f"TAPPASS_{field.upper()}"
        assert f"`{name}`" in text, f"{name} is missing from docs/configuration.md"
    for name in NOT_IMPLEMENTED:
        assert f"`{name}`" in text


def test_inert_variables_split_planned_from_unknown() -> None:
    env = {"TAPPASS_PORT": "1", "TAPPASS_URL": "x", "TAPPASS_KV_URL": "redis://r",
           "TAPPASS_OPA_URL": "http://opa", "TAPPASS_PROT": "1", "OPENAI_API_KEY": "k"}
    assert inert_variables(env) == (["TAPPASS_OPA_URL"], ["TAPPASS_PROT"])  # KV_URL works now
    assert {"TAPPASS_OPENAI_API_KEY", "TAPPASS_API_KEY", "TAPPASS_FLAGS"} <= known_variables()
