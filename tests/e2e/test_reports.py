"""Reports end to end (issue 9's acceptance): real runs rendered to report.html (checked in
headless Chromium), junit.xml, report.json against the JSON Schema, `compare`, shards and
`merge`.

Real runs need root (network namespaces) and are skipped without it; the runs are shared
by the tests of this module: a small run twice (same scenario), one two-point lifetime
sweep (30m vs 5m CHILD_SA rekey time, compressed 60x) unsharded and as 2 shards.
"""
import json
import os
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "reports" / "report.schema.json"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]

SMALL = """\
name: reports-small
description: "50 peers, short hold; one expectation <b>cannot</b> be met & must be a JUnit failure"
peers:
  count: 50
  arrival: { rate: 100/s }
phases:
  - connect: {}
  - hold: { duration: 2s }
  - teardown: {}
expect:
  established_ratio: ">= 1"
  setup_latency_ms.p50: "< 0.001"
"""

SWEEP = """\
name: reports-lifetime
description: 60 tunnels held 6 minutes (60x compressed), CHILD_SAs rekeying every 30 and every 5 minutes
time_scale: 60
peers:
  count: 60
  arrival: { rate: 200/s }
  ike: { rekey_time: 8h }
  child: { rekey_time: 30m, over_time: 3m, rand_time: 0 }
phases:
  - connect: {}
  - hold: { duration: 6m }
  - teardown: {}
sweep:
  peers.child.rekey_time: [30m, 5m]
"""


def ikestorm(binary, *args, timeout=120):
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def runs(ikestorm_bin, tmp_path_factory):
    """Runs every scenario this module needs once; returns their report folders."""
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    base = tmp_path_factory.mktemp("reports")
    (base / "small.yaml").write_text(SMALL)
    (base / "sweep.yaml").write_text(SWEEP)
    # Each group runs at the same time. The two runs of the same scenario share whatever
    # else loads the machine (other tests, builds): run one after the other on a busy host,
    # their latencies differ for real and compare would rightly call that significant.
    groups = [
        [("small1", ["small.yaml"], 1), ("small2", ["small.yaml"], 1)],  # impossible expectation: exit 1
        [("sweep", ["sweep.yaml"], 0)],
        [("shard1", ["sweep.yaml", "--shard", "1/2"], 0), ("shard2", ["sweep.yaml", "--shard", "2/2"], 0)],
    ]
    out = {}
    for group in groups:
        procs = [(name, want_rc, subprocess.Popen(
                     [str(ikestorm_bin), "run", str(base / args[0]), *args[1:], "--out", str(base / name)],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
                 for name, args, want_rc in group]
        for name, want_rc, p in procs:
            stdout, stderr = p.communicate(timeout=120)
            assert p.returncode == want_rc, f"{name}: rc {p.returncode}\n{stdout}\n{stderr}"
            # `ikestorm report` (re-)renders HTML and JUnit from report.json alone.
            rr = ikestorm(ikestorm_bin, "report", base / name)
            assert rr.returncode == 0, rr.stderr
            out[name] = base / name
    out["base"] = base
    return out


def chromium(url, *extra, timeout=60):
    profile = Path(os.environ.get("TMPDIR", "/tmp")) / f"ist-chromium-{os.getpid()}"
    try:
        return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
                              capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def console_lines(stderr):
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def png_colours(path):
    """Distinct RGB(A) pixels of an 8-bit non-interlaced PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour_type = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8
            channels = {2: 3, 6: 4}[colour_type]
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    colours = set()
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):  # undo the PNG row filter
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        if y % 4 == 0:
            for x in range(0, stride, channels * 2):
                colours.add(bytes(line[x:x + 3]))
        prev = line
    return colours


def test_console_error_detection_works(tmp_path):
    """The browser check below would see a broken page: a page that logs errors is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><script>console.error("boom"); undefinedFn();</script></body></html>')
    r = chromium(bad.as_uri(), "--enable-logging=stderr", "--v=0", "--dump-dom")
    assert len(console_lines(r.stderr)) == 2, r.stderr


def test_html_of_a_real_run_renders_in_chromium(runs, tmp_path):
    for name, min_charts in [("small1", 5), ("sweep", 13)]:
        page = runs[name] / "report.html"
        html = page.read_text()
        # Self-contained: no external script, style or image.
        assert "src=\"http" not in html and "<link" not in html
        assert "&lt;b&gt;cannot&lt;/b&gt;" in html or name != "small1"   # scenario text escaped
        r = chromium(page.as_uri(), "--enable-logging=stderr", "--v=0", "--dump-dom")
        assert r.returncode == 0, r.stderr[-2000:]
        assert console_lines(r.stderr) == [], console_lines(r.stderr)
        dom = r.stdout
        charts = dom.count('class="uplot')
        assert charts >= min_charts, f"{name}: {charts} charts in the DOM"
        assert f'data-charts-ready="{charts}"' in dom
        assert "<canvas" in dom
        for text in ("Expectations", "Failures by Windows code", "real_xfrm", "Peers ("):
            assert text in dom, text
        assert "Trap traffic" not in dom  # no peers.trap_traffic: no section (tests/e2e/test_in_vm.py has one)
        # Rekeys per second and the SUT's vici view over time, drawn (not just placed).
        for chart_id in ('id="r0-rekeys"', 'id="r0-sut"'):
            after = dom.split(chart_id, 1)[1][:3000]
            assert chart_id in dom and 'class="uplot' in after, chart_id
        assert "Rekeys and tunnel attempts per second" in dom and "half-open" in dom
        # The SUT's CPU over time beside its vici view, on the chart's second axis.
        assert "CPU s/s" in dom.split('id="r0-sut"', 1)[1][:3000]
        if name == "sweep":
            assert 'id="sweep-reneg"' in dom and "peers.child.rekey_time=5m" in dom
            # The cost of a lifetime: SUT CPU per point beside renegotiations per minute.
            cost = dom.split('id="sweep-cost"', 1)[1][:3000]
            assert 'class="uplot' in cost and "SUT CPU s" in cost and "renegotiations/min" in cost

    shot = tmp_path / "report.png"
    r = chromium((runs["sweep"] / "report.html").as_uri(), f"--screenshot={shot}", "--window-size=1280,1500")
    assert shot.is_file(), r.stderr[-2000:]
    assert shot.stat().st_size > 30_000
    colours = png_colours(shot)
    assert len(colours) > 50, f"screenshot looks blank: {len(colours)} colours"


def html_escape(text):
    """reports/escape.cpp's escaping."""
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#39;")):
        text = text.replace(a, b)
    return text


def test_report_shows_the_scenario_yaml_as_written(runs):
    report = json.loads((runs["small1"] / "report.json").read_text())
    assert report["scenario_yaml"] == SMALL
    html = (runs["small1"] / "report.html").read_text()
    # The YAML as written, then the effective document collapsed below it.
    yaml_at = html.index('<pre class="scenario-yaml">' + html_escape(SMALL) + "</pre>")
    details_at = html.index("<details><summary>Effective scenario (after --set, as JSON)</summary><pre>{")
    assert yaml_at < details_at


def test_skipped_sysctls_are_one_note(runs):
    notes = json.loads((runs["small1"] / "report.json").read_text())["runs"][0]["notes"]
    sysctl_notes = [n for n in notes if "sysctl" in n]
    assert len(sysctl_notes) <= 1, sysctl_notes
    for n in sysctl_notes:
        assert n.startswith("sysctls not settable here (left as the kernel has them): "), n


def test_junit_parses_and_failing_expectation_is_a_failure(runs):
    tree = ET.parse(runs["small1"] / "junit.xml")
    root = tree.getroot()
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    names = [c.get("name") for c in cases]
    # The implied "the SUT survives" comes after the scenario's own expectations.
    assert names == ["established_ratio >= 1", "setup_latency_ms.p50 < 0.001", "sut_survived == 1", "leaks", "harness"]
    assert all(c.get("classname") == "reports-small.run-1" for c in cases)
    failing = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failing] == ["setup_latency_ms.p50 < 0.001"]
    msg = failing[0].find("failure").get("message")
    assert msg.startswith("expected setup_latency_ms.p50 < 0.001, observed ")
    assert float(msg.rsplit(" ", 1)[1]) > 0
    assert root.get("failures") == "1" and root.get("errors") == "0"
    # A sweep: one suite per run, parameters in the class name.
    sweep = ET.parse(runs["sweep"] / "junit.xml").getroot()
    assert [s.get("name") for s in sweep.findall("testsuite")] == [
        "reports-lifetime.run-1[peers.child.rekey_time=30m]", "reports-lifetime.run-2[peers.child.rekey_time=5m]"]


def test_report_json_validates_against_the_schema(runs):
    jsonschema = pytest.importorskip("jsonschema")  # python3-jsonschema, ci/install-deps.sh
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for name in ("small1", "sweep", "shard1"):
        report = json.loads((runs[name] / "report.json").read_text())
        errors = sorted(validator.iter_errors(report), key=lambda e: list(e.path))
        assert not errors, f"{name}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    # The schema is not vacuous: a broken report fails it.
    report = json.loads((runs["small1"] / "report.json").read_text())
    del report["runs"][0]["summary"]["established"]
    report["runs"][0]["failures"] = [{"peer": "p1"}]
    assert len(list(validator.iter_errors(report))) >= 2


def test_compare_same_scenario_is_not_significant(runs, ikestorm_bin):
    r = ikestorm(ikestorm_bin, "compare", runs["small1"], runs["small2"] / "report.json", "--json")
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout)
    assert len(c["pairs"]) == 1
    significant = [(m["metric"], m["a"], m["b"], m["p"]) for m in c["pairs"][0]["metrics"] if m["significant"]]
    assert significant == [] and c["significant_changes"] == 0, c["pairs"][0]["latency_test"]
    assert c["pairs"][0]["latency_test"]["n_a"] == 50
    assert c["criterion"]["latency_ms_at_least"] == 1.0


def test_compare_flags_the_renegotiation_increase(runs, ikestorm_bin, tmp_path):
    html = tmp_path / "compare.html"
    r = ikestorm(ikestorm_bin, "compare", runs["sweep"] / "run-1", runs["sweep"] / "run-2", "--json",
                 "--html", html)
    assert r.returncode == 0, r.stderr
    metrics = {m["metric"]: m for m in json.loads(r.stdout)["pairs"][0]["metrics"]}
    reneg = metrics["renegotiations_per_min"]
    assert reneg["b"] > reneg["a"] and reneg["significant"], reneg
    assert reneg["p"] < 0.01 and reneg["test"] == "poisson-rate"
    assert metrics["rekeys.child"]["significant"]
    assert html.is_file() and "renegotiations_per_min" in html.read_text()
    # A tripped --fail-on exits 1; one that holds exits 0; a bad one exits 2.
    gate = ["compare", runs["sweep"] / "run-1", runs["sweep"] / "run-2"]
    tripped = ikestorm(ikestorm_bin, *gate, "--fail-on", "renegotiations_per_min > +50%")
    assert tripped.returncode == 1, tripped.stdout + tripped.stderr
    assert "TRIPPED" in tripped.stdout
    held = ikestorm(ikestorm_bin, *gate, "--fail-on", "codes.ERROR_IPSEC_IKE_MM_LIMIT > 0",
                    "--fail-on", "established_ratio < -1%")
    assert held.returncode == 0, held.stdout + held.stderr
    bad = ikestorm(ikestorm_bin, *gate, "--fail-on", "no_such_metric > 1")
    assert bad.returncode == 2 and "unknown metric" in bad.stderr
    missing = ikestorm(ikestorm_bin, "compare", runs["sweep"], runs["base"] / "nothing-here")
    assert missing.returncode == 2


def test_two_shards_merged_equal_the_unsharded_sweep(runs, ikestorm_bin):
    points = lambda report: [(run["folder"], run["parameters"]) for run in report["runs"]]
    s1 = json.loads((runs["shard1"] / "report.json").read_text())
    s2 = json.loads((runs["shard2"] / "report.json").read_text())
    assert points(s1) == [("run-1", {"peers.child.rekey_time": "30m"})]
    assert points(s2) == [("run-2", {"peers.child.rekey_time": "5m"})]
    merged_dir = runs["base"] / "merged"
    r = ikestorm(ikestorm_bin, "merge", "-o", merged_dir, runs["shard2"], runs["shard1"])  # any order
    assert r.returncode == 0, r.stderr
    merged = json.loads((merged_dir / "report.json").read_text())
    whole = json.loads((runs["sweep"] / "report.json").read_text())
    assert points(merged) == points(whole)
    assert merged["scenario"] == whole["scenario"]
    assert merged["scenario_yaml"] == whole["scenario_yaml"] == SWEEP
    assert len(merged["merged_from"]) == 2
    for f in ("report.html", "junit.xml", "run-1/scenario.json", "run-2/sut/charon.log"):
        assert (merged_dir / f).is_file(), f
    # Shards of different scenarios are refused.
    bad = ikestorm(ikestorm_bin, "merge", "-o", runs["base"] / "bad-merge", runs["shard1"], runs["small1"])
    assert bad.returncode == 2 and "different scenario" in bad.stderr
