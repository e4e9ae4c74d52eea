"""Long fuzz run over the parsers of outside input (the targets of ``tests/fuzz/targets.py``).

Each target gets ``--minutes`` of hypothesis examples drawn from its corpus
(``tests/corpus/<target>/``) by the same structured mutations the CI tests use, in batches with
fresh random seeds. A crash (an undocumented exception, or a result holding text a database
cannot store) is not shrunk: the run goes on, keeping the smallest input per distinct crash
(exception type and the line that raised it). Inputs are added to the corpus when they crash
(``crash-…``, one per distinct crash) and, up to ``--keep`` per target, when they reach an outcome no corpus file
reached before (a new error message shape or a new result shape): ``new-…``. ``--no-keep``
leaves the corpus alone.

Prints per target: inputs tried, crashes found (distinct), corpus files added, CPU and wall
seconds; then each crash with the file it was saved to.

Run: ``.venv/bin/python benchmarks/fuzz.py --minutes 2 --target all`` (targets: ``all``, a
group such as ``dsfx`` or ``x12``, or one name such as ``dsfx-shipments``).

``--api N`` also runs the REST API's schemathesis stateful test (``tests/api/test_stateful.py``)
with N scenarios instead of CI's 40, in a pytest subprocess (it needs the test database), and
prints its outcome and seconds.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dropstream.settings")

import django  # noqa: E402

django.setup()  # the push intake's targets import the hub's models

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from tests.fuzz.targets import Crash, Target, save_to_corpus, select  # noqa: E402

BATCH = 400  # examples per hypothesis run; each batch draws a new random seed
MAX_KEPT_SIZE = 4096  # bytes: larger "new outcome" inputs are not worth a corpus file


@dataclass
class Tally:
    target: Target
    tried: int = 0
    crashes: dict[str, tuple[int, Any, str]] = field(default_factory=dict)  # sig → (size, input, text)
    outcomes: set[str] = field(default_factory=set)
    added: list[Path] = field(default_factory=list)
    cpu: float = 0.0
    wall: float = 0.0


def crash_signature(crash: Crash) -> str:
    """Exception type and the innermost line of dropstream code that raised it."""
    cause = crash.__cause__
    if cause is None:  # an unstorable result: one signature per field, whatever its index
        return re.sub(r"\[\d+\]", "[]", str(crash))[:120]
    frames = [f for f in traceback.extract_tb(cause.__traceback__) if "dropstream" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(cause).__name__} at {where}"


_VARYING = re.compile(r"'[^']*'|\"[^\"]*\"|\d+")


def outcome_signature(target: Target, value: Any) -> str:
    """What an input led to, without its particular values: the error's type and message shape,
    or the result's type and size class."""
    try:
        result = target.read(value)
    except Exception as exc:  # the documented errors only; a crash is counted before this
        message = getattr(exc, "message", None) or str(exc)
        return f"{type(exc).__name__}:{_VARYING.sub('_', message)[:80]}"
    return f"ok:{type(result).__name__}:{_size_class(result)}"


def _size_class(result: Any) -> str:
    parts = [getattr(result, name) for name in ("shipments", "levels", "errors", "documents")
             if hasattr(result, name)]
    if not parts and isinstance(result, list | tuple):
        parts = [result]
    return ",".join(str(min(len(p), 3)) if hasattr(p, "__len__") else "-" for p in parts)


def fuzz(target: Target, seconds: float, keep: int) -> Tally:
    tally = Tally(target)
    tally.outcomes = {outcome_signature(target, seed) for seed in target.seeds()}
    deadline = time.monotonic() + seconds
    started_wall, started_cpu = time.monotonic(), time.process_time()

    @settings(max_examples=BATCH, deadline=None, database=None, derandomize=False,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(target.inputs(max_edits=6))
    def one(value: Any) -> None:
        if time.monotonic() > deadline:
            return
        tally.tried += 1
        try:
            target.run(value)
        except Crash as crash:
            size = len(target.encode(value))
            signature = crash_signature(crash)
            known = tally.crashes.get(signature)
            if known is None or size < known[0]:
                tally.crashes[signature] = (size, value, str(crash))
            return
        if keep and len(tally.added) < keep and len(target.encode(value)) <= MAX_KEPT_SIZE:
            outcome = outcome_signature(target, value)
            if outcome not in tally.outcomes:
                tally.outcomes.add(outcome)
                tally.added.append(save_to_corpus(target, value, "new"))

    while time.monotonic() < deadline:
        one()
    if keep:
        for _, value, _ in tally.crashes.values():
            tally.added.append(save_to_corpus(target, value, "crash"))
    tally.wall = time.monotonic() - started_wall
    tally.cpu = time.process_time() - started_cpu
    return tally


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="per target")
    parser.add_argument("--target", default="all",
                        help="all, a group (dsfx, x12, …) or a target name")
    parser.add_argument("--keep", type=int, default=5,
                        help="new-outcome inputs added to the corpus per target")
    parser.add_argument("--no-keep", action="store_true", help="add nothing to the corpus")
    parser.add_argument("--api", type=int, default=0, metavar="N",
                        help="also run N stateful API scenarios (schemathesis)")
    args = parser.parse_args(argv)
    targets = select(args.target)
    keep = 0 if args.no_keep else args.keep
    print(f"fuzzing {len(targets)} target(s), {args.minutes:g} min each; load {_load()}")
    rows = []
    crashes = []
    for target in targets:
        tally = fuzz(target, args.minutes * 60, keep)
        rows.append(tally)
        crashes += [(target.name, signature, text) for signature, (_, _, text)
                    in tally.crashes.items()]
        print(f"  {target.name:20} {tally.tried:>8} inputs  {len(tally.crashes):>3} crashes  "
              f"{tally.cpu:6.1f} s CPU  {tally.wall:6.1f} s wall", flush=True)
    print()
    print(f"{'target':20} {'inputs':>9} {'crashes':>8} {'added':>6} {'CPU s':>7} {'wall s':>7}"
          f" {'inputs/s':>9}")
    for tally in rows:
        print(f"{tally.target.name:20} {tally.tried:>9} {len(tally.crashes):>8} "
              f"{len(tally.added):>6} {tally.cpu:>7.1f} {tally.wall:>7.1f} "
              f"{tally.tried / max(tally.wall, 1e-9):>9.0f}")
    total = sum(t.tried for t in rows)
    print(f"{'total':20} {total:>9} {len(crashes):>8} {sum(len(t.added) for t in rows):>6} "
          f"{sum(t.cpu for t in rows):>7.1f} {sum(t.wall for t in rows):>7.1f}")
    print(f"load after: {_load()}")
    for name, signature, text in crashes:
        print(f"CRASH {name}: {signature}\n    {text[:300]}")
    api_failed = args.api and not run_api(args.api)
    return 1 if crashes or api_failed else 0


def run_api(scenarios: int) -> bool:
    """The stateful API test with ``scenarios`` scenarios; prints its last line and seconds."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:logging",
         "tests/api/test_stateful.py::"
         "test_create_read_update_delete_sequences_answer_as_documented"],
        cwd=root, env={**os.environ, "STATEFUL_EXAMPLES": str(scenarios)},
        capture_output=True, text=True, check=False)
    last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    print(f"api stateful: {scenarios} scenarios, {time.monotonic() - started:.1f} s wall: {last}")
    if done.returncode:
        print(done.stdout[-3000:])
    return done.returncode == 0


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
