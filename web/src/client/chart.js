// The chosen account's balance over time, drawn as inline SVG: the
// balance at the start of the period (account_as_of), then every
// transaction of the period (history, all its pages), then live ones as
// they come. Its caption says in words what it shows, for those who do
// not see it.
import { gql } from '../api.js';
import { h } from '../dom.js';
import { page, MAX_PAGE } from '../feed.js';
import { steps, chartModel } from '../chart-model.js';

const AS_OF = `query($iban: String!, $at: String!) { account_as_of(iban: $iban, at_time: $at) { balance_cents as_of_transaction owners } }`;
const PERIODS = { 7: 'Last 7 days', 30: 'Last 30 days', 365: 'Last year' };
const DAY = 24 * 60 * 60 * 1000;
// A period's transactions are read at most this many pages deep.
const MAX_PAGES = 20;
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

export function balanceChart({ store, session, onError }) {
  const period = h('select', { id: 'chart-period' }, ...Object.entries(PERIODS).map(([d, label]) => h('option', { value: d }, label)));
  period.value = '30';
  const box = h('div', { class: 'chart-box' });
  const caption = h('figcaption', { class: 'hint', 'aria-live': 'polite' });
  const figure = h('figure', { class: 'chart' }, box, caption);
  let iban = '';
  let data = null; // { from, start, txs }
  let generation = 0;

  const draw = () => {
    if (!data) return;
    const model = chartModel(steps(data.start, data.txs, data.from, Date.now()));
    const grid = model.yTicks.map((t) => svg('g', {},
      svg('line', { x1: model.left, x2: model.width - model.right, y1: t.y, y2: t.y, class: t.label === '€0,00' ? 'zero' : 'grid' }),
      svg('text', { x: model.left - 6, y: t.y + 4, 'text-anchor': 'end' }, t.label)));
    const days = model.xTicks.map((t) => svg('text', { x: t.x, y: model.height - 8, 'text-anchor': t.anchor }, t.label));
    // The caption says it all in words: the drawing is for the eyes.
    box.replaceChildren(svg('svg', { viewBox: `0 0 ${model.width} ${model.height}`, 'aria-hidden': 'true', focusable: 'false', class: 'balance-chart' },
      ...grid, ...days, svg('path', { d: model.path, class: 'line' })));
    caption.textContent = model.summary;
  };

  async function load() {
    const g = ++generation;
    const acct = store.state().selected;
    iban = acct?.iban ?? '';
    data = null;
    box.replaceChildren();
    caption.textContent = acct ? 'Loading the chart…' : '';
    if (!acct) return;
    try {
      const d = await chartData(iban, Number(period.value), session);
      if (g !== generation) return;
      if (d.cut) onError(new Error('The chart shows the newest transactions only: the period holds too many.'));
      data = d;
      draw();
    } catch (err) {
      if (g === generation) {
        caption.textContent = '';
        onError(err);
      }
    }
  }

  period.addEventListener('change', load);
  store.onChange(() => { if ((store.state().selected?.iban ?? '') !== iban) load(); });
  store.onTx((t) => {
    if (!data || t.iban !== iban || data.txs.some((x) => x.transaction_id === t.transaction_id)) return;
    data.txs.push(t);
    data.txs.sort((a, b) => a.transaction_id - b.transaction_id);
    draw();
  });
  const el = h('section', { 'aria-labelledby': 'chart-h' },
    h('div', { class: 'section-head' }, h('h2', { id: 'chart-h' }, 'Balance over time'),
      h('div', { class: 'inline' }, h('label', { for: 'chart-period' }, 'Period'), period)),
    figure);
  load();
  return { el };
}

// chartData reads what the chart of the last `days` days shows: where it
// starts (from, in ms), the balance then, and the period's transactions,
// oldest first; cut when there were more than it reads.
async function chartData(iban, days, session) {
  const from = Date.now() - days * DAY;
  const at = new Date(from).toISOString();
  const { account_as_of: start } = await gql(AS_OF, { iban, at }, session);
  const txs = [];
  let p = { next: null, has_more: true };
  for (let i = 0; i < MAX_PAGES && p.has_more; i++) {
    p = await page(iban, { first: MAX_PAGE, after: p.next, from: at }, session);
    txs.push(...p.items);
  }
  txs.reverse();
  // An account opened during the period starts at its first transaction
  // (it had no owner, and no balance, before).
  const first = txs[0]?.at ? Date.parse(txs[0].at) : NaN;
  if (start.owners.length === 0 && !Number.isNaN(first)) {
    return { from: first, start: txs[0].new_balance_cents - txs[0].changed_by_cents, txs, cut: p.has_more };
  }
  return { from, start: start.balance_cents, txs, cut: p.has_more };
}
