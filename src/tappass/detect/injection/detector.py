"""The prompt-injection detector: rules, structure cues and the linear model, plus a rescan
of decoded payloads.

`detect_injection(text)` is the pure detector (`str -> list[Finding]`) the shared `Scan`
runs once per text. Every finding has a technique `type`, a `score` in [0, 1] and a fixed
`explanation`; none carries the text. Findings below `FLOOR` are not reported; the step
compares the highest score with its sensitivity's threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from tappass.detect.injection.decode import INSTRUCTION_WORDS, Decoded, decoded_payloads
from tappass.detect.injection.features import cues, features
from tappass.detect.injection.model import LinearModel, load_packaged
from tappass.detect.injection.rules import Gates, Rule, build_rules, cue_names, matches
from tappass.detect.injection.structure import structure_cues
from tappass.pipeline.step import Finding
from tappass.pipeline.tokens import TOKEN_RE

FLOOR = 0.3
MODEL_TYPE = "injection_classifier"
# whole-text transforms (rot13, leetspeak, spaced letters) are rescanned with the rules only:
# the model scores wording, and a transformed ordinary text is not ordinary wording
_RULES_ONLY = frozenset({"rot13", "leetspeak", "regional_indicators"})
# spaced-out letters lose the spaces between words: only instruction words are looked for,
# and words that dictate what the model should say (nobody spaces out a request by accident)
_SPACED_SCORE = 0.85
_SPACED_WORDS = tuple(word.replace(" ", "") for word in INSTRUCTION_WORDS) + (
    "saythat", "sayyou", "tellme", "youhate", "ihate", "reveal", "password", "writea", "printthe")
_SPACED_MIN = 10      # decoded letters: shorter runs are initials, grades or chess moves


@dataclass(frozen=True, slots=True)
class InjectionDetector:
    rules: tuple[Rule, ...]
    model: LinearModel
    gates: Gates = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "gates", Gates(self.rules))

    def __call__(self, text: str) -> list[Finding]:
        if "[TOKEN_" in text:
            text = _untokenized(text)
        found = self.scan(text, with_model=True)
        for payload in decoded_payloads(text):
            found.extend(self._encoded(payload))
        return found

    def probability(self, text: str) -> float:
        """The model's probability alone (for evaluation)."""
        names = cue_names(matches(self.rules, text, self.gates))
        return self.model.probability(features(text, names, structure_cues(text)))

    def scan(self, text: str, *, with_model: bool) -> list[Finding]:
        found: list[Finding] = []
        matched = matches(self.rules, text, self.gates)
        names = cue_names(matched)
        for rule, match in matched:
            if rule.score >= FLOOR:
                found.append(Finding(rule.name, match.start(), match.end(), rule.score,
                                     rule.explanation))
        if with_model:
            structure = structure_cues(text)
            score = round(self.model.text_probability(text, names, structure), 4)
            if score >= FLOOR:
                found.append(Finding(MODEL_TYPE, None, None, score, _explain(
                    self.model.contributions(cues(names, structure)))))
        return found

    def _encoded(self, payload: Decoded) -> list[Finding]:
        if payload.encoding == "spaced":
            lowered = payload.text.lower()
            if len(lowered) < _SPACED_MIN or not any(word in lowered for word in _SPACED_WORDS):
                return []
            return [Finding("encoded_injection", payload.start, payload.end, _SPACED_SCORE,
                            "spaced-out letters spelling instruction words")]
        inner = self.scan(payload.text, with_model=payload.encoding not in _RULES_ONLY)
        if not inner:
            return []
        best = max(inner, key=lambda f: f.score)
        return [Finding("encoded_injection", payload.start, payload.end, best.score,
                        f"{payload.encoding}-encoded payload: {best.explanation}")]


def _untokenized(text: str) -> str:
    """`pii=tokenize`'s tokens ("[TOKEN_EMAIL_3f9a2c1d]") read as the kind of value they
    stand for, padded to the same length (finding offsets stay those of the text): their
    random hex would otherwise be random character n-grams for the model."""
    return TOKEN_RE.sub(lambda m: m.group(1).lower().replace("_", " ").center(len(m.group())),
                        text)


def _explain(contributions: list[tuple[str, float]]) -> str:
    base = "linear model over wording and structure"
    if not contributions:
        return base
    names = ", ".join(name.split("|", 1)[1] for name, _ in contributions[:3])
    return f"{base} (cues: {names})"


@cache
def load_detector() -> InjectionDetector:
    """The packaged detector, built once per process on first use (not at import)."""
    return InjectionDetector(build_rules(), load_packaged())


def detect_injection(text: str) -> list[Finding]:
    """The packaged detector as a pure function (what `Scan.findings` runs)."""
    return load_detector()(text)


def top_score(findings: list[Finding] | tuple[Finding, ...]) -> float:
    return max((f.score for f in findings), default=0.0)


# score a text must reach to be flagged, per sensitivity (chosen on 5-fold CV of the dev
# split for a false-positive rate of about 1 % at medium; see scripts/eval_injection.py)
THRESHOLDS: dict[str, float] = {"low": 0.85, "medium": 0.4, "high": 0.3}
