// An account's transactions as the page holds them: pages read newest
// first, older ones added on demand, live ones added as they come, and
// after a reconnection the newest read again down to what is held, so
// nothing is missed or held twice. The page reader is given
// (fetchPage({ first, after }) answers history's page), so this is pure
// logic, tested on its own.
import { newestFirst } from '../order.js';

export const PAGE = 20;
// After a reconnection, at most this many pages are read to reach what
// is held; past that, the gap is left for "more".
export const CATCH_UP_PAGES = 5;

// historyList returns list(), hasMore(), add(tx), fill() and more().
export function historyList(fetchPage) {
  const byId = new Map();
  let next = null;
  let hasMore = false;
  const take = (items) => {
    let met = false;
    for (const t of items) {
      if (byId.has(t.transaction_id)) met = true;
      else byId.set(t.transaction_id, t);
    }
    return met;
  };
  return {
    list: () => [...byId.values()].sort(newestFirst),
    hasMore: () => hasMore,
    // add takes a live transaction; false if it was held already.
    add(t) {
      if (byId.has(t.transaction_id)) return false;
      byId.set(t.transaction_id, t);
      return true;
    },
    // fill reads the newest page; when transactions are held already
    // (after a reconnection), older pages too until it meets them.
    async fill() {
      const first = byId.size === 0;
      let p = await fetchPage({ first: PAGE });
      let met = take(p.items);
      if (first) [next, hasMore] = [p.next, p.has_more];
      for (let i = 1; !first && !met && p.has_more && i < CATCH_UP_PAGES; i++) {
        p = await fetchPage({ first: PAGE, after: p.next });
        met = take(p.items);
      }
      // A gap too long to read at once: "more" goes on from its end.
      if (!first && !met && p.has_more) [next, hasMore] = [p.next, true];
    },
    // more reads the page older than what is held.
    async more() {
      const p = await fetchPage({ first: PAGE, after: next });
      take(p.items);
      [next, hasMore] = [p.next, p.has_more];
    },
  };
}
