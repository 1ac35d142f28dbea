// A session shared by the tabs of one browser, as a session cookie would
// be: each tab keeps it in its sessionStorage (so it survives a reload and
// ends with the browser session, never written to disk for later), a new
// tab asks the open ones for it over a BroadcastChannel, and a log-in or
// a log-out in one tab reaches every other.

const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('openbank.sessions') : null;
const shared = new Map();

// sharedSession returns the session kept under key (one object per key):
// get(), set(value) (a log-in), end() (a log-out, here and in every tab),
// and onChange(f), called with the new value when another tab logs in or
// out; returns its removal.
export function sharedSession(key) {
  if (!shared.has(key)) shared.set(key, makeSession(key));
  return shared.get(key);
}

function makeSession(key) {
  const listeners = new Set();
  const get = () => sessionStorage.getItem(key) || '';
  const keep = (value) => {
    if ((value || '') === get()) return;
    if (value) sessionStorage.setItem(key, value);
    else sessionStorage.removeItem(key);
    for (const f of [...listeners]) f(value || '');
  };
  channel?.addEventListener('message', ({ data }) => {
    if (data?.key !== key) return;
    if (data.type === 'ask' && get()) channel.postMessage({ type: 'session', key, value: get() });
    else if (data.type === 'session' && data.value) keep(data.value);
    // Only the session that ended: a tab that logged in since keeps its own.
    else if (data.type === 'ended' && data.value === get()) keep('');
  });
  // A new tab (or one whose session ended) asks the others; whichever has
  // one answers, whenever it can, and the page then shows it.
  if (!get()) channel?.postMessage({ type: 'ask', key });
  return {
    get,
    set(value) {
      keep(value);
      channel?.postMessage({ type: 'session', key, value });
    },
    end() {
      const value = get();
      keep('');
      if (value) channel?.postMessage({ type: 'ended', key, value });
    },
    onChange(f) {
      listeners.add(f);
      return () => listeners.delete(f);
    },
  };
}
