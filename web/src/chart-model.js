// The balance-over-time chart as numbers: where its line, its zero line
// and its labels go, and what it says in words. Pure, so unit tests check
// it; client/chart.js draws it as SVG.
import { showCents } from './money.js';
import { showDay, showDate } from './dates.js';

const DAY = 24 * 60 * 60 * 1000;

// steps turns a starting balance and transactions (oldest first, each
// with at and new_balance_cents) into the balance's points over [from,
// to] (ms): it holds its value until the next transaction. A transaction
// with no time (history written before times were kept) cannot be placed
// and is left out; so is one outside the range.
export function steps(startCents, txs, from, to) {
  const points = [{ t: from, cents: startCents }];
  for (const tx of txs) {
    const t = tx.at ? Date.parse(tx.at) : NaN;
    if (Number.isNaN(t) || t < from || t > to) continue;
    points.push({ t, cents: tx.new_balance_cents });
  }
  points.push({ t: to, cents: points.at(-1).cents });
  return points;
}

// chartModel lays points out in a box of width × height (px) with room
// for labels: { path (an SVG path of steps), zeroY, yTicks: [{ y, label }],
// xTicks: [{ x, label, anchor }], min, max, summary }.
export function chartModel(points, { width = 640, height = 220, left = 84, right = 12, top = 12, bottom = 28 } = {}) {
  const from = points[0].t;
  const to = Math.max(points.at(-1).t, from + 1);
  const values = points.map((p) => p.cents);
  let min = Math.min(0, ...values);
  let max = Math.max(0, ...values);
  if (min === max) max = min + 100; // a flat line at zero still has a scale
  const x = (t) => left + ((t - from) / (to - from)) * (width - left - right);
  const y = (c) => top + ((max - c) / (max - min)) * (height - top - bottom);
  const r = (n) => Math.round(n * 10) / 10;
  let path = `M${r(x(points[0].t))},${r(y(points[0].cents))}`;
  for (let i = 1; i < points.length; i++) {
    path += ` H${r(x(points[i].t))} V${r(y(points[i].cents))}`;
  }
  const yTicks = [...new Set([max, 0, min])].map((c) => ({ y: r(y(c)), label: showCents(c) }));
  // Days for a long period, times for a short one.
  const seconds = to - from < 3600 * 1000;
  const when = to - from < 2 * DAY ? (t) => showDate(new Date(t).toISOString(), { seconds }) : showDay;
  const xTicks = [{ x: r(x(from)), label: when(from), anchor: 'start' }, { x: r(x(to)), label: when(to), anchor: 'end' }];
  const changes = points.length - 2;
  const lowest = Math.min(...values);
  const highest = Math.max(...values);
  const summary = `Balance from ${when(from)} to ${when(to)}: ${showCents(points[0].cents)} at the start, `
    + `${changes === 0 ? 'no transaction' : `${changes} transaction${changes === 1 ? '' : 's'}`}, lowest ${showCents(lowest)}, highest ${showCents(highest)}, ${showCents(points.at(-1).cents)} at the end.`;
  return { path, zeroY: r(y(0)), yTicks, xTicks, min, max, summary, width, height, left, right, top, bottom };
}
