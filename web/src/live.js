// The page's live connection over graphql-transport-ws (the graphql-ws
// client): one per page, opened while something is watched, reconnecting
// with back-off when the gateway goes away.
import { createClient } from 'graphql-ws';
import { wsURL } from './api.js';

// connect opens the page's connection; status({state, retryIn}) hears of
// it: 'idle' (nothing is watched, so no connection is needed),
// 'connecting', 'live', or 'reconnecting' in retryIn ms. unauthorized()
// runs when the gateway closes it with 4401: the session was revoked or
// expired.
export function connect(status, unauthorized = () => {}) {
  let session = '';
  let connected = false;
  let watching = 0;
  const listeners = new Set();
  const say = (s) => status(watching > 0 ? s : { state: 'idle' });
  const client = createClient(options({
    session: () => session,
    say,
    connected: () => {
      connected = true;
      say({ state: 'live' });
      for (const l of [...listeners]) l();
    },
    // A lazy connection closes when the last subscription ends: that is
    // no outage, and nothing is said of it.
    closed: (event) => {
      connected = false;
      say({ state: 'reconnecting', retryIn: 0 });
      if (event?.code === 4401) {
        session = '';
        unauthorized();
      }
    },
  }));
  status({ state: 'idle' });
  return {
    isConnected: () => connected,
    // setSession makes the connection carry session from now on: it
    // reconnects (its subscriptions with it) when the session changes.
    setSession(s) {
      if ((s || '') === session) return;
      session = s || '';
      client.terminate();
    },
    // onConnected runs f after every (re)connection; returns its removal.
    onConnected(f) {
      listeners.add(f);
      return () => listeners.delete(f);
    },
    // subscribe runs a subscription (graphql-ws's sink: next, error,
    // complete) and returns its end. While any runs, the status is shown.
    subscribe(payload, sink) {
      watching += 1;
      if (watching === 1) say({ state: connected ? 'live' : 'connecting' });
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        watching -= 1;
        if (watching === 0) status({ state: 'idle' });
      };
      const stop = client.subscribe(payload, {
        next: sink.next,
        error: (e) => { end(); sink.error?.(e); },
        complete: () => { end(); sink.complete?.(); },
      });
      return () => { stop(); end(); };
    },
  };
}

// options configures graphql-ws: lazy (open while something is watched),
// the session in connection_init, keep-alive pings, and retries for ever
// with exponential back-off and jitter, at most ~15 s apart.
function options({ session, say, connected, closed }) {
  return {
    url: wsURL,
    lazy: true,
    connectionParams: () => (session() ? { Authorization: `Bearer ${session()}` } : {}),
    keepAlive: 10_000,
    retryAttempts: Number.MAX_SAFE_INTEGER,
    shouldRetry: () => true,
    retryWait: async (retries) => {
      const ms = Math.min(15_000, 500 * 2 ** retries) * (0.5 + Math.random() / 2);
      say({ state: 'reconnecting', retryIn: ms });
      await new Promise((r) => setTimeout(r, ms));
      say({ state: 'connecting' });
    },
    on: { connecting: () => say({ state: 'connecting' }), connected, closed },
  };
}
