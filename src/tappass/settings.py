"""Gateway settings, read from the environment (`TAPPASS_*` plus the providers' own names).

Built by `load_settings()` when the gateway starts, never at import time, so tests and the
CLI choose their environment first. Every error names the variable and what it expects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from tappass.errors import ConfigError
from tappass.vault.cipher import check_vault_key

StorageKind = Literal["memory", "local", "postgres"]
PRESETS = ("starter", "standard", "regulated")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TAPPASS_", extra="ignore", frozen=True,
                                      populate_by_name=True)

    home: Path = Field(default_factory=lambda: Path.home() / ".tappass")
    host: str = "127.0.0.1"
    port: int = Field(default=9620, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)
    storage: StorageKind | None = None
    database_url: str | None = None
    kv_url: str | None = None
    kv_prefix: str = Field(default="tappass:", min_length=1, max_length=64)
    kv_retry_seconds: float = Field(default=5.0, gt=0, le=300)  # Redis down: retry interval
    session_ttl: int = Field(default=86_400, ge=60)  # session state kept after its last use
    admin_api_key: SecretStr | None = None
    default_preset: str = "standard"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    rate_limit_rpm: int = Field(default=600, ge=1)
    upstream_timeout: float = Field(default=120.0, gt=0)
    upstream_connect_timeout: float = Field(default=10.0, gt=0)
    upstream_max_connections: int = Field(default=100, ge=1)
    audit_batch_max: int = Field(default=256, ge=1, le=1000)
    # tamper-evident audit: the checkpoint key (PEM or base64; else generated under home)
    # and how often a chain head is signed (whichever comes first)
    audit_signing_key: SecretStr | None = None
    audit_checkpoint_events: int = Field(default=1000, ge=1)
    audit_checkpoint_seconds: float = Field(default=10.0, gt=0)
    # who may read /metrics (Prometheus): the admin key, or anyone who reaches the port
    metrics_auth: Literal["admin", "none"] = "admin"
    # upstream streams: time to the first chunk, and the longest silence between two chunks
    upstream_first_byte_timeout: float = Field(default=60.0, gt=0)
    upstream_idle_timeout: float = Field(default=60.0, gt=0)
    # SIGTERM: in-flight requests and streams get this long to finish, then are cut
    shutdown_grace: float = Field(default=30.0, ge=0)
    # bounds on one client request, enforced before the work is done
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_header_bytes: int = Field(default=64 * 1024, ge=1024)
    header_timeout: float = Field(default=10.0, gt=0)
    body_timeout: float = Field(default=60.0, gt=0)
    keepalive_timeout: float = Field(default=5.0, gt=0)
    max_connections: int = Field(default=1000, ge=1)
    auth_failure_limit: int = Field(default=30, ge=1)     # per client address per window
    auth_failure_window: float = Field(default=60.0, gt=0)
    # tool-call capability tokens: Ed25519 PEM key (else generated under home), lifetime
    capability_key: SecretStr | None = None
    capability_ttl: float = Field(default=300.0, gt=0, le=86400)
    # the LLM judge: a model's second opinion on texts the injection detector is unsure of
    llm_judge_enabled: bool = False
    llm_judge_model: str = Field(default="gpt-4o-mini", min_length=1)
    llm_judge_timeout: float = Field(default=5.0, gt=0, le=120)
    llm_judge_scope: Literal["uncertain", "all"] = "uncertain"
    llm_judge_on_failure: Literal["heuristics", "block"] = "heuristics"

    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "TAPPASS_OPENAI_API_KEY"))
    openai_base_url: str = Field(
        default="https://api.openai.com/v1",
        validation_alias=AliasChoices("OPENAI_BASE_URL", "TAPPASS_OPENAI_BASE_URL"))
    ollama_base_url: str = Field(
        default="http://127.0.0.1:11434/v1",
        validation_alias=AliasChoices("OLLAMA_BASE_URL", "TAPPASS_OLLAMA_BASE_URL"))
    vllm_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("VLLM_BASE_URL", "TAPPASS_VLLM_BASE_URL"))
    vllm_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("VLLM_API_KEY", "TAPPASS_VLLM_API_KEY"))
    lmstudio_base_url: str = Field(
        default="http://127.0.0.1:1234/v1",
        validation_alias=AliasChoices("LMSTUDIO_BASE_URL", "TAPPASS_LMSTUDIO_BASE_URL"))
    anthropic_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("ANTHROPIC_API_KEY", "TAPPASS_ANTHROPIC_API_KEY"))
    anthropic_base_url: str = Field(
        default="https://api.anthropic.com",
        validation_alias=AliasChoices("ANTHROPIC_BASE_URL", "TAPPASS_ANTHROPIC_BASE_URL"))
    gemini_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("GEMINI_API_KEY", "GOOGLE_API_KEY",
                                                    "TAPPASS_GEMINI_API_KEY"))
    gemini_base_url: str = Field(
        default="https://generativelanguage.googleapis.com/v1beta",
        validation_alias=AliasChoices("GEMINI_BASE_URL", "TAPPASS_GEMINI_BASE_URL"))
    azure_openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("AZURE_OPENAI_API_KEY", "TAPPASS_AZURE_OPENAI_API_KEY"))
    azure_openai_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AZURE_OPENAI_ENDPOINT", "TAPPASS_AZURE_OPENAI_ENDPOINT"))
    azure_openai_api_version: str = Field(
        default="2024-10-21", validation_alias=AliasChoices(
            "AZURE_OPENAI_API_VERSION", "TAPPASS_AZURE_OPENAI_API_VERSION"))
    aws_access_key_id: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("AWS_ACCESS_KEY_ID", "TAPPASS_AWS_ACCESS_KEY_ID"))
    aws_secret_access_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("AWS_SECRET_ACCESS_KEY",
                                                    "TAPPASS_AWS_SECRET_ACCESS_KEY"))
    aws_session_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("AWS_SESSION_TOKEN", "TAPPASS_AWS_SESSION_TOKEN"))
    aws_bearer_token_bedrock: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("AWS_BEARER_TOKEN_BEDROCK",
                                                    "TAPPASS_AWS_BEARER_TOKEN_BEDROCK"))
    aws_region: str = Field(
        default="us-east-1",
        validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION", "TAPPASS_AWS_REGION"))
    bedrock_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("BEDROCK_BASE_URL", "TAPPASS_BEDROCK_BASE_URL"))
    # `name=target,...`: a requested model name sent upstream as another (any provider)
    model_aliases: str = ""
    # on a provider's 5xx or timeout, the request is retried once on this model
    fallback_model: str | None = None
    # a provider failing this many times in a row is skipped for `breaker_reset` seconds
    breaker_failures: int = Field(default=5, ge=1)
    breaker_reset: float = Field(default=30.0, gt=0)
    # base64 of 32 random bytes: the AES-256-GCM key of the vault (provider keys)
    vault_key: SecretStr | None = None

    @field_validator("default_preset")
    @classmethod
    def _known_preset(cls, value: str) -> str:
        if value not in PRESETS:
            raise ValueError(f"expected one of {', '.join(PRESETS)}")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgres://", "postgresql://", "sqlite:///")):
            raise ValueError("expected a postgresql://user@host:port/db or sqlite:///path URL")
        return value

    @field_validator("model_aliases")
    @classmethod
    def _aliases(cls, value: str) -> str:
        parse_aliases(value)
        return value

    @field_validator("vault_key")
    @classmethod
    def _vault_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_vault_key(value.get_secret_value())
        return value

    @field_validator("kv_url")
    @classmethod
    def _kv_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "memory://")):
            raise ValueError("expected a redis://host:port/db URL (or memory://)")
        return value

    @field_validator("capability_key")
    @classmethod
    def _ed25519_pem(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from tappass.tools.capability import parse_key
            parse_key(value.get_secret_value())
        return value

    @field_validator("audit_signing_key")
    @classmethod
    def _audit_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from tappass.audit.signing import parse_signing_key
            parse_signing_key(value.get_secret_value())
        return value

    @property
    def storage_kind(self) -> StorageKind:
        """`storage` if set, else what the database URL implies, else the SQLite file."""
        if self.storage:
            return self.storage
        if self.database_url and self.database_url.startswith(("postgres://", "postgresql://")):
            return "postgres"
        return "local"

    @property
    def sqlite_path(self) -> Path:
        if self.database_url and self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///"))
        return self.home / "tappass.db"


def parse_aliases(value: str) -> dict[str, str]:
    """`gpt4=gpt-4o, fast=claude-3-5-haiku-latest` -> {"gpt4": "gpt-4o", ...}."""
    aliases: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, sep, target = (x.strip() for x in item.partition("="))
        if not sep or not name or not target:
            raise ValueError(f"expected name=model pairs separated by commas, got {item!r}")
        aliases[name] = target
    return aliases


def _env_name(loc: tuple[object, ...]) -> str:
    field = str(loc[0]) if loc else "?"
    info = Settings.model_fields.get(field)
    alias = getattr(info, "validation_alias", None) if info else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"TAPPASS_{field.upper()}"


def _describe(err: ErrorDetails) -> str:
    name = _env_name(err["loc"])
    secret = "KEY" in name or "TOKEN" in name
    shown = "" if secret else f" (got {err.get('input')!r})"  # never echo a secret
    return f"{name}: {err['msg']}{shown}"


def load_settings(**overrides: object) -> Settings:
    """Read and validate the environment; raise ConfigError naming each bad variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = [_describe(err) for err in exc.errors()]
        raise ConfigError("invalid settings:\n  " + "\n  ".join(problems)) from None
    if settings.storage_kind == "postgres" and not settings.database_url:
        raise ConfigError("TAPPASS_STORAGE=postgres needs TAPPASS_DATABASE_URL "
                          "(e.g. postgresql://user@127.0.0.1:5432/tappass)")
    return settings


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


# Named in the product documents for features this version does not have yet: setting them
# changes nothing, so the gateway says so at start (the entry goes when the feature lands).
NOT_IMPLEMENTED = {
    "TAPPASS_SIEM_WEBHOOK_URL": "SIEM export", "TAPPASS_NER_ENABLED": "NER detection",
    "TAPPASS_NER_MODEL": "NER detection", "TAPPASS_SSO_PROVIDER": "single sign-on",
    "TAPPASS_SSO_ALLOWED_DOMAINS": "single sign-on", "TAPPASS_OPA_URL": "the OPA policy engine",
"TAPPASS_JWT_SECRET": "dashboard sessions",
    "TAPPASS_LICENSE": "licensing (the open-source gateway needs none)",
}
# read by the CLI and the SDK, not by the gateway
CLIENT_VARIABLES = frozenset({"TAPPASS_URL", "TAPPASS_API_KEY", "TAPPASS_FLAGS"})


def known_variables() -> frozenset[str]:
    """Every TAPPASS_* name a Settings field reads, plus the CLI's and the SDK's own."""
    names = set(CLIENT_VARIABLES)
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [f"TAPPASS_{field}"]
        names.update(str(c).upper() for c in choices if str(c).upper().startswith("TAPPASS_"))
    return frozenset(names)


def inert_variables(environ: Mapping[str, str] | None = None) -> tuple[list[str], list[str]]:
    """(set but not implemented in this version, set but unknown) TAPPASS_* variables."""
    env = os.environ if environ is None else environ
    known = known_variables()
    names = sorted(n for n in env if n.upper().startswith("TAPPASS_"))
    planned = [n for n in names if n.upper() in NOT_IMPLEMENTED]
    return planned, [n for n in names if n.upper() not in known | NOT_IMPLEMENTED.keys()]


def inert_settings_warning(environ: Mapping[str, str] | None = None) -> str | None:
    """One line naming every TAPPASS_* variable the gateway ignores, or None."""
    planned, unknown = inert_variables(environ)
    parts = []
    if planned:
        parts.append(f"{', '.join(planned)} {'is' if len(planned) == 1 else 'are'} not "
                     "implemented in this version")
    if unknown:
        parts.append(f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a "
                     "TapPass setting (a typo?)")
    if not parts:
        return None
    return f"warning: ignored: {'; '.join(parts)}. Settings: docs/configuration.md"
