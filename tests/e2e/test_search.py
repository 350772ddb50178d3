"""`ikestorm search` end to end: a capacity search over peers.count against a real charon
whose ikesa_limit is the answer, its files (search.json, junit.xml, a report folder per
trial), its exit codes, Ctrl-C, and that no trial leaves anything behind.
"""
import json
import re
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import REPO
from test_reports import chromium, console_lines
from test_run import assert_nothing_left, charon_pids

SCENARIO = REPO / "scenarios" / "search-ikesa-limit.yaml"


def trial_run_ids(out):
    return [json.loads((out / t["folder"] / "report.json").read_text())["run_id"]
            for t in json.loads((out / "search.json").read_text())["trials"]]


def test_search_finds_an_ikesa_limit_of_30_exactly(run_ikestorm, needs_root, tmp_path):
    before = charon_pids()
    out = tmp_path / "s"
    t0 = time.monotonic()
    r = run_ikestorm("search", SCENARIO, "--vary", "peers.count", "--from", "10", "--to", "60",
                     "--set", "sut.charon.ikesa_limit=30", "--out", out, timeout=300)
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    s = json.loads((out / "search.json").read_text())
    assert s["status"] == "found" and s["exit_code"] == 0
    assert s["frontier"]["highest_pass"] == "30" and s["frontier"]["lowest_fail"] == "31"
    assert s["key"] == "peers.count" and s["unit"] == "number" and s["resolution"] == "1"
    # 10, 20, 40 (bracket), then 30, 35, 32, 31 (bisect): the logic's unit test, on real runs.
    assert [(t["value"], t["verdict"]) for t in s["trials"]] == [
        ("10", "pass"), ("20", "pass"), ("40", "fail"), ("30", "pass"), ("35", "fail"), ("32", "fail"),
        ("31", "fail")]
    for t in s["trials"]:
        run = json.loads((out / t["folder"] / "report.json").read_text())["runs"][0]
        # The gateway's own limit decides: each failing trial had exactly 30 up.
        assert run["summary"]["established"] == min(int(t["value"]), 30), t
        assert t["metrics"]["established"] == run["summary"]["established"]
        if t["verdict"] == "fail":
            assert t["failed"] and t["failed"][0].startswith("established_ratio >= 1"), t
    assert "highest passing value 30, lowest failing 31" in r.stdout
    assert len(re.findall(r"^trial \d+  peers\.count=\d+  (pass|fail)", r.stdout, re.M)) == 7
    cases = ET.parse(out / "junit.xml").getroot().findall(".//testcase")
    assert len(cases) == 7
    assert sum(c.find("failure") is not None for c in cases) == 4
    for run_id in trial_run_ids(out):
        assert_nothing_left(run_id, before)
    # The search's page: the frontier, a link per trial, the metrics against the value, drawn
    # in headless Chromium without a console error.
    html = (out / "report.html").read_text()
    assert 'href="trial-03/report.html"' in html and "highest pass" in html
    r = chromium((out / "report.html").as_uri(), "--enable-logging=stderr", "--v=0", "--dump-dom")
    assert r.returncode == 0 and console_lines(r.stderr) == [], console_lines(r.stderr)
    assert 'data-charts-ready="2"' in r.stdout and "Established share and setup rate per tried value" in r.stdout
    print(f"search of 7 trials took {took:.1f} s")


def test_search_exits_1_when_even_from_fails(run_ikestorm, needs_root, tmp_path):
    out = tmp_path / "s"
    r = run_ikestorm("search", SCENARIO, "--vary", "peers.count", "--from", "8", "--to", "20",
                     "--set", "sut.charon.ikesa_limit=5", "--out", out, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    s = json.loads((out / "search.json").read_text())
    assert s["status"] == "from-fails" and len(s["trials"]) == 1
    assert s["frontier"] == {"highest_pass": None, "lowest_fail": None, "highest_pass_base": None,
                             "lowest_fail_base": None}
    assert "even --from 8 fails" in r.stdout


def test_a_leaking_trial_stops_the_search_with_exit_4(run_ikestorm, needs_root, tmp_path):
    out = tmp_path / "s"
    r = run_ikestorm("search", SCENARIO, "--vary", "peers.count", "--from", "5", "--to", "20", "--out", out,
                     env={"IKESTORM_TEST_LEAK_NETNS": "1"}, timeout=120)
    run_ids = trial_run_ids(out)
    try:
        assert r.returncode == 4, r.stdout + r.stderr
        s = json.loads((out / "search.json").read_text())
        assert s["status"] == "leak" and [t["verdict"] for t in s["trials"]] == ["leak"]
        assert ET.parse(out / "junit.xml").getroot().find(".//failure").get("type") == "leak"
    finally:
        for run_id in run_ids:
            c = run_ikestorm("clean", "--run", run_id)
            assert c.returncode == 0, c.stdout + c.stderr


def test_ctrl_c_keeps_what_the_search_knows(ikestorm_bin, needs_root, tmp_path):
    before = charon_pids()
    out = tmp_path / "s"
    p = subprocess.Popen([str(ikestorm_bin), "search", str(SCENARIO), "--vary", "peers.count", "--from", "5",
                          "--to", "200", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    deadline = time.monotonic() + 90
    seen = []
    while time.monotonic() < deadline:  # the first trial's verdict line, then Ctrl-C
        line = p.stdout.readline()
        seen.append(line)
        if not line or line.startswith("trial 1 "):
            break
    assert any(line.startswith("trial 1 ") for line in seen), "".join(seen)
    p.send_signal(2)
    stdout, _ = p.communicate(timeout=60)
    assert p.returncode == 3, "".join(seen) + stdout
    s = json.loads((out / "search.json").read_text())
    assert s["status"] == "interrupted" and s["exit_code"] == 3
    assert s["trials"][0] == {**s["trials"][0], "value": "5", "verdict": "pass"}
    assert s["frontier"]["highest_pass"] in ("5", "10")  # trial 2 may have finished first
    for run_id in trial_run_ids(out):
        assert_nothing_left(run_id, before)


@pytest.mark.parametrize("args,message", [
    (["--vary", "peers.count", "--from", "100"], "needs --to"),
    (["--vary", "peers.count", "--from", "500", "--to", "100"], "--from 500 is not below --to 100"),
    (["--vary", "peers.cuont", "--from", "10", "--to", "60"], "did you mean 'count'"),
    (["--vary", "name", "--from", "10", "--to", "60"], "--vary name:"),
    (["--vary", "peers.arrival", "--from", "10/s", "--to", "60/s"], "did you mean peers.arrival.rate?"),
    (["--vary", "peers.count", "--from", "1m", "--to", "5m"], "expected a whole number"),
    (["--vary", "peers.count", "--from", "x", "--to", "5"], "--from 'x': not a number"),
    (["--vary", "peers.arrival.rate", "--from", "10/s", "--to", "5m"], "mix a rate and a duration"),
    (["--vary", "peers.count", "--from", "10", "--to", "60", "--trials", "0"], "--trials 0"),
    (["--vary", "peers.count", "--from", "10", "--to", "60", "--max-time", "5x"], "--max-time '5x'"),
    (["--vary", "peers.count", "--from", "10", "--to", "60", "--set", "peers.count=5"], "drop the --set"),
    (["--vary", "expect.established", "--from", "10", "--to", "60"], "not its expect block"),
])
def test_bad_input_is_exit_2_with_a_clear_message(run_ikestorm, tmp_path, args, message):
    r = run_ikestorm("search", SCENARIO, *args, "--out", tmp_path / "o")
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr, r.stderr
    assert not (tmp_path / "o").exists()


def test_a_broken_scenario_is_exit_2_with_file_line_column(run_ikestorm, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("peers:\n  count: 10\n  arival: { rate: 5/s }\nexpect:\n  established_ratio: '>= 1'\n")
    r = run_ikestorm("search", f, "--vary", "peers.count", "--from", "10", "--to", "20", "--out", tmp_path / "o")
    assert r.returncode == 2
    assert f"{f}:3:3" in r.stderr and "arrival" in r.stderr


def test_help_teaches_with_an_example(run_ikestorm):
    r = run_ikestorm("search", "--help")
    assert r.returncode == 0
    assert "ikestorm search scenarios/search-ikesa-limit.yaml --vary peers.count --from 100 --to 1000" in r.stdout
    assert "Exit codes: 0" in r.stdout


@pytest.mark.long
def test_search_finds_an_ikesa_limit_of_300_in_at_most_12_trials(run_ikestorm, needs_root, tmp_path):
    """The issue's acceptance: ikesa_limit 300, established_ratio >= 1, 100..1000 to 1."""
    before = charon_pids()
    out = tmp_path / "s"
    r = run_ikestorm("search", SCENARIO, "--vary", "peers.count", "--from", "100", "--to", "1000",
                     "--resolution", "1", "--out", out, timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr
    s = json.loads((out / "search.json").read_text())
    assert s["frontier"]["highest_pass"] == "300" and s["frontier"]["lowest_fail"] == "301"
    assert len(s["trials"]) <= 12, [t["value"] for t in s["trials"]]
    for run_id in trial_run_ids(out):
        assert_nothing_left(run_id, before)
