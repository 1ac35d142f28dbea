// IBANs as the command handler checks them (topology/iban): two letters,
// two check digits, up to 30 letters or digits, mod-97 check.

// normalizeIBAN drops spaces and upper-cases, as people paste IBANs.
export function normalizeIBAN(s) {
  return String(s ?? '').replace(/\s+/g, '').toUpperCase();
}

export function validIBAN(s) {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s)) return false;
  const check = s.slice(2, 4);
  if (check === '00' || check === '01' || check === '99') return false;
  const moved = s.slice(4) + s.slice(0, 4);
  let rest = 0;
  for (const c of moved) {
    const v = c >= 'A' ? String(c.charCodeAt(0) - 55) : c;
    for (const d of v) rest = (rest * 10 + Number(d)) % 97;
  }
  return rest === 1;
}

// isOpenIBAN: an account of this bank (NL, OPEN, ten digits).
export function isOpenIBAN(s) {
  return /^NL\d{2}OPEN\d{10}$/.test(s) && validIBAN(s);
}

// groupIBAN writes an IBAN in groups of four for reading aloud.
export function groupIBAN(s) {
  return s.replace(/(.{4})(?=.)/g, '$1 ');
}
