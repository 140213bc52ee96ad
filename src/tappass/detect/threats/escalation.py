"""Privilege escalation: attempts to gain a role, a permission or a mode the agent or the
user does not have.

`detect_privilege_escalation(text)` finds claims of authority used to ask for something
("I am the administrator, so grant me ..."), identity resets ("you are now an unrestricted
AI"), system-prompt overrides, requests to enter a privileged mode or to disable safety,
permission changes (`chmod 777`, setuid, sudoers, `usermod -aG sudo`) and cloud IAM
escalation (`"Action": "*"` on `"Resource": "*"`, `iam:PassRole`, AdministratorAccess,
`cluster-admin`, `roles/owner`). Mentions without a request (a job title, `sudo apt install`
in a tutorial) score below the default threshold.
"""

from __future__ import annotations

from functools import cache

from tappass.detect.threats.rules import RuleSet, apply, rule, strongest_per_span
from tappass.pipeline.step import Finding

_ROLE = (r"(?:an?\s+|the\s+)?(?:(?:system\s+)?admin(?:istrator)?|root|super\s?user|"
         r"sys\s?admin|owner|god|developer|dan|unrestricted|unfiltered|jailbroken|uncensored)")
_MODE = r"(?:god|sudo|root|unrestricted|unfiltered|uncensored|jailbreak|jailbroken|dan)"
_DEVICE_MODE = r"(?:developer|dev|admin|debug|maintenance)"
_SAFETY = (r"(?:safety|content|security|ethical|moderation)\s+(?:filters?|guardrails?|"
           r"restrictions?|checks?|polic(?:y|ies)|rules|guidelines|protocols?)|guardrails|"
           r"(?:your\s+)?restrictions|(?:the\s+)?content\s+policy")
_GRANT = (r"(?:grant|give|assign|elevate|escalate|promote|upgrade|add)\s+(?:me|my\s+(?:account|"
          r"user|role)|this\s+(?:user|account|agent)|us)\s+(?:to\s+)?(?:full\s+|elevated\s+|"
          r"the\s+)?(?:admin(?:istrator)?|root|owner|superuser|sudo|elevated|full|write|"
          r"unrestricted)\s*(?:access|privileges?|rights|permissions?|role|level)?")


_ROLE_WORDS = ("admin", "administrator", "root", "superuser", "super", "sysadmin", "sys",
               "owner", "god", "developer", "dan", "unrestricted", "unfiltered", "jailbroken",
               "uncensored", "creator", "operator", "system")
_MODE_WORDS = ("god", "sudo", "root", "unrestricted", "unfiltered", "uncensored", "jailbreak",
               "jailbroken", "dan")
_DEVICE_WORDS = ("developer", "dev", "admin", "debug", "maintenance")
_DISABLE_WORDS = ("disable", "turn", "bypass", "ignore", "deactivate", "remove", "switch",
                  "override", "circumvent", "skip")
_SAFETY_WORDS = ("safety", "content", "security", "ethical", "moderation", "guardrails",
                 "restrictions", "guardrail", "restriction")
_GRANT_WORDS = ("grant", "give", "assign", "elevate", "escalate", "promote", "upgrade", "add")
_GRANTED = ("admin", "administrator", "root", "owner", "superuser", "sudo", "elevated",
            "full", "write", "unrestricted")


@cache
def _rules() -> RuleSet:
    return RuleSet((
        rule("identity_override", rf"\byou\s+are\s+now\s+(?:in\s+)?{_ROLE}\b", 0.9,
             "tells the model it now holds a privileged identity", ("you are now",),
             words=("now",), also=("are",)),
        rule("identity_override",
             rf"\b(?:act|behave|respond)\s+as\s+(?:if\s+you\s+(?:are|were)\s+)?{_ROLE}"
             r"\s+(?:with|without|that\s+has)\s+(?:no|full|all)\b", 0.8,
             "asks the model to act with privileges it does not have",
             words=("act", "behave", "respond"), also=("as",)),
        rule("privileged_mode",
             rf"\b(?:enable|activate|enter|switch\s+(?:in)?to|turn\s+on|unlock|you\s+are\s+(?:now\s+)?in)"
             rf"\s+(?:the\s+)?{_MODE}\s+mode\b", 0.9,
             "asks to enter a privileged mode", words=_MODE_WORDS, also=("mode",)),
        rule("privileged_mode",
             rf"\byou\s+are\s+(?:now\s+)?in\s+(?:the\s+)?{_DEVICE_MODE}\s+mode\b|"
             rf"\b(?:enable|activate|enter|switch\s+(?:in)?to)\s+(?:the\s+)?{_DEVICE_MODE}\s+mode"
             rf"\s+(?:and|so|then|now)\b[^.!?\n]{{0,60}}\b(?:ignore|bypass|without|no\s+"
             rf"(?:rules|restrictions|limits))", 0.9,
             "tells the model it is in a mode without its rules", words=_DEVICE_WORDS,
             also=("mode",)),
        rule("privileged_mode",
             rf"\b(?:enable|activate|enter|switch\s+(?:in)?to)\s+(?:the\s+)?{_DEVICE_MODE}\s+mode\b",
             0.5, "asks to enter a developer or debug mode", words=_DEVICE_WORDS, also=("mode",)),
        rule("disable_safety",
             rf"\b(?:disable|turn\s+off|bypass|ignore|deactivate|remove|switch\s+off|override|"
             rf"circumvent|skip)\s+(?:all\s+)?(?:of\s+)?(?:your\s+|the\s+|its\s+)?(?:{_SAFETY})\b",
             0.9, "asks to disable safety controls", words=_DISABLE_WORDS, also=_SAFETY_WORDS),
        rule("system_prompt_override",
             r"(?:\b(?:new|updated|override|replacement|real)\s+system\s+(?:prompt|instructions?|"
             r"message)\s*[:=]|\bsystem\s+override\b|\[\s*system\s*\]\s*:?|<\s*/?\s*system\s*>|"
             r"\b(?:ignore|replace|overwrite|forget)\s+(?:your|the)\s+system\s+(?:prompt|"
             r"instructions?))", 0.85, "tries to replace the system prompt",
             ("system prompt", "system instruction", "system message", "system override",
              "[system", "[ system", "<system", "< system", "/system", "system]"),
             words=("system",)),
        rule("authority_claim",
             rf"\b(?:i\s+am|i'm|this\s+is)\s+(?:{_ROLE}|(?:your|the)\s+(?:creator|developer|"
             rf"operator))\b[^.!?\n]{{0,80}}\b(?:so|therefore|thus|hence|which\s+means|and)\b"
             rf"[^.!?\n]{{0,60}}\b(?:grant|give|allow|let|bypass|ignore|override|disable|unlock|"
             rf"show|reveal)\b", 0.85, "claims authority to obtain an action",
             ("i am", "i'm", "this is"), words=_ROLE_WORDS, also=("am", "m", "is")),
        rule("authority_claim", rf"\b(?:i\s+am|i'm)\s+(?:{_ROLE})\b", 0.45,
             "claims a privileged identity", ("i am", "i'm"), words=_ROLE_WORDS,
             also=("am", "m")),
        rule("permission_request", rf"\b{_GRANT}", 0.85,
             "asks for elevated permissions", words=_GRANT_WORDS, also=_GRANTED),
        rule("permission_change", r"\bchmod\s+(?:-R\s+)?(?:0?777|[0-7]?[4-7][0-7]{3}|"
             r"[ugoa]*\+[rwx]*s)\b", 0.8, "makes files world-writable or setuid",
             words=("chmod",)),
        rule("permission_change", r"\bset(?:e)?uid\s*\(\s*0\s*\)|\bNOPASSWD\s*:|"
             r"\busermod\s+-a?G\s+(?:sudo|wheel|root|admin)\b|/etc/sudoers\b|"
             r"\b(?:sudo\s+)?(?:su\s+-|su\s+root|sudo\s+-i|sudo\s+su|sudo\s+-s)(?=\s|$)",
             0.85, "changes who may act as root",
             words=("setuid", "seteuid", "nopasswd", "usermod", "sudoers", "su", "sudo")),
        rule("permission_change", r"\bchown\s+(?:-R\s+)?root\b|\bsudo\s+\S", 0.45,
             "runs or hands files to root", words=("chown", "sudo")),
        rule("iam_escalation",
             r"\"Action\"\s*:\s*(?:\[\s*)?\"\*\"[^{}]{0,200}\"Resource\"\s*:\s*(?:\[\s*)?\"\*\"|"
             r"\"Resource\"\s*:\s*(?:\[\s*)?\"\*\"[^{}]{0,200}\"Action\"\s*:\s*(?:\[\s*)?\"\*\"",
             0.9, "an IAM policy that allows every action on every resource", ('"*"',),
             words=("action",), flags=0),
        rule("iam_escalation",
             r"\biam:(?:PassRole|CreateAccessKey|AttachUserPolicy|AttachRolePolicy|PutUserPolicy|"
             r"PutRolePolicy|CreatePolicyVersion|SetDefaultPolicyVersion|UpdateAssumeRolePolicy|"
             r"AddUserToGroup|CreateLoginProfile|UpdateLoginProfile|\*)|"
             r"\barn:aws:iam::aws:policy/AdministratorAccess\b|"
             r"\battach-(?:user|role|group)-policy\b[^\n]{0,200}AdministratorAccess|"
             r"\bclusterrolebinding\b[^\n]{0,200}cluster-admin|--clusterrole[= ]cluster-admin|"
             r"\broles/(?:owner|editor|iam\.securityAdmin)\b", 0.85,
             "a cloud permission that lets its holder grant itself more",
             words=("iam", "administratoraccess", "cluster-admin", "roles")),
    ))


def detect_privilege_escalation(text: str) -> list[Finding]:
    """Attempts to gain privileges in `text` (spans in `text`)."""
    return strongest_per_span(apply(_rules(), text))
