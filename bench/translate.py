"""Microbenchmark: what translating to Anthropic costs over the OpenAI pass-through.

For the benchmark's ~2,000-byte chat request, one "request" of each kind does what the
gateway does per call, in process, with no network:

- OpenAI pass-through: encode the body, then parse and check the answer's bytes.
- Anthropic: translate the body to a Messages request and encode it, then parse the
  Messages answer, translate it to a chat completion and encode that.

Both run alternately in the same process; p50 and p90 per request are printed (µs), with
the difference. Usage: `.venv/bin/python bench/translate.py [--n 20000]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import chat_body  # noqa: E402

from tappass.providers.anthropic import AnthropicDialect  # noqa: E402
from tappass.providers.openai_compat import OpenAIDialect  # noqa: E402

OPENAI_ANSWER = orjson.dumps({
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000,
    "model": "gpt-4o-mini", "choices": [{"index": 0, "logprobs": None, "finish_reason": "stop",
                                         "message": {"role": "assistant", "refusal": None,
                                                     "content": "A short answer. " * 8}}],
    "usage": {"prompt_tokens": 420, "completion_tokens": 40, "total_tokens": 460}})
ANTHROPIC_ANSWER = orjson.dumps({
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-haiku-latest",
    "content": [{"type": "text", "text": "A short answer. " * 8}], "stop_reason": "end_turn",
    "stop_sequence": None, "usage": {"input_tokens": 420, "output_tokens": 40}})


def timings(run: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter_ns()
        run()
        out.append((time.perf_counter_ns() - start) / 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="requests of each kind")
    n = parser.parse_args().n
    body = chat_body()
    openai = OpenAIDialect("http://upstream/v1/chat/completions", lambda: "k")
    anthropic = AnthropicDialect("http://upstream", lambda: "k")

    def pass_through() -> object:
        openai.call(body, stream=False)
        return openai.answer("openai", OPENAI_ANSWER, "gpt-4o-mini")

    def translated() -> object:
        anthropic.call(body, stream=False)
        return anthropic.answer("anthropic", ANTHROPIC_ANSWER, "claude-3-5-haiku-latest")

    results: dict[str, list[float]] = {"openai": [], "anthropic": []}
    for _ in range(10):  # alternate, so drift in the machine hits both alike
        results["openai"] += timings(pass_through, n // 10)
        results["anthropic"] += timings(translated, n // 10)
    p50 = {k: statistics.median(v) for k, v in results.items()}
    p90 = {k: statistics.quantiles(v, n=10)[-1] for k, v in results.items()}
    for name in results:
        print(f"{name:10s} p50 {p50[name]:7.1f} µs   p90 {p90[name]:7.1f} µs")
    print(f"translation adds p50 {p50['anthropic'] - p50['openai']:+.1f} µs "
          f"(p90 {p90['anthropic'] - p90['openai']:+.1f} µs) per request")


if __name__ == "__main__":
    main()
