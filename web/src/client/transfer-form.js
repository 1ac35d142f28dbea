// The transfer form: which account pays (the chosen one, shown and
// changeable, never changed by itself), to whom, how much, and what for.
import { h, field, uid } from '../dom.js';
import { normalizeIBAN, validIBAN, groupIBAN } from '../iban.js';
import { showCents } from '../money.js';
import { amountField } from './amount.js';

// transferForm returns { el, check(), reset() }: check() validates it and
// answers the transfer ({ acct, iban, cents, descr, own }) or nothing,
// having said what is wrong (refuse(text) for what is not a field's).
export function transferForm({ store, refuse }) {
  const from = h('select', { id: uid('from'), name: 'from', required: true });
  const to = field({ label: 'To (IBAN)', name: 'to', autocomplete: 'off', required: true, spellcheck: 'false', placeholder: 'e.g. NL91ABNA0417164300' });
  const amount = amountField('Amount');
  const descr = field({ label: 'Description', name: 'descr', autocomplete: 'off', maxlength: 140, hint: 'Optional; the recipient sees it.' });
  const el = h('form', { novalidate: true, 'aria-labelledby': 'transfer-h' },
    h('div', { class: 'field' }, h('label', { for: from.id }, 'From account'), from),
    to.wrap, amount.wrap, descr.wrap, h('button', { type: 'submit' }, 'Review transfer'));

  const renderFrom = () => {
    const { accounts, selected } = store.state();
    from.replaceChildren(...accounts.map((a) => h('option', { value: a.iban, selected: a === selected },
      `${groupIBAN(a.iban)} (balance ${showCents(a.balance_cents)})`)));
    from.disabled = accounts.length === 0;
  };
  store.onChange(renderFrom);
  from.addEventListener('change', () => store.select(from.value));
  renderFrom();

  return {
    el,
    focus: () => to.input.focus(),
    check() {
      const { accounts, selected: acct } = store.state();
      const iban = normalizeIBAN(to.input.value);
      const parsed = amount.parse();
      to.setError(!iban ? 'Enter the IBAN to send to.' : !validIBAN(iban) ? 'That is not a valid IBAN: check it for typos.'
        : acct && iban === acct.iban ? 'That is the paying account: choose another one to send to.' : '');
      amount.setError(parsed.error || '');
      if (!acct) return void refuse('Open an account first.');
      if (to.input.getAttribute('aria-invalid')) return void to.input.focus();
      if (parsed.error) return void amount.input.focus();
      return { acct, iban, cents: parsed.cents, descr: descr.input.value.trim(), own: accounts.map((a) => a.iban) };
    },
    reset() {
      el.reset();
      amount.reset();
      renderFrom();
    },
  };
}
