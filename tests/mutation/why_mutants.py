"""Apply each mutation named in issue 20, run the tests that must catch it, revert.

Run from the repository root: `.venv/bin/python tests/mutation/why_mutants.py`. Prints one
line per mutation: CAUGHT (some test failed), MISSED (all passed) or GONE (the code it
mutates has changed; update the list). Exits 1 unless every mutation is caught. The files
are restored even when interrupted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MUTATIONS = [
    ("key verification always succeeds", "src/tappass/keys.py",
     "    return hmac.compare_digest(digest, expected) and stored_hash is not None",
     "    return True",
     ["tests/server/test_auth_guards.py"]),
    ("admin check accepts any key", "src/tappass/server/auth.py",
     "bool(services.admin_key_hash) and hmac", "bool(services.admin_key_hash) or hmac",
     ["tests/server/test_auth_guards.py"]),
    ("budget drops the estimate", "src/tappass/pipeline/steps/budget_enforcement.py",
     "if spent + estimate > min(caps):", "if spent > min(caps):",
     ["tests/pipeline/test_budget_guard.py"]),
    ("budget uses >=", "src/tappass/pipeline/steps/budget_enforcement.py",
     "if spent + estimate > min(caps):", "if spent + estimate >= min(caps):",
     ["tests/pipeline/test_budget_guard.py"]),
    ("per-call cap uses >=", "src/tappass/pipeline/steps/budget_enforcement.py",
     "estimate > budget.per_call:", "estimate >= budget.per_call:",
     ["tests/pipeline/test_budget_guard.py"]),
    ("session budgets ignored", "src/tappass/pipeline/steps/budget_enforcement.py",
     "        if ctx.session_id:\n            return float(state.session_spend",
     "        if False:\n            return float(state.session_spend",
     ["tests/pipeline/test_budget_guard.py"]),
    ("step durations always 0", "src/tappass/pipeline/runner.py",
     "    return round((_perf() - start) * 1000, 3)", "    return 0.0",
     ["tests/pipeline/test_runner_timing.py"]),
    ("--workers N ignored", "src/tappass/cli/up.py",
     "workers=s.workers,", "workers=1,", ["tests/e2e/test_workers.py"]),
    ("compiled pipelines keyed by (preset, updated_at)", "src/tappass/pipeline/catalog.py",
     "key = (agent.id, _fingerprint(agent.preset, agent.overrides))",
     "key = (agent.preset, agent.updated_at)", ["tests/pipeline/test_catalog_cache.py"]),
    ("a stream that fails ends with [DONE]", "src/tappass/server/streaming.py",
     "            event, tail = _failed(ctx, exc, fmt)\n",
     "            event, tail = _failed(ctx, exc, fmt)\n            tail += DONE\n",
     ["tests/server/test_stream_failures.py"]),
]


def check(path: Path, old: str, new: str, tests: list[str]) -> str:
    original = path.read_text()
    if original.count(old) != 1:
        return "GONE"
    try:
        path.write_text(original.replace(old, new))
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p",
                                 "no:cacheprovider", *tests], capture_output=True)
    finally:
        path.write_text(original)
    return "CAUGHT" if result.returncode == 1 else \
        "MISSED" if result.returncode == 0 else f"ERROR (pytest exit {result.returncode})"


def main() -> int:
    outcomes = []
    for title, file, old, new, tests in MUTATIONS:
        outcome = check(Path(file), old, new, tests)
        outcomes.append(outcome)
        print(f"{outcome:<7} {title}  ({file}; {' '.join(tests)})", flush=True)
    return 0 if all(o == "CAUGHT" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
