"""`run --generator I/N` and `--start-at`: bad input is exit 2 before anything is created, and a
run that waits for --start-at starts its phases then. Generator runs against a gateway are
in test_target.py."""
import datetime
import json

import pytest


@pytest.mark.parametrize("args, message", [
    (["--generator", "3/2"], "expected I/N with 1 <= I <= N"),
    (["--generator", "1/2"], "--generator needs a scenario with target:"),
    (["--generator", "1/2", "--shard", "1/2"], "cannot be combined with --shard or --resume"),
    (["--generator", "1/2", "--start-at", "+30s"], "a relative start only with one generator"),
    (["--start-at", "soon"], "expected an RFC 3339 UTC time"),
    (["--start-at", "2026-12-07T07:00:00+01:00"], "UTC, ending in Z"),
    (["--start-at", "2999-01-01T00:00:00Z"], "more than a day ahead"),
])
def test_bad_generator_and_start_flags_are_exit_2(run_ikestorm, tmp_path, args, message):
    r = run_ikestorm("run", "--peers", "2", "--out", tmp_path / "out", *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr
    assert not (tmp_path / "out").exists()


def test_start_at_waits_for_the_instant(run_ikestorm, tmp_path, needs_root):
    start = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=8)
    at = start.strftime("%Y-%m-%dT%H:%M:%S.") + f"{start.microsecond // 1000:03d}Z"
    r = run_ikestorm("run", "--peers", "5", "--set", "phases=[connect, {hold: {duration: 1s}}, teardown]",
                     "--start-at", at, "--out", tmp_path / "out", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"start at {at}" in r.stdout
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    notes = [n for n in report["runs"][0]["notes"] if n.startswith("phases started ")]
    assert len(notes) == 1, report["runs"][0]["notes"]
    skew_ms = float(notes[0].split()[2])
    # The topology and peers of 5 peers are up well within 8 s; the phases began at the instant.
    assert 0 <= skew_ms < 50, notes[0]
    first_initiate = min(e["t_ms"] for p in report["runs"][0]["peers"] for e in p["events"] if e["event"] == "initiate")
    assert first_initiate >= 0
