// A few helpers to build the page from data without ever parsing data as
// HTML.

// h creates an element: h('a', { href: '#/' }, 'Home', child, ...).
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

let ids = 0;
// uid gives a fresh element id for label/aria wiring.
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}

// field is a labelled input with a place for its error and a hint.
export function field({ label, name, type = 'text', hint, ...attrs }) {
  const id = uid(name);
  const input = h('input', { id, name, type, ...attrs });
  const error = h('p', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite' });
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  input.setAttribute('aria-describedby', [hintEl && hintEl.id, error.id].filter(Boolean).join(' '));
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl, error);
  return {
    wrap,
    input,
    hintEl,
    setError(msg) {
      error.textContent = msg || '';
      if (msg) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    },
  };
}

// notice is a message area that screen readers announce.
export function notice() {
  const el = h('div', { class: 'notice', role: 'status', 'aria-live': 'polite', hidden: true });
  return {
    el,
    show(kind, msg) {
      el.className = `notice ${kind}`;
      el.textContent = msg;
      el.hidden = !msg;
    },
    clear() {
      el.textContent = '';
      el.hidden = true;
    },
  };
}

// txTable renders transactions, newest first.
export function txTable(caption, { showIBAN = false } = {}) {
  const body = h('tbody');
  const empty = h('p', { class: 'empty' }, 'No transactions yet.');
  const table = h('table', { class: 'txs' },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, '#'),
      showIBAN ? h('th', { scope: 'col' }, 'Account') : null,
      h('th', { scope: 'col' }, 'From / to'),
      h('th', { scope: 'col' }, 'Description'),
      h('th', { scope: 'col', class: 'num' }, 'Amount'),
      h('th', { scope: 'col', class: 'num' }, 'Balance'))),
    body);
  // Focusable, so a keyboard can scroll it on a narrow screen.
  const wrap = h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption }, table, empty);
  return {
    el: wrap,
    render(list, fresh) {
      empty.hidden = list.length > 0;
      table.hidden = list.length === 0;
      body.replaceChildren(...list.map((t) => h('tr', {
        class: [t.changed_by_cents < 0 ? 'debit' : 'credit', fresh && fresh.id === t.id ? 'fresh' : ''].join(' '),
        dataset: { id: String(t.id) },
      },
      h('td', {}, String(t.id)),
      showIBAN ? h('td', {}, h('code', {}, t.iban)) : null,
      h('td', {}, h('code', {}, t.from_to)),
      h('td', { class: 'descr' }, t.descr),
      h('td', { class: 'num amount' }, h('span', { class: 'visually-hidden' }, t.direction === 'DEBIT' ? 'debit ' : 'credit '), t.changed_by),
      h('td', { class: 'num' }, t.new_balance))));
    },
  };
}
