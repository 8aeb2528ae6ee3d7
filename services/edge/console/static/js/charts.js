// Time-series charts with the vendored uPlot (window.uPlot, vendor/uplot-1.6.32): one small chart per metric.
const COLORS = ["#2f6fed", "#1f9d55", "#d98b00", "#d64545", "#7c3aed"];

export function dayChart(container, title, days, series, { width } = {}) {
  const xs = days.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000);
  const data = [xs, ...series.map((s) => days.map(s.value))];
  const bars = window.uPlot.paths.bars({ size: [0.6, 60] });
  const opts = {
    title, width: width || Math.max(300, container.clientWidth - 8), height: 200,
    scales: { x: { time: true } },
    axes: [{ space: 60 }, { size: 60 }],
    series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length],
                                              fill: `${COLORS[i % COLORS.length]}33`, paths: bars, points: { show: false } }))],
    legend: { show: true },
  };
  return new window.uPlot(opts, data, container);
}
