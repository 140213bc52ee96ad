"""Every registered step: id, category, aliases, and where its implementation lives.

Implementations are "module:Class" strings resolved on first use (uvicorn style), so a
pipeline only imports what it runs. A step whose implementation has not landed has
`target=None`: pipelines still list it, and the runner reports it as `unavailable` rather
than skipping it silently.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from tappass.errors import ConfigError
from tappass.pipeline.step import Category

_STEPS = "tappass.pipeline.steps"


@dataclass(frozen=True, slots=True)
class StepSpec:
    id: str
    category: Category
    summary: str
    aliases: tuple[str, ...] = ()
    target: str | None = None
    governance: bool = True   # False: runs even with mode=off (the call and its accounting)

    @property
    def available(self) -> bool:
        return self.target is not None


def _spec(id: str, category: Category, summary: str, *aliases: str,
          target: str | None = None, governance: bool = True) -> StepSpec:
    return StepSpec(id, category, summary, aliases, target, governance)


A, D, T = Category.ACCESS_CONTROL, Category.DATA_PROTECTION, Category.THREAT_DETECTION
C, R = Category.CLASSIFY_AND_PREPARE, Category.ROUTE_AND_EXECUTE
S, K = Category.RESPONSE_SAFETY, Category.TRACKING

SPECS: tuple[StepSpec, ...] = (
    _spec("rate_limit", A, "Limits requests per agent per minute",
          target=f"{_STEPS}.rate_limit:RateLimit"),
    _spec("tool_permissions", A, "Allows only the tools on the agent's allowlist", "check_tools",
          target=f"{_STEPS}.tool_permissions:ToolPermissions"),
    _spec("tool_filter", A, "Removes tools the agent may not use from the request", "filter_tools",
          target=f"{_STEPS}.tool_filter:ToolFilter"),
    _spec("tool_constraints", A, "Checks tool arguments against constraints",
          target=f"{_STEPS}.tool_constraints:ToolConstraints"),
    _spec("user_tool_scopes", A, "Limits tools to the end user's scopes",
          target=f"{_STEPS}.user_tool_scopes:UserToolScopes"),
    _spec("budget_enforcement", A, "Caps USD spend per call and per agent",
          "check_budget", "budget", target=f"{_STEPS}.budget_enforcement:BudgetEnforcement"),
    _spec("session_budget", A, "Caps USD spend per session",
          target=f"{_STEPS}.session_budget:SessionBudget"),
    _spec("detect_pii", D, "Detects personal data (names, emails, phones, IDs, IBANs, ...)",
          target=f"{_STEPS}.detect_pii:DetectPii"),
    _spec("pii_tokenization", D, "Replaces personal data with reversible tokens", "pii_tokenize",
          target=f"{_STEPS}.pii_tokenization:PiiTokenization"),
    _spec("pii_restore", D, "Restores tokenized personal data in the response",
          target=f"{_STEPS}.pii_restore:PiiRestore"),
    _spec("detect_secrets", D, "Detects API keys, passwords and private keys",
          "secret_detection", target=f"{_STEPS}.detect_secrets:DetectSecrets"),
    _spec("taint_tracking", D, "Follows sensitive data across turns and tools", "taint_check",
          target=f"{_STEPS}.taint_tracking:TaintTracking"),
    _spec("detect_business_data", D, "Detects confidential business data", "detect_business",
          target=f"{_STEPS}.detect_business_data:DetectBusinessData"),
    _spec("detect_infrastructure_data", D, "Detects hostnames, IPs and infrastructure details",
          "detect_infra", target=f"{_STEPS}.detect_infrastructure_data:DetectInfrastructureData"),
    _spec("detect_prompt_injection", T, "Detects prompt injection and jailbreaks",
          "detect_injection", target=f"{_STEPS}.detect_prompt_injection:DetectPromptInjection"),
    _spec("detect_unicode_tricks", T, "Detects invisible and look-alike characters",
          "detect_unicode", target=f"{_STEPS}.detect_unicode_tricks:DetectUnicodeTricks"),
    _spec("detect_shell_bleed", T, "Detects shell commands bleeding into prompts", "shell_bleed",
          target=f"{_STEPS}.detect_shell_bleed:DetectShellBleed"),
    _spec("detect_privilege_escalation", T, "Detects attempts to gain privileges",
          "detect_escalation",
          target=f"{_STEPS}.detect_privilege_escalation:DetectPrivilegeEscalation"),
    _spec("detect_code_execution", T, "Detects code meant to be executed", "detect_code_exec",
          target=f"{_STEPS}.detect_code_execution:DetectCodeExecution"),
    _spec("detect_multimodal_content", T, "Inspects images, audio and files in the request",
          "detect_multimodal",
          target=f"{_STEPS}.detect_multimodal_content:DetectMultimodalContent"),
    _spec("check_exfiltration", T, "Detects data sent to external destinations",
          "detect_exfiltration", target=f"{_STEPS}.check_exfiltration:CheckExfiltration"),
    _spec("classify_data", C, "Classifies the request PUBLIC .. TOP_SECRET",
          target=f"{_STEPS}.classify_data:ClassifyData"),
    _spec("validate_input", C, "Validates request size and shape against limits",
          target=f"{_STEPS}.validate_input:ValidateInput"),
    _spec("inspect_images", C, "Inspects images for text and sensitive content",
          "image_inspection", target=f"{_STEPS}.inspect_images:InspectImages"),
    _spec("adaptive_thresholds", C, "Adjusts detection thresholds to the agent's history",
          target=f"{_STEPS}.adaptive_thresholds:AdaptiveThresholds"),
    _spec("llm_call", R, "Calls the model provider", "call_llm",
          target=f"{_STEPS}.llm_call:LlmCall", governance=False),
    _spec("tool_call", R, "Governs the tool calls in the answer and signs capability tokens",
          "call_tool", target=f"{_STEPS}.tool_call:ToolCallStep", governance=False),
    _spec("model_routing", R, "Chooses the provider and model for the request",
          target=f"{_STEPS}.model_routing:ModelRouting", governance=False),
    _spec("tool_call_scan", R, "Scans tool calls in the model's answer", "scan_tool_calls",
          target=f"{_STEPS}.tool_call_scan:ToolCallScan"),
    _spec("tool_governance_verification", R, "Verifies tools are registered and governed",
          "verify_tool_governance",
          target=f"{_STEPS}.tool_governance_verification:ToolGovernanceVerification"),
    _spec("tool_poisoning_detection", R, "Detects poisoned tool descriptions",
          "detect_tool_poison",
          target=f"{_STEPS}.tool_poisoning_detection:ToolPoisoningDetection"),
    _spec("loop_guard", R, "Stops an agent repeating the same call",
          target=f"{_STEPS}.loop_guard:LoopGuard"),
    _spec("session_loop_guard", R, "Stops loops across a session",
          target=f"{_STEPS}.session_loop_guard:SessionLoopGuard"),
    _spec("output_scan", S, "Scans the answer for leaks and unsafe content", "scan_output",
          target=f"{_STEPS}.output_scan:OutputScan"),
    _spec("output_constraints", S, "Enforces length and format constraints on the answer",
          target=f"{_STEPS}.output_constraints:OutputConstraints"),
    _spec("output_deduplication", S, "Detects repeated answers",
          target=f"{_STEPS}.output_deduplication:OutputDeduplication"),
    _spec("content_safety", S, "Detects harmful content in the answer",
          target=f"{_STEPS}.content_safety:ContentSafety"),
    _spec("session_escalation", S, "Detects escalating risk across a session",
          target=f"{_STEPS}.session_escalation:SessionEscalation"),
    _spec("artifact_verification", S, "Verifies artifacts the agent produced",
          target=f"{_STEPS}.artifact_verification:ArtifactVerification"),
    _spec("cost_tracking", K, "Records tokens and USD cost of the call",
          target=f"{_STEPS}.cost_tracking:CostTracking", governance=False),
    _spec("debug_logging", K, "Logs request metadata (never content) for debugging",
          target=f"{_STEPS}.debug_logging:DebugLogging", governance=False),
)

BY_ID: dict[str, StepSpec] = {spec.id: spec for spec in SPECS}
ALIASES: dict[str, str] = {alias: spec.id for spec in SPECS for alias in spec.aliases}


def resolve_id(name: str) -> str:
    """The canonical id for a step id or alias; ConfigError names the valid ids otherwise."""
    if name in BY_ID:
        return name
    if name in ALIASES:
        return ALIASES[name]
    raise ConfigError(f"unknown step {name!r}; registered steps: {', '.join(sorted(BY_ID))}")


def get_spec(name: str) -> StepSpec:
    return BY_ID[resolve_id(name)]


@cache
def load_class(step_id: str) -> Any:
    """Import the implementation of an available step (once)."""
    target = BY_ID[step_id].target
    if target is None:
        raise ConfigError(f"step {step_id!r} has no implementation yet")
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)
