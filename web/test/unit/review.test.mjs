// The transfer review step and the outcome sentences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reviewTransfer, transferFailure, transferSent } from '../../src/review.js';
import { euroWords, numberWords } from '../../src/words.js';

const mine = 'NL66OPEN0000000000';
const bank = 'NL31OPEN9999999999';
const outside = 'NL91ABNA0417164300';

test('amounts in words', () => {
  const cases = [[1, 'one cent'], [100, 'one euro'], [101, 'one euro and one cent'], [1250, 'twelve euros and fifty cents'],
    [123456, 'one thousand two hundred thirty-four euros and fifty-six cents'], [200000, 'two thousand euros'],
    [2147483647, 'twenty-one million four hundred seventy-four thousand eight hundred thirty-six euros and forty-seven cents'],
    [10000000, 'one hundred thousand euros'], [9000, 'ninety euros'], [11900, 'one hundred nineteen euros']];
  for (const [cents, words] of cases) assert.equal(euroWords(cents), words, String(cents));
  assert.equal(numberWords(0), 'zero');
  assert.equal(numberWords(1_000_001), 'one million one');
  assert.throws(() => numberWords(-1));
});

test('the review of a transfer outside Open Bank says so plainly', () => {
  const r = reviewTransfer({ from: { iban: mine, balanceCents: 10000 }, to: outside, amountCents: 100, descr: '', own: [mine] });
  assert.deepEqual(r.rows.map((x) => [x.label, x.value, x.note]), [
    ['From', 'NL66 OPEN 0000 0000 00', 'your account, balance €100,00'],
    ['To', 'NL91 ABNA 0417 1643 00', 'outside Open Bank: an account at another bank'],
    ['Amount', '€1,00', 'one euro'],
    ['Description', 'none', 'The recipient sees no description.'],
  ]);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0], /^This account is outside Open Bank: the money leaves Open Bank/);
  assert.equal(r.confirm, 'Send €1,00');
  assert.ok(r.outside);
});

test('the review warns before the balance goes below zero', () => {
  const r = reviewTransfer({ from: { iban: mine, balanceCents: 97250 }, to: bank, amountCents: 120000, descr: 'rent', own: [mine] });
  assert.equal(r.afterCents, -22750);
  assert.deepEqual(r.warnings, ['This takes the balance below zero, to \u2212€227,50: the account goes into overdraft. The bank refuses a transfer that would take it to its overdraft limit or beyond.']);
  assert.equal(r.rows[1].note, 'an account at Open Bank');
  const again = reviewTransfer({ from: { iban: mine, balanceCents: -100 }, to: bank, amountCents: 100, descr: 'x' });
  assert.match(again.warnings[0], /^The balance is already below zero: this takes it further into overdraft, to \u2212€2,00\./);
  const exact = reviewTransfer({ from: { iban: mine, balanceCents: 100 }, to: bank, amountCents: 100, descr: 'x' });
  assert.deepEqual(exact.warnings, [], 'to zero is not below zero');
});

test('the review names the overdraft limit, and says when the bank will refuse', () => {
  const into = reviewTransfer({ from: { iban: mine, balanceCents: 97250, limitCents: -50000 }, to: bank, amountCents: 120000, descr: 'rent' });
  assert.deepEqual(into.warnings, ['This takes the balance below zero, to \u2212€227,50: the account goes into overdraft. The bank refuses a transfer that would take it to its overdraft limit of \u2212€500,00 or beyond.']);
  const past = reviewTransfer({ from: { iban: mine, balanceCents: 97250, limitCents: -50000 }, to: bank, amountCents: 200000, descr: 'rent' });
  assert.deepEqual(past.warnings, ['The bank will refuse this: the balance must stay above its overdraft limit of \u2212€500,00, and this would take it to \u2212€1.027,50.']);
  const atLimit = reviewTransfer({ from: { iban: mine, balanceCents: 0, limitCents: -50000 }, to: bank, amountCents: 50000, descr: 'x' });
  assert.match(atLimit.warnings[0], /^The bank will refuse this/, 'to the limit itself is refused');
});

test('the review names the user\'s own accounts', () => {
  const other = 'NL27OPEN0000000001';
  const r = reviewTransfer({ from: { iban: mine, balanceCents: 500 }, to: other, amountCents: 100, descr: 'savings', own: [mine, other] });
  assert.equal(r.rows[1].note, 'your own account at Open Bank');
  assert.equal(r.rows[3].value, 'savings');
  assert.equal(r.rows[3].note, '');
});

test('a failed transfer is explained in the customer\'s words', () => {
  assert.equal(transferFailure({ code: 'ACCOUNT_UNKNOWN', reason: 'account does not exist', to: bank, amountCents: 100 }),
    'Transfer failed. There is no account NL31 OPEN 9999 9999 99 at Open Bank, so nothing was paid. The €1,00 taken from your account came back to it: your transactions show both.');
  assert.match(transferFailure({ code: 'MONEY_RETURNED', reason: '', to: bank, amountCents: 100 }), /could not take the money, so nothing was paid\. The €1,00 taken from your account came back/);
  assert.equal(transferFailure({ code: 'INSUFFICIENT_FUNDS', reason: 'insufficient funds would be below the limit of -€500,00', to: bank, amountCents: 200000 }),
    'Transfer failed: Not enough money in the account: the balance must stay above \u2212€500,00.');
  assert.equal(transferSent({ to: outside, amountCents: 500 }), 'Sent €5,00 to NL91 ABNA 0417 1643 00, outside Open Bank.');
  assert.equal(transferSent({ to: bank, amountCents: 1250 }), 'Sent €12,50 to NL31 OPEN 9999 9999 99.');
});
