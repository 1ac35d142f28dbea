// The chosen account: its number (to copy), its balance (live) and its
// owners.
import { h } from '../dom.js';
import { showCents } from '../money.js';
import { ownersPanel } from './owners.js';

export function accountPanel({ store, session, fail, say }) {
  const el = h('div', { class: 'current' });
  const owners = ownersPanel({ store, session, fail, say });
  let shown = '';
  let balance = null;

  const render = () => {
    const acct = store.state().selected;
    if (!acct) {
      shown = '';
      return el.replaceChildren();
    }
    if (acct.iban === shown && balance) {
      balance.textContent = showCents(acct.balance_cents);
      owners.render();
      return;
    }
    shown = acct.iban;
    const number = h('output', { class: 'iban selectable', 'aria-label': 'Account number (IBAN)' }, acct.iban);
    const copy = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Copy the IBAN ${acct.iban}` }, 'Copy');
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(acct.iban);
        copy.textContent = 'Copied';
      } catch {
        window.getSelection().selectAllChildren(number);
        copy.textContent = 'Selected: press Ctrl+C';
      }
      setTimeout(() => { copy.textContent = 'Copy'; }, 2000);
    });
    balance = h('strong', { id: 'balance' }, showCents(acct.balance_cents));
    el.replaceChildren(
      h('h3', {}, 'Chosen account'),
      h('p', { class: 'iban-line' }, h('span', {}, 'Account number '), number, copy),
      h('p', { class: 'big-balance' }, h('span', {}, 'Balance '), balance),
      owners.el);
    owners.render();
  };
  store.onChange(render);
  render();
  return { el };
}
