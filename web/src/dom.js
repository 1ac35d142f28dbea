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

// moneyText is text with its amounts kept on one line (a minus sign may
// otherwise end a line and its euros start the next).
export function moneyText(text) {
  const parts = String(text).split(/([-\u2212]?€[\d.]+,\d\d)/);
  return parts.map((p, i) => (i % 2 ? h('span', { class: 'money' }, p) : p)).filter((p) => p !== '');
}

// The success notice on show: a newer success, anywhere on the page,
// clears it, so a notice never stays to describe an older action.
let lastSuccess = null;

// notice is a message area that screen readers announce.
export function notice() {
  const el = h('div', { class: 'notice', role: 'status', 'aria-live': 'polite', hidden: true });
  let kind = '';
  const clear = () => {
    kind = '';
    el.replaceChildren();
    el.hidden = true;
  };
  const self = {
    el,
    kind: () => kind,
    show(k, msg) {
      if (k === 'success' && msg) {
        if (lastSuccess && lastSuccess !== self && lastSuccess.kind() === 'success') lastSuccess.clear();
        lastSuccess = self;
      }
      kind = msg ? k : '';
      el.className = `notice ${k}`;
      el.replaceChildren(...moneyText(msg ?? ''));
      el.hidden = !msg;
    },
    clear,
    // clearOn clears a success notice when the person types in or changes
    // anything inside container.
    clearOn(container) {
      const stale = () => { if (kind === 'success') clear(); };
      container.addEventListener('input', stale);
      container.addEventListener('change', stale);
    },
  };
  return self;
}

// busy marks a button as working (its label says so; it cannot be
// pressed twice) until the returned function is called, which gives it
// back its label (unless the page relabelled it meanwhile).
export function busy(button, label) {
  const before = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = label;
  return () => {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    if (button.textContent === label) button.textContent = before;
  };
}

// confirmation asks one question before something that cannot be undone:
// a box with the question, what it means, and two buttons. It resolves
// true (yes) or false (no); focus goes to the question and, after, back
// where it was.
export function confirmation(into, { title, body = [], yes, no = 'Cancel', danger = false }) {
  return new Promise((resolve) => {
    const back = document.activeElement;
    const heading = h('h3', { id: uid('confirm'), tabindex: '-1' }, title);
    const yesButton = h('button', { type: 'button', class: danger ? 'danger' : '' }, yes);
    const noButton = h('button', { type: 'button', class: 'secondary' }, no);
    const box = h('div', { class: 'confirm', role: 'group', 'aria-labelledby': heading.id },
      heading, ...body.map((p) => (typeof p === 'string' ? h('p', {}, p) : p)), h('div', { class: 'actions' }, yesButton, noButton));
    const done = (answer) => {
      box.remove();
      document.removeEventListener('keydown', onKey, true);
      if (back && back.isConnected) back.focus();
      resolve(answer);
    };
    const onKey = (e) => {
      if (e.key === 'Escape' && box.contains(document.activeElement)) {
        e.preventDefault();
        done(false);
      }
    };
    yesButton.addEventListener('click', () => done(true));
    noButton.addEventListener('click', () => done(false));
    document.addEventListener('keydown', onKey, true);
    into.append(box);
    heading.focus();
  });
}
