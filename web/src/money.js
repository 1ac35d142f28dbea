// Euros as people type them, cents as the API counts them. Amounts are
// whole cents end to end: no float ever holds money.

// The largest amount money_transfer takes: its argument is a GraphQL Int
// (32 bits) of cents.
export const MAX_CENTS = 2147483647;

// parseEuros reads an amount in euros ("12", "12,50", "12.5", "1.234,56",
// "1,234.56", "€ 7") and returns { cents } or { error } saying what is
// wrong with it.
export function parseEuros(input) {
  const s = String(input ?? '').replace(/[\s\u00a0€]/g, '');
  if (s === '') return { error: 'Enter an amount in euros.' };
  if (s.startsWith('-')) return { error: 'The amount must be more than zero.' };
  if (!/^[0-9.,]+$/.test(s)) return { error: 'Use digits, with a comma or a point before the cents (e.g. 12,50).' };
  let whole = s;
  let frac = '';
  const lastSep = Math.max(s.lastIndexOf('.'), s.lastIndexOf(','));
  // A separator followed by one or two digits starts the cents; followed
  // by three it groups thousands (1.234 is €1.234,00, as the preview shows).
  if (lastSep >= 0 && s.length - lastSep - 1 <= 2) {
    whole = s.slice(0, lastSep);
    frac = s.slice(lastSep + 1);
    // The cents' separator can't also group thousands: 12,345,6 is a typo.
    if (whole.includes(s[lastSep])) return { error: 'That is not an amount: check the commas and points.' };
  }
  if (whole !== '' && !/^\d{1,3}([.,]\d{3})*$/.test(whole) && !/^\d+$/.test(whole)) {
    return { error: 'That is not an amount: put at most two digits after the comma or point.' };
  }
  const digits = whole.replace(/[.,]/g, '') || '0';
  if (digits.length > 10) return { error: tooMuch() };
  const cents = Number(digits) * 100 + Number(frac.padEnd(2, '0'));
  if (cents <= 0) return { error: 'The amount must be more than zero.' };
  if (cents > MAX_CENTS) return { error: tooMuch() };
  return { cents };
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
