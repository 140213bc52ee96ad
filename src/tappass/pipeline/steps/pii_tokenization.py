"""pii_tokenization: personal data in the request replaced by reversible tokens.

Acts when the `pii` flag is `tokenize` (see `tappass.policy.flags`); otherwise it allows.
The values are those `detect_pii` chose from the shared scan of the request (its allowlists
and thresholds apply, and the detectors are not run again); without `detect_pii` in the
pipeline, the default PII selection is used. Each value becomes
`[TOKEN_<TYPE>_<8 hex>]`, the same token for the same value throughout the session (see
`tappass.pipeline.token_vault`), and its value is kept sealed in the shared store so
`pii_restore` can put it back in the answer. The provider sees tokens only. A token whose
32 bits already stand for another value in the session (vanishingly rare) is not used:
that value is masked as `[TYPE]` instead. Findings carry type, span and score, never values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import PiiOptions, PiiTokenizationOptions
from tappass.pipeline.rewrite import replace_spans, rewrite_messages
from tappass.pipeline.step import Action, Decision, Finding, Phase
from tappass.pipeline.steps.detect_pii import DetectPii
from tappass.pipeline.token_vault import TokenVault, mapping_key, normalised, token_vault

if TYPE_CHECKING:
    from tappass.detect.scan import Scan
    from tappass.pipeline.context import Context

PerText = list[list[Finding]]


class PiiTokenization:
    id = "pii_tokenization"

    Options = PiiTokenizationOptions

    def __init__(self, options: PiiTokenizationOptions, services: Any) -> None:
        self.options = options
        self._token_vault: TokenVault | None = None   # the server's, on first use
        self._entities = frozenset(options.entities) if options.entities is not None else None
        self._fallback: DetectPii | None = None

    def _vault(self, ctx: Context) -> TokenVault:
        if self._token_vault is None:
            self._token_vault = token_vault(ctx.services.settings)
        return self._token_vault

    async def run(self, ctx: Context) -> Decision | None:
        if ctx.flags.get("pii") != "tokenize":
            return None
        scan = ctx.request_scan()
        per_text = [[f for f in found if self._wanted(f)] for found in self._selection(ctx, scan)]
        flat = tuple(f for found in per_text for f in found)
        if not flat:
            return None
        scope = f"{ctx.agent.name}:{ctx.session_id}"
        vault = self._vault(ctx)
        tokens = [[vault.token(scope, f.type, text[f.start or 0:f.end or 0]) for f in found]
                  for text, found in zip(scan.texts, per_text, strict=True)]
        values, clashing = _distinct(scan.texts, per_text, tokens)
        clashing |= await vault.keep(ctx.services.kv, scope, mapping_key(ctx.agent.name,
                                     ctx.session_id), values, ctx.session.ttl)
        labels = {(i, f.start, f.end): token if token not in clashing else f"[{f.type}]"
                  for i, (found, row) in enumerate(zip(per_text, tokens, strict=True))
                  for f, token in zip(found, row, strict=True)}

        def rewrite(index: int, text: str) -> str:
            found = per_text[index] if index < len(per_text) else []
            return replace_spans(text, found, lambda f: labels[(index, f.start, f.end)])

        ctx.body = {**ctx.body, "messages": rewrite_messages(ctx.body["messages"], rewrite)}
        ctx.rescan()
        types = ", ".join(sorted({f.type for f in flat}))
        return Decision(Action.TRANSFORM, f"tokenized {len(values)} PII value(s) in the "
                        f"request: {types}", flat)

    def _wanted(self, finding: Finding) -> bool:
        return self._entities is None or finding.type in self._entities

    def _selection(self, ctx: Context, scan: Scan) -> PerText:
        """detect_pii's findings on `scan` (its options; the detectors' results are shared)."""
        for entry in ctx.pipeline.phases[Phase.BEFORE]:
            if isinstance(entry.step, DetectPii):
                return entry.step.findings(scan)
        if self._fallback is None:
            self._fallback = DetectPii(PiiOptions(), None)
        return self._fallback.findings(scan)


def _distinct(texts: tuple[str, ...], per_text: PerText,
              tokens: list[list[str]]) -> tuple[dict[str, str], set[str]]:
    """token -> value, and the tokens two different values of this request share."""
    values: dict[str, str] = {}
    clashing: set[str] = set()
    for text, found, row in zip(texts, per_text, tokens, strict=True):
        for f, token in zip(found, row, strict=True):
            value = text[f.start or 0:f.end or 0]
            earlier = values.setdefault(token, value)
            if normalised(earlier) != normalised(value):
                clashing.add(token)
    return values, clashing
