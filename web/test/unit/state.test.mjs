// The page's state kept apart from its drawing: history pages, balances
// from reads and live transactions, the audit view's place in the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { historyList, PAGE, CATCH_UP_PAGES } from '../../src/client/history-list.js';
import { balanceBook } from '../../src/client/balances.js';
import { auditCursor } from '../../src/employee/audit-log.js';

// A bank's history of n transactions, answered as history does: newest
// first, a page at a time, the cursor the id of the page's last one.
function bank(n) {
  const txs = [];
  const add = () => txs.push({ transaction_id: txs.length + 1 });
  for (let i = 0; i < n; i++) add();
  const reads = [];
  const fetchPage = async ({ first, after = null }) => {
    reads.push(after);
    const older = txs.filter((t) => after === null || t.transaction_id < Number(after)).reverse();
    const items = older.slice(0, first);
    const hasMore = older.length > first;
    return { items, has_more: hasMore, next: hasMore ? String(items.at(-1).transaction_id) : null };
  };
  return { txs, add, fetchPage, reads };
}
const ids = (list) => list.map((t) => t.transaction_id);

test('history: the newest page, then older ones on demand, each once', async () => {
  const b = bank(45);
  const h = historyList(b.fetchPage);
  await h.fill();
  assert.deepEqual(ids(h.list()), Array.from({ length: PAGE }, (_, i) => 45 - i));
  assert.ok(h.hasMore());
  await h.more();
  await h.more();
  assert.deepEqual(ids(h.list()), Array.from({ length: 45 }, (_, i) => 45 - i));
  assert.ok(!h.hasMore());
});

test('history: live ones are added once; after a reconnection the missed ones are read down to what is held', async () => {
  const b = bank(30);
  const h = historyList(b.fetchPage);
  await h.fill();
  b.add();
  assert.ok(h.add(b.txs.at(-1)));
  assert.ok(!h.add(b.txs.at(-1)), 'a repeat is added');
  for (let i = 0; i < 25; i++) b.add(); // missed while the connection was down
  b.reads.length = 0;
  await h.fill();
  assert.deepEqual(b.reads, [null, '37'], 'it reads down to the held ones, no further');
  const got = ids(h.list());
  assert.equal(new Set(got).size, got.length, 'held twice');
  assert.deepEqual(got.slice(0, 27), Array.from({ length: 27 }, (_, i) => 56 - i));
  assert.ok(h.hasMore(), 'the oldest ten are still to come');
});

test('history: a gap too long to read at once is left for "more"', async () => {
  const b = bank(25);
  const h = historyList(b.fetchPage);
  await h.fill(); // 25..6
  const missed = PAGE * CATCH_UP_PAGES + 10;
  for (let i = 0; i < missed; i++) b.add();
  await h.fill();
  assert.equal(b.reads.length, 1 + CATCH_UP_PAGES);
  assert.ok(h.hasMore());
  while (h.hasMore()) await h.more();
  assert.deepEqual(ids(h.list()), Array.from({ length: 25 + missed }, (_, i) => 25 + missed - i), 'the gap is filled, nothing twice');
});

test('balances: the newer transaction wins; a live change during a read keeps its figure', () => {
  const book = balanceBook();
  const acct = { iban: 'A', balance: '€0,00', balance_cents: 0 };
  const tx = (id, cents) => ({ iban: 'A', transaction_id: id, new_balance: `€${cents / 100}`, new_balance_cents: cents });
  assert.ok(book.apply(acct, tx(2, 500)));
  assert.ok(!book.apply(acct, tx(1, 100)), 'an older transaction overwrote a newer one');
  assert.equal(acct.balance_cents, 500);
  // A read starts; a transaction comes live; the read answers an older
  // figure for A and a new one for B.
  const token = book.reading();
  assert.ok(book.apply(acct, tx(3, 900)));
  const read = [{ iban: 'A', balance: '€5', balance_cents: 500 }, { iban: 'B', balance: '€7', balance_cents: 700 }];
  book.settle(token, read, new Map([['A', acct], ['B', { iban: 'B', balance_cents: 1 }]]));
  assert.deepEqual(read.map((a) => a.balance_cents), [900, 700]);
  // A read started after the live change is believed.
  const later = book.reading();
  const again = [{ iban: 'A', balance: '€12', balance_cents: 1200 }];
  book.settle(later, again, new Map([['A', acct]]));
  assert.equal(again[0].balance_cents, 1200);
});

test('audit: steps through pages forward and back, ends at the end', async () => {
  const all = Array.from({ length: 7 }, (_, i) => ({ cursor: String(i + 1), n: i + 1 }));
  const asked = [];
  const fetchPage = async ({ from, after }) => {
    asked.push({ from, after });
    const start = after ? Number(after) : from ? Number(from) - 1 : 0;
    const events = all.slice(start, start + 3);
    return { events, next: events.at(-1)?.cursor ?? null, has_more: start + 3 < all.length };
  };
  const c = auditCursor(fetchPage);
  assert.equal(c.state().event, null);
  assert.ok(await c.start(''));
  assert.equal(c.state().event.n, 1);
  assert.ok(!c.state().canBack);
  for (let n = 2; n <= 7; n++) {
    assert.ok(await c.step(1));
    assert.equal(c.state().event.n, n);
  }
  assert.ok(!c.state().canForward);
  assert.ok(!await c.step(1), 'it moved past the end');
  assert.ok(await c.step(-1));
  assert.equal(c.state().event.n, 6);
  assert.deepEqual(asked.map((a) => a.after ?? null), [null, '3', '6']);
  // Jumping to a time starts there.
  assert.ok(await c.start('5'));
  assert.equal(c.state().event.n, 5);
  c.go(2);
  assert.equal(c.state().event.n, 7);
});

test('audit: a start overtaken by a newer one is dropped', async () => {
  let release;
  const slow = new Promise((r) => { release = r; });
  const fetchPage = async ({ from }) => (from === 'slow' ? (await slow, { events: [{ n: 'old' }], next: null, has_more: false })
    : { events: [{ n: 'new' }], next: null, has_more: false });
  const c = auditCursor(fetchPage);
  const first = c.start('slow');
  assert.ok(await c.start('fast'));
  release();
  assert.equal(await first, false);
  assert.equal(c.state().event.n, 'new');
});
