// Euros as people type them, cents as the API counts them. Amounts are
// whole cents end to end: no float ever holds money.

// The largest amount money_transfer takes: its argument is a GraphQL Int
// (32 bits) of cents.
export const MAX_CENTS = 2147483647;

// The minus sign the page writes (U+2212): screen readers say "minus",
// where a hyphen may be read as a dash.
export const MINUS = '\u2212';

const AMOUNT_HELP = 'For example 12,50 or 1.234,56.';

// parseEuros reads an amount in euros and returns { cents } or { error }
// saying what is wrong with it. It never rounds:
//   - a comma or a point followed by one or two digits at the end starts
//     the cents: 12,5 and 12.50 are €12,50;
//   - points group thousands, as the page writes amounts: 1.234 and
//     1.234,56; so do commas before a decimal point (1,234.56) or when
//     there are several (1,234,567);
//   - anything else with more than two digits after the last separator
//     is refused, not rounded: 0,001, 1.2345, and 12,345 (a lone comma
//     before three digits starts the cents to one reader and groups
//     thousands to another).
export function parseEuros(input) {
  const s = String(input ?? '').replace(/[\s\u00a0\u202f€]/g, '');
  if (s === '') return { error: 'Enter an amount in euros.' };
  if (/^[-\u2212]/.test(s)) return { error: 'The amount must be more than zero.' };
  if (!/^[0-9.,]+$/.test(s)) return { error: `Use digits only. ${AMOUNT_HELP}` };
  const last = Math.max(s.lastIndexOf('.'), s.lastIndexOf(','));
  const sepName = s[last] === ',' ? 'comma' : 'point';
  const after = last < 0 ? '' : s.slice(last + 1);
  if (last >= 0 && after === '') return { error: `Put the cents after the ${sepName}, or leave it out. ${AMOUNT_HELP}` };
  const hasCents = last >= 0 && after.length <= 2;
  const whole = wholeEuros(hasCents ? s.slice(0, last) : s, hasCents ? s[last] : '');
  if (whole.error === 'ambiguous') {
    return { error: 'At most two digits after the comma: amounts are not rounded. For thousands, write 1.234 or 1234.' };
  }
  if (whole.error && !hasCents && after.length >= 3) {
    return { error: `At most two digits after the ${sepName}: amounts are not rounded. ${AMOUNT_HELP}` };
  }
  if (whole.error) return { error: `That is not an amount: check the commas and points. ${AMOUNT_HELP}` };
  if (whole.digits.length > 10) return { error: tooMuch() };
  const cents = Number(whole.digits) * 100 + Number((hasCents ? after : '').padEnd(2, '0'));
  if (cents <= 0) return { error: 'The amount must be more than zero.' };
  if (cents > MAX_CENTS) return { error: tooMuch() };
  return { cents };
}

// wholeEuros reads the euros: plain digits, or groups of three after a
// first group of one to three digits, all with one separator that is not
// the cents' one. A lone comma grouping thousands with no cents is
// 'ambiguous'.
function wholeEuros(whole, centsSep) {
  if (whole === '') return { digits: '0' };
  if (/^\d+$/.test(whole)) return { digits: whole };
  const seps = [...new Set(whole.replace(/\d/g, ''))];
  const sep = seps[0];
  if (seps.length !== 1 || sep === centsSep || !new RegExp(`^[1-9]\\d{0,2}(\\${sep}\\d{3})+$`).test(whole)) return { error: 'malformed' };
  if (sep === ',' && centsSep === '' && whole.indexOf(',') === whole.lastIndexOf(',')) return { error: 'ambiguous' };
  return { digits: whole.split(sep).join('') };
}

function tooMuch() {
  return `At most ${formatCents(MAX_CENTS)} per transfer.`;
}

// formatCents writes cents the way the API does: €1.234,56, -€0,05.
export function formatCents(cents) {
  const n = Math.trunc(Number(cents));
  const abs = Math.abs(n);
  const euros = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  return `${n < 0 ? '-' : ''}€${euros},${String(abs % 100).padStart(2, '0')}`;
}

// showCents writes cents for people: as formatCents, with a real minus
// sign (−€227,50).
export function showCents(cents) {
  return formatCents(cents).replace(/^-/, MINUS);
}

// showAmount writes an API amount string (-€5,00) for people.
export function showAmount(s) {
  return String(s ?? '').replace(/^-/, MINUS);
}
