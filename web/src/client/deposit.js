// Cash deposits on the chosen account.
import { ApiError } from '../api.js';
import { h, notice, busy } from '../dom.js';
import { groupIBAN } from '../iban.js';
import { showCents } from '../money.js';
import { explain } from '../reasons.js';
import { amountField } from './amount.js';
import { send, onceKey } from './send.js';

export function depositCard({ store, session, fail }) {
  const on = h('p', { class: 'on-account' });
  const amount = amountField('Cash to deposit');
  const msg = notice();
  const button = h('button', { type: 'submit', class: 'secondary' }, 'Deposit');
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'deposit-h' },
    h('h2', { id: 'deposit-h' }, 'Deposit cash'), on, amount.wrap, button, msg.el);
  msg.clearOn(form);
  const once = onceKey();
  const renderOn = () => {
    const acct = store.state().selected;
    on.replaceChildren(...(acct ? ['On account ', h('span', { class: 'iban' }, groupIBAN(acct.iban))] : ['Open an account first.']));
  };
  store.onChange(renderOn);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    msg.clear();
    const { selected: acct, username } = store.state();
    const parsed = amount.parse();
    amount.setError(parsed.error || '');
    if (parsed.error) return amount.input.focus();
    if (!acct) return msg.show('error', 'Open an account first.');
    const vars = { user: username, token: acct.token, amount: parsed.cents, from: 'cash', to: acct.iban, descr: 'cash deposit' };
    const done = busy(button, 'Depositing…');
    try {
      const r = await send({ ...vars, uuid: once.uuid(vars) }, (m) => msg.show('info', m), session);
      if (r.status === 'PENDING') return msg.show('info', 'No outcome yet. Press Deposit again to ask; it will not deposit twice.');
      once.done();
      if (r.success) {
        amount.reset();
        msg.show('success', `Deposited ${showCents(parsed.cents)} on ${groupIBAN(acct.iban)}.`);
        store.load();
      } else {
        msg.show('error', `Deposit failed: ${explain(r.reason_code, r.reason)}`);
      }
    } catch (err) {
      if (err instanceof ApiError && err.auth) return fail(err);
      msg.show('error', err.message);
    } finally {
      done();
    }
  });
  renderOn();
  return { el: form };
}
