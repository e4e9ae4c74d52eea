"""The quick chaos soak (benchmarks/soak.py --quick) as a CI test: kills, failing store, cut
SFTP connections, a PostgreSQL restart and lost/duplicated pushes, then 0 lost, 0 duplicated,
0 stuck. It starts its own PostgreSQL and Redis, so it runs once: in the PostgreSQL pass."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                       reason="runs once, in the PostgreSQL pass of the suite"),
    pytest.mark.xdist_group("soak"),
]


def figure(output: str, name: str) -> str:
    found = re.search(rf"^{re.escape(name)}\s+(.+?)\s*$", output, re.MULTILINE)
    assert found, f"no {name!r} line in:\n{output[-3000:]}"
    return found.group(1)


def test_the_quick_soak_loses_duplicates_and_strands_nothing():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DROPSTREAM_") and k != "DATABASE_URL"}
    finished = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--quick"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=420)
    output = finished.stdout + finished.stderr

    assert finished.returncode == 0, output[-5000:]
    assert figure(output, "lost (orders / shipments)") == "0 (0 / 0)"
    assert figure(output, "duplicated (orders / shipments)") == "0 (0 / 0)"
    assert figure(output, "stuck").startswith("0 (")
    events = figure(output, "chaos events")
    for kind in ("kill_worker", "kill_scheduler", "kill_web", "store_faults", "sftp_cuts",
                 "push_faults", "postgres_restart"):
        assert f"{kind} " in events, events  # every kind of chaos really happened
    # The dangerous paths ran: a worker died holding a run, an SFTP connection was cut.
    taken, held = map(int, figure(
        output, "takeovers (runs held by a killed worker, finished by another)").split(" / "))
    assert taken == held >= 1
    assert int(figure(output, "SFTP connections cut")) >= 1
    checked = figure(output, "stock = formula")
    done, total = re.match(r"(\d+) / (\d+) SKUs", checked).groups()
    assert done == total and int(total) > 0
