// Toasts: short messages over the page, where they are seen whatever is
// scrolled into view, announced to screen readers, and kept until closed
// (no timer decides for the reader); the newest five are kept.
import { h } from './dom.js';

let region = null;

function area() {
  if (!region || !region.isConnected) {
    region = h('section', { class: 'toasts', 'aria-label': 'Notifications' });
    document.body.append(region);
  }
  return region;
}

// toast shows title and text; kind is 'alert' or 'info'.
export function toast(title, text, kind = 'alert') {
  const close = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Dismiss: ${title}` }, 'Dismiss');
  const el = h('div', { class: `toast ${kind}`, role: kind === 'alert' ? 'alert' : 'status' },
    h('p', {}, h('strong', {}, title), ' ', text), close);
  close.addEventListener('click', () => el.remove());
  const r = area();
  r.prepend(el);
  while (r.children.length > 5) r.lastChild.remove();
  return el;
}

// clearToasts removes every toast (at log-out).
export function clearToasts() {
  region?.replaceChildren();
}
