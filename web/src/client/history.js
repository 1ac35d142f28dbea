// The chosen account's transactions: the newest page, older ones on
// "Show more", new ones live (from the account store's subscription), and
// after every reconnection the newest read again down to what is shown
// (history-list.js keeps them).
import { h, busy } from '../dom.js';
import { page, onEachConnection } from '../feed.js';
import { showDate } from '../dates.js';
import { txTable } from '../txtable.js';
import { historyList } from './history-list.js';

// historySection draws the list and wires it to the account store, the
// live connection and its button. (Some 65 lines of wiring, each piece a
// few lines; the rules are in history-list.js.)
export function historySection({ store, live, session, onError }) {
  const table = txTable('Transactions of the chosen account');
  const loading = h('p', { class: 'loading' }, 'Loading transactions…');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show more');
  const status = h('p', { class: 'hint', 'aria-live': 'polite' });
  let iban = '';
  let txs = null; // the chosen account's historyList
  let generation = 0; // bumped when the account changes: late answers are dropped

  const render = (fresh = null) => {
    const list = txs.list();
    loading.hidden = true;
    table.el.hidden = false;
    table.render(list, fresh);
    if (list[0]) store.took(list[0]);
    more.hidden = !txs.hasMore();
    status.textContent = describe(list, txs.hasMore());
  };
  // run does a read for the account shown when it started, then shows it.
  const run = async (read) => {
    const g = generation;
    try {
      await read(txs);
      if (g === generation) render();
    } catch (err) {
      if (g === generation) onError(err);
    }
  };

  more.addEventListener('click', async () => {
    const done = busy(more, 'Loading…');
    await run((list) => list.more());
    done();
    more.hidden = !txs?.hasMore();
  });

  const show = () => {
    const acct = store.state().selected;
    if ((acct?.iban ?? '') === iban) return;
    generation += 1;
    iban = acct?.iban ?? '';
    txs = historyList((args) => page(iban, args, session));
    table.render([]);
    table.el.hidden = true;
    more.hidden = true;
    status.textContent = '';
    loading.hidden = !acct;
    if (acct) run((list) => list.fill());
  };
  const offChange = store.onChange(show);
  const offTx = store.onTx((t) => {
    if (t.iban === iban && txs.add(t)) render(t);
  });
  const offConnected = onEachConnection(live, () => iban && run((list) => list.fill()));
  const el = h('section', { 'aria-labelledby': 'tx-h' },
    h('h2', { id: 'tx-h' }, 'Transactions'), loading, table.el, status, more);
  show();
  return {
    el,
    stop() {
      offChange();
      offTx();
      offConnected();
    },
  };
}

// describe says how much of the history is shown.
function describe(list, hasMore) {
  if (list.length === 0) return '';
  if (hasMore) return `Showing the newest ${list.length} transactions, back to ${showDate(list.at(-1).at) || 'the first ones the bank kept times for'}.`;
  return `All ${list.length} transaction${list.length === 1 ? '' : 's'} of this account.`;
}
