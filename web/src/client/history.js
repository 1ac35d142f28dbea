// The chosen account's transactions, live.
import { h } from '../dom.js';
import { follow } from '../feed.js';
import { txTable } from '../txtable.js';

export function historySection({ store, live, session, onError }) {
  const table = txTable('Transactions of the chosen account');
  const showSelect = h('select', { id: 'tx-count' }, ...[10, 25, 50, 100].map((n) => h('option', { value: String(n) }, String(n))));
  const loading = h('p', { class: 'loading' }, 'Loading transactions…');
  let max = 10;
  let followed = '';
  let stop = () => {};

  const show = () => {
    const acct = store.state().selected;
    if ((acct?.iban ?? '') === followed) return;
    stop();
    followed = acct?.iban ?? '';
    table.render([]);
    table.el.hidden = true;
    loading.hidden = !acct;
    if (!acct) return;
    stop = follow(live, acct.iban, max, (list, fresh) => {
      loading.hidden = true;
      table.el.hidden = false;
      table.render(list, fresh);
      if (list[0]) store.took(list[0]);
    }, onError, session);
  };
  store.onChange(show);
  showSelect.addEventListener('change', () => {
    max = Number(showSelect.value);
    followed = '';
    show();
  });
  const el = h('section', { 'aria-labelledby': 'tx-h' },
    h('div', { class: 'section-head' }, h('h2', { id: 'tx-h' }, 'Transactions'),
      h('div', { class: 'inline' }, h('label', { for: 'tx-count' }, 'Show'), showSelect)),
    loading, table.el);
  show();
  return { el, stop: () => stop() };
}
