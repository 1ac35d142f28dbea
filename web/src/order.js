// Transactions in order: by their id, which the bank gives in the order
// they happened.

// newestFirst orders transactions by id, the newest first.
export function newestFirst(a, b) {
  return b.transaction_id - a.transaction_id;
}
