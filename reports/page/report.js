// ikestorm report page: draws the charts from the JSON embedded in #ist-data with uPlot.
// Text from the report only reaches the page through textContent, never as markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("ist-data").textContent);
  var palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

  // Two charts side by side in their row (one on a narrow screen). The box gets a fixed
  // width so a long legend wraps inside it instead of pushing the next chart down.
  function width(el) {
    var row = el.parentElement ? el.parentElement.clientWidth : 1100;
    var w = Math.max(300, Math.min(620, Math.floor((row - 16) / 2) - 20));
    el.style.width = (w + 14) + "px";
    return w;
  }

  function note(el, text) {
    var d = document.createElement("div");
    d.className = "empty";
    d.textContent = text;
    el.appendChild(d);
  }

  function title(el, text) {
    var t = document.createElement("div");
    t.className = "muted";
    t.textContent = text;
    el.appendChild(t);
  }

  // series: [{label, values, right}], x: numbers; a series with `right` is drawn against a
  // second y axis on the right (another unit); opts.bars draws bars; opts.xlabels names categories.
  function chart(el, heading, xname, x, series, opts) {
    opts = opts || {};
    title(el, heading);
    if (!x.length) { note(el, "no data"); return; }
    var s = [{ label: xname }];
    var d = [x];
    var right = null;
    series.forEach(function (se, i) {
      var one = { label: se.label, stroke: palette[i % palette.length], width: 2 };
      if (opts.bars) { one.fill = palette[i % palette.length] + "99"; one.paths = uPlot.paths.bars({ size: [0.9, 80] }); one.points = { show: false }; }
      if (opts.points) { one.points = { show: true, size: 7 }; }
      if (se.right) { one.scale = "right"; right = se.right; }
      s.push(one);
      d.push(se.values);
    });
    var axes = [{ label: xname }, {}];
    if (right) axes.push({ scale: "right", side: 1, label: right, grid: { show: false } });
    if (opts.xlabels) {
      axes[0].values = function (u, splits) { return splits.map(function (v) { return Number.isInteger(v) && opts.xlabels[v] !== undefined ? opts.xlabels[v] : ""; }); };
      axes[0].splits = function () { return x.slice(); };
    }
    var xscale = { time: false };
    if (opts.xlabels || x.length === 1) { xscale.range = function (u, lo, hi) { return [lo - 0.5, hi + 0.5]; }; }
    if (opts.bars && x.length > 1) {  // whole bars at both ends
      var half = (x[1] - x[0]) / 2;
      xscale.range = function () { return [x[0] - half, x[x.length - 1] + half]; };
    }
    new uPlot({ width: width(el), height: 260, series: s, axes: axes, scales: { x: xscale }, legend: { live: true } }, d, el);
  }

  function histogram(samples, nbins) {
    var lo = Math.min.apply(null, samples), hi = Math.max.apply(null, samples);
    if (hi === lo) hi = lo + 1;
    var w = (hi - lo) / nbins, xs = [], counts = [];
    for (var i = 0; i < nbins; i++) { xs.push(lo + w * (i + 0.5)); counts.push(0); }
    samples.forEach(function (v) { counts[Math.min(nbins - 1, Math.floor((v - lo) / w))]++; });
    return { x: xs, counts: counts };
  }

  data.runs.forEach(function (run) {
    var ts = run.timeseries;
    var el = document.getElementById(run.id + "-sas");
    if (el) {
      chart(el, "IKE and CHILD SAs over time", "s", ts.t, [
        { label: "IKE active", values: ts.ike_active }, { label: "IKE pending", values: ts.ike_pending },
        { label: "IKE failed", values: ts.ike_failed }, { label: "CHILD active", values: ts.child_active },
        { label: "CHILD pending", values: ts.child_pending }, { label: "CHILD failed", values: ts.child_failed }]);
    }
    el = document.getElementById(run.id + "-rate");
    if (el) {
      var rate = [], prevT = 0, prevE = 0;
      ts.t.forEach(function (t, i) {
        var dt = t - prevT;
        rate.push(dt > 0 ? (ts.established_total[i] - prevE) / dt : 0);
        prevT = t; prevE = ts.established_total[i];
      });
      chart(el, "Setup rate over time (established per second)", "s", ts.t, [{ label: "setups/s", values: rate }]);
    }
    el = document.getElementById(run.id + "-rekeys");
    if (el) {
      // The renegotiation waves a lifetime produces, beside the attempts that start tunnels.
      chart(el, "Rekeys and tunnel attempts per second", "s", ts.t, [
        { label: "IKE rekeys/s", values: ts.ike_rekeys }, { label: "CHILD rekeys/s", values: ts.child_rekeys },
        { label: "attempts/s", values: ts.attempts }]);
    }
    el = document.getElementById(run.id + "-sut");
    if (el) {
      chart(el, "The SUT over time: IKE_SAs, half-open, queued jobs (vici stats) and its CPU", "s", ts.t, [
        { label: "IKE_SAs", values: ts.sut_ike_sas }, { label: "half-open", values: ts.sut_half_open },
        { label: "jobs queued", values: ts.sut_jobs_queued },
        { label: "CPU s/s", values: ts.sut_cpu, right: "CPU s per s" }]);
    }
    el = document.getElementById(run.id + "-latency");
    if (el) {
      if (!run.latency.length) { title(el, "Setup latency distribution"); note(el, "no samples"); }
      else {
        var h = histogram(run.latency, Math.min(40, Math.max(5, Math.ceil(Math.sqrt(run.latency.length)))));
        chart(el, "Setup latency distribution (" + run.latency.length + " peers)", "ms", h.x, [{ label: "peers", values: h.counts }], { bars: true });
      }
    }
  });

  var sw = data.sweep;
  if (sw && sw.labels.length) {
    var idx = sw.labels.map(function (_, i) { return i; });
    var o = { xlabels: sw.labels, points: true };
    var x = sw.axis;
    chart(document.getElementById("sweep-reneg"), "Renegotiations per minute (scenario time)", x, idx, [{ label: "renegotiations/min", values: sw.reneg }], o);
    chart(document.getElementById("sweep-failures"), "Failed peers", x, idx, [{ label: "failed", values: sw.failed }, { label: "unclassified", values: sw.unclassified }], o);
    chart(document.getElementById("sweep-latency"), "Setup latency (ms)", x, idx, [
      { label: "p50", values: sw.p50 }, { label: "p90", values: sw.p90 }, { label: "p99", values: sw.p99 }], o);
    // The cost of a lifetime: what the SUT spent beside how often it renegotiated.
    chart(document.getElementById("sweep-cost"), "SUT CPU seconds per point beside renegotiations per minute", x, idx, [
      { label: "renegotiations/min", values: sw.reneg }, { label: "SUT CPU s", values: sw.cpu, right: "CPU s" }], o);
  }

  // Search pages: the main metrics of each tried value, against the value.
  var se = data.search;
  if (se) {
    var po = { points: true };
    chart(document.getElementById("search-outcome"), "Established share and setup rate per tried value", se.key, se.x, [
      { label: "established %", values: se.ratio.map(function (r) { return 100 * r; }) },
      { label: "setup rate /s", values: se.rate }], po);
    chart(document.getElementById("search-cost"), "Setup latency p99 (ms) and SUT CPU (s) per tried value", se.key, se.x, [
      { label: "latency p99 ms", values: se.p99 }, { label: "SUT CPU s", values: se.cpu }], po);
  }

  // Compare pages: latency distributions of A and B as cumulative curves.
  (data.pairs || []).forEach(function (p) {
    var el = document.getElementById(p.id + "-cdf");
    if (!el) return;
    var all = p.a.concat(p.b).sort(function (u, v) { return u - v; });
    function cdf(s) { var sorted = s.slice().sort(function (u, v) { return u - v; }), j = 0;
      return all.map(function (v) { while (j < sorted.length && sorted[j] <= v) j++; return sorted.length ? j / sorted.length : null; }); }
    var xs = [], ya = [], yb = [], ca = cdf(p.a), cb = cdf(p.b);
    all.forEach(function (v, i) { if (i + 1 < all.length && all[i + 1] === v) return; xs.push(v); ya.push(ca[i]); yb.push(cb[i]); });
    chart(el, "Setup latency, cumulative share of peers", "ms", xs, [{ label: "A", values: ya }, { label: "B", values: yb }]);
  });
  document.body.setAttribute("data-charts-ready", String(document.querySelectorAll(".uplot").length));
})();
