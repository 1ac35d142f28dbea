// The user's accounts with their balances (live), the chosen one marked,
// and opening another: a new account is listed, never chosen for the
// person.
import { gql } from '../api.js';
import { h, notice, busy } from '../dom.js';
import { groupIBAN } from '../iban.js';
import { showCents } from '../money.js';
import { explain } from '../reasons.js';

const OPEN_ACCOUNT = `mutation { open_account { iban token reason reason_code } }`;

export function accountList({ store, session, fail }) {
  const list = h('div', { class: 'accounts', role: 'radiogroup', 'aria-labelledby': 'accounts-h', 'aria-busy': 'true' },
    h('p', { class: 'loading' }, 'Loading your accounts…'));
  const openButton = h('button', { type: 'button', class: 'secondary' }, 'Open another account');
  const msg = notice();
  msg.clearOn(list);

  const render = () => {
    const { accounts, selected, loaded, username } = store.state();
    if (!loaded) return;
    list.removeAttribute('aria-busy');
    openButton.textContent = accounts.length ? 'Open another account' : 'Open an account';
    if (accounts.length === 0) return list.replaceChildren(h('p', {}, 'You have no account: open one.'));
    list.replaceChildren(...accounts.map((a) => {
      const id = `acct-${a.iban}`;
      const others = a.owners.filter((o) => o !== username);
      return h('div', { class: 'account' },
        h('label', { for: id },
          h('input', { type: 'radio', name: 'account', id, value: a.iban, checked: a === selected, onchange: () => store.select(a.iban) }),
          h('span', { class: 'iban' }, groupIBAN(a.iban)),
          h('span', { class: 'balance', dataset: { iban: a.iban } }, showCents(a.balance_cents)),
          others.length ? h('span', { class: 'owners' }, `shared with ${others.join(', ')}`) : null));
    }));
  };
  store.onChange(render);

  openButton.addEventListener('click', async () => {
    msg.clear();
    const done = busy(openButton, 'Opening…');
    try {
      const { open_account: r } = await gql(OPEN_ACCOUNT, {}, session);
      if (r.reason) return msg.show('error', explain(r.reason_code, r.reason));
      await store.load();
      msg.show('success', `Opened a new account, ${groupIBAN(r.iban)}: it is listed above. Choose it to use it.`);
    } catch (err) {
      fail(err);
    } finally {
      done();
    }
  });
  render();
  return { el: h('div', {}, list, openButton, msg.el) };
}
