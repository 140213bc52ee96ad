"""Microbenchmark of the stream governor: what governing a stream adds, in process.

The `standard` preset's after-phase text steps (detect_pii with `pii=mask`, detect_secrets,
output_scan, content_safety, output_constraints; default options) govern:

- the benchmark upstream's short streamed answer (`bench/upstream.py`): the time from its
  first chunk to the governed text being ready, which is what governing adds to the time
  to first token when the upstream sends its answer at once (p50 / p99, ms);
- a long answer (~6,000 characters of prose) in 4-character chunks, as a model streams
  tokens: µs of governor work per chunk, and how many characters had arrived when the
  first governed content was sent (the hold-back window).

    .venv/bin/python bench/stream_governor.py [--samples 2000]

JSON on stdout. Figures are for comparing runs on one machine, not for unit tests.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from upstream import STREAM_PIECES  # noqa: E402

from tappass.pipeline.options import (  # noqa: E402
    ContentSafetyOptions,
    Detector,
    OutputConstraintsOptions,
    PiiOptions,
    SecretsOptions,
)
from tappass.pipeline.step import GovernsText  # noqa: E402
from tappass.pipeline.steps.content_safety import ContentSafety  # noqa: E402
from tappass.pipeline.steps.detect_pii import DetectPii  # noqa: E402
from tappass.pipeline.steps.detect_secrets import DetectSecrets  # noqa: E402
from tappass.pipeline.steps.output_constraints import OutputConstraints  # noqa: E402
from tappass.pipeline.steps.output_scan import OutputScan  # noqa: E402
from tappass.pipeline.stream_text import TextSteps  # noqa: E402

LONG = ("The quarter starts with the reliability work that slipped: the import job times out "
        "on large files and the search index is rebuilt by hand after each release. ") * 38


def standard_steps() -> list[tuple[str, GovernsText]]:
    return [
        ("detect_pii", DetectPii(PiiOptions(), None)),
        ("detect_secrets", DetectSecrets(SecretsOptions(), None)),
        ("output_scan", OutputScan(Detector(), None)),
        ("output_constraints", OutputConstraints(OutputConstraintsOptions(), None)),
        ("content_safety", ContentSafety(ContentSafetyOptions(), None))]


def text_steps(members: list[tuple[str, GovernsText]]) -> TextSteps:
    """A fresh stream's governor over steps built once (as a compiled pipeline's are)."""
    ctx: Any = SimpleNamespace(mode="enforce", flags={"pii": "mask"})
    return TextSteps(ctx, members)


def short_answer(members: list[tuple[str, GovernsText]], samples: int) -> list[float]:
    out = []
    for i in range(samples + 100):
        held = text_steps(members).held()
        start = time.perf_counter()
        text = "".join(held.feed(piece) for piece in STREAM_PIECES) + held.finish()
        elapsed = (time.perf_counter() - start) * 1000
        assert text == "".join(STREAM_PIECES)
        if i >= 100:
            out.append(elapsed)
    return out


def long_answer(members: list[tuple[str, GovernsText]], rounds: int) -> dict[str, Any]:
    pieces = [LONG[i:i + 4] for i in range(0, len(LONG), 4)]
    per_chunk, first_at = [], 0
    for _ in range(rounds):
        held = text_steps(members).held()
        received, first_at, sent = 0, 0, []
        start = time.perf_counter()
        for piece in pieces:
            received += len(piece)
            out = held.feed(piece)
            if out and not first_at:
                first_at = received
            sent.append(out)
        sent.append(held.finish())
        per_chunk.append((time.perf_counter() - start) * 1e6 / len(pieces))
        assert "".join(sent) == LONG
    return {"characters": len(LONG), "chunks": len(pieces),
            "governor_us_per_chunk_p50": round(statistics.median(per_chunk), 1),
            "first_content_after_characters": first_at}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()
    members = standard_steps()
    gc.disable()
    short = sorted(short_answer(members, args.samples))
    report = {
        "short_answer_ms": {"p50": round(statistics.median(short), 4),
                            "p99": round(short[int(0.99 * (len(short) - 1))], 4)},
        "long_answer": long_answer(members, max(3, args.samples // 200)),
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
