// The GraphQL API over HTTP. The gateway serving this page answers on
// /graphql; a page served elsewhere names its gateway in
// <meta name="openbank-api">.
import { explain, failureOf } from './reasons.js';

export const apiURL = (() => {
  const meta = document.querySelector('meta[name="openbank-api"]')?.content?.trim();
  return new URL(meta || '/graphql', location.href).href;
})();

export const wsURL = apiURL.replace(/^http/, 'ws');

// ApiError is a failure to show as is: message is for people.
export class ApiError extends Error {
  constructor(message, { auth = false, network = false, reason = '', code = '' } = {}) {
    super(message);
    this.auth = auth;
    this.network = network;
    this.reason = reason; // the API's own words, when it gave a reason
    this.code = code; // its stable code (contract/reasons.go)
  }
}

// gql runs one operation and returns its data; any error becomes an
// ApiError whose message explains it.
export async function gql(query, variables = {}, session = '') {
  const headers = { 'Content-Type': 'application/json' };
  if (session) headers.Authorization = `Bearer ${session}`;
  let res;
  try {
    res = await fetch(apiURL, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new ApiError('The bank cannot be reached: check your connection and try again.', { network: true });
  }
  if (res.status === 401) throw new ApiError('Your session has ended: log in again.', { auth: true });
  let body;
  try {
    body = await res.json();
  } catch {
    throw new ApiError(`The bank answered with an error (HTTP ${res.status}); try again in a moment.`, { network: res.status >= 500 });
  }
  if (body.errors?.length) {
    const { code, reason } = failureOf(body.errors[0]);
    throw new ApiError(explain(code, reason), { auth: code === 'NOT_LOGGED_IN' || code === 'EMPLOYEES_ONLY', reason, code });
  }
  if (!res.ok) throw new ApiError(`The bank answered with an error (HTTP ${res.status}).`);
  return body.data;
}
