"""``main(argv)``: refuses remote hosts and bad profiles, runs until SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dropstream.sandbox.edi.cli import build_parser, main, profile_from
from tests.sandbox.edi.edifiles import SPEC_940, drop, only, tagged


def test_it_refuses_a_non_loopback_sftp_host_without_showing_the_password(capsys):
    code = main(["--root", "sftp://wh1:hunter2secret@192.0.2.10:22"])

    assert code == 2
    err = capsys.readouterr().err
    assert "refusing SFTP host 192.0.2.10" in err and "hunter2secret" not in err


def test_a_profile_file_and_options_make_the_profile(tmp_path: Path, capsys):
    profile_file = tmp_path / "partner.json"
    profile_file.write_text(json.dumps({"tracking_location": "MAN_GM", "qty_codes": ["33"],
                                        "usage": "P"}))
    args = build_parser().parse_args([
        "--root", f"file://{tmp_path}", "--profile", str(profile_file), "--usage", "T",
        "--ship-on-demand", "--line-ending", "crlf", "--duplicates", "process",
        "--segment-terminator", "\\n", "--line-ending", "none"])

    profile = profile_from(args)

    assert (profile.tracking_location, profile.qty_codes, profile.usage) == ("MAN_GM",
                                                                           ("33",), "T")
    assert (profile.ship_delay_s, profile.duplicates, profile.segment_terminator,
            profile.line_ending) == (None, "process", "\n", "")
    profile_file.write_text(json.dumps({"no_such_setting": 1}))
    assert main(["--root", f"file://{tmp_path}", "--profile", str(profile_file)]) == 2
    assert "unknown profile settings: no_such_setting" in capsys.readouterr().err


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_command_answers_ships_and_stops_cleanly_on_sigterm(tmp_path: Path):
    root = tmp_path / "edi"
    env = {**os.environ, "DROPSTREAM_HOME": str(tmp_path / "home")}
    process = subprocess.Popen(
        [sys.executable, "-m", "dropstream.sandbox.edi.cli", "--root", f"file://{root}",
         "--ship-delay", "0", "--poll", "0.1", "--split-rate", "0", "--inventory-every", "0",
         "--stock", "TENT-4P-GRN=5", "--stock", "STOVE-01=5", "--tracking", "MAN04_CN"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: (root / "in").is_dir() and (root / "out").is_dir())
        drop(root, SPEC_940)
        assert wait_for(lambda: bool(list((root / "out").glob("945_*.edi"))))
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, err
    assert "sandbox EDI warehouse stopped" in out
    assert [line.split("*")[:2] + line.split("*")[4:5] for line in
            tagged(only(root, "945_"), "MAN")] == [["MAN", "2", "CN"]]
    assert len(list((root / "out").glob("997_*.edi"))) == 1
