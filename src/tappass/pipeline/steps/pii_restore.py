"""pii_restore: the values `pii_tokenization` took out, put back into the answer.

Runs after the call when the `pii` flag is `tokenize`. Every token issued in the session is
replaced by its value in each choice's content and in tool-call arguments (written as JSON
string content there, so the arguments stay valid JSON); the agent never sees a token. A
token that was not issued in this session (or no longer opens) is left as it is and
recorded as an `UNKNOWN_TOKEN` finding (span in that text, never the value).

Streams: the step governs streamed text as it passes (`GovernsText`). `prepare_stream`
loads the session's tokens once before the first chunk; `stream_hold` keeps back the last
characters when they could be the start of a token split across chunks (at most
`MAX_TOKEN_CHARS - 1`); `govern_text` replaces every complete token it knows. Tool-call
arguments are restored as JSON string content, as in whole answers.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import NoOptions
from tappass.pipeline.rewrite import answer_parts, rewrite_answer
from tappass.pipeline.step import Action, Decision, Finding, TextVerdict
from tappass.pipeline.token_vault import mapping_key, token_vault
from tappass.pipeline.tokens import (
    MAX_TOKEN_CHARS,
    TOKEN_RE,
    Lookup,
    partial_token_suffix,
    restore_tokens,
)

if TYPE_CHECKING:
    from tappass.detect.scan import Scan
    from tappass.pipeline.context import Context

_VALUES = "pii_restore_values"     # ctx.state: token -> value, loaded when a stream opens
_IN_JSON = "token inside JSON"     # finding explanation: restore as JSON string content


def json_escape(value: str) -> str:
    """`value` as the inside of a JSON string."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


async def session_values(ctx: Context, tokens: set[str] | None = None) -> dict[str, str]:
    """token -> value for the session's tokens (all of them when `tokens` is None)."""
    vault = token_vault(ctx.services.settings)
    key = mapping_key(ctx.agent.name, ctx.session_id)
    if tokens is None:
        tokens = set(await ctx.services.kv.hash_get(key))
    return await vault.values(ctx.services.kv, f"{ctx.agent.name}:{ctx.session_id}", key,
                              tokens)


async def restore_lookup(ctx: Context) -> Lookup:
    """The lookup a stream restores with: every token of the session, loaded once."""
    return (await session_values(ctx)).get


class PiiRestore:
    id = "pii_restore"

    Options = NoOptions
    stream_window = MAX_TOKEN_CHARS
    stream_arguments = True

    def __init__(self, options: NoOptions, services: Any) -> None:
        self.options = options

    async def run(self, ctx: Context) -> Decision | None:
        if ctx.flags.get("pii") != "tokenize":
            return None
        if ctx.response is None:
            return None   # a stream: restored as it passed (govern_text)
        parts = answer_parts(ctx.response)
        seen = {m.group(0) for text, _ in parts for m in TOKEN_RE.finditer(text)}
        if not seen:
            return None
        values = await session_values(ctx, seen)
        unknown = tuple(Finding("UNKNOWN_TOKEN", m.start(), m.end(), 1.0,
                                "a token that was not issued in this session")
                        for text, _ in parts for m in TOKEN_RE.finditer(text)
                        if m.group(0) not in values)
        if len(unknown) == sum(len(TOKEN_RE.findall(text)) for text, _ in parts):
            return Decision(Action.FLAG, f"{len(unknown)} unknown token(s) left as they are",
                            unknown)

        def rewrite(index: int, text: str) -> str:
            escape = json_escape if parts[index][1] else None
            return restore_tokens(text, values.get, escape)

        ctx.response = rewrite_answer(ctx.response, rewrite)
        ctx.response_bytes = None
        reason = f"restored {len(values)} token(s) in the answer"
        if unknown:
            reason += f"; {len(unknown)} unknown token(s) left as they are"
        return Decision(Action.TRANSFORM, reason, unknown)

    def stream_active(self, ctx: Context) -> bool:
        return ctx.flags.get("pii") == "tokenize"

    async def prepare_stream(self, ctx: Context) -> None:
        """Before a stream's first chunk: the session's tokens, loaded once."""
        if ctx.flags.get("pii") == "tokenize":
            ctx.state[_VALUES] = await session_values(ctx)

    def stream_hold(self, text: str) -> int:
        return len(text) - partial_token_suffix(text)

    def govern_text(self, ctx: Context, scan: Scan) -> TextVerdict | None:
        values: dict[str, str] | None = ctx.state.get(_VALUES)
        if not values:
            return None
        per_text = tuple(_known_tokens(text, values) for text in scan.texts)
        if not any(per_text):
            return None

        def label(finding: Finding, token: str) -> str:
            value = values[token]
            return json_escape(value) if finding.explanation == _IN_JSON else value

        count = sum(len(found) for found in per_text)
        return TextVerdict(Action.TRANSFORM, f"restored {count} token(s) in the answer",
                           per_text, label)


def _known_tokens(text: str, values: dict[str, str]) -> tuple[Finding, ...]:
    """The session's tokens in `text`; inside a JSON document (tool-call arguments) the
    value must be written as JSON string content."""
    in_json = text.lstrip()[:1] in ("{", "[")
    return tuple(Finding("TOKEN", m.start(), m.end(), 1.0, _IN_JSON if in_json else "token")
                 for m in TOKEN_RE.finditer(text) if m.group(0) in values)
