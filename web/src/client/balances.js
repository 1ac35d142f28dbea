// Which balance figure is the newest: a live transaction's, or a read of
// the accounts (`me`). A transaction carries its id, so the newer of two
// is known; a read does not, so a balance that changed live while the
// read was on its way keeps the live figure (the read may be older). Pure
// logic, tested on its own.

// balanceBook returns apply(account, tx), reading() and settle(token,
// accounts, previous).
export function balanceBook() {
  let updates = 0; // live changes taken, counted
  const latest = new Map(); // iban → { tx: newest transaction id taken, at: updates then }
  return {
    // apply takes a transaction into its account (an object with
    // balance, balance_cents) unless a newer one is in; it answers
    // whether it did.
    apply(account, t) {
      const seen = latest.get(t.iban);
      if (!account || (seen && seen.tx >= t.transaction_id)) return false;
      updates += 1;
      latest.set(t.iban, { tx: t.transaction_id, at: updates });
      account.balance = t.new_balance;
      account.balance_cents = t.new_balance_cents;
      return true;
    },
    // reading marks the start of a read; settle takes its answer.
    reading: () => updates,
    // settle keeps, in the accounts a read answered, the live figure of
    // every account that changed live since the read started (previous:
    // the accounts as held before, by IBAN).
    settle(token, accounts, previous) {
      for (const a of accounts) {
        const seen = latest.get(a.iban);
        const prev = previous.get(a.iban);
        if (seen && seen.at > token && prev) {
          a.balance = prev.balance;
          a.balance_cents = prev.balance_cents;
        }
      }
      return accounts;
    },
  };
}
