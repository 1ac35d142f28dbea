// Every account's last transaction (all_last_transactions), a box to
// follow each, and the followed ones' rows kept current live.
import { gql } from '../api.js';
import { h } from '../dom.js';
import { showCents } from '../money.js';
import { TX_FIELDS } from '../feed.js';
import { when, party } from '../txtable.js';

const ALL_LAST = `{ all_last_transactions { ${TX_FIELDS} } bank_summary { users accounts transactions balances_cents } }`;

export function lastTransactions({ session, onError, followed }) {
  const body = h('tbody', { role: 'rowgroup' });
  const count = h('p', { class: 'hint', 'aria-live': 'polite' }, 'Loading…');
  const rows = new Map(); // iban → row cells to update live
  const cell = (cls, label, ...content) => h('td', { role: 'cell', class: cls, dataset: { label } }, ...content);

  const update = (t) => {
    const r = rows.get(t.iban);
    if (!r || Number(r.row.dataset.id) >= t.transaction_id) return;
    r.row.dataset.id = String(t.transaction_id);
    r.change.textContent = showCents(t.changed_by_cents);
    r.balance.textContent = showCents(t.new_balance_cents);
    r.descr.textContent = t.descr;
    r.party.textContent = party(t.from_to);
    r.date.replaceChildren(when(t));
    r.row.classList.remove('fresh');
    r.row.classList.add('fresh');
  };
  followed.onTx(update);

  const row = (t) => {
    const cells = { date: cell('date', 'Date', when(t)), party: h('span', { class: 'iban' }, party(t.from_to)), descr: cell('descr', 'Description', t.descr),
      change: cell('num amount', 'Amount', showCents(t.changed_by_cents)), balance: cell('num balance', 'Balance', showCents(t.new_balance_cents)) };
    const id = `follow-${t.iban}`;
    const r = h('tr', { role: 'row', dataset: { id: String(t.transaction_id) } },
      cell('account', 'Account', h('label', { class: 'follow', for: id },
        h('input', { type: 'checkbox', id, checked: followed.has(t.iban), onchange: (e) => followed.set(t.iban, e.target.checked) }),
        h('span', { class: 'visually-hidden' }, 'Follow '), h('span', { class: 'iban' }, party(t.iban)))),
      cells.date, cell('party', 'From / to', cells.party), cells.descr, cells.change, cells.balance);
    rows.set(t.iban, { row: r, ...cells });
    return r;
  };

  async function load() {
    let txs, summary;
    count.textContent = 'Loading…';
    try {
      ({ all_last_transactions: txs, bank_summary: summary } = await gql(ALL_LAST, {}, session));
    } catch (err) {
      count.textContent = '';
      return onError(err);
    }
    rows.clear();
    body.replaceChildren(...txs.sort((a, b) => a.iban.localeCompare(b.iban)).map(row));
    const time = new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    count.textContent = summaryLine(summary, txs.length, time);
  }

  const th = (label, cls = '') => h('th', { scope: 'col', role: 'columnheader', class: cls }, label);
  const el = h('section', { 'aria-labelledby': 'last-h' }, h('h2', { id: 'last-h' }, 'Last transaction of every account'), count,
    h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Last transaction of every account' },
      h('table', { class: 'txs with-account', role: 'table' },
        h('caption', { class: 'visually-hidden' }, 'Last transaction of every account; tick an account to follow it live'),
        h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' }, th('Follow · account'), th('Date'), th('From / to'), th('Description'), th('Amount', 'num'), th('Balance', 'num'))),
        body)));
  return { el, load };
}

// summaryLine says how many accounts there are and how many are listed
// (an account with no transaction has no last one to show).
export function summaryLine(summary, listed, time) {
  const n = (k, one, many) => `${k.toLocaleString('en')} ${k === 1 ? one : many}`;
  const idle = summary.accounts - listed;
  return `${n(summary.accounts, 'account', 'accounts')} of ${n(summary.users, 'user', 'users')}, ${n(summary.transactions, 'transaction', 'transactions')}; `
    + `together they hold ${showCents(summary.balances_cents)}. `
    + (idle > 0 ? `${n(idle, 'account has', 'accounts have')} no transaction yet and ${idle === 1 ? 'is' : 'are'} not listed. ` : '')
    + `As read at ${time}.`;
}
