// Time-series charts with the vendored uPlot (window.uPlot, vendor/uplot-1.6.32): one small chart per metric.
const COLORS = ["#2f6fed", "#1f9d55", "#d98b00", "#d64545", "#7c3aed"];

export function dayChart(container, title, days, series, { format = (v) => String(v) } = {}) {
  const xs = days.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000);
  const data = [xs, ...series.map((s) => days.map(s.value))];
  const bars = window.uPlot.paths.bars({ size: [0.6, 60] });
  const opts = {
    title, width: Math.max(280, container.getBoundingClientRect().width - 36), height: 200,
    scales: { x: { time: true } },
    axes: [{ space: 60 }, { size: 70, values: (u, vals) => vals.map(format) }],
    series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length],
                                              fill: `${COLORS[i % COLORS.length]}33`, paths: bars, points: { show: false } }))],
    legend: { live: false },
  };
  // What the chart plots, readable from the page (the browser tests check the chart shows the traffic).
  container.dataset.series = JSON.stringify(data.slice(1));
  return new window.uPlot(opts, data, container);
}
