// Live transactions over graphql-transport-ws (the graphql-ws client):
// one connection per page, reconnecting with back-off when the gateway
// goes away, and lists that resume without gaps or duplicates.
import { createClient } from 'graphql-ws';
import { wsURL, gql, ApiError } from './api.js';
import { explain, failureOf } from './reasons.js';

const STREAM = `subscription($iban: String) {
  stream_transactions(iban: $iban) { id iban new_balance changed_by from_to descr direction new_balance_cents changed_by_cents }
}`;
const HISTORY = `query($iban: String!, $n: Int!) {
  transactions_by_iban(iban: $iban, max_items: $n) { id iban new_balance changed_by from_to descr direction new_balance_cents changed_by_cents }
}`;

// The session the live connection carries (in connection_init): an
// account's stream is for its owners, every account's for employees.
let liveSession = '';

// connect opens the page's connection; status({state, retryIn}) hears of
// it: 'connecting', 'live', or 'reconnecting' in retryIn ms. unauthorized()
// runs when the gateway closes it with 4401: the session was revoked or
// expired.
export function connect(status, unauthorized = () => {}) {
  let connectedOnce = false;
  let connected = false;
  const listeners = new Set();
  const client = createClient({
    url: wsURL,
    lazy: true,
    connectionParams: () => (liveSession ? { Authorization: `Bearer ${liveSession}` } : {}),
    keepAlive: 10_000,
    retryAttempts: Number.MAX_SAFE_INTEGER,
    shouldRetry: () => true,
    // Exponential back-off with jitter, at most ~15 s between tries.
    retryWait: async (retries) => {
      const ms = Math.min(15_000, 500 * 2 ** retries) * (0.5 + Math.random() / 2);
      status({ state: 'reconnecting', retryIn: ms });
      await new Promise((r) => setTimeout(r, ms));
      status({ state: 'connecting' });
    },
    on: {
      connecting: () => status({ state: 'connecting' }),
      connected: () => {
        status({ state: 'live', reconnected: connectedOnce });
        connectedOnce = connected = true;
        for (const l of listeners) l();
      },
      closed: (event) => {
        connected = false;
        status({ state: 'reconnecting', retryIn: 0 });
        if (event?.code === 4401) {
          liveSession = '';
          unauthorized();
        }
      },
    },
  });
  return {
    client,
    isConnected: () => connected,
    // setSession makes the connection carry session from now on: it
    // reconnects (its subscriptions with it) when the session changes.
    setSession(session) {
      if ((session || '') === liveSession) return;
      liveSession = session || '';
      client.terminate();
    },
    // onConnected runs f after every (re)connection; returns its removal.
    onConnected(f) {
      listeners.add(f);
      return () => listeners.delete(f);
    },
  };
}

// follow keeps the newest `max` transactions of iban, calling
// render(list, latest) whenever they change (newest first). It fills from
// history after every (re)connection, so whatever happened while the
// connection was down shows up once; the transaction id deduplicates.
export function follow(live, iban, max, render, onError, session = '') {
  const byId = new Map();
  let stopped = false;
  const emit = (fresh) => {
    const list = [...byId.values()].sort((a, b) => b.id - a.id).slice(0, max);
    byId.clear();
    for (const t of list) byId.set(t.id, t);
    render(list, fresh);
  };
  const add = (txs, fresh) => {
    let changed = false;
    for (const t of txs) {
      if (!byId.has(t.id)) {
        byId.set(t.id, t);
        changed = true;
      }
    }
    if (changed || fresh === null) emit(fresh);
  };
  const fill = async () => {
    try {
      const data = await gql(HISTORY, { iban, n: max }, session);
      if (!stopped) add(data.transactions_by_iban, null);
    } catch (e) {
      if (!stopped) onError?.(e);
    }
  };
  const unsubscribe = live.client.subscribe({ query: STREAM, variables: { iban } }, {
    next: ({ data, errors }) => {
      if (errors?.length) {
        const { code, reason } = failureOf(errors[0]);
        onError?.(new ApiError(explain(code, reason), { reason, code }));
      }
      if (data?.stream_transactions) add([data.stream_transactions], data.stream_transactions);
    },
    error: (e) => onError?.(e instanceof Error ? e : new Error('the live stream failed')),
    complete: () => {},
  });
  // The subscription starts a moment after the connection: fill once
  // then, and again shortly after, so nothing falls in between.
  const refill = () => {
    fill();
    setTimeout(() => !stopped && fill(), 1500);
  };
  const offConnected = live.onConnected(refill);
  if (live.isConnected()) refill();
  return () => {
    stopped = true;
    offConnected();
    unsubscribe();
  };
}
