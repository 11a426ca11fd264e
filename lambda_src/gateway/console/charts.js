// Charts: a time series on a canvas (uPlot) and share bars in SVG, each with a text alternative.
import uPlot from "./vendor/uplot.js";
import { html, useEffect, useRef } from "./ui.js";

/** "2026-11-29" or "2026-11" -> seconds since the epoch at the start of that UTC day or month. */
export function periodSeconds(period) {
  const [year, month, day = 1] = period.split("-").map(Number);
  return Date.UTC(year, month - 1, day) / 1000;
}

/** Cost (left axis, USD) and requests (right axis) over time. */
export function CostChart({ series, granularity, label }) {
  const box = useRef(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return undefined;
    const data = [series.map((p) => periodSeconds(p.period)), series.map((p) => p.cost_usd), series.map((p) => p.requests)];
    const width = Math.max(280, element.clientWidth || 600);
    const options = {
      width,
      height: 260,
      scales: { x: { time: true }, usd: { auto: true, range: (u, min, max) => [0, Math.max(max * 1.1, 0.000001)] }, req: { range: (u, min, max) => [0, Math.max(max * 1.1, 1)] } },
      series: [
        { label: granularity === "month" ? "Month" : "Day" },
        { label: "Cost (USD)", scale: "usd", stroke: "#1d4ed8", width: 2, fill: "rgba(29,78,216,0.12)", points: { show: true }, value: (u, v) => (v == null ? "—" : `$${v.toFixed(6)}`) },
        { label: "Requests", scale: "req", stroke: "#c2410c", width: 2, points: { show: true } },
      ],
      axes: [
        {},
        { scale: "usd", label: "USD", values: (u, values) => values.map((v) => `$${v < 1 ? v.toPrecision(2) : v.toFixed(0)}`), size: 64 },
        { scale: "req", side: 1, label: "requests", grid: { show: false } },
      ],
    };
    const chart = new uPlot(options, data, element);
    const onResize = () => chart.setSize({ width: Math.max(280, element.clientWidth), height: 260 });
    addEventListener("resize", onResize);
    return () => {
      removeEventListener("resize", onResize);
      chart.destroy();
    };
  }, [series, granularity]);
  return html`<figure class="chart">
    <div ref=${box} class="chart-canvas" role="img" aria-label=${label} data-testid="cost-chart"></div>
    <figcaption class="muted">${label}</figcaption>
  </figure>`;
}

const COLOURS = ["#1d4ed8", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207", "#4d7c0f"];

/** Horizontal bars: each model's share of the cost. */
export function ShareBars({ items, label }) {
  const rowHeight = 28;
  const height = Math.max(rowHeight, items.length * rowHeight);
  return html`<figure class="chart">
    <svg viewBox=${`0 0 400 ${height}`} width="100%" height=${height} role="img" aria-label=${label} data-testid="model-shares" preserveAspectRatio="none">
      ${items.map(
        (item, i) => html`<g>
          <rect x="0" y=${i * rowHeight + 4} height=${rowHeight - 8} width=${Math.max(1, item.share * 400)} fill=${COLOURS[i % COLOURS.length]}><title>${item.model_id}: ${(item.share * 100).toFixed(1)}%</title></rect>
        </g>`,
      )}
    </svg>
    <figcaption>
      <ul class="legend">
        ${items.map(
          (item, i) => html`<li><span class="swatch" data-colour=${i % COLOURS.length}></span>${item.model_id}: <strong>${(item.share * 100).toFixed(1)}%</strong> ($${item.cost_usd.toFixed(6)}, ${item.requests} requests)</li>`,
        )}
      </ul>
    </figcaption>
  </figure>`;
}
