// The logged-in user's accounts and their balances, kept current: read
// with `me` at the start, after every (re)connection of the live
// connection and when the page comes back into view, and each balance
// updated live from its own account's transactions.
import { gql } from '../api.js';
import { watch } from '../feed.js';
import { balanceBook } from './balances.js';

const ME = `{ me { username accounts { iban balance balance_cents owners token overdraft_limit_cents } } }`;
const SELECTED = 'openbank.iban';

// accountStore returns the store: state() ({ username, accounts, loaded,
// selected }), load(), select(iban), onChange(f) (returns its removal),
// onTx(f) (every live transaction of the user's accounts), stop().
// onFail(err) hears of a failed read. (Some 70 lines: the store's methods,
// each a few lines, share its state; the logic with a rule of its own is
// in balances.js.)
export function accountStore({ live, session, onFail }) {
  let me = null;
  let stopped = false;
  const book = balanceBook();
  const feeds = accountFeeds(live, (t) => {
    if (apply(t)) emit({ balance: t.iban });
    for (const f of [...txListeners]) f(t);
  }, onFail);
  const listeners = new Set();
  const txListeners = new Set();
  const emit = (what) => { for (const f of [...listeners]) f(what); };

  const selected = () => me?.accounts.find((a) => a.iban === sessionStorage.getItem(SELECTED)) ?? me?.accounts[0] ?? null;

  // apply takes a transaction (live, or the newest of a fresh read) into
  // its account's balance, unless a newer one is already in.
  const apply = (t) => book.apply(me?.accounts.find((x) => x.iban === t.iban), t);

  // load reads `me`. A balance that changed live while the read was on
  // its way keeps the live figure: the read may be older.
  async function load() {
    const token = book.reading();
    let got;
    try {
      ({ me: got } = await gql(ME, {}, session));
    } catch (err) {
      if (!stopped) onFail(err);
      return;
    }
    if (stopped) return;
    if (!got) return onFail(Object.assign(new Error('Your session has ended: log in again.'), { auth: true }));
    book.settle(token, got.accounts, new Map((me?.accounts ?? []).map((a) => [a.iban, a])));
    me = got;
    me.loaded = true;
    feeds.sync(me.accounts.map((a) => a.iban));
    emit({ accounts: true });
  }

  const offConnected = live.onConnected(load);
  const onVisible = () => { if (document.visibilityState === 'visible') load(); };
  document.addEventListener('visibilitychange', onVisible);

  return {
    state: () => ({ username: me?.username ?? '', accounts: me?.accounts ?? [], loaded: Boolean(me), selected: selected() }),
    load,
    // select makes iban the chosen account (of this tab).
    select(iban) {
      sessionStorage.setItem(SELECTED, iban);
      emit({ selected: iban });
    },
    // took takes the newest transaction of a fresh read into its balance.
    took(t) {
      if (apply(t)) emit({ balance: t.iban });
    },
    onChange(f) {
      listeners.add(f);
      return () => listeners.delete(f);
    },
    onTx(f) {
      txListeners.add(f);
      return () => txListeners.delete(f);
    },
    stop() {
      stopped = true;
      offConnected();
      document.removeEventListener('visibilitychange', onVisible);
      feeds.sync([]);
    },
  };
}

// forgetSelection drops the tab's chosen account (at log-out).
export function forgetSelection() {
  sessionStorage.removeItem(SELECTED);
}

// accountFeeds keeps one subscription per account: sync(ibans) starts the
// missing ones and ends the ones no longer listed; onTx hears every
// transaction of them.
function accountFeeds(live, onTx, onError) {
  const feeds = new Map(); // iban → end of its subscription
  return {
    sync(ibans) {
      const keep = new Set(ibans);
      for (const [iban, end] of feeds) {
        if (!keep.has(iban)) {
          end();
          feeds.delete(iban);
        }
      }
      for (const iban of keep) if (!feeds.has(iban)) feeds.set(iban, watch(live, iban, { onTx, onError }));
    },
  };
}
