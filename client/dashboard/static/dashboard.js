// Charts for the dashboard: each <figure data-chart> carries its data as JSON (data-series); draw it with
// uPlot when the page loads and again whenever htmx swaps fresh figures in (every 2 s).
(function () {
  "use strict";
  var SERIES = {
    processed: { label: "processed/min", stroke: "#2b8a3e", fill: "rgba(43,138,62,0.12)", width: 2 },
    failed: { label: "failed/min", stroke: "#c92a2a", width: 2 },
    wait: { label: "avg wait (s)", stroke: "#3b5bdb", width: 1.5, dash: [4, 3], scale: "s",
      spanGaps: true, points: { show: true, size: 4 } },
  };

  function draw(figure) {
    var area = figure.querySelector(".chart-area");
    if (!area || !figure.dataset.series || !window.uPlot) return;
    var data = JSON.parse(figure.dataset.series);
    var names = ["processed", "failed"].concat(data.wait ? ["wait"] : []);
    var series = [{}].concat(names.map(function (name) { return Object.assign({}, SERIES[name]); }));
    var columns = [data.x].concat(names.map(function (name) { return data[name]; }));
    var axes = [{}, { label: "jobs/min", size: 50 }];
    if (data.wait) axes.push({ side: 1, scale: "s", label: "wait s", grid: { show: false }, size: 50 });
    area.textContent = "";
    var width = Math.max(300, area.clientWidth || figure.clientWidth - 24);
    new window.uPlot({ width: width, height: 180, series: series, axes: axes,
      scales: { x: { time: true } }, legend: { show: true }, cursor: { drag: { x: false } } },
      columns, area);
  }

  function drawAll(root) {
    (root || document).querySelectorAll("figure[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawAll(document);
    document.body.addEventListener("htmx:afterSwap", function (event) { drawAll(event.target); });
  });
})();
