// The owner's dashboard: draws each chart with the vendored uPlot from the JSON data block
// its figure names (data-chart="<id>"). The tables beside the charts hold the same figures
// and are what assistive technology reads; the charts are aria-hidden.
(function () {
  "use strict";
  if (typeof uPlot === "undefined") { return; }
  var COLOURS = ["#0b5c7a", "#b35900", "#1d6b36", "#7b3294", "#a4161a", "#4a5361"];
  var HEIGHT = 260;

  function options(spec, width) {
    var series = [{}];
    spec.series.forEach(function (s, i) {
      var colour = COLOURS[i % COLOURS.length];
      var one = { label: s.label, stroke: colour, width: 2, points: { show: true, size: 6, fill: colour } };
      if (spec.bars && uPlot.paths && uPlot.paths.bars) {
        one.paths = uPlot.paths.bars({ size: [0.8, 24] });
        one.fill = colour;
        one.points = { show: false };
      }
      series.push(one);
    });
    var y = {
      values: function (u, splits) {
        return splits.map(function (v) {
          if (spec.unit === "$") { return "$" + v.toLocaleString(); }
          return spec.unit === "%" ? v + "%" : String(v);
        });
      },
      size: 60
    };
    var opts = { width: width, height: HEIGHT, series: series, axes: [{}, y], legend: { show: true } };
    if (spec.kind === "stages") {
      opts.scales = { x: { time: false, range: [-0.25, spec.labels.length - 0.75] } };
      opts.axes[0] = {
        splits: function () { return spec.labels.map(function (_, i) { return i; }); },
        values: function (u, splits) { return splits.map(function (i) { return spec.labels[i] || ""; }); }
      };
    } else {
      // x values are UTC noons of the clinic's days: read them in UTC, so no viewer's zone
      // moves a day to its neighbour.
      opts.tzDate = function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); };
    }
    return opts;
  }

  function draw(holder) {
    var block = document.getElementById(holder.getAttribute("data-chart"));
    if (!block) { return; }
    var spec = JSON.parse(block.textContent);
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    var width = Math.max(holder.clientWidth, 280);
    var plot = new uPlot(options(spec, width), data, holder);
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(function () {
        var w = Math.max(holder.clientWidth, 280);
        if (w !== plot.width) { plot.setSize({ width: w, height: HEIGHT }); }
      }).observe(holder);
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), draw);
})();
