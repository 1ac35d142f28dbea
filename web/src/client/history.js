// The chosen account's transactions: the newest page, older ones on
// "Show more", new ones live (from the account store's subscription), and
// after every reconnection the newest read again down to what is shown,
// so nothing that happened meanwhile is missed or shown twice.
import { h, busy } from '../dom.js';
import { page, newestFirst } from '../feed.js';
import { showDate } from '../dates.js';
import { txTable } from '../txtable.js';

const PAGE = 20;
// After a reconnection, at most this many pages are read to reach what
// the page shows; beyond, the older part is read again from the start.
const CATCH_UP_PAGES = 5;

export function historySection({ store, live, session, onError }) {
  const table = txTable('Transactions of the chosen account');
  const loading = h('p', { class: 'loading' }, 'Loading transactions…');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show more');
  const status = h('p', { class: 'hint', 'aria-live': 'polite' });
  let iban = '';
  let byId = new Map();
  let next = null;
  let hasMore = false;
  let generation = 0; // bumped when the account changes: late answers are dropped

  const render = (fresh = null) => {
    const list = [...byId.values()].sort(newestFirst);
    loading.hidden = true;
    table.el.hidden = false;
    table.render(list, fresh);
    if (list[0]) store.took(list[0]);
    more.hidden = !hasMore;
    const oldest = list.at(-1);
    status.textContent = list.length === 0 ? ''
      : hasMore ? `Showing the newest ${list.length} transactions, back to ${showDate(oldest.at) || 'the first ones the bank kept times for'}.`
        : `All ${list.length} transaction${list.length === 1 ? '' : 's'} of this account.`;
  };

  const add = (items) => {
    let known = false;
    for (const t of items) {
      if (byId.has(t.transaction_id)) known = true;
      else byId.set(t.transaction_id, t);
    }
    return known;
  };

  // fill reads the newest page, and older ones until it meets what is
  // shown (after a reconnection), or just the first (at the start).
  async function fill() {
    const g = generation;
    const first = byId.size === 0;
    try {
      let p = await page(iban, { first: PAGE }, session);
      if (g !== generation) return;
      let met = add(p.items);
      if (first) [next, hasMore] = [p.next, p.has_more];
      for (let i = 1; !first && !met && p.has_more && i < CATCH_UP_PAGES; i++) {
        p = await page(iban, { first: PAGE, after: p.next }, session);
        if (g !== generation) return;
        met = add(p.items);
      }
      if (!first && !met && p.has_more) [next, hasMore] = [p.next, true]; // a gap: older ones on "Show more"
      render();
    } catch (err) {
      if (g === generation) onError(err);
    }
  }

  more.addEventListener('click', async () => {
    const g = generation;
    const done = busy(more, 'Loading…');
    try {
      const p = await page(iban, { first: PAGE, after: next }, session);
      if (g !== generation) return;
      add(p.items);
      [next, hasMore] = [p.next, p.has_more];
      render();
    } catch (err) {
      onError(err);
    } finally {
      done();
      more.hidden = !hasMore;
    }
  });

  const show = () => {
    const acct = store.state().selected;
    if ((acct?.iban ?? '') === iban) return;
    generation += 1;
    iban = acct?.iban ?? '';
    byId = new Map();
    [next, hasMore] = [null, false];
    table.render([]);
    table.el.hidden = true;
    more.hidden = true;
    status.textContent = '';
    loading.hidden = !acct;
    if (acct) fill();
  };
  const offChange = store.onChange(show);
  const offTx = store.onTx((t) => {
    if (t.iban !== iban || byId.has(t.transaction_id)) return;
    byId.set(t.transaction_id, t);
    render(t);
  });
  // The subscription starts a moment after the connection: read once
  // then, and again shortly after, so nothing falls in between.
  let timer = 0;
  const offConnected = live.onConnected(() => {
    if (!iban) return;
    fill();
    clearTimeout(timer);
    timer = setTimeout(() => iban && fill(), 1500);
  });
  const el = h('section', { 'aria-labelledby': 'tx-h' },
    h('h2', { id: 'tx-h' }, 'Transactions'), loading, table.el, status, more);
  show();
  return {
    el,
    stop() {
      clearTimeout(timer);
      offChange();
      offTx();
      offConnected();
    },
  };
}
