// The logged-in user's accounts and their balances, kept current: read
// with `me` at the start, after every (re)connection of the live
// connection and when the page comes back into view, and each balance
// updated live from its own account's transactions.
import { gql } from '../api.js';
import { watch } from '../feed.js';

const ME = `{ me { username accounts { iban balance balance_cents owners token } } }`;
const SELECTED = 'openbank.iban';

// accountStore returns the store: state() ({ username, accounts, loaded,
// selected }), load(), select(iban), onChange(f) (returns its removal),
// onTx(f) (every live transaction of the user's accounts), stop().
// onFail(err) hears of a failed read.
export function accountStore({ live, session, onFail }) {
  let me = null;
  let stopped = false;
  let updates = 0; // live balance updates, counted
  const latest = new Map(); // iban → { tx: newest transaction id seen, at: updates when seen }
  const feeds = new Map(); // iban → end of its subscription
  const listeners = new Set();
  const txListeners = new Set();
  const emit = (what) => { for (const f of [...listeners]) f(what); };

  const selected = () => me?.accounts.find((a) => a.iban === sessionStorage.getItem(SELECTED)) ?? me?.accounts[0] ?? null;

  // apply takes a transaction (live, or the newest of a fresh read) into
  // its account's balance, unless a newer one is already in.
  const apply = (t) => {
    const a = me?.accounts.find((x) => x.iban === t.iban);
    const seen = latest.get(t.iban);
    if (!a || (seen && seen.tx >= t.transaction_id)) return false;
    updates += 1;
    latest.set(t.iban, { tx: t.transaction_id, at: updates });
    a.balance = t.new_balance;
    a.balance_cents = t.new_balance_cents;
    return true;
  };

  const follow = () => {
    const ibans = new Set(me.accounts.map((a) => a.iban));
    for (const [iban, end] of feeds) {
      if (!ibans.has(iban)) {
        end();
        feeds.delete(iban);
      }
    }
    for (const iban of ibans) {
      if (feeds.has(iban)) continue;
      feeds.set(iban, watch(live, iban, {
        onTx: (t) => {
          if (apply(t)) emit({ balance: t.iban });
          for (const f of [...txListeners]) f(t);
        },
        onError: onFail,
      }));
    }
  };

  // load reads `me`. A balance that changed live while the read was on
  // its way keeps the live figure: the read may be older.
  async function load() {
    const started = updates;
    let got;
    try {
      ({ me: got } = await gql(ME, {}, session));
    } catch (err) {
      if (!stopped) onFail(err);
      return;
    }
    if (stopped) return;
    if (!got) return onFail(Object.assign(new Error('Your session has ended: log in again.'), { auth: true }));
    const old = new Map((me?.accounts ?? []).map((a) => [a.iban, a]));
    for (const a of got.accounts) {
      const seen = latest.get(a.iban);
      const prev = old.get(a.iban);
      if (seen && seen.at > started && prev) {
        a.balance = prev.balance;
        a.balance_cents = prev.balance_cents;
      }
    }
    me = got;
    me.loaded = true;
    follow();
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
      for (const end of feeds.values()) end();
      feeds.clear();
    },
  };
}

// forgetSelection drops the tab's chosen account (at log-out).
export function forgetSelection() {
  sessionStorage.removeItem(SELECTED);
}
