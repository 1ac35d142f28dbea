// The logged-in client's bank: accounts and balances (live), the chosen
// account with its owners, transfers and deposits, its transactions, and
// alerts.
import { ApiError } from '../api.js';
import { h, notice } from '../dom.js';
import { accountStore } from './accounts.js';
import { accountList } from './account-list.js';
import { accountPanel } from './account-panel.js';
import { transferCard } from './transfer.js';
import { depositCard } from './deposit.js';
import { historySection } from './history.js';
import { balanceChart } from './chart.js';
import { alertRules } from './alert-rules.js';
import { alertFeed } from './alert-feed.js';

export function bankPage(root, { live, session, logout, welcome }) {
  const msg = notice();
  const say = (kind, text) => msg.show(kind, text);
  const fail = (err) => {
    if ((err instanceof ApiError && err.auth) || err?.auth) return logout();
    say('error', err.message);
  };
  const store = accountStore({ live, session, onFail: fail });
  // A success notice is about what was just done: choosing another account
  // starts something else.
  store.onChange((what) => { if (what.selected && msg.kind() === 'success') msg.clear(); });
  const who = h('p', { class: 'who' });
  store.onChange(() => {
    const { username } = store.state();
    who.replaceChildren('Logged in as ', h('strong', {}, username), ' ',
      h('button', { type: 'button', class: 'link', onclick: () => logout({ everywhere: true }) }, 'Log out everywhere'));
  });
  const ctx = { store, session, fail, say, live };
  const history = historySection({ ...ctx, onError: (e) => say('error', `Transactions: ${e.message}`) });
  const feed = alertFeed(ctx);
  const page = h('div', {},
    h('h1', {}, 'Your accounts'), who, msg.el,
    h('div', { class: 'columns' },
      h('section', { class: 'card', 'aria-labelledby': 'accounts-h' },
        h('h2', { id: 'accounts-h' }, 'Accounts'), accountList(ctx).el, accountPanel(ctx).el),
      h('div', {}, transferCard(ctx).el, depositCard(ctx).el)),
    balanceChart({ ...ctx, onError: (e) => say('error', `Balance chart: ${e.message}`) }).el,
    history.el,
    h('section', { class: 'card', 'aria-labelledby': 'alerts-h' }, h('h2', { id: 'alerts-h' }, 'Alerts'), feed.el, alertRules(ctx).el));
  root.append(page);
  msg.clearOn(page);
  if (welcome) say('success', welcome);
  store.load();
  return () => {
    history.stop();
    feed.stop();
    store.stop();
  };
}
