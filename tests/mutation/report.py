"""Per-module score of a `mutmut run` (`make mutants`), net of known-equivalent mutants.

Reads mutmut's results under mutants/ and the list of equivalent mutants beside this file
(`equivalent.txt`: one mutant name per line, then `#` and why no test can tell it apart).
Prints a table, then every mutant that is neither killed nor listed as equivalent. Exits 1
when fewer than THRESHOLD of the non-equivalent mutants were killed.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

THRESHOLD = 0.95
# failed test, pytest error, timeout (SIGXCPU, or SIGKILL at the hard CPU limit), type check,
# and a test process that crashed (SIGSEGV: seen only under mutants that fail a test)
KILLED = {1, 3, 24, -24, 152, 255, 36, 37, -9, -11}
FAILED_TEST = {1, 3}
NO_TESTS = {5, 33}
EQUIVALENT_FILE = Path(__file__).with_name("equivalent.txt")


def equivalent() -> dict[str, str]:
    out = {}
    for line in EQUIVALENT_FILE.read_text().splitlines():
        name, _, why = line.partition("#")
        if name.strip():
            out[name.strip()] = why.strip()
    return out


def results(root: Path) -> dict[str, dict[str, int | None]]:
    """Module path -> {mutant name: exit code}."""
    out = {}
    for meta in sorted(root.glob("src/**/*.py.meta")):
        data = json.loads(meta.read_text())
        module = str(meta.relative_to(root / "src")).removesuffix(".meta")
        out[module] = data["exit_code_by_key"]
    return out


def main() -> int:
    root = Path("mutants")
    if not root.is_dir():
        print("no mutants/ directory: run `make mutants`", file=sys.stderr)
        return 2
    known = equivalent()
    rows, open_mutants = [], defaultdict(list)
    total_killed = total_counted = 0
    killed_equivalent = []
    for module, codes in results(root).items():
        # an equivalent mutant counts once, as equivalent; one a test failed on is reported
        killed = sum(1 for name, code in codes.items() if code in KILLED and name not in known)
        equiv = sum(1 for name in codes if name in known)
        killed_equivalent += [name for name, code in codes.items()
                              if name in known and code in FAILED_TEST]
        for name, code in sorted(codes.items()):
            if code not in KILLED and name not in known:
                status = "no tests" if code in NO_TESTS else "survived" if code == 0 \
                    else f"exit {code}"
                open_mutants[module].append(f"{name} ({status})")
        counted = len(codes) - equiv
        total_killed += killed
        total_counted += counted
        rows.append((module, len(codes), killed, equiv, len(codes) - killed - equiv, counted))
    print(f"{'module':<45} {'mutants':>7} {'killed':>6} {'equiv':>5} {'left':>4} {'score':>6}")
    for module, total, killed, equiv, left, counted in rows:
        score = f"{killed / counted:.1%}" if counted else "-"
        print(f"{module:<45} {total:>7} {killed:>6} {equiv:>5} {left:>4} {score:>6}")
    overall = total_killed / total_counted if total_counted else 1.0
    print(f"{'all':<45} {'':>7} {total_killed:>6} {'':>5} {'':>4} {overall:>6.1%}")
    stale = sorted(set(known) - {n for codes in results(root).values() for n in codes})
    for module, names in open_mutants.items():
        print(f"\nnot killed in {module} (see `.venv/bin/mutmut show NAME`):")
        for name in names:
            print(f"  {name}")
    if killed_equivalent:
        print(f"\n{len(killed_equivalent)} entries of {EQUIVALENT_FILE.name} were killed by a "
              f"test (so not equivalent): review them")
        for name in sorted(killed_equivalent):
            print(f"  {name}")
    if stale:
        print(f"\n{len(stale)} entries of {EQUIVALENT_FILE.name} match no mutant any more "
              f"(the code changed): review them")
        for name in stale:
            print(f"  {name}")
    if overall < THRESHOLD:
        print(f"\nmutation score {overall:.1%} is below {THRESHOLD:.0%}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
