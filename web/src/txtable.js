// A table of transactions, newest first. On a narrow screen each row
// stacks its cells (see style.css), so the amount and the balance stay on
// screen; explicit roles keep it a table for screen readers whatever the
// layout.
import { h } from './dom.js';
import { showAmount, showCents } from './money.js';
import { showDate } from './dates.js';
import { groupIBAN } from './iban.js';

const amount = (t) => (t.changed_by_cents == null ? showAmount(t.changed_by) : showCents(t.changed_by_cents));
const balance = (t) => (t.new_balance_cents == null ? showAmount(t.new_balance) : showCents(t.new_balance_cents));

// party writes an account number in groups of four (it wraps between
// them), anything else ("cash") as it is.
export function party(s) {
  return /^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s ?? '') ? groupIBAN(s) : s;
}

// when is a transaction's time, or a dash for history written before
// times were kept.
export function when(t) {
  const text = showDate(t.at);
  return text ? h('time', { datetime: t.at }, text) : h('span', { title: 'written before the bank kept times' }, '—');
}

// txTable returns { el, render(list, fresh) }; showIBAN adds the account
// column (for lists of several accounts).
export function txTable(caption, { showIBAN = false } = {}) {
  const body = h('tbody', { role: 'rowgroup' });
  const empty = h('p', { class: 'empty' }, 'No transactions yet.');
  const col = (label, cls = '') => h('th', { scope: 'col', role: 'columnheader', class: cls }, label);
  const table = h('table', { class: `txs${showIBAN ? ' with-account' : ''}`, role: 'table' },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' },
      col('Date'),
      showIBAN ? col('Account') : null,
      col('From / to'), col('Description'), col('Amount', 'num'), col('Balance', 'num'))),
    body);
  // Focusable, so a keyboard can scroll it should it ever be wider.
  const wrap = h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption }, table, empty);
  const cell = (cls, label, ...content) => h('td', { role: 'cell', class: cls, dataset: { label } }, ...content);
  return {
    el: wrap,
    render(list, fresh) {
      empty.hidden = list.length > 0;
      table.hidden = list.length === 0;
      body.replaceChildren(...list.map((t) => h('tr', {
        role: 'row',
        class: [t.direction === 'DEBIT' ? 'debit' : 'credit', fresh && fresh.transaction_id === t.transaction_id ? 'fresh' : ''].join(' '),
        dataset: { id: String(t.transaction_id) },
      },
      cell('date', 'Date', when(t)),
      showIBAN ? cell('account', 'Account', h('span', { class: 'iban' }, party(t.iban))) : null,
      cell('party', 'From / to', h('span', { class: 'iban' }, party(t.from_to))),
      cell('descr', 'Description', ...description(t)),
      cell('num amount', 'Amount', h('span', { class: 'visually-hidden' }, t.direction === 'DEBIT' ? 'debit ' : 'credit '), amount(t)),
      cell('num balance', 'Balance', balance(t)))));
    },
  };
}

// description is a row's description; a return says in words what
// happened, with the bank's own sentence beside it.
function description(t) {
  if (t.kind !== 'RETURN') return [t.descr];
  return [h('span', { class: 'returned' }, 'Money returned: the transfer could not be paid in, so it came back.'),
    ' ', h('small', { class: 'detail' }, t.descr)];
}
