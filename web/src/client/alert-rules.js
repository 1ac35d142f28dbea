// The alert rules of the chosen account: the list (with an End button on
// each) and the form that sets one.
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

export function alertRules(ctx) {
  const msg = notice();
  const list = ruleList({ ...ctx, msg });
  const form = ruleForm({ ...ctx, msg, onSet: list.refresh });
  msg.clearOn(form);
  return { el: h('div', {}, h('h3', {}, 'Rules'), list.el, form, msg.el) };
}

// ruleList lists the chosen account's rules; refresh() reads them again.
function ruleList({ store, session, fail, msg }) {
  const on = h('p', { class: 'on-account' });
  const list = h('ul', { class: 'rules', 'aria-live': 'polite' });
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
  return { el: h('div', {}, on, list), refresh };
}

// ruleForm sets a rule on the chosen account; onSet() runs once it is.
function ruleForm({ store, session, fail, msg, onSet }) {
  const kind = h('select', { id: 'alert-kind', name: 'kind' },
    ...Object.entries(KINDS).map(([k, label]) => h('option', { value: k }, label)));
  const amount = field({ label: 'Alert threshold', name: 'alert-amount', inputmode: 'decimal', autocomplete: 'off', placeholder: '0,00', hint: 'In euros' });
  const word = field({ label: 'Word', name: 'alert-word', autocomplete: 'off', maxlength: 100 });
  const webhook = field({ label: 'Webhook (optional)', name: 'alert-webhook', type: 'url', autocomplete: 'off',
    placeholder: 'https://…', hint: 'Alerts are also posted there as JSON.' });
  const showFields = () => {
    amount.wrap.hidden = kind.value === 'DESCRIPTION_CONTAINS';
    word.wrap.hidden = kind.value !== 'DESCRIPTION_CONTAINS';
  };
  kind.addEventListener('change', showFields);
  showFields();
  const button = h('button', { type: 'submit' }, 'Set alert');
  const form = h('form', { class: 'alert-form', novalidate: true, 'aria-label': 'Set an alert' },
    h('div', { class: 'field' }, h('label', { for: 'alert-kind' }, 'Alert me when'), kind), amount.wrap, word.wrap, webhook.wrap, button);
  // rule reads the form: the rule's variables, or nothing (having said why).
  const rule = (acct) => {
    amount.setError('');
    word.setError('');
    const vars = { iban: acct.iban, kind: kind.value, webhook: webhook.input.value.trim() || null };
    if (kind.value === 'DESCRIPTION_CONTAINS') {
      vars.word = word.input.value.trim();
      return vars.word ? vars : void word.setError('Type the word to look for.');
    }
    const { cents, error } = parseEuros(amount.input.value);
    vars.amount = cents;
    return error ? void amount.setError(error) : vars;
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    const acct = store.state().selected;
    const vars = acct && rule(acct);
    if (!vars) return;
    const done = busy(button, 'Setting…');
    try {
      const { create_alert: r } = await gql(CREATE, vars, session);
      if (r.reason) return msg.show('error', explain(r.reason_code, r.reason));
      form.reset();
      showFields();
      await onSet();
      msg.show('success', 'Alert set.');
    } catch (err) {
      fail(err);
    } finally {
      done();
    }
  });
  return form;
}
