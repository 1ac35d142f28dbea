// The review step of a transfer: everything said again in plain words
// (review.js writes them), the warnings, and the one button that sends.
import { h, uid, moneyText } from '../dom.js';

// reviewPanel draws r (reviewTransfer's answer) into el, focused on its
// heading; it returns its two buttons.
export function reviewPanel(el, r, { onSend, onChange }) {
  const heading = h('h3', { id: uid('review'), tabindex: '-1' }, 'Check your transfer');
  const send = h('button', { type: 'button' }, r.confirm);
  const change = h('button', { type: 'button', class: 'secondary' }, 'Change');
  el.replaceChildren(heading,
    h('dl', { class: 'review-list' }, ...r.rows.flatMap((row) => [
      h('dt', {}, row.label),
      h('dd', {}, h('span', { class: row.label === 'To' || row.label === 'From' ? 'iban' : '' }, row.value),
        row.note ? h('span', { class: 'note' }, ...moneyText(row.note)) : null)])),
    ...r.warnings.map((w) => h('p', { class: 'warning' }, h('strong', {}, 'Warning: '), ...moneyText(w))),
    h('p', { class: 'hint' }, 'Nothing is sent until you press ', h('strong', {}, r.confirm), '.'),
    h('div', { class: 'actions' }, send, change));
  el.setAttribute('aria-labelledby', heading.id);
  el.hidden = false;
  heading.focus();
  send.addEventListener('click', onSend);
  change.addEventListener('click', onChange);
  return { send, change };
}
