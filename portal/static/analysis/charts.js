// The analysis dashboard's charts (portal/staff/analysis.py): each <canvas class="analysis-chart">
// carries its data as JSON in data-chart ({type, horizontal, labels, datasets: [{label, data}]});
// Chart.js (portal/static/vendor/chart.umd.js, built from the npm registry by `make vendor`)
// draws them. No inline script: the CSP allows scripts from this site only.
(function () {
  "use strict";
  var COLOURS = ["#1f6feb", "#9aa4b2", "#d4761e", "#1a7f37"];

  function draw(canvas) {
    var spec;
    try {
      spec = JSON.parse(canvas.getAttribute("data-chart"));
    } catch (error) {
      return;
    }
    var datasets = spec.datasets.map(function (set, index) {
      var colour = COLOURS[index % COLOURS.length];
      return {
        label: set.label,
        data: set.data,
        borderColor: colour,
        backgroundColor: spec.type === "line" ? colour : colour + "cc",
        borderWidth: spec.type === "line" ? 2 : 0,
        pointRadius: spec.labels.length > 40 ? 0 : 2,
        tension: 0,
      };
    });
    canvas.chart = new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { beginAtZero: true, ticks: { precision: 0 } },
          y: { beginAtZero: true, ticks: { precision: 0, autoSkip: false } },
        },
      },
    });
    canvas.setAttribute("data-drawn", "1");
  }

  function start() {
    if (!window.Chart) {
      return;
    }
    var canvases = document.querySelectorAll("canvas.analysis-chart[data-chart]");
    for (var i = 0; i < canvases.length; i++) {
      draw(canvases[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
