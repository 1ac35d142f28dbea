// The client page: log in or sign up, accounts and balances, transfers and
// cash deposits, and the chosen account's transactions, live.
import { gql, ApiError } from './api.js';
import { follow } from './live.js';
import { alertsPanel } from './alerts.js';
import { h, field, notice, txTable } from './dom.js';
import { parseEuros, formatCents } from './money.js';
import { normalizeIBAN, validIBAN, groupIBAN } from './iban.js';
import { explain } from './reasons.js';
import { uuid4 } from './uuid.js';

const SESSION = 'openbank.session';
const SELECTED = 'openbank.iban';

const LOG_IN = `mutation($u: String!, $p: String!) { log_in(username: $u, password: $p) { iban token reason reason_code username session } }`;
const SIGN_UP = `mutation($u: String!, $p: String!) { sign_up(username: $u, password: $p) { iban token reason reason_code username session } }`;
const LOG_OUT = `mutation { log_out { success reason reason_code } }`;
const ME = `{ me { username accounts { iban balance balance_cents owners token } } }`;
const OPEN_ACCOUNT = `mutation { open_account { iban token reason reason_code } }`;
const TRANSFER = `mutation($uuid: String!, $user: String!, $token: String!, $amount: Int!, $from: String!, $to: String!, $descr: String!) {
  money_transfer(uuid: $uuid, username: $user, token: $token, amount: $amount, from: $from, to: $to, descr: $descr) { success reason reason_code status }
}`;
const TRANSFER_STATUS = `query($uuid: String!) { transfer(uuid: $uuid) { status reason reason_code } }`;

export function client(root, ctx) {
  let stop = () => {};
  const show = () => {
    stop();
    root.replaceChildren();
    const session = sessionStorage.getItem(SESSION);
    ctx.live.setSession(session);
    stop = session ? bankPage(root, ctx, session, logout) : loginPage(root, show);
  };
  // logout ends the session here; everywhere (log_out) when asked to.
  const logout = async ({ everywhere = false } = {}) => {
    const session = sessionStorage.getItem(SESSION);
    if (everywhere && session) {
      try {
        await gql(LOG_OUT, {}, session);
      } catch {
        // The session ends here anyway; the bank ends it when it expires.
      }
    }
    sessionStorage.removeItem(SESSION);
    sessionStorage.removeItem(SELECTED);
    show();
  };
  const ended = () => logout();
  window.addEventListener('openbank:session-ended', ended);
  show();
  return () => {
    window.removeEventListener('openbank:session-ended', ended);
    stop();
  };
}

function loginPage(root, done) {
  const user = field({ label: 'Username', name: 'username', autocomplete: 'username', required: true, maxlength: 64 });
  const pass = field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, maxlength: 72,
    hint: 'New here? Choose a username and password, then Create an account.' });
  const msg = notice();
  const logIn = h('button', { type: 'submit' }, 'Log in');
  const signUp = h('button', { type: 'button', class: 'secondary' }, 'Create an account');
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'login-h' },
    h('h1', { id: 'login-h' }, 'Your bank account'), user.wrap, pass.wrap, h('div', { class: 'actions' }, logIn, signUp), msg.el);
  // go logs in (log_in) or signs up (sign_up): two actions, so a mistyped
  // username never opens an account by mistake.
  const go = async (mutation, name) => {
    const username = user.input.value.trim();
    user.setError(username ? '' : 'Enter a username.');
    pass.setError(pass.input.value ? '' : 'Enter a password.');
    if (!username) return user.input.focus();
    if (!pass.input.value) return pass.input.focus();
    logIn.disabled = signUp.disabled = true;
    msg.show('info', 'Checking…');
    try {
      const { [name]: r } = await gql(mutation, { u: username, p: pass.input.value });
      if (r.reason) {
        msg.show('error', explain(r.reason_code, r.reason));
        return;
      }
      sessionStorage.setItem(SESSION, r.session);
      sessionStorage.setItem(SELECTED, r.iban);
      done();
    } catch (err) {
      msg.show('error', err.message);
    } finally {
      logIn.disabled = signUp.disabled = false;
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    go(LOG_IN, 'log_in');
  });
  signUp.addEventListener('click', () => go(SIGN_UP, 'sign_up'));
  root.append(form);
  user.input.focus();
  return () => {};
}

function bankPage(root, { live }, session, logout) {
  let me = null;
  let stopFeed = () => {};
  let followed = '';
  let max = 10;
  const msg = notice();
  const who = h('p', { class: 'who' });
  const accountsList = h('div', { class: 'accounts', role: 'radiogroup', 'aria-labelledby': 'accounts-h' });
  const openButton = h('button', { type: 'button', class: 'secondary' }, 'Open another account');
  const current = h('div', { class: 'current' });
  const table = txTable('Transactions of the chosen account');
  const showSelect = h('select', { id: 'tx-count' }, ...[10, 25, 50, 100].map((n) => h('option', { value: String(n) }, String(n))));

  const selected = () => me?.accounts.find((a) => a.iban === sessionStorage.getItem(SELECTED)) ?? me?.accounts[0];

  const fail = (err) => {
    if (err instanceof ApiError && err.auth) return logout();
    msg.show('error', err.message);
  };
  const alerts = alertsPanel({ session, selected, fail });

  async function load() {
    try {
      ({ me } = await gql(ME, {}, session));
    } catch (err) {
      return fail(err);
    }
    if (!me) return logout();
    renderAccounts();
  }

  function renderAccounts() {
    who.replaceChildren('Logged in as ', h('strong', {}, me.username), ' ',
      h('button', { type: 'button', class: 'link', onclick: () => logout({ everywhere: true }) }, 'Log out'));
    const sel = selected();
    accountsList.replaceChildren(...me.accounts.map((a) => {
      const id = `acct-${a.iban}`;
      return h('div', { class: 'account' },
        h('input', { type: 'radio', name: 'account', id, value: a.iban, checked: a === sel,
          onchange: () => { sessionStorage.setItem(SELECTED, a.iban); renderAccounts(); } }),
        h('label', { for: id }, h('code', { class: 'iban' }, groupIBAN(a.iban)), h('span', { class: 'balance', dataset: { iban: a.iban } }, a.balance),
          a.owners.length > 1 ? h('span', { class: 'owners' }, `with ${a.owners.filter((o) => o !== me.username).join(', ')}`) : null));
    }));
    if (me.accounts.length === 0) accountsList.append(h('p', {}, 'You have no account: open one.'));
    renderCurrent(sel);
  }

  function renderCurrent(acct) {
    if (!acct) {
      current.replaceChildren();
      stopFeed();
      followed = '';
      return;
    }
    const copy = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Copy the IBAN ${acct.iban}` }, 'Copy');
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(acct.iban);
        copy.textContent = 'Copied';
      } catch {
        window.getSelection().selectAllChildren(number);
        copy.textContent = 'Selected: press Ctrl+C';
      }
      setTimeout(() => { copy.textContent = 'Copy'; }, 2000);
    });
    const number = h('output', { class: 'iban selectable', 'aria-label': 'Account number (IBAN)' }, acct.iban);
    current.replaceChildren(
      h('p', { class: 'iban-line' }, h('span', {}, 'Account number '), number, copy),
      h('p', { class: 'big-balance' }, h('span', {}, 'Balance '), h('strong', { id: 'balance' }, acct.balance)));
    if (followed !== acct.iban) {
      stopFeed();
      followed = acct.iban;
      alerts.refresh();
      stopFeed = follow(live, acct.iban, max, (list, fresh) => {
        table.render(list, fresh);
        if (fresh && fresh.iban === acct.iban) {
          acct.balance = fresh.new_balance;
          acct.balance_cents = fresh.new_balance_cents;
          document.getElementById('balance').textContent = fresh.new_balance;
          const b = accountsList.querySelector(`[data-iban="${acct.iban}"]`);
          if (b) b.textContent = fresh.new_balance;
        }
      }, (e) => msg.show('error', `Live transactions: ${e.message}`), session);
    }
  }

  openButton.addEventListener('click', async () => {
    openButton.disabled = true;
    try {
      const { open_account: r } = await gql(OPEN_ACCOUNT, {}, session);
      if (r.reason) {
        msg.show('error', explain(r.reason_code, r.reason));
      } else {
        sessionStorage.setItem(SELECTED, r.iban);
        await load();
        msg.show('success', `Opened account ${r.iban}.`);
      }
    } catch (err) {
      fail(err);
    } finally {
      openButton.disabled = false;
    }
  });

  showSelect.addEventListener('change', () => {
    max = Number(showSelect.value);
    followed = '';
    renderCurrent(selected());
  });

  root.append(
    h('h1', {}, 'Your accounts'), who, msg.el,
    h('div', { class: 'columns' },
      h('section', { class: 'card', 'aria-labelledby': 'accounts-h' },
        h('h2', { id: 'accounts-h' }, 'Accounts'), accountsList, openButton, current),
      h('div', {},
        transferForm({ selected, onDone: load, fail, meName: () => me?.username, session }),
        depositForm({ selected, onDone: load, fail, meName: () => me?.username, session }))),
    h('section', { 'aria-labelledby': 'tx-h' },
      h('div', { class: 'section-head' }, h('h2', { id: 'tx-h' }, 'Transactions'),
        h('div', { class: 'inline' }, h('label', { for: 'tx-count' }, 'Show'), showSelect)),
      table.el),
    alerts.el);
  load();
  return () => {
    stopFeed();
    alerts.stop();
  };
}

// amountField is an amount in euros with a preview of what it reads as.
function amountField(label) {
  const f = field({ label, name: 'amount', inputmode: 'decimal', autocomplete: 'off', required: true, placeholder: '0,00',
    hint: 'In euros, e.g. 12,50' });
  f.input.addEventListener('input', () => {
    const { cents } = parseEuros(f.input.value);
    f.hintEl.textContent = cents ? `= ${formatCents(cents)}` : 'In euros, e.g. 12,50';
  });
  return f;
}

// send runs money_transfer and waits for the saga's outcome. A lost answer
// is retried with the same uuid, so a transfer never happens twice.
async function send(vars, progress, session) {
  for (let attempt = 0; ; attempt++) {
    let r;
    try {
      ({ money_transfer: r } = await gql(TRANSFER, vars));
    } catch (err) {
      if (!(err instanceof ApiError && err.network) || attempt >= 5) throw err;
      progress('The bank did not answer; trying again (it will not send twice)…');
      await new Promise((ok) => setTimeout(ok, 1000 * (attempt + 1)));
      continue;
    }
    if (r.status !== 'PENDING') return r;
    progress('The bank is still working on it…');
    for (let i = 0; i < 30; i++) {
      await new Promise((ok) => setTimeout(ok, 1000));
      const { transfer: t } = await gql(TRANSFER_STATUS, { uuid: vars.uuid }, session);
      if (t && t.status !== 'STARTED') return { success: t.status === 'COMPLETED', reason: t.reason, reason_code: t.reason_code, status: t.status };
    }
    return r;
  }
}

function transferForm({ selected, onDone, fail, meName, session }) {
  const to = field({ label: 'To (IBAN)', name: 'to', autocomplete: 'off', required: true, spellcheck: 'false', placeholder: 'e.g. NL91ABNA0417164300' });
  const amount = amountField('Amount');
  const descr = field({ label: 'Description', name: 'descr', autocomplete: 'off', maxlength: 140 });
  const msg = notice();
  const button = h('button', { type: 'submit' }, 'Send money');
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'transfer-h' },
    h('h2', { id: 'transfer-h' }, 'Transfer'), to.wrap, amount.wrap, descr.wrap, button, msg.el);
  // The same transfer sent again (after an unclear outcome) keeps its uuid.
  let last = { key: '', uuid: '' };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const acct = selected();
    const iban = normalizeIBAN(to.input.value);
    const parsed = parseEuros(amount.input.value);
    to.setError(!iban ? 'Enter the IBAN to send to.' : !validIBAN(iban) ? 'That is not a valid IBAN: check it for typos.'
      : acct && iban === acct.iban ? 'That is this account: choose another one.' : '');
    amount.setError(parsed.error || '');
    if (to.input.getAttribute('aria-invalid')) return to.input.focus();
    if (parsed.error) return amount.input.focus();
    if (!acct) return msg.show('error', 'Open an account first.');
    const vars = { user: meName(), token: acct.token, amount: parsed.cents, from: acct.iban, to: iban, descr: descr.input.value.trim() };
    const key = JSON.stringify(vars);
    if (last.key !== key) last = { key, uuid: uuid4() };
    button.disabled = true;
    msg.show('info', 'Sending…');
    try {
      const r = await send({ ...vars, uuid: last.uuid }, (m) => msg.show('info', m), session);
      if (r.status === 'PENDING') {
        msg.show('info', 'No outcome yet: the transfer may still happen. Press Send money again to ask; it will not send twice.');
        return;
      }
      last = { key: '', uuid: '' };
      if (r.success) {
        msg.show('success', `Sent ${formatCents(parsed.cents)} to ${iban}.`);
        form.reset();
        amount.hintEl.textContent = 'In euros, e.g. 12,50';
        onDone();
      } else {
        msg.show('error', `Transfer failed: ${explain(r.reason_code, r.reason)}`);
      }
    } catch (err) {
      if (err instanceof ApiError && err.auth) return fail(err);
      msg.show('error', `${err.message} Press Send money again: it will not send twice.`);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function depositForm({ selected, onDone, fail, meName, session }) {
  const amount = amountField('Cash to deposit');
  const msg = notice();
  const button = h('button', { type: 'submit', class: 'secondary' }, 'Deposit');
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'deposit-h' },
    h('h2', { id: 'deposit-h' }, 'Deposit cash'), amount.wrap, button, msg.el);
  let last = { key: '', uuid: '' };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const acct = selected();
    const parsed = parseEuros(amount.input.value);
    amount.setError(parsed.error || '');
    if (parsed.error) return amount.input.focus();
    if (!acct) return msg.show('error', 'Open an account first.');
    const vars = { user: meName(), token: acct.token, amount: parsed.cents, from: 'cash', to: acct.iban, descr: 'cash deposit' };
    const key = JSON.stringify(vars);
    if (last.key !== key) last = { key, uuid: uuid4() };
    button.disabled = true;
    try {
      const r = await send({ ...vars, uuid: last.uuid }, (m) => msg.show('info', m), session);
      if (r.status === 'PENDING') return msg.show('info', 'No outcome yet. Press Deposit again to ask; it will not deposit twice.');
      last = { key: '', uuid: '' };
      if (r.success) {
        msg.show('success', `Deposited ${formatCents(parsed.cents)}.`);
        form.reset();
        amount.hintEl.textContent = 'In euros, e.g. 12,50';
        onDone();
      } else {
        msg.show('error', `Deposit failed: ${explain(r.reason_code, r.reason)}`);
      }
    } catch (err) {
      if (err instanceof ApiError && err.auth) return fail(err);
      msg.show('error', err.message);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}
