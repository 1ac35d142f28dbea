// Dates as the page writes them: day, month and year, and the time in 24
// hours, in the reader's time zone (27 Nov 2026, 15:10), whatever the
// browser's language, as the amounts are written one way too.

const full = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
const withSeconds = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const day = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });

// showDate writes an RFC 3339 time; '' for none (history written before
// times were kept) or one that does not parse.
export function showDate(at, { seconds = false } = {}) {
  const t = at ? new Date(at) : null;
  if (!t || Number.isNaN(t.getTime())) return '';
  return (seconds ? withSeconds : full).format(t);
}

// showDay writes the day of a time in ms.
export function showDay(ms) {
  return day.format(new Date(ms));
}

// toLocalInput writes a time (ms) for an <input type="datetime-local">.
export function toLocalInput(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// fromLocalInput reads an <input type="datetime-local"> (the reader's
// time zone) as RFC 3339 in UTC; '' when empty or invalid.
export function fromLocalInput(value) {
  if (!value) return '';
  const t = new Date(value);
  return Number.isNaN(t.getTime()) ? '' : t.toISOString();
}
