"""The options every registered step accepts: its configuration schema.

Declared for all 41 steps, implemented or not, so a pipeline's configuration is validated
when it is loaded (with the path of a bad value) even before a step's implementation lands.
A step implementation uses its entry here as its `Options`. Unknown keys are errors.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Sensitivity = Literal["low", "medium", "high"]
Level = Literal["PUBLIC", "INTERNAL", "CONFIDENTIAL", "RESTRICTED", "TOP_SECRET"]
LEVELS: tuple[str, ...] = ("PUBLIC", "INTERNAL", "CONFIDENTIAL", "RESTRICTED", "TOP_SECRET")


class StepOptions(BaseModel):
    """Base of every options model: unknown keys are errors, values checked at load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    return pattern


class CustomPattern(StepOptions):
    name: str = Field(min_length=1)
    pattern: str = Field(min_length=1)
    level: Level = "CONFIDENTIAL"
    description: str = ""
    score: float = Field(default=0.9, ge=0, le=1)

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        return _compiles(value)


class Detector(StepOptions):
    """Shared by the detection steps."""

    sensitivity: Sensitivity = "medium"
    allowlist: list[str] = []
    allowlist_patterns: list[str] = []

    @field_validator("allowlist_patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        return [_compiles(p) for p in value]


class NoOptions(StepOptions):
    pass


class RateLimitOptions(StepOptions):
    requests_per_minute: int | None = Field(
        default=None, ge=1, description="defaults to TAPPASS_RATE_LIMIT_RPM (600)")


class ToolPermissionsOptions(StepOptions):
    allowed_tools: list[str] = []
    denied_tools: list[str] = []
    default: Literal["allow", "deny"] = "allow"


class ArgumentConstraint(StepOptions):
    """What one argument of a tool call must satisfy (every given rule)."""

    subpath_of: str | None = Field(default=None, description="a path under this root")
    glob: str | None = None
    regex: str | None = Field(default=None, description="the whole value must match")
    enum: list[str | int | float | bool] | None = None
    deny_patterns: list[str] = Field(default=[], description="regexes the value must not contain")
    max_length: int | None = Field(default=None, ge=1)
    required: bool = False

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        return None if value is None else _compiles(value)

    @field_validator("deny_patterns")
    @classmethod
    def _deny_compile(cls, value: list[str]) -> list[str]:
        return [_compiles(p) for p in value]


class ToolConstraintsOptions(StepOptions):
    constraints: dict[str, dict[str, ArgumentConstraint]] = Field(
        default={}, description="tool name or glob -> argument (dotted path) -> constraint")


class UserToolScopesOptions(StepOptions):
    scopes: dict[str, list[str]] = Field(
        default={}, description="tool name or glob -> scopes the end user must hold")


ScanCheck = Literal["path_traversal", "sql_injection", "ssrf", "shell_metacharacters",
                    "pii", "secrets", "injection", "hidden_instructions"]


OUTBOUND_TOOLS = ["*send*", "*mail*", "*post*", "*upload*", "*share*", "*publish*",
                  "*webhook*", "*http*", "*message*", "*reply*", "*forward*"]


class ToolCallScanOptions(Detector):
    checks: list[ScanCheck] = ["path_traversal", "sql_injection", "ssrf",
                               "shell_metacharacters", "pii", "secrets", "injection",
                               "hidden_instructions"]
    outbound_tools: list[str] = Field(
        default=OUTBOUND_TOOLS,
        description="tools whose arguments leave the organisation: personal data is refused")
    scan_results: bool = True


class ToolPoisoningOptions(Detector):
    pin_per_agent: bool = True
    pin_per_session: bool = True


class BudgetOptions(StepOptions):
    budget_usd: float | None = Field(default=None, gt=0,
                                     description="cap on the agent's spend per session or day")
    default_budget: str = "standard"

    @field_validator("default_budget")
    @classmethod
    def _known_tier(cls, value: str) -> str:
        from tappass.policy.budget import budget_for
        budget_for(value)
        return value


class SessionBudgetOptions(StepOptions):
    budget_usd: float | None = Field(default=None, gt=0,
                                     description="cap on one session's USD spend")
    max_calls: int | None = Field(default=None, ge=1,
                                  description="cap on the calls one session sends upstream")


class PiiOptions(Detector):
    entities: list[str] | None = Field(
        default=None, description="types to detect (default: all); e.g. EMAIL, PERSON")
    thresholds: dict[str, float] = Field(
        default={}, description="type -> lowest score kept, overriding the sensitivity")
    custom_patterns: list[CustomPattern] = []

    @field_validator("entities")
    @classmethod
    def _known_entities(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [_pii_type(v) for v in value]

    @field_validator("thresholds")
    @classmethod
    def _valid_thresholds(cls, value: dict[str, float]) -> dict[str, float]:
        for kind, score in value.items():
            if not 0 <= score <= 1:
                raise ValueError(f"threshold for {kind!r} must be between 0 and 1")
        return {kind.upper(): score for kind, score in value.items()}


def _pii_type(value: str) -> str:
    from tappass.detect.pii_types import PII_TYPES
    if value.upper() not in PII_TYPES:
        raise ValueError(f"unknown PII type {value!r}; types: {', '.join(PII_TYPES)}")
    return value.upper()


class PiiTokenizationOptions(StepOptions):
    entities: list[str] | None = None


DataAction = Literal["redact", "block", "flag"]


class SecretsOptions(Detector):
    action: DataAction = Field(default="redact", description=(
        "redact: replace each secret with [REDACTED:<TYPE>] and go on; block: refuse the "
        "request (403) or the answer; flag: record the findings only"))
    custom_patterns: list[CustomPattern] = []


class BusinessDataOptions(Detector):
    action: DataAction = "flag"
    keywords: list[str] = []
    custom_patterns: list[CustomPattern] = []


class InfrastructureOptions(Detector):
    action: DataAction = "flag"
    internal_domains: list[str] = []
    custom_patterns: list[CustomPattern] = []


_SHA256 = re.compile(r"(?:sha256:)?[0-9a-fA-F]{64}")


class InjectionOptions(Detector):
    allowlist_hashes: list[str] = Field(
        default=[], description="sha256 hex of system prompts that are not scanned")
    threshold: float | None = Field(
        default=None, ge=0, le=1, description="score that blocks; overrides sensitivity")
    llm_judge: bool = Field(
        default=True, description="ask the LLM judge about uncertain texts when "
        "TAPPASS_LLM_JUDGE_ENABLED is on (false: this pipeline never calls it)")

    @field_validator("allowlist_hashes")
    @classmethod
    def _hashes_are_sha256(cls, value: list[str]) -> list[str]:
        for item in value:
            if not _SHA256.fullmatch(item):
                raise ValueError(
                    f"allowlist_hashes entry {item!r} is not a SHA-256 hex digest (64 hex "
                    "characters); compute it with: printf %s \"$PROMPT\" | sha256sum")
        return value


ThreatAction = Literal["block", "flag"]
CodeFamily = Literal["shell", "python", "powershell", "javascript", "php", "sql", "java",
                     "dotnet", "yaml"]


class ThreatOptions(Detector):
    """Shared by the threat-detection steps: a finding at or above the sensitivity's score
    blocks the request (403) or, with `action: flag`, is only recorded."""

    action: ThreatAction = Field(default="block", description=(
        "block: refuse the request (403) or the answer; flag: record the findings only"))


def _domains(value: list[str]) -> list[str]:
    from tappass.detect.threats.urls import normalize_domain

    for item in value:
        if not normalize_domain(item):
            raise ValueError(f"allowed_domains entry {item!r} names no domain; write a domain "
                             "(example.com), a wildcard (*.example.com) or a URL")
    return value


class CodeExecutionOptions(ThreatOptions):
    languages: list[CodeFamily] = Field(default=[], description=(
        "only these language families count (empty: all)"))


MEDIA_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp", "audio/wav",
               "audio/mpeg", "application/pdf"]


class MultimodalOptions(StepOptions):
    action: ThreatAction = "block"
    allowed_types: list[str] = Field(default=MEDIA_TYPES, description=(
        "media types accepted in image, audio and file parts (checked against magic bytes)"))
    max_items: int = Field(default=20, ge=0, description="image, audio and file parts per request")
    max_bytes: int = Field(default=20_000_000, ge=1, description="largest decoded part, bytes")
    allow_remote: bool = Field(default=True, description="accept parts given by http(s) URL")
    allow_file_ids: bool = Field(default=True, description="accept provider file ids")
    allowed_domains: list[str] = Field(default=[], description=(
        "hosts remote media may come from (empty: any host that is not an exfiltration "
        "endpoint)"))

    @field_validator("allowed_types")
    @classmethod
    def _lower_types(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value]

    @field_validator("allowed_domains")
    @classmethod
    def _valid_domains(cls, value: list[str]) -> list[str]:
        return _domains(value)


TaintLabel = Literal["PII", "SECRET", "CONFIDENTIAL", "EXTERNAL"]


class SinkRule(StepOptions):
    """Where a labelled value must not go: `output` (anywhere in the answer),
    `outbound_call` (the arguments of an outbound tool call), `tool_call` (a tool call the
    labelled text named: for EXTERNAL, a tool result that instructed the call)."""

    label: TaintLabel
    sink: Literal["output", "outbound_call", "tool_call"]
    action: Literal["flag", "block"] = "flag"


class TaintOptions(Detector):
    sinks: list[SinkRule] = Field(default=[
        SinkRule(label="SECRET", sink="output", action="block"),
        SinkRule(label="PII", sink="outbound_call", action="flag"),
        SinkRule(label="EXTERNAL", sink="tool_call", action="flag")],
        description="label -> where it must not appear, and whether that flags or blocks")
    outbound_tools: list[str] = Field(
        default=OUTBOUND_TOOLS, description="tools whose arguments leave the organisation "
        "(glob patterns over the tool name, case-insensitive)")


class ExfiltrationOptions(ThreatOptions):
    allowed_domains: list[str] = Field(default=[], description=(
        "domains (and their subdomains) data may be sent to; a URL is accepted and reduced "
        "to its host. When set, every other URL is reported"))

    @field_validator("allowed_domains")
    @classmethod
    def _valid_domains(cls, value: list[str]) -> list[str]:
        return _domains(value)


class ClassifyOptions(StepOptions):
    custom_patterns: list[CustomPattern] = []
    default_level: Level = "INTERNAL"


class ValidateInputOptions(StepOptions):
    max_messages: int = Field(default=500, ge=1)
    max_input_chars: int = Field(default=400_000, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    allowed_roles: list[str] = ["system", "developer", "user", "assistant", "tool", "function"]
    block_null_bytes: bool = True


class InspectImagesOptions(ThreatOptions):
    ocr: bool = Field(default=False, description="text in the pixels; not in this version")
    max_bytes: int = Field(default=20_000_000, ge=1,
                           description="larger images are not read (detect_multimodal_content "
                                       "limits sizes)")

    @field_validator("ocr")
    @classmethod
    def _no_ocr(cls, value: bool) -> bool:
        if value:
            raise ValueError("OCR is not available in this version: inspect_images reads the "
                             "text in image metadata and SVG markup only; set ocr: false")
        return value


class AdaptiveOptions(StepOptions):
    window_requests: int = Field(default=100, ge=1, le=10_000,
                                 description="recent risky requests kept per agent and session")
    half_life_seconds: float = Field(default=900.0, gt=0,
                                     description="a finding's weight halves this often")
    max_tightening: float = Field(default=0.35, ge=0, le=0.9,
                                  description="largest cut of a threshold, at full heat")


class ModelRoutingOptions(StepOptions):
    aliases: dict[str, str] = Field(default={}, description="requested model -> model to use")


class LoopGuardOptions(StepOptions):
    max_repeats: int = Field(default=5, ge=1,
                             description="times the same tool call may be made; one more blocks")
    window_seconds: float = Field(default=60.0, gt=0,
                                  description="session_loop_guard: how far back calls count")


class OutputConstraintsOptions(StepOptions):
    max_chars: int | None = Field(default=None, ge=1, description="longest allowed answer")
    format: Literal["text", "json"] = Field(
        default="text", description="json: the answer must parse as JSON")
    json_schema: dict[str, Any] | None = Field(
        default=None, description="JSON Schema the answer must match (implies format json)")
    forbidden_patterns: list[str] = []
    required_patterns: list[str] = []
    on_violation: Literal["block", "flag"] = "block"

    @field_validator("forbidden_patterns", "required_patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        return [_compiles(p) for p in value]

    @field_validator("json_schema")
    @classmethod
    def _schema_is_valid(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            from jsonschema import Draft202012Validator
            from jsonschema.exceptions import SchemaError
            try:
                Draft202012Validator.check_schema(value)
            except SchemaError as exc:
                raise ValueError(f"json_schema is not a valid JSON Schema: {exc.message}") \
                    from None
        return value

    def schema_validator(self) -> Any:
        if self.json_schema is None:
            return None
        from jsonschema import Draft202012Validator
        return Draft202012Validator(self.json_schema)


class DedupOptions(StepOptions):
    window: int = Field(default=10, ge=1, le=1000,
                        description="earlier answers of the session compared with this one")
    max_repeats: int = Field(default=4, ge=2, le=100,
                             description="back-to-back repeats of a phrase that make a loop")
    action: Literal["flag", "block"] = "flag"


class ContentSafetyOptions(Detector):
    categories: list[str] = Field(default=[], description="categories checked (empty: all)")

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        from tappass.detect.content_safety import NAMES
        unknown = sorted(set(value) - NAMES)
        if unknown:
            raise ValueError(f"unknown content_safety categories {unknown}; valid: "
                             + ", ".join(sorted(NAMES)))
        return value


class EscalationOptions(StepOptions):
    threshold: float = Field(default=0.8, gt=0, le=10, description="accumulated session "
                             "risk that escalates (a blocked request adds up to 1)")


class ArtifactOptions(ThreatOptions):
    require_signature: bool = Field(default=False, description="not in this version")
    allowed_domains: list[str] = Field(default=[], description=(
        "domains links may point to (empty: check_exfiltration's allowed_domains in the same "
        "pipeline)"))

    @field_validator("allowed_domains")
    @classmethod
    def _valid_domains(cls, value: list[str]) -> list[str]:
        return _domains(value)

    @field_validator("require_signature")
    @classmethod
    def _no_signatures(cls, value: bool) -> bool:
        if value:
            raise ValueError("signed artifacts are not supported in this version; set "
                             "require_signature: false")
        return value


class CostTrackingOptions(StepOptions):
    prices: dict[str, tuple[float, float]] = Field(
        default={}, description="model -> (input, output) USD per million tokens")


class DebugLoggingOptions(StepOptions):
    level: Literal["debug", "info"] = "debug"


OPTIONS: dict[str, type[StepOptions]] = {
    "rate_limit": RateLimitOptions,
    "tool_permissions": ToolPermissionsOptions,
    "tool_filter": ToolPermissionsOptions,
    "tool_constraints": ToolConstraintsOptions,
    "user_tool_scopes": UserToolScopesOptions,
    "budget_enforcement": BudgetOptions,
    "session_budget": SessionBudgetOptions,
    "detect_pii": PiiOptions,
    "pii_tokenization": PiiTokenizationOptions,
    "pii_restore": NoOptions,
    "detect_secrets": SecretsOptions,
    "taint_tracking": TaintOptions,
    "detect_business_data": BusinessDataOptions,
    "detect_infrastructure_data": InfrastructureOptions,
    "detect_prompt_injection": InjectionOptions,
    "detect_unicode_tricks": Detector,
    "detect_shell_bleed": ThreatOptions,
    "detect_privilege_escalation": ThreatOptions,
    "detect_code_execution": CodeExecutionOptions,
    "detect_multimodal_content": MultimodalOptions,
    "check_exfiltration": ExfiltrationOptions,
    "classify_data": ClassifyOptions,
    "validate_input": ValidateInputOptions,
    "inspect_images": InspectImagesOptions,
    "adaptive_thresholds": AdaptiveOptions,
    "llm_call": NoOptions,
    "tool_call": NoOptions,
    "model_routing": ModelRoutingOptions,
    "tool_call_scan": ToolCallScanOptions,
    "tool_governance_verification": NoOptions,
    "tool_poisoning_detection": ToolPoisoningOptions,
    "loop_guard": LoopGuardOptions,
    "session_loop_guard": LoopGuardOptions,
    "output_scan": Detector,
    "output_constraints": OutputConstraintsOptions,
    "output_deduplication": DedupOptions,
    "content_safety": ContentSafetyOptions,
    "session_escalation": EscalationOptions,
    "artifact_verification": ArtifactOptions,
    "cost_tracking": CostTrackingOptions,
    "debug_logging": DebugLoggingOptions,
}


def describe(annotation: Any) -> str:
    """'a list of strings', 'a number', ... for error messages."""
    import types
    import typing

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(a) for a in args if a is not type(None))
    if origin is Literal:
        return "one of " + " | ".join(str(a) for a in args)
    if origin is list:
        inner = describe(args[0]) if args else "values"
        return f"a list of {_plural(inner)}"
    if origin is dict:
        return "a mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "an object with " + ", ".join(annotation.model_fields)
    return {str: "a string", int: "a whole number", float: "a number",
            bool: "true or false"}.get(annotation, "a valid value")


def _plural(phrase: str) -> str:
    for single, many in (("a string", "strings"), ("a whole number", "whole numbers"),
                         ("a number", "numbers"), ("an object", "objects")):
        if phrase.startswith(single):
            return many + phrase[len(single):]
    return phrase


def _annotation_at(model: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    annotation: Any = model
    for part in loc:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
        else:
            return None
    return annotation


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


_TYPE_ERRORS = {
    "string_type": "expected a string", "missing": "required",
    "float_type": "expected a number", "float_parsing": "expected a number",
    "int_type": "expected a whole number", "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number", "bool_type": "expected true or false",
    "bool_parsing": "expected true or false", "list_type": "expected a list",
    "dict_type": "expected a mapping", "model_type": "expected a mapping",
}
_BOUNDS = {"greater_than_equal": ("at least", "ge"), "greater_than": ("greater than", "gt"),
           "less_than_equal": ("at most", "le"), "less_than": ("less than", "lt")}


def _message(err: Any, annotation: Any) -> str:
    kind = err["type"]
    if kind in _BOUNDS:
        words, key = _BOUNDS[kind]
        return f"must be {words} {err['ctx'][key]}"
    if kind in _TYPE_ERRORS or kind == "literal_error":
        if annotation is not None and kind != "missing":
            return f"expected {describe(annotation)}"
        return _TYPE_ERRORS.get(kind, str(err["msg"]))
    return str(err["msg"]).removeprefix("Value error, ")


def validate_options(step_id: str, raw: Any, path: str) -> StepOptions:
    """The step's options model built from `raw`; OptionsError names `path` and the field."""
    from pydantic import ValidationError

    from tappass.errors import ConfigError

    model = OPTIONS[step_id]
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of option names to values")
    try:
        return model(**raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        where = f"{path}{_format_loc(loc)}"
        if err["type"] == "extra_forbidden":
            known = ", ".join(model.model_fields) or "none"
            raise ConfigError(f"{where}: unknown option for {step_id}; options: {known}") from None
        raise ConfigError(f"{where}: {_message(err, _annotation_at(model, loc))}") from None
