// The employee page: the last transaction of every account, and the
// accounts an employee picks followed live. It needs the employee
// credential the gateway was started with.
import { gql, ApiError } from './api.js';
import { follow } from './live.js';
import { h, field, notice, txTable } from './dom.js';
import { explain } from './reasons.js';

const SESSION = 'openbank.employee';
const FOLLOWED = 'openbank.followed';

const LOGIN = `mutation($p: String!) { employee_login(password: $p) { session reason reason_code } }`;
const ALL_LAST = `{ all_last_transactions { id iban new_balance changed_by from_to descr direction new_balance_cents changed_by_cents } }`;

export function employee(root, ctx) {
  let stop = () => {};
  const show = () => {
    stop();
    root.replaceChildren();
    const session = sessionStorage.getItem(SESSION);
    ctx.live.setSession(session);
    stop = session ? overview(root, ctx, session, logout) : login(root, show);
  };
  const logout = () => {
    sessionStorage.removeItem(SESSION);
    show();
  };
  window.addEventListener('openbank:session-ended', logout);
  show();
  return () => {
    window.removeEventListener('openbank:session-ended', logout);
    stop();
  };
}

function login(root, done) {
  const pass = field({ label: 'Employee password', name: 'password', type: 'password', autocomplete: 'current-password', required: true,
    hint: 'The credential the gateway was started with (bank keeps it in <data>/gateway/employee.password).' });
  const msg = notice();
  const button = h('button', { type: 'submit' }, 'Log in');
  const form = h('form', { class: 'card narrow', novalidate: true, 'aria-labelledby': 'emp-h' },
    h('h1', { id: 'emp-h' }, 'Employees'), h('p', {}, 'Only employees see every account.'), pass.wrap, button, msg.el);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    pass.setError(pass.input.value ? '' : 'Enter the employee password.');
    if (!pass.input.value) return pass.input.focus();
    button.disabled = true;
    try {
      const { employee_login: r } = await gql(LOGIN, { p: pass.input.value });
      if (r.reason) return msg.show('error', explain(r.reason_code, r.reason));
      sessionStorage.setItem(SESSION, r.session);
      done();
    } catch (err) {
      msg.show('error', err.message);
    } finally {
      button.disabled = false;
    }
  });
  root.append(form);
  pass.input.focus();
  return () => {};
}

function overview(root, { live }, session, logout) {
  const followed = new Set(JSON.parse(sessionStorage.getItem(FOLLOWED) || '[]'));
  const feeds = new Map(); // iban → stop
  const recent = new Map(); // iban → its newest transactions
  const msg = notice();
  const body = h('tbody');
  const count = h('p', { class: 'hint' });
  const feed = txTable('Transactions of the followed accounts', { showIBAN: true });
  const followedNote = h('p', { class: 'hint' });
  const rows = new Map(); // iban → row cells to update live

  const save = () => sessionStorage.setItem(FOLLOWED, JSON.stringify([...followed]));
  const renderFeed = (fresh) => {
    const list = [...recent.values()].flat().sort((a, b) => b.id - a.id).slice(0, 50);
    feed.render(list, fresh);
    followedNote.textContent = followed.size ? `Following ${followed.size} account${followed.size > 1 ? 's' : ''}.` : 'Tick accounts in the table to follow them here.';
  };
  const setFollow = (iban, on) => {
    if (on && !feeds.has(iban)) {
      feeds.set(iban, follow(live, iban, 20, (list, fresh) => {
        recent.set(iban, list);
        if (fresh) updateRow(fresh);
        renderFeed(fresh);
      }, (e) => msg.show('error', `Live transactions: ${e.message}`), session));
    } else if (!on && feeds.has(iban)) {
      feeds.get(iban)();
      feeds.delete(iban);
      recent.delete(iban);
    }
    if (on) followed.add(iban);
    else followed.delete(iban);
    save();
    renderFeed(null);
  };
  const updateRow = (t) => {
    const r = rows.get(t.iban);
    if (!r || Number(r.row.dataset.id) >= t.id) return;
    r.row.dataset.id = String(t.id);
    r.change.textContent = t.changed_by;
    r.balance.textContent = t.new_balance;
    r.descr.textContent = t.descr;
    r.fromTo.textContent = t.from_to;
    r.row.classList.add('fresh');
  };

  async function load() {
    let txs;
    try {
      ({ all_last_transactions: txs } = await gql(ALL_LAST, {}, session));
    } catch (err) {
      if (err instanceof ApiError && err.auth) return logout();
      return msg.show('error', err.message);
    }
    rows.clear();
    body.replaceChildren(...txs.sort((a, b) => a.iban.localeCompare(b.iban)).map((t) => {
      const cells = { change: h('td', { class: 'num' }, t.changed_by), balance: h('td', { class: 'num' }, t.new_balance),
        descr: h('td', { class: 'descr' }, t.descr), fromTo: h('td', {}, t.from_to) };
      const id = `follow-${t.iban}`;
      const row = h('tr', { dataset: { id: String(t.id) } },
        h('td', {}, h('input', { type: 'checkbox', id, checked: followed.has(t.iban), onchange: (e) => setFollow(t.iban, e.target.checked) }),
          ' ', h('label', { for: id }, h('span', { class: 'visually-hidden' }, 'Follow '), h('code', {}, t.iban))),
        cells.fromTo, cells.descr, cells.change, cells.balance);
      rows.set(t.iban, { row, ...cells });
      return row;
    }));
    count.textContent = `${txs.length} account${txs.length === 1 ? '' : 's'}.`;
  }

  root.append(
    h('div', { class: 'section-head' }, h('h1', {}, 'All accounts'),
      h('div', { class: 'inline' },
        h('button', { type: 'button', class: 'secondary', onclick: load }, 'Refresh'),
        h('button', { type: 'button', class: 'link', onclick: logout }, 'Log out'))),
    msg.el,
    h('section', { 'aria-labelledby': 'followed-h' }, h('h2', { id: 'followed-h' }, 'Followed live'), followedNote, feed.el),
    h('section', { 'aria-labelledby': 'last-h' }, h('h2', { id: 'last-h' }, 'Last transaction of every account'), count,
      h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Last transaction of every account' }, h('table', { class: 'txs all' },
        h('caption', { class: 'visually-hidden' }, 'Last transaction of every account; tick an account to follow it live'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Follow · account'), h('th', { scope: 'col' }, 'From / to'),
          h('th', { scope: 'col' }, 'Description'), h('th', { scope: 'col', class: 'num' }, 'Amount'), h('th', { scope: 'col', class: 'num' }, 'Balance'))),
        body))));
  for (const iban of [...followed]) setFollow(iban, true);
  renderFeed(null);
  load();
  return () => {
    for (const stop of feeds.values()) stop();
  };
}
