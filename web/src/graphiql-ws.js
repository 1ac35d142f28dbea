// Appended to GraphiQL's bundle by build.mjs. GraphiQL's UMD build cannot
// load graphql-ws by itself, so given only a subscription URL (what gqlgen's
// page passes) it sends subscriptions over HTTP POST, which answers once.
// This gives it a graphql-ws client (graphql-transport-ws) for that URL.
import { createClient } from 'graphql-ws';

const { createFetcher } = window.GraphiQL;
window.GraphiQL.createFetcher = (options) => createFetcher({
  ...options,
  wsClient: options.wsClient ?? (options.subscriptionUrl
    ? createClient({ url: options.subscriptionUrl, lazy: true, retryAttempts: 5 })
    : undefined),
});
