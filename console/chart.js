// Hand-drawn SVG charts: a line over time and a row of bars. Sizes are in viewBox units, so the charts
// scale with the page; labels are SVG text (text, never markup).
import { html } from "./vendor/htm-preact.js";

const W = 600;
const H = 160;
const PAD = { left: 56, right: 8, top: 12, bottom: 26 };
/** Room under the tick labels for an x-axis title. */
const X_TITLE_H = 18;
const viewBox = (xTitle) => `0 0 ${W} ${xTitle === undefined ? H : H + X_TITLE_H}`;

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
export function BarChart({ bars, label, formatValue = String, xTitle, yTitle }) {
  const maxV = Math.max(1, ...bars.map((b) => b.value));
  const n = Math.max(1, bars.length);
  const slot = (W - PAD.left - PAD.right) / n;
  const every = Math.ceil(n / 8);
  return html`
    <svg class="chart" viewBox=${viewBox(xTitle)} role="img" aria-label=${label}>
      <line class="axis" x1=${PAD.left} y1=${H - PAD.bottom} x2=${W - PAD.right} y2=${H - PAD.bottom} />
      <line class="axis" x1=${PAD.left} y1=${PAD.top} x2=${PAD.left} y2=${H - PAD.bottom} />
      <text class="tick" x=${PAD.left - 4} y=${PAD.top + 4} text-anchor="end">${formatValue(maxV)}</text>
      <text class="tick" x=${PAD.left - 4} y=${H - PAD.bottom + 4} text-anchor="end">0</text>
      <${AxisTitles} xTitle=${xTitle} yTitle=${yTitle} />
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

/** Axis titles: the x title under the tick labels (the chart's viewBox grows by X_TITLE_H), the y title along the y axis. */
function AxisTitles({ xTitle, yTitle }) {
  return html`
    ${yTitle !== undefined && html`<text class="axis-title" x="14" y=${(H - PAD.bottom + PAD.top) / 2} text-anchor="middle" transform=${`rotate(-90 14 ${(H - PAD.bottom + PAD.top) / 2})`}>${yTitle}</text>`}
    ${xTitle !== undefined && html`<text class="axis-title" x=${(W + PAD.left) / 2} y=${H + 12} text-anchor="middle">${xTitle}</text>`}`;
}

/**
 * Stacked bars, one column per entry of `columns` ([{label, parts: [{key, value}]}]), each part in the
 * colour of its key's place in `keys` (classes s0…s5, the last for every further key). Every column
 * has a hover title listing its parts; `ticks` are [index, text] pairs under the axis.
 */
export function StackedBars({ columns, keys, label, ticks = [], xTitle, yTitle, formatValue = String }) {
  const totals = columns.map((c) => c.parts.reduce((a, p) => a + p.value, 0));
  const maxV = Math.max(1, ...totals);
  const n = Math.max(1, columns.length);
  const slot = (W - PAD.left - PAD.right) / n;
  const scale = (v) => (v / maxV) * (H - PAD.top - PAD.bottom);
  const colour = (key) => `bar s${Math.min(5, Math.max(0, keys.indexOf(key)))}`;
  return html`
    <svg class="chart" viewBox=${viewBox(xTitle)} role="img" aria-label=${label}>
      <line class="axis" x1=${PAD.left} y1=${H - PAD.bottom} x2=${W - PAD.right} y2=${H - PAD.bottom} />
      <line class="axis" x1=${PAD.left} y1=${PAD.top} x2=${PAD.left} y2=${H - PAD.bottom} />
      <text class="tick" x=${PAD.left - 4} y=${PAD.top + 4} text-anchor="end">${formatValue(maxV)}</text>
      <text class="tick" x=${PAD.left - 4} y=${H - PAD.bottom + 4} text-anchor="end">0</text>
      ${columns.map((c, i) => {
        let top = H - PAD.bottom;
        const x = PAD.left + i * slot;
        const title = `${c.label}: ${c.parts.map((p) => `${p.key} ${formatValue(p.value)}`).join(", ") || "none"}`;
        return html`<g>
          ${c.parts
            .filter((p) => p.value > 0)
            .map((p) => {
              const h = scale(p.value);
              top -= h;
              return html`<rect class=${colour(p.key)} x=${(x + slot * 0.1).toFixed(1)} y=${top.toFixed(1)} width=${(slot * 0.8).toFixed(1)} height=${h.toFixed(1)} />`;
            })}
          <rect class="hover" x=${x.toFixed(1)} y=${PAD.top} width=${slot.toFixed(1)} height=${H - PAD.top - PAD.bottom}><title>${title}</title></rect>
        </g>`;
      })}
      ${ticks.map(([i, text]) => html`<text class="tick" x=${(PAD.left + (i + 0.5) * slot).toFixed(1)} y=${H - 6} text-anchor="middle">${text}</text>`)}
      <${AxisTitles} xTitle=${xTitle} yTitle=${yTitle} />
      ${columns.length === 0 && html`<text class="tick" x=${W / 2} y=${H / 2} text-anchor="middle">no data yet</text>`}
    </svg>`;
}

/**
 * A series at a fixed step ([{at: ms, viewers}]) as an area with a line on top, time labels under the
 * axis (`formatTick`), and a hover title per point (time and value), grouped so a day of minutes stays
 * a few hundred elements.
 */
export function SeriesChart({ points, label, formatTick, formatHover, yTitle, unit = "" }) {
  const maxY = Math.max(1, ...points.map((p) => p.viewers));
  const n = Math.max(1, points.length);
  const slot = (W - PAD.left - PAD.right) / n;
  const x = (i) => PAD.left + (i + 0.5) * slot;
  const y = (v) => H - PAD.bottom - (v / maxY) * (H - PAD.top - PAD.bottom);
  const line = points.map((p, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(p.viewers).toFixed(1)}`).join(" ");
  const area = points.length > 0 ? `${line} L${x(n - 1).toFixed(1)},${H - PAD.bottom} L${x(0).toFixed(1)},${H - PAD.bottom} Z` : "";
  // One hover target per group of points: its title names the group's busiest point.
  const group = Math.max(1, Math.ceil(points.length / 240));
  const targets = [];
  for (let i = 0; i < points.length; i += group) {
    const slice = points.slice(i, i + group);
    const peak = slice.reduce((a, p) => (p.viewers > a.viewers ? p : a), slice[0]);
    targets.push({ i, width: slice.length, title: `${formatHover(peak.at)}: ${peak.viewers}${unit}` });
  }
  const tickEvery = Math.max(1, Math.ceil(points.length / 6));
  return html`
    <svg class="chart" viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${label}>
      <line class="axis" x1=${PAD.left} y1=${H - PAD.bottom} x2=${W - PAD.right} y2=${H - PAD.bottom} />
      <line class="axis" x1=${PAD.left} y1=${PAD.top} x2=${PAD.left} y2=${H - PAD.bottom} />
      <line class="grid" x1=${PAD.left} y1=${y(maxY)} x2=${W - PAD.right} y2=${y(maxY)} />
      <text class="tick" x=${PAD.left - 4} y=${y(maxY) + 4} text-anchor="end">${maxY}</text>
      <text class="tick" x=${PAD.left - 4} y=${H - PAD.bottom + 4} text-anchor="end">0</text>
      ${points.length > 0 && html`<path class="area" d=${area} /><path class="line" d=${line} />`}
      ${points.map((p, i) => i % tickEvery === 0 && html`<text class="tick" x=${x(i).toFixed(1)} y=${H - 6} text-anchor="middle">${formatTick(p.at)}</text>`)}
      ${targets.map(
        (t) =>
          html`<rect class="hover" x=${(PAD.left + t.i * slot).toFixed(1)} y=${PAD.top} width=${(t.width * slot).toFixed(1)} height=${H - PAD.top - PAD.bottom}><title>${t.title}</title></rect>`,
      )}
      <${AxisTitles} yTitle=${yTitle} />
      ${points.length === 0 && html`<text class="tick" x=${W / 2} y=${H / 2} text-anchor="middle">no samples yet</text>`}
    </svg>`;
}
