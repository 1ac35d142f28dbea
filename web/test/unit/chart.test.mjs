// The balance chart's numbers, and dates as the page writes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { steps, chartModel } from '../../src/chart-model.js';
import { showDate, fromLocalInput } from '../../src/dates.js';
import { describeEvent } from '../../src/employee/events.js';

const day = 24 * 3600 * 1000;
const t0 = Date.UTC(2026, 10, 1, 12);

test('the balance holds its value between transactions', () => {
  const txs = [
    { at: new Date(t0 + day).toISOString(), new_balance_cents: 10000 },
    { at: null, new_balance_cents: 99 }, // written before times were kept: cannot be placed
    { at: new Date(t0 + 3 * day).toISOString(), new_balance_cents: -5500 },
    { at: new Date(t0 + 20 * day).toISOString(), new_balance_cents: 1 }, // after the period
  ];
  assert.deepEqual(steps(500, txs, t0, t0 + 10 * day), [
    { t: t0, cents: 500 }, { t: t0 + day, cents: 10000 }, { t: t0 + 3 * day, cents: -5500 }, { t: t0 + 10 * day, cents: -5500 }]);
});

test('the chart is laid out with zero in view and says what it shows', () => {
  const points = steps(0, [{ at: new Date(t0 + 5 * day).toISOString(), new_balance_cents: 10000 },
    { at: new Date(t0 + 7 * day).toISOString(), new_balance_cents: -5000 }], t0, t0 + 10 * day);
  const m = chartModel(points, { width: 200, height: 100, left: 0, right: 0, top: 0, bottom: 0 });
  assert.equal(m.min, -5000);
  assert.equal(m.max, 10000);
  // From (0, zero) to 5 days (x 100) up to €100 (y 0), to 7 days down to
  // −€50 (y 100), then flat to the end.
  assert.equal(m.zeroY, 66.7);
  assert.equal(m.path, 'M0,66.7 H100 V0 H140 V100 H200 V100');
  assert.deepEqual(m.yTicks.map((t) => t.label), ['€100,00', '€0,00', '\u2212€50,00']);
  const d = (ms) => `${new Date(ms).getDate()} Nov 2026`; // the reader's time zone
  assert.equal(m.summary, `Balance from ${d(t0)} to ${d(t0 + 10 * day)}: €0,00 at the start, 2 transactions, lowest \u2212€50,00, highest €100,00, \u2212€50,00 at the end.`);
});

test('a flat balance still has a scale', () => {
  const m = chartModel(steps(0, [], t0, t0 + day), { width: 100, height: 100, left: 0, right: 0, top: 0, bottom: 0 });
  assert.equal(m.max, 100);
  assert.match(m.summary, /no transaction, lowest €0,00, highest €0,00, €0,00 at the end\.$/);
});

test('dates are written one way, in the reader\'s time zone', () => {
  const at = '2026-11-27T15:10:42Z';
  const local = new Date(at);
  const want = `${local.getDate()} Nov 2026, ${String(local.getHours()).padStart(2, '0')}:${String(local.getMinutes()).padStart(2, '0')}`;
  assert.equal(showDate(at), want);
  assert.equal(showDate(null), '');
  assert.equal(showDate('not a time'), '');
  assert.equal(fromLocalInput('2026-11-27T15:10'), new Date('2026-11-27T15:10').toISOString());
  assert.equal(fromLocalInput(''), '');
});

test('events are named in words, unknown ones by their type', () => {
  assert.equal(describeEvent('MoneyDebitedEvent'), 'Money debited');
  assert.equal(describeEvent('SomethingNewEvent'), 'SomethingNewEvent');
});
