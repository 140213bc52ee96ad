"""The benchmark's request: a realistic ~2,000-byte OpenAI chat request of plain prose.

A system message and a user message of ordinary planning prose: no personal data, secrets
or injection phrases, so governance steps do their normal scanning work but find nothing.
The user message is trimmed so the compact JSON is exactly `size` bytes.
"""

from __future__ import annotations

from typing import Any

import orjson

MODEL = "gpt-4o-mini"
BODY_BYTES = 2000

SYSTEM = (
    "You are a careful assistant for an internal planning team. Answer in plain English, "
    "keep answers short and concrete, and say so when the notes do not contain enough "
    "information to answer. Prefer lists of actions over long paragraphs, and never invent "
    "dates or figures that are not in the notes."
)

USER = (
    "Please summarise the following planning notes for the team newsletter. "
    "The quarter started with a review of the work that slipped from the previous one. "
    "Most of it was reliability work: the import job still times out on large files, the "
    "search index is rebuilt by hand after each release, and the staging environment drifts "
    "away from production because changes are applied in different ways. The team agreed to "
    "treat these as the first priority, before any new feature work begins. "
    "The second theme was onboarding. New colleagues currently need about two weeks before "
    "they can ship a change on their own, mostly because the setup guide is out of date and "
    "the test suite is slow and flaky. The plan is to rewrite the guide as a single page, "
    "to split the slow tests into their own job, and to pair every newcomer with a buddy for "
    "the first month. Several people volunteered to review the new guide. "
    "The third theme was planning itself. The group felt that estimates were too optimistic "
    "and that too many small requests arrived in the middle of the cycle. From now on, "
    "requests that arrive mid-cycle go into a shared list and are triaged once a week, and "
    "each project keeps a short written plan with its goals, its risks and a clear owner. "
    "Finally, the team will hold a short retrospective at the end of every month instead of "
    "one long meeting at the end of the quarter, and the notes of each retrospective will be "
    "shared in the team channel so that everyone can follow the decisions that were taken. "
    "The meeting closed with thanks to everyone who helped with the migration work, which "
    "went more smoothly than expected and left the team in a good position for the quarter."
)


def chat_body(size: int = BODY_BYTES, *, stream: bool = False) -> dict[str, Any]:
    """The chat request with the user message trimmed so `encode(body) == size` bytes.

    The streaming variant adds `"stream":true` (11 more bytes) to the same messages.
    """
    base = {"model": MODEL, "temperature": 0.2, "max_tokens": 256,
            "messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": ""}]}
    room = size - len(orjson.dumps(base))
    if room <= 0 or room > len(USER):
        raise ValueError(f"body size {size} out of range for the built-in prose")
    base["messages"][1]["content"] = USER[:room]
    if stream:
        base["stream"] = True
    return base


def encode(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body)
