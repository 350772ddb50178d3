"""Scenario files end to end (issue 7): sweeps, time compression, expectations, exit codes."""
import json
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def report(out):
    return json.loads((Path(out) / "report.json").read_text())


def test_lifetime_sweep_measures_renegotiations_per_minute(run_ikestorm, needs_root, tmp_path):
    # The shipped sweep, smaller and compressed harder so it fits the default test run:
    # 100 tunnels, CHILD rekey 30m vs 5m, time_scale 150 (30m -> 12 s, 5m -> 2 s, over_time
    # 5m -> 2 s: whole seconds, so charon gets exactly the compressed lifetimes).
    out = tmp_path / "out"
    r = run_ikestorm("run", REPO / "scenarios" / "lifetime-sweep.yaml", "--peers", "100",
                     "--set", "time_scale=150",
                     "--set", "phases=[{connect: {}}, {hold: {duration: 60m}}, {teardown: {}}]",
                     "--set", "peers.child.over_time=5m",
                     "--set", 'expect={established_ratio: ">= 1", leaks: "== 0", '
                              'rekeys_per_s.child_peak: ">= 1", peak_sas.child_active: "== 100"}',
                     "--out", out, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    runs = report(out)["runs"]
    assert [run["parameters"] for run in runs] == [{"peers.child.rekey_time": "30m"},
                                                   {"peers.child.rekey_time": "5m"}]
    for run, rekey_min in zip(runs, (30, 5)):
        expected = 100 / rekey_min  # peers / rekey_time, per minute of scenario time
        got = run["summary"]["renegotiations_per_min"]
        assert abs(got - expected) <= 0.10 * expected, f"rekey {rekey_min}m: {got:.2f}/min vs {expected:.2f}"
        assert run["summary"]["renegotiations_per_min_wall"] == pytest.approx(got * 150, rel=1e-6)
        # What reached charon: whole seconds after compression.
        assert run["effective"]["peers"]["child"]["rekey_time_s"] == rekey_min * 60 // 150
        # Rekeys per wall second: the 1 s buckets' highest and their mean over the run.
        ts, rates = run["timeseries"], run["summary"]["rekeys_per_s"]
        assert rates["child_peak"] == max(p["child_rekeys"] for p in ts) >= 1
        assert rates["child_mean"] == pytest.approx(sum(p["child_rekeys"] for p in ts) / ts[-1]["t_s"])
        assert sum(p["child_rekeys"] for p in ts) <= run["summary"]["rekeys"]["child"]
        assert {e["expr"]: e["ok"] for e in run["expectations"]}["rekeys_per_s.child_peak >= 1"] is True
    # 100 tunnels rekeying every 2 s wall (rand_time 0) come in waves: most of them in one second.
    assert runs[1]["summary"]["rekeys_per_s"]["child_peak"] >= 30
    # The report holds both points; the screen shows both.
    assert "peers.child.rekey_time=30m" in r.stdout and "peers.child.rekey_time=5m" in r.stdout


def test_two_by_two_sweep_yields_four_runs(run_ikestorm, needs_root, tmp_path):
    f = tmp_path / "grid.yaml"
    f.write_text(textwrap.dedent("""\
        name: grid
        description: a 2 x 2 sweep
        peers: { count: 10, arrival: { rate: 100/s } }
        phases: [connect: {}, hold: { duration: 1s }, teardown: {}]
        sweep:
          peers.count: [5, 10]
          peers.child.rekey_time: [1h, 2h]
        """))
    out = tmp_path / "out"
    r = run_ikestorm("run", f, "--out", out, timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    runs = report(out)["runs"]
    assert len(runs) == 4
    points = {(run["parameters"]["peers.count"], run["parameters"]["peers.child.rekey_time"]) for run in runs}
    assert points == {("5", "1h"), ("5", "2h"), ("10", "1h"), ("10", "2h")}
    for run in runs:
        assert run["summary"]["established"] == int(run["parameters"]["peers.count"])
    assert sorted(run["folder"] for run in runs) == ["run-1", "run-2", "run-3", "run-4"]


def test_failing_expectation_exits_1_and_names_it(run_ikestorm, needs_root, tmp_path):
    out = tmp_path / "out"
    # Also: a compressed lifetime that is not a whole second (5 s / 2 = 2.5 s) is reported
    # with how far rounding moved it.
    r = run_ikestorm("run", REPO / "scenarios" / "smoke.yaml", "--peers", "10",
                     "--set", "time_scale=2", "--set", "peers.child.rekey_time=5s",
                     "--set", 'expect={established_ratio: "> 1", failed: "== 0"}', "--out", out, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    notes = report(out)["runs"][0]["notes"]
    assert "peers.child.rekey_time: 2.5 s after time_scale 2 reaches charon as 3 s (+20%)" in notes, notes
    assert re.search(r"established_ratio > 1\s+FAILED \(observed 1(\.0)?\)", r.stdout), r.stdout
    exps = report(out)["runs"][0]["expectations"]
    assert {"expr": "established_ratio > 1", "ok": False, "observed": 1.0} in exps
    assert {"expr": "failed == 0", "ok": True, "observed": 0} in exps


def test_leak_exits_4_and_clean_removes_it(run_ikestorm, needs_root, tmp_path):
    out = tmp_path / "out"
    # The scenario's own `leaks == 0` is judged after teardown and the leak check, so it fails.
    r = run_ikestorm("run", REPO / "scenarios" / "smoke.yaml", "--peers", "5", "--out", out,
                     "--set", 'expect={established_ratio: ">= 1", leaks: "== 0"}',
                     env={"IKESTORM_TEST_LEAK_NETNS": "1"}, timeout=120)
    run_id = re.search(r"run ([0-9a-f]{6})", r.stdout).group(1)
    try:
        assert r.returncode == 4, r.stdout + r.stderr
        assert f"left behind: namespace ist-{run_id}-leak" in r.stderr
        assert report(out)["runs"][0]["summary"]["leaks"] == 1
        exps = report(out)["runs"][0]["expectations"]
        assert {"expr": "leaks == 0", "ok": False, "observed": 1} in exps, exps
        assert re.search(r"leaks == 0\s+FAILED \(observed 1\)", r.stdout), r.stdout
    finally:
        c = run_ikestorm("clean", "--run", run_id)
        assert c.returncode == 0, c.stdout + c.stderr
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"ist-{run_id}" not in netns


def test_bad_scenario_exits_2_with_file_line_column(run_ikestorm, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("peers:\n  count: 10\n  arival: { rate: 5/s }\n")
    r = run_ikestorm("run", f, "--out", tmp_path / "o")
    assert r.returncode == 2
    assert f"{f}:3:3" in r.stderr and "arrival" in r.stderr


def test_shard_then_resume_completes_the_sweep(run_ikestorm, needs_root, tmp_path):
    f = tmp_path / "grid.yaml"
    f.write_text(textwrap.dedent("""\
        name: grid3
        peers: { count: 5, arrival: { rate: 100/s } }
        phases: [connect: {}, hold: { duration: 1s }, teardown: {}]
        sweep: { peers.count: [3, 5, 7] }
        """))
    out = tmp_path / "out"
    r = run_ikestorm("run", f, "--shard", "1/2", "--out", out, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert [x["folder"] for x in report(out)["runs"]] == ["run-1", "run-3"]
    r = run_ikestorm("run", f, "--resume", out, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "resuming: 2 of 3 point(s) already done" in r.stdout
    runs = report(out)["runs"]
    assert [x["folder"] for x in runs] == ["run-1", "run-2", "run-3"]
    assert [x["summary"]["established"] for x in runs] == [3, 5, 7]
    # Another scenario (here: other --set values) cannot resume this report.
    r = run_ikestorm("run", f, "--peers", "4", "--resume", out)
    assert r.returncode == 2 and "different scenario" in r.stderr


@pytest.mark.parametrize("auth", ["ecdsa", "rsa", "eap-mschapv2"])
def test_certificate_and_eap_runs_establish_every_peer(run_ikestorm, needs_root, tmp_path, auth):
    out = tmp_path / "out"
    r = run_ikestorm("run", "--peers", "60", "--set", f"peers.auth={auth}",
                     "--set", "phases=[{connect: {}}, {teardown: {}}]", "--out", out, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    run = report(out)["runs"][0]
    assert run["summary"]["established"] == 60
    assert any(n.startswith(f"auth {auth}: material for 60 peers") for n in run["notes"]), run["notes"]
    if auth != "eap-mschapv2":
        assert (out / "run-1" / "auth" / "x509ca").is_dir()  # the throwaway CA, for people to read


def test_users_own_gateway_config_as_the_sut(run_ikestorm, needs_root, tmp_path):
    gw = REPO / "tests" / "fixtures" / "gateway"
    f = tmp_path / "gw.yaml"
    f.write_text(textwrap.dedent(f"""\
        name: my-gateway
        description: an operator's swanctl.conf as the SUT
        peers: {{ count: 40, arrival: {{ rate: 100/s }} }}
        sut:
          config: {{ strongswan_conf: {gw / 'strongswan.conf'}, swanctl_conf: {gw / 'swanctl.conf'} }}
        phases: [connect: {{}}, teardown: {{}}]
        """))
    out = tmp_path / "out"
    r = run_ikestorm("run", f, "--out", out, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    run = report(out)["runs"][0]
    assert run["summary"]["established"] == 40
    notes = run["notes"]
    # The report says what the harness changed in their config, with file:line.
    assert any("local_addrs: 203.0.113.10 -> 198.18.0.1" in n for n in notes), notes
    assert any("start_action: trap -> none" in n for n in notes), notes
    loaded = (out / "run-1" / "sut" / "swanctl.conf").read_text()
    assert "roadwarriors" in loaded and "aes256-sha256-ecp384" in loaded
