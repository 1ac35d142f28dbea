// Where the audit view is in the log: the events loaded so far (a page at
// a time, in log order), the one shown, and whether more follow. The page
// reader is given (fetchPage({ from, after }) answers audit_log's page),
// so this is pure logic, tested on its own.

// auditCursor returns start(from), step(by), go(i) and state().
export function auditCursor(fetchPage) {
  let events = [];
  let at = -1;
  let next = null;
  let hasMore = false;
  let generation = 0; // a newer start makes older answers moot

  return {
    // state: the event shown (or null), its index, what is loaded.
    state: () => ({
      event: events[at] ?? null,
      at,
      events,
      hasMore,
      canBack: at > 0,
      canForward: at >= 0 && (at < events.length - 1 || hasMore),
    }),
    // start loads the log from a time (RFC 3339; '' for its first event)
    // and shows its first event. It answers false when a newer start
    // overtook it.
    async start(from) {
      const g = ++generation;
      const p = await fetchPage(from ? { from } : {});
      if (g !== generation) return false;
      events = p.events;
      [next, hasMore] = [p.next, p.has_more];
      at = events.length ? 0 : -1;
      return true;
    },
    // step moves by one event (by is 1 or −1), reading the next page at
    // the end of what is loaded. It answers whether it moved.
    async step(by) {
      if (by > 0 && at === events.length - 1 && hasMore) {
        const g = generation;
        const p = await fetchPage({ after: next });
        if (g !== generation) return false;
        events = events.concat(p.events);
        [next, hasMore] = [p.next, p.has_more];
      }
      const to = at + by;
      if (at < 0 || to < 0 || to >= events.length) return false;
      at = to;
      return true;
    },
    // go shows the i-th loaded event.
    go(i) {
      if (i >= 0 && i < events.length) at = i;
    },
  };
}
