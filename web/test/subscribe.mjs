// A subscriber no one here wrote: the graphql-ws npm client (the
// graphql-transport-ws protocol). Used by the Go tests:
//
//   node subscribe.mjs URL QUERY VARIABLES_JSON COUNT [AUTHORIZATION]
//
// prints each result as one JSON line and exits after COUNT results (0 on
// success); errors go to stderr, exit 1. The tests see the subscription
// start on the gateway's side.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, query, variables, count, authorization] = process.argv.slice(2);
let left = Number(count);

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  retryAttempts: 0,
  lazy: false,
  connectionParams: authorization ? { Authorization: authorization } : {},
});

const fail = (err) => {
  const msg = err instanceof Error ? err.message : (err?.reason || JSON.stringify(err));
  console.error('subscribe:', msg, err?.code ?? '');
  process.exit(1);
};

client.on('closed', (event) => {
  if (left > 0) fail({ reason: `closed ${event.code} ${event.reason}`, code: event.code });
});

client.subscribe(
  { query, variables: JSON.parse(variables || '{}') },
  {
    next: (result) => {
      console.log(JSON.stringify(result));
      if (--left === 0) {
        client.dispose();
        process.exit(0);
      }
    },
    error: fail,
    complete: () => { if (left > 0) fail({ reason: 'completed early' }); },
  },
);
