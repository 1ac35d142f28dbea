// The page explains every failure code the API answers: codes.js is
// generated from contract/reasons.go, so a code added there fails here
// until reasons.js says what it means.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CODES } from '../../src/codes.js';
import { messages, explain, failureOf, SAY_AS_IS } from '../../src/reasons.js';

test('every code has an entry, and every entry a code', () => {
  for (const code of CODES) assert.ok(Object.hasOwn(messages, code), `reasons.js has no entry for ${code}`);
  for (const code of Object.keys(messages)) assert.ok(CODES.includes(code), `reasons.js explains ${code}, which the API no longer answers`);
});

test('every explanation is a sentence, with or without the API sentence', () => {
  for (const code of CODES) {
    for (const reason of ['', 'some sentence from the API in 7s']) {
      const s = explain(code, reason);
      assert.ok(s.length > 3 && !/undefined|null|\[object/.test(s), `${code} with ${JSON.stringify(reason)}: ${JSON.stringify(s)}`);
      if (messages[code] === SAY_AS_IS && reason) assert.equal(s, 'Some sentence from the API in 7s.');
    }
  }
});

test('limits and waits are read from the API sentence', () => {
  assert.equal(explain('INSUFFICIENT_FUNDS', 'insufficient funds would be below the limit of -€500,00'), 'Not enough money in the account: the balance must stay above \u2212€500,00.');
  assert.equal(explain('INSUFFICIENT_FUNDS', 'insufficient funds would be below the limit of €0,00'), 'Not enough money in the account: the balance must stay above €0,00.');
  assert.equal(explain('INSUFFICIENT_FUNDS', ''), 'Not enough money in the account: that would take it past its overdraft limit.');
  assert.equal(explain('AMOUNT_TOO_LARGE', 'amount may be at most €1.000.000,00 per transfer'), 'That is more than one transfer may move (at most €1.000.000,00).');
  assert.equal(explain('DEPOSIT_TOO_LARGE', 'a cash deposit may be at most €10.000,00'), 'That is more cash than one deposit may bring (at most €10.000,00).');
  assert.equal(explain('DAILY_DEPOSIT_LIMIT', 'cash deposits on an account may total at most €25.000,00 a day (UTC)'), "That would take today's cash deposits on this account over the daily limit (at most €25.000,00 a day).");
  assert.equal(explain('TOO_MANY_LOGINS', 'too many failed log-ins: try again in 12s'), 'Too many wrong passwords: wait 12 seconds before you try again.');
  assert.equal(explain('TOO_MANY_DEPOSITS', 'too many cash deposits from this address: not sent now; send the same money_transfer again (same uuid) in 3s'), 'Too many deposits from your address: wait 3 seconds and send it again.');
  assert.equal(explain('EMPLOYEE_PASSWORD_INVALID', 'invalid password'), 'Wrong employee password.');
});

test('a code the page does not know shows the API sentence', () => {
  assert.equal(explain('SOMETHING_NEWER', 'something new'), 'Something new.');
  assert.equal(explain('', ''), 'Something went wrong.');
  assert.deepEqual(failureOf({ message: 'not your account', extensions: { code: 'NOT_YOUR_ACCOUNT' } }), { code: 'NOT_YOUR_ACCOUNT', reason: 'not your account' });
  assert.deepEqual(failureOf({ message: 'boom' }), { code: '', reason: 'boom' });
});
