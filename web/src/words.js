// Amounts in words, as a cheque writes them, so the review step says the
// amount a second way: a slip of a separator (1.000 for 1,00) shows.

const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten',
  'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const SCALES = [[1e9, 'billion'], [1e6, 'million'], [1e3, 'thousand']];

// numberWords writes a whole number from 0 below 10^12 in English words:
// 1234 is "one thousand two hundred thirty-four".
export function numberWords(n) {
  if (!Number.isSafeInteger(n) || n < 0 || n >= 1e12) throw new RangeError(`numberWords: ${n}`);
  if (n === 0) return ONES[0];
  const parts = [];
  let rest = n;
  for (const [size, name] of SCALES) {
    if (rest >= size) {
      parts.push(`${below1000(Math.floor(rest / size))} ${name}`);
      rest %= size;
    }
  }
  if (rest > 0) parts.push(below1000(rest));
  return parts.join(' ');
}

function below1000(n) {
  const parts = [];
  if (n >= 100) {
    parts.push(`${ONES[Math.floor(n / 100)]} hundred`);
    n %= 100;
  }
  if (n >= 20) parts.push(TENS[Math.floor(n / 10)] + (n % 10 ? `-${ONES[n % 10]}` : ''));
  else if (n > 0) parts.push(ONES[n]);
  return parts.join(' ');
}

// euroWords writes a positive amount of cents in words: 123456 is "one
// thousand two hundred thirty-four euros and fifty-six cents".
export function euroWords(cents) {
  const n = Math.abs(Math.trunc(Number(cents)));
  const euros = Math.floor(n / 100);
  const c = n % 100;
  const e = euros === 0 ? '' : `${numberWords(euros)} euro${euros === 1 ? '' : 's'}`;
  const ct = c === 0 ? '' : `${numberWords(c)} cent${c === 1 ? '' : 's'}`;
  return [e, ct].filter(Boolean).join(' and ') || 'zero euros';
}
