// Appended to GraphiQL's bundle by build.mjs. GraphiQL's UMD build cannot
// load graphql-ws by itself, so given only a subscription URL (what gqlgen's
// page passes) it sends subscriptions over HTTP POST, which the gateway
// refuses ("subscriptions are served over websockets only"). This gives it
// a graphql-ws client (graphql-transport-ws) for that URL.
//
// GraphiQL also decides between HTTP and websockets by the document it
// parsed from the editor, and it parses after a pause in typing: a query
// run within ~100 ms of pasting went with the document before it (none,
// or the last one), so a subscription went over HTTP. The fetcher here
// parses the query it is given, the text that is sent, and decides by it.
import { createClient } from 'graphql-ws';
import { parse } from 'graphql/language/parser.mjs';

const { createFetcher } = window.GraphiQL;
window.GraphiQL.createFetcher = (options) => {
  const fetcher = createFetcher({
    ...options,
    wsClient: options.wsClient ?? (options.subscriptionUrl
      ? createClient({ url: options.subscriptionUrl, lazy: true, retryAttempts: 5 })
      : undefined),
  });
  return (params, opts) => {
    let documentAST;
    try {
      documentAST = parse(params.query);
    } catch {
      return fetcher(params, opts); // the server explains the syntax error
    }
    // The operation name comes from the same late parse: a document of
    // one operation names it itself.
    const ops = documentAST.definitions.filter((d) => d.kind === 'OperationDefinition');
    const operationName = ops.length === 1 ? ops[0].name?.value : params.operationName;
    return fetcher({ ...params, operationName }, { ...opts, documentAST });
  };
};
