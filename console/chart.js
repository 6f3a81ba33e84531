// Hand-drawn SVG charts: a line over time and a row of bars. Sizes are in viewBox units, so the charts
// scale with the page; labels are SVG text (text, never markup).
import { html } from "./vendor/htm-preact.js";

const W = 600;
const H = 160;
const PAD = { left: 56, right: 8, top: 12, bottom: 26 };

/** A step-free line of `points` ([{x: ms, y: number}]) over [from, to], y from 0 to the largest value. */
export function LineChart({ points, from, to, label, formatY = String }) {
  const maxY = Math.max(1, ...points.map((p) => p.y));
  const x = (t) => PAD.left + ((t - from) / Math.max(1, to - from)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / maxY) * (H - PAD.top - PAD.bottom);
  const path = points.map((p, i) => `${i === 0 ? "M" : "L"}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(" ");
  const minutesAgo = (t) => `${Math.round((to - t) / 60000)} min ago`;
  return html`
    <svg class="chart" viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${label}>
      <line class="axis" x1=${PAD.left} y1=${H - PAD.bottom} x2=${W - PAD.right} y2=${H - PAD.bottom} />
      <line class="grid" x1=${PAD.left} y1=${y(maxY)} x2=${W - PAD.right} y2=${y(maxY)} />
      <text class="tick" x=${PAD.left - 4} y=${y(maxY) + 4} text-anchor="end">${formatY(maxY)}</text>
      <text class="tick" x=${PAD.left - 4} y=${H - PAD.bottom + 4} text-anchor="end">0</text>
      <text class="tick" x=${PAD.left} y=${H - 6}>${minutesAgo(from)}</text>
      <text class="tick" x=${W - PAD.right} y=${H - 6} text-anchor="end">now</text>
      ${points.length > 1 && html`<path class="line" d=${path} />`}
      ${points.length === 1 && html`<circle class="dot" cx=${x(points[0].x).toFixed(1)} cy=${y(points[0].y).toFixed(1)} r="4" />`}
      ${points.length === 0 && html`<text class="tick" x=${W / 2} y=${H / 2} text-anchor="middle">no samples yet</text>`}
    </svg>`;
}

/** One bar per entry ([{label, value}]), labels under every few bars, the largest value on top. */
export function BarChart({ bars, label, formatValue = String }) {
  const maxV = Math.max(1, ...bars.map((b) => b.value));
  const n = Math.max(1, bars.length);
  const slot = (W - PAD.left - PAD.right) / n;
  const every = Math.ceil(n / 8);
  return html`
    <svg class="chart" viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${label}>
      <line class="axis" x1=${PAD.left} y1=${H - PAD.bottom} x2=${W - PAD.right} y2=${H - PAD.bottom} />
      <text class="tick" x=${PAD.left - 4} y=${PAD.top + 4} text-anchor="end">${formatValue(maxV)}</text>
      ${bars.map((b, i) => {
        const h = (b.value / maxV) * (H - PAD.top - PAD.bottom);
        const x = PAD.left + i * slot + slot * 0.15;
        return html`<g>
          <rect class="bar" x=${x.toFixed(1)} y=${(H - PAD.bottom - h).toFixed(1)} width=${(slot * 0.7).toFixed(1)} height=${h.toFixed(1)}><title>${`${b.label}: ${formatValue(b.value)}`}</title></rect>
          ${i % every === 0 && html`<text class="tick" x=${(x + slot * 0.35).toFixed(1)} y=${H - 6} text-anchor="middle">${b.label}</text>`}
        </g>`;
      })}
      ${bars.length === 0 && html`<text class="tick" x=${W / 2} y=${H / 2} text-anchor="middle">no data in this range</text>`}
    </svg>`;
}
