// The accounts an employee follows (kept per tab), their transactions
// merged newest first, live.
import { h } from '../dom.js';
import { follow } from '../feed.js';
import { newestFirst } from '../order.js';
import { txTable } from '../txtable.js';

const FOLLOWED = 'openbank.followed';

export function followedFeed({ live, session, onError }) {
  const followed = new Set(JSON.parse(sessionStorage.getItem(FOLLOWED) || '[]'));
  const feeds = new Map(); // iban → end of its feed
  const recent = new Map(); // iban → its newest transactions
  const listeners = new Set();
  const table = txTable('Transactions of the followed accounts', { showIBAN: true });
  const note = h('p', { class: 'hint' });

  const render = (fresh) => {
    table.render([...recent.values()].flat().sort(newestFirst).slice(0, 50), fresh);
    note.textContent = followed.size
      ? `Following ${followed.size} account${followed.size > 1 ? 's' : ''}.`
      : 'Tick accounts in the table below to follow them here.';
  };
  const set = (iban, on) => {
    if (on && !feeds.has(iban)) {
      feeds.set(iban, follow(live, iban, 20, (list, fresh) => {
        recent.set(iban, list);
        if (fresh) for (const f of [...listeners]) f(fresh);
        render(fresh);
      }, (e) => onError(new Error(`Live transactions of ${iban}: ${e.message}`)), session));
    } else if (!on && feeds.has(iban)) {
      feeds.get(iban)();
      feeds.delete(iban);
      recent.delete(iban);
    }
    if (on) followed.add(iban);
    else followed.delete(iban);
    sessionStorage.setItem(FOLLOWED, JSON.stringify([...followed]));
    render(null);
  };
  for (const iban of [...followed]) set(iban, true);
  render(null);
  return {
    el: h('section', { 'aria-labelledby': 'followed-h' }, h('h2', { id: 'followed-h' }, 'Followed live'), note, table.el),
    has: (iban) => followed.has(iban),
    set,
    // onTx hears of every transaction of a followed account as it happens.
    onTx(f) {
      listeners.add(f);
      return () => listeners.delete(f);
    },
    stop() {
      for (const end of feeds.values()) end();
    },
  };
}
