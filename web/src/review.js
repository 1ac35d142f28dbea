// What the transfer review step says, and what the page says about a
// transfer's outcome: pure functions of the transfer and the failure
// code, so unit tests read every sentence.
import { showCents } from './money.js';
import { euroWords } from './words.js';
import { groupIBAN, isOpenIBAN } from './iban.js';
import { explain } from './reasons.js';

// reviewTransfer describes a transfer before it is sent:
//   from: { iban, balanceCents, limitCents }   the paying account (the
//         user's) and its overdraft limit (negative; unknown if absent)
//   to: the IBAN (normalised), amountCents, descr
//   own: the IBANs of the user's accounts
// It returns { rows: [{ label, value, note }], warnings: [string],
// confirm: the button's text, afterCents: the balance after it }.
export function reviewTransfer({ from, to, amountCents, descr, own = [] }) {
  const afterCents = from.balanceCents - amountCents;
  const outside = !isOpenIBAN(to);
  const rows = [
    { label: 'From', value: groupIBAN(from.iban), note: `your account, balance ${showCents(from.balanceCents)}` },
    { label: 'To', value: groupIBAN(to), note: destination(to, own) },
    { label: 'Amount', value: showCents(amountCents), note: euroWords(amountCents) },
    { label: 'Description', value: descr || 'none', note: descr ? '' : 'The recipient sees no description.' },
  ];
  const warnings = [];
  if (outside) {
    warnings.push('This account is outside Open Bank: the money leaves Open Bank when you send it and cannot be called back here. Check the IBAN with the recipient.');
  }
  if (from.limitCents !== undefined && from.limitCents !== null && afterCents <= from.limitCents) {
    warnings.push(`The bank will refuse this: the balance must stay above its overdraft limit of ${showCents(from.limitCents)}, and this would take it to ${showCents(afterCents)}.`);
  } else if (afterCents < 0) {
    warnings.push(belowZero(from.balanceCents, afterCents, from.limitCents));
  }
  return { rows, warnings, confirm: `Send ${showCents(amountCents)}`, afterCents, outside };
}

// destination says whose the IBAN is, as far as the page knows.
function destination(to, own) {
  if (own.includes(to)) return 'your own account at Open Bank';
  if (isOpenIBAN(to)) return 'an account at Open Bank';
  return 'outside Open Bank: an account at another bank';
}

function belowZero(beforeCents, afterCents, limitCents) {
  const to = showCents(afterCents);
  const limit = limitCents === undefined || limitCents === null ? 'its overdraft limit' : `its overdraft limit of ${showCents(limitCents)}`;
  return beforeCents < 0
    ? `The balance is already below zero: this takes it further into overdraft, to ${to}. The bank refuses a transfer that would take it to ${limit} or beyond.`
    : `This takes the balance below zero, to ${to}: the account goes into overdraft. The bank refuses a transfer that would take it to ${limit} or beyond.`;
}

// The codes with which a transfer between accounts of Open Bank fails
// after its money left the paying account: the credit failed, and the
// money came back.
const RETURNED = new Set(['ACCOUNT_UNKNOWN', 'MONEY_RETURNED', 'BALANCE_TOO_LARGE']);

// transferFailure says why a transfer failed (code and sentence from the
// API), in the words of the customer who sent it.
export function transferFailure({ code, reason, to, amountCents }) {
  const amount = showCents(amountCents);
  const where = groupIBAN(to);
  if (RETURNED.has(code) && isOpenIBAN(to)) {
    const why = code === 'ACCOUNT_UNKNOWN' ? `There is no account ${where} at Open Bank, so nothing was paid.`
      : code === 'BALANCE_TOO_LARGE' ? `The account ${where} cannot hold that much more money, so nothing was paid.`
        : `The account ${where} could not take the money, so nothing was paid.`;
    return `Transfer failed. ${why} The ${amount} taken from your account came back to it: your transactions show both.`;
  }
  return `Transfer failed: ${explain(code, reason)}`;
}

// transferSent says a transfer arrived (or left the bank).
export function transferSent({ to, amountCents }) {
  return isOpenIBAN(to)
    ? `Sent ${showCents(amountCents)} to ${groupIBAN(to)}.`
    : `Sent ${showCents(amountCents)} to ${groupIBAN(to)}, outside Open Bank.`;
}
