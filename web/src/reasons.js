// What the API's failures mean to someone using the bank, by their stable
// codes (reason_code in results, extensions.code on errors; the list is
// generated from contract/reasons.go into codes.js). A test checks that
// every code has an entry here. An entry is a sentence, a function of the
// API's own sentence (for the ones that carry a limit or a wait), or
// SAY_AS_IS: the API's sentence is already right for people.
export const SAY_AS_IS = null;

const MINUS = '\u2212';

const after = (text, re, fallback) => text?.match(re)?.[1] ?? fallback;
const wait = (text) => {
  const s = after(text, /in (\d+)s\b/, '');
  return s ? `${s} seconds` : 'a minute';
};
const TAKEN = 'This username is taken: log in with its password, or choose another.';
const NO_ACCOUNT = 'There is no account with this IBAN at Open Bank.';
const NO_USER = 'There is no user with that name.';
const SLOW = 'The bank did not answer in time; it is still working on it. Try again in a moment.';
const BUSY = 'You have too many live views open: close one, or try again later.';

export const messages = {
  ACCOUNT_NOT_FOUND: NO_ACCOUNT,
  ACCOUNT_UNKNOWN: NO_ACCOUNT,
  ALREADY_OWNER: 'That user already owns this account.',
  AMOUNT_NOT_POSITIVE: 'The amount must be more than zero.',
  AMOUNT_TOO_LARGE: (t) => `That is more than one transfer may move (at most ${after(t, /at most (.+) per transfer/, 'the limit')}).`,
  AS_OF_INVALID: 'Pick one point in time: a transaction or a date.',
  BALANCE_TOO_LARGE: 'That would put more money on the account than it can hold.',
  CASH_NEEDS_OWNER: 'Only the account\'s owners (or an employee) can deposit cash on it.',
  CASH_TO_OUTSIDE: 'Cash can only be deposited on an account of Open Bank.',
  COMPLEXITY_LIMIT_EXCEEDED: 'That asks for too much at once: ask for fewer items.',
  CURSOR_INVALID: 'That page is no longer available: start again from the newest.',
  DAILY_DEPOSIT_LIMIT: (t) => `That would take today's cash deposits on this account over the daily limit (at most ${after(t, /at most (.+?) a day/, 'the limit')} a day).`,
  DEPOSIT_TOO_LARGE: (t) => `That is more cash than one deposit may bring (at most ${after(t, /at most (.+)$/, 'the limit')}).`,
  DESCRIPTION_INVALID: 'Keep the description to one line of at most 140 characters.',
  EMPLOYEES_ONLY: 'Only employees may see this: log in as an employee.',
  EMPLOYEE_PASSWORD_INVALID: 'Wrong employee password.',
  FIELD_TOO_LONG: 'One of the fields is too long: check the IBAN.',
  FROM_INVALID: 'The account to send from is not an account of Open Bank.',
  IBAN_EXISTS: 'That IBAN is already taken; try again.',
  IBAN_INVALID: 'That IBAN is not valid: check it for typos.',
  INSUFFICIENT_FUNDS: (t) => {
    const limit = after(t, /limit of (-?€[\d.,]+)/, '');
    return `Not enough money in the account: ${limit ? `the balance must stay above ${limit.replace(/^-/, MINUS)}` : 'that would take it past its overdraft limit'}.`;
  },
  KAFKA_UNAVAILABLE: 'The bank cannot reach its message broker right now. Nothing was lost; try again in a moment.',
  LAST_OWNER_BALANCE: 'Empty the account before you leave it: you are its last owner.',
  LOGIN_INVALID: 'Wrong username or password. New here? Choose Create a new user.',
  MARKED_FAILED: (t) => `An operator ended this transfer: ${t || 'no reason given'}.`,
  MAX_ITEMS_INVALID: 'Show between 1 and 1000 transactions.',
  MODEL_BEHIND: SLOW,
  MODEL_UNAVAILABLE: 'The bank cannot look this up right now; try again in a moment.',
  MONEY_RETURNED: 'The money could not be credited to the other account and was returned to yours.',
  NOTHING_TO_RETURN: 'The money of this transfer arrived; there is nothing to return.',
  NOT_AUTHORIZED: 'This account does not accept your token: log out and in again.',
  NOT_LOGGED_IN: 'Your session ended: log in again.',
  NOT_YOUR_ACCOUNT: 'That account is not one of yours.',
  NO_ANSWER: SLOW,
  NO_EMPLOYEES: 'Employee log-in is not set up on this bank (the gateway needs --employee-password).',
  NO_OUTCOME: SLOW,
  ONE_LOG_IN_PER_REQUEST: SAY_AS_IS,
  PAGE_SIZE_INVALID: SAY_AS_IS,
  PASSWORD_EMPTY: 'Choose a password of 1 to 72 characters.',
  PASSWORD_HASH_INVALID: 'Choose a password of 1 to 72 characters.',
  PASSWORD_INVALID: 'Choose a password of 1 to 72 characters.',
  QUERY_TOO_DEEP: SAY_AS_IS,
  QUERY_UNKNOWN: SAY_AS_IS,
  RESPONSE_TOO_LARGE: 'That answer would be too large: ask for fewer transactions.',
  RULE_EXISTS: 'That alert rule already exists.',
  RULE_ID_INVALID: 'That is not an alert rule of this account.',
  RULE_INVALID: SAY_AS_IS,
  RULE_UNKNOWN: 'That alert rule no longer exists.',
  SAME_FROM_TO: 'Choose another account to send the money to.',
  STREAM_NEEDS_IBAN: 'Choose one of your accounts to follow.',
  SUBSCRIBER_TOO_SLOW: 'The live view fell behind and stopped: reload the page.',
  SUBSCRIPTION_NEEDS_WEBSOCKET: SAY_AS_IS,
  TIME_INVALID: 'That is not a date and time the bank understands.',
  TOO_MANY_ALIASES: SAY_AS_IS,
  TOO_MANY_DEPOSITS: (t) => `Too many deposits from your address: wait ${wait(t)} and send it again.`,
  TOO_MANY_LOGINS: (t) => `Too many wrong passwords: wait ${wait(t)} before you try again.`,
  TOO_MANY_RULES: 'An account has at most 20 alert rules: delete one first.',
  TOO_MANY_SIGN_UPS: (t) => `Too many tries from your address: wait ${wait(t)} and try again.`,
  TOO_MANY_SUBSCRIPTIONS: BUSY,
  TO_INVALID: 'That IBAN is not valid: check it for typos.',
  TRANSACTION_NOT_FOUND: 'There is no such transaction.',
  TRANSFER_ALREADY_STARTED: 'This transfer was already sent.',
  TRANSFER_ENDED: 'This transfer has already ended.',
  TRANSFER_NOT_FOUND: 'There is no such transfer.',
  TRANSFER_STATE: SAY_AS_IS,
  TRANSFER_UNKNOWN: 'There is no such transfer.',
  UNKNOWN_REASON: SAY_AS_IS,
  USERNAME_INVALID: 'Choose a username of 1 to 64 characters (letters, digits, punctuation).',
  USERNAME_TAKEN: TAKEN,
  USER_EXISTS: TAKEN,
  USER_NOT_FOUND: NO_USER,
  USER_UNKNOWN: NO_USER,
  UUID_INVALID: 'The transfer could not be identified; try again.',
  WEBHOOK_NOT_PUBLIC: SAY_AS_IS,
};

// explain turns an API failure (its code and sentence) into a sentence for
// the page. A code this page does not know (a newer bank) shows the
// API's sentence.
export function explain(code, reason = '') {
  const m = messages[code];
  if (typeof m === 'function') return m(reason);
  if (m) return m;
  if (!reason) return 'Something went wrong.';
  return reason.charAt(0).toUpperCase() + reason.slice(1) + (/[.!?]$/.test(reason) ? '' : '.');
}

// failure reads the failure of a GraphQL error: its code and sentence.
export function failureOf(error) {
  return { code: error?.extensions?.code ?? '', reason: error?.message ?? '' };
}
