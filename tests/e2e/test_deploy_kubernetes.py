"""deploy/kubernetes, checked offline (Debian's kubectl needs an API server even for a dry run):
the Job's shape, the index-to-generator mapping, the capabilities, and the commands its pods
run, executed with a stand-in `ikestorm` that records its arguments."""
import os
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "kubernetes"


def _load(name):
    return yaml.safe_load((DEPLOY / name).read_text())


def _container(job):
    (c,) = job["spec"]["template"]["spec"]["containers"]
    return c


def _env(container):
    return {e["name"]: e["value"] for e in container.get("env", [])}


def _run_script(container, tmp_path, extra_env):
    """The container's shell script with a stand-in ikestorm on PATH: the argv it got."""
    fake = tmp_path / "bin" / "ikestorm"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    fake.chmod(0o755)
    assert container["command"] == ["/bin/sh", "-c"]
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin", **_env(container), **extra_env}
    r = subprocess.run(["/bin/sh", "-c", container["args"][0]], env=env, capture_output=True, text=True,
                       timeout=10)
    return r.returncode, r.stdout.splitlines(), r.stderr


def test_generators_job_is_an_indexed_job_of_n(tmp_path):
    job = _load("generators-job.yaml")
    spec = job["spec"]
    c = _container(job)
    n = int(_env(c)["GENERATORS"])
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == n and spec["parallelism"] == n
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert spec["template"]["spec"]["hostNetwork"] is True
    sc = c["securityContext"]
    assert sc["privileged"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert sorted(sc["capabilities"]["add"]) == ["NET_ADMIN", "NET_BIND_SERVICE", "NET_RAW", "SYS_ADMIN"]
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert {"/scenario", "/reports", "/dev/net/tun"} <= mounts
    assert len(_env(c)["GENERATOR_LOCALS"].split()) == n


def test_pod_k_runs_generator_k_plus_1_with_its_own_local(tmp_path):
    c = _container(_load("generators-job.yaml"))
    env = _env(c)
    n = int(env["GENERATORS"])
    locals_ = env["GENERATOR_LOCALS"].split()
    for k in range(n):
        rc, argv, err = _run_script(c, tmp_path, {"JOB_COMPLETION_INDEX": str(k)})
        assert rc == 0, err
        assert argv == ["run", "/scenario/target.yaml", "--generator", f"{k + 1}/{n}",
                        "--start-at", env["START_AT"], "--set", f"target.local={locals_[k]}",
                        "--set", f"target.interface={env['INTERFACE']}", "--out", f"/reports/generator-{k + 1}"]
    # An index past the list of addresses stops with a message, not a run from no address.
    rc, argv, err = _run_script(c, tmp_path, {"JOB_COMPLETION_INDEX": str(n)})
    assert rc == 2 and argv == [] and "no address for generator" in err


def test_merge_job_folds_every_generator_report(tmp_path):
    c = _container(_load("merge-job.yaml"))
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert "add" not in c["securityContext"]["capabilities"]
    reports = tmp_path / "reports"
    for i in (1, 2):
        (reports / f"generator-{i}").mkdir(parents=True)
    script = c["args"][0].replace("/reports", str(reports))
    rc, argv, err = _run_script({**c, "args": [script]}, tmp_path, {})
    assert rc == 0, err
    assert argv == ["merge", "-o", f"{reports}/merged", f"{reports}/generator-1", f"{reports}/generator-2"]


def test_scenario_in_the_configmap_validates_and_fits_n_generators(tmp_path, ikestorm_bin):
    cm = _load("scenario-configmap.yaml")
    scenario = yaml.safe_load(cm["data"]["target.yaml"])
    n = int(_env(_container(_load("generators-job.yaml")))["GENERATORS"])
    # The PSK is a Secret, mounted beside the scenario; the scenario names it, never holds it.
    assert scenario["peers"]["psk_file"] == "gw.psk"
    assert "secret" not in cm["data"]["target.yaml"].lower()
    (tmp_path / "target.yaml").write_text(cm["data"]["target.yaml"])
    (tmp_path / "gw.psk").write_text("not-the-real-one\n")
    r = subprocess.run([str(ikestorm_bin), "validate", str(tmp_path / "target.yaml")], capture_output=True,
                       text=True, timeout=30)
    # Everything the file alone can tell holds; what the host must hold is checked where it runs.
    problems = [line for line in r.stderr.splitlines() if "target.yaml:" in line
                and "not runnable yet" not in line and "target.interface" not in line]
    assert problems == [], r.stderr
    # Each generator's block fits its part of target.peers: 2^ceil(log2 n) parts of a /17.
    bits = (n - 1).bit_length()
    per_part = 2 ** (32 - 17 - bits) - 2
    assert -(-scenario["peers"]["count"] // n) <= per_part
