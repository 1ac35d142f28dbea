// An account's transactions, live: the subscription stream_transactions
// and, after every (re)connection, a fresh read of its newest
// transactions, so whatever happened while the connection was down shows
// up once (the transaction id deduplicates).
import { gql, ApiError } from './api.js';
import { explain, failureOf } from './reasons.js';
import { newestFirst } from './order.js';

export const TX_FIELDS = 'id transaction_id at kind iban new_balance changed_by from_to descr direction new_balance_cents changed_by_cents';
const STREAM = `subscription($iban: String) { stream_transactions(iban: $iban) { ${TX_FIELDS} } }`;
const HISTORY = `query($iban: String!, $first: Int!, $after: String, $from: String) {
  history(iban: $iban, first: $first, after: $after, from: $from) { items { ${TX_FIELDS} } next has_more }
}`;

// The most history() answers in one page.
export const MAX_PAGE = 100;

// watch subscribes to an account's transactions: onTx(t) for each as it
// happens, onError(err) for failures. Returns its end.
export function watch(live, iban, { onTx, onError }) {
  return live.subscribe({ query: STREAM, variables: { iban } }, {
    next: ({ data, errors }) => {
      if (errors?.length) {
        const { code, reason } = failureOf(errors[0]);
        onError?.(new ApiError(explain(code, reason), { reason, code }));
      }
      if (data?.stream_transactions) onTx(data.stream_transactions);
    },
    error: (e) => onError?.(e instanceof Error ? e : new Error('the live stream failed')),
  });
}

// page reads a page of an account's history, newest first: the newest
// `first`, or the ones older than the cursor `after`; from bounds the
// time (RFC 3339). It answers { items, next, has_more }.
export async function page(iban, { first = 20, after = null, from = null } = {}, session = '') {
  return (await gql(HISTORY, { iban, first, after, from }, session)).history;
}

// newest reads the newest n transactions of an account.
export async function newest(iban, n, session) {
  return (await page(iban, { first: Math.min(n, MAX_PAGE) }, session)).items;
}

// follow keeps the newest `max` transactions of iban, calling
// render(list, fresh) whenever they change (newest first; fresh is the
// one that just arrived live, if any). It reads them at once and again
// after every (re)connection.
export function follow(live, iban, max, render, onError, session = '') {
  const byId = new Map();
  let stopped = false;
  const add = (txs, fresh) => {
    let changed = fresh === null;
    for (const t of txs) {
      if (!byId.has(t.transaction_id)) {
        byId.set(t.transaction_id, t);
        changed = true;
      }
    }
    if (!changed) return;
    const list = [...byId.values()].sort(newestFirst).slice(0, max);
    byId.clear();
    for (const t of list) byId.set(t.transaction_id, t);
    render(list, fresh);
  };
  const fill = async () => {
    try {
      const txs = await newest(iban, max, session);
      if (!stopped) add(txs, null);
    } catch (e) {
      if (!stopped) onError?.(e);
    }
  };
  const stop = watch(live, iban, { onTx: (t) => add([t], t), onError });
  const offConnected = onEachConnection(live, () => !stopped && fill());
  fill();
  return () => {
    stopped = true;
    offConnected();
    stop();
  };
}

// onEachConnection runs read at every (re)connection of the live
// connection and again a moment later: a subscription starts a moment
// after its connection, and what happens in between is read the second
// time. Returns its end.
export function onEachConnection(live, read) {
  let timer = 0;
  const off = live.onConnected(() => {
    read();
    clearTimeout(timer);
    timer = setTimeout(read, 1500);
  });
  return () => {
    clearTimeout(timer);
    off();
  };
}
