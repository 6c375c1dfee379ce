// The burn-down chart (uPlot, served from node_modules by the server). Coordinates are floats; the
// legend's figures are the exact sums from `burn.js`, formatted from BigInt units, and the
// forecast's are marked approximate.
import uPlot from '/vendor/uplot/uPlot.esm.js';
import { formatDateTime } from './dom.js';
import { formatApprox, formatUnits, toDollars } from './money.js';

const colors = {
  credit: '#1d4ed8',
  creditFill: 'rgba(29, 78, 216, 0.10)',
  usageCredits: '#b45309',
  forecast: '#1d4ed8',
  axis: '#374151',
  grid: '#e5e7eb',
  mark: '#6b7280',
  runOut: '#b91c1c',
};

/**
 * @typedef {import('./burn.js').BurnPoint} BurnPoint
 * @typedef {import('./burn.js').Forecast} Forecast
 */

/**
 * Draws the cycle's lines into `container` and keeps the chart as wide as its container.
 * @param {HTMLElement} container
 * @param {{ points: BurnPoint[], startMs: number, endMs: number, nowMs: number | null,
 *   forecast: Forecast | null, remainingUnits: bigint }} data `nowMs` null for a closed cycle
 * @returns {() => void} removes the chart
 */
export function burnChart(container, { points, startMs, endMs, nowMs, forecast, remainingUnits }) {
  /** @type {number[]} */ const xs = [];
  /** @type {(bigint | null)[][]} */ const exact = [[], [], []];
  const push = (/** @type {number} */ t, /** @type {(bigint | null)[]} */ values) => {
    xs.push(t / 1000);
    for (const [i, v] of values.entries()) exact[i].push(v);
  };
  for (const p of points) push(p.t, [p.credit, p.usageCredits, null]);
  const last = points[points.length - 1];
  // The lines run on, flat, to now (the current cycle) or to the cycle's end (a closed one).
  const lineEnd = nowMs ?? Math.max(endMs, last.t);
  if (last.t < lineEnd) push(lineEnd, [last.credit, last.usageCredits, null]);
  const marks = [{ t: endMs, label: 'cycle end', color: colors.mark }];
  if (nowMs !== null) marks.push({ t: nowMs, label: 'now', color: colors.mark });
  if (nowMs !== null && forecast && (forecast.status === 'runs_out' || forecast.status === 'lasts')) {
    exact[2][exact[2].length - 1] = remainingUnits;
    push(forecast.endMs, [null, null, forecast.leftAtEndUnits]);
    if (forecast.status === 'runs_out')
      marks.push({ t: forecast.runOutMs, label: 'runs out', color: colors.runOut });
  }
  const data = [xs, ...exact.map((series) => series.map((v) => (v === null ? null : toDollars(v))))];
  const xMax = Math.max(endMs, xs[xs.length - 1] * 1000) / 1000;

  const exactValue =
    (/** @type {number} */ s) =>
    (
      /** @type {unknown} */ _u,
      /** @type {unknown} */ _v,
      /** @type {unknown} */ _s,
      /** @type {number | null} */ i,
    ) => {
      const v = i === null || i === undefined ? null : exact[s][i];
      if (v === null || v === undefined) return '—';
      return s === 2 ? formatApprox(v) : formatUnits(v);
    };
  const stepped = uPlot.paths.stepped({ align: 1 });
  const height = () => (container.clientWidth < 480 ? 220 : 280);
  const options = {
    width: Math.max(280, container.clientWidth),
    height: height(),
    cursor: { y: false, points: { size: 6 } },
    scales: { x: { time: true, range: () => [startMs / 1000, xMax] } },
    series: [
      {
        value: (/** @type {unknown} */ _u, /** @type {number | null} */ ts) =>
          ts === null ? '—' : formatDateTime(ts * 1000),
      },
      {
        label: 'Credit left',
        stroke: colors.credit,
        fill: colors.creditFill,
        width: 2,
        paths: stepped,
        points: { show: false },
        value: exactValue(0),
      },
      {
        label: 'Usage credits spent',
        stroke: colors.usageCredits,
        width: 2,
        paths: stepped,
        points: { show: false },
        value: exactValue(1),
      },
      {
        label: 'Forecast (recent rate)',
        stroke: colors.forecast,
        width: 2,
        dash: [6, 5],
        spanGaps: true,
        points: { show: false },
        value: exactValue(2),
      },
    ],
    axes: [
      { stroke: colors.axis, grid: { stroke: colors.grid }, ticks: { stroke: colors.grid } },
      {
        stroke: colors.axis,
        grid: { stroke: colors.grid },
        ticks: { stroke: colors.grid },
        size: 56,
        values: (/** @type {unknown} */ _u, /** @type {number[]} */ ticks) => ticks.map((v) => `$${v}`),
      },
    ],
    hooks: {
      draw: [
        (/** @type {any} */ u) => {
          const ctx = u.ctx;
          const ratio = uPlot.pxRatio;
          ctx.save();
          ctx.font = `${11 * ratio}px system-ui, sans-serif`;
          ctx.setLineDash([3 * ratio, 3 * ratio]);
          ctx.lineWidth = ratio;
          // Labels on rows of their own: on a phone "now", "runs out" and "cycle end" are close.
          for (const [row, mark] of marks.entries()) {
            const x = u.valToPos(mark.t / 1000, 'x', true);
            if (x < u.bbox.left - 1 || x > u.bbox.left + u.bbox.width + 1) continue;
            ctx.strokeStyle = mark.color;
            ctx.fillStyle = mark.color;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            const width = ctx.measureText(mark.label).width;
            const left =
              x + 4 * ratio + width > u.bbox.left + u.bbox.width ? x - 4 * ratio - width : x + 4 * ratio;
            ctx.fillText(mark.label, left, u.bbox.top + (12 + 13 * row) * ratio);
          }
          ctx.restore();
        },
      ],
    },
  };
  const plot = new uPlot(options, data, container);
  const observer = new ResizeObserver(() => {
    const width = Math.max(280, container.clientWidth);
    if (width !== plot.width) plot.setSize({ width, height: height() });
  });
  observer.observe(container);
  return () => {
    observer.disconnect();
    plot.destroy();
  };
}
