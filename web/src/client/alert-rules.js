// The alert rules of the chosen account: set, list, end.
import { gql, ApiError } from '../api.js';
import { h, field, notice, busy } from '../dom.js';
import { groupIBAN } from '../iban.js';
import { parseEuros } from '../money.js';
import { explain } from '../reasons.js';

const RULES = 'query($iban: String!) { alert_rules(iban: $iban) { id kind amount word webhook } }';
const CREATE = `mutation($iban: String!, $kind: AlertKind!, $amount: Int, $word: String, $webhook: String) {
  create_alert(iban: $iban, kind: $kind, amount_cents: $amount, word: $word, webhook: $webhook) { rule { id } reason reason_code }
}`;
const DELETE = 'mutation($iban: String!, $id: String!) { delete_alert(iban: $iban, id: $id) { success reason reason_code } }';

const KINDS = {
  INCOMING_ABOVE: 'Money comes in of more than',
  OUTGOING_ABOVE: 'Money goes out of more than',
  BALANCE_BELOW: 'The balance drops below',
  DESCRIPTION_CONTAINS: 'The description contains',
};

// describe says a rule in words.
function describe(r) {
  return r.kind === 'DESCRIPTION_CONTAINS' ? `${KINDS[r.kind]} “${r.word}”` : `${KINDS[r.kind]} ${r.amount}`;
}

export function alertRules({ store, session, fail }) {
  const msg = notice();
  const on = h('p', { class: 'on-account' });
  const list = h('ul', { class: 'rules', 'aria-live': 'polite' });
  const kind = h('select', { id: 'alert-kind', name: 'kind' },
    ...Object.entries(KINDS).map(([k, label]) => h('option', { value: k }, label)));
  const amount = field({ label: 'Alert threshold', name: 'alert-amount', inputmode: 'decimal', autocomplete: 'off', placeholder: '0,00', hint: 'In euros' });
  const word = field({ label: 'Word', name: 'alert-word', autocomplete: 'off', maxlength: 100 });
  const webhook = field({ label: 'Webhook (optional)', name: 'alert-webhook', type: 'url', autocomplete: 'off',
    placeholder: 'https://…', hint: 'Alerts are also posted there as JSON.' });
  const showFields = () => {
    const words = kind.value === 'DESCRIPTION_CONTAINS';
    amount.wrap.hidden = words;
    word.wrap.hidden = !words;
  };
  kind.addEventListener('change', showFields);
  showFields();
  const button = h('button', { type: 'submit' }, 'Set alert');
  const form = h('form', { class: 'alert-form', novalidate: true, 'aria-label': 'Set an alert' },
    h('div', { class: 'field' }, h('label', { for: 'alert-kind' }, 'Alert me when'), kind),
    amount.wrap, word.wrap, webhook.wrap, button);
  msg.clearOn(form);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    amount.setError('');
    word.setError('');
    const acct = store.state().selected;
    if (!acct) return;
    const vars = { iban: acct.iban, kind: kind.value, webhook: webhook.input.value.trim() || null };
    if (kind.value === 'DESCRIPTION_CONTAINS') {
      vars.word = word.input.value.trim();
      if (!vars.word) return word.setError('Type the word to look for.');
    } else {
      const { cents, error } = parseEuros(amount.input.value);
      if (error) return amount.setError(error);
      vars.amount = cents;
    }
    const done = busy(button, 'Setting…');
    try {
      const { create_alert: r } = await gql(CREATE, vars, session);
      if (r.reason) return msg.show('error', explain(r.reason_code, r.reason));
      form.reset();
      showFields();
      await refresh();
      msg.show('success', 'Alert set.');
    } catch (err) {
      fail(err);
    } finally {
      done();
    }
  });

  let shown = '';
  async function refresh() {
    const acct = store.state().selected;
    shown = acct?.iban ?? '';
    on.replaceChildren(...(acct ? ['On account ', h('span', { class: 'iban' }, groupIBAN(acct.iban))] : []));
    if (!acct) return list.replaceChildren();
    try {
      const { alert_rules: rules } = await gql(RULES, { iban: acct.iban }, session);
      if (shown !== acct.iban) return;
      list.replaceChildren(...rules.map((r) => h('li', {},
        h('span', {}, describe(r), r.webhook ? h('span', { class: 'hint' }, ` → ${r.webhook}`) : null),
        h('button', { type: 'button', class: 'secondary small', 'aria-label': `End the alert: ${describe(r)}`, onclick: () => end(r) }, 'End'))));
      if (rules.length === 0) list.append(h('li', { class: 'hint' }, 'No alerts on this account.'));
    } catch (err) {
      if (err instanceof ApiError && err.auth) fail(err);
      else msg.show('error', err.message);
    }
  }

  async function end(r) {
    msg.clear();
    try {
      const { delete_alert: d } = await gql(DELETE, { iban: store.state().selected.iban, id: r.id }, session);
      if (d.reason) msg.show('error', explain(d.reason_code, d.reason));
      await refresh();
    } catch (err) {
      fail(err);
    }
  }

  store.onChange(() => {
    if ((store.state().selected?.iban ?? '') !== shown) refresh();
  });
  return { el: h('div', {}, h('h3', {}, 'Rules'), on, list, form, msg.el) };
}
