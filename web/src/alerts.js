// The logged-in user's alerts: the rules of the chosen account (set, list,
// end) and, as they are raised, the alerts themselves as notifications.
// Alerts come over their own graphql-transport-ws connection, which
// carries the session in connection_init.
import { createClient } from 'graphql-ws';
import { wsURL, gql, ApiError } from './api.js';
import { h, field, notice } from './dom.js';
import { parseEuros } from './money.js';
import { explain, failureOf } from './reasons.js';

const ALERTS = 'subscription { alerts { id iban transaction_id message } }';
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

// alertsPanel returns the panel's element, refresh() for when the chosen
// account changes, and stop() to close its connection.
export function alertsPanel({ session, selected, fail }) {
  const feed = h('ul', { class: 'alerts-feed' });
  const feedBox = h('div', { role: 'log', 'aria-live': 'assertive', 'aria-label': 'Alerts as they happen' },
    h('p', { class: 'hint' }, 'Alerts appear here as they happen.'), feed);
  const msg = notice();
  const list = h('ul', { class: 'rules' });

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
  const form = h('form', { class: 'alert-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'alert-kind' }, 'Alert me when'), kind),
    amount.wrap, word.wrap, webhook.wrap, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    amount.setError('');
    word.setError('');
    const acct = selected();
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
    button.disabled = true;
    try {
      const { create_alert: r } = await gql(CREATE, vars, session);
      if (r.reason) {
        msg.show('error', explain(r.reason_code, r.reason));
      } else {
        msg.show('success', 'Alert set.');
        form.reset();
        showFields();
        await refresh();
      }
    } catch (err) {
      fail(err);
    } finally {
      button.disabled = false;
    }
  });

  async function refresh() {
    const acct = selected();
    if (!acct) return list.replaceChildren();
    try {
      const { alert_rules: rules } = await gql(RULES, { iban: acct.iban }, session);
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
    try {
      const { delete_alert: d } = await gql(DELETE, { iban: selected().iban, id: r.id }, session);
      if (d.reason) msg.show('error', explain(d.reason_code, d.reason));
      await refresh();
    } catch (err) {
      fail(err);
    }
  }

  const client = createClient({
    url: wsURL,
    connectionParams: { Authorization: `Bearer ${session}` },
    retryAttempts: Number.MAX_SAFE_INTEGER,
    shouldRetry: () => true,
    retryWait: async (retries) => {
      await new Promise((r) => setTimeout(r, Math.min(15_000, 500 * 2 ** retries) * (0.5 + Math.random() / 2)));
    },
  });
  const unsubscribe = client.subscribe({ query: ALERTS }, {
    next: ({ data, errors }) => {
      if (errors?.length) return msg.show('error', explain(failureOf(errors[0]).code, errors[0].message));
      const a = data?.alerts;
      if (!a) return;
      feed.prepend(h('li', { class: 'alert' }, h('strong', {}, 'Alert: '), a.message));
      while (feed.children.length > 5) feed.lastChild.remove();
    },
    error: () => msg.show('error', 'Alerts could not be followed; reload the page.'),
    complete: () => {},
  });

  const el = h('section', { class: 'card', 'aria-labelledby': 'alerts-h' },
    h('h2', { id: 'alerts-h' }, 'Alerts'), feedBox, msg.el, h('h3', {}, 'On this account'), list, form);
  return {
    el,
    refresh,
    stop() {
      unsubscribe();
      client.dispose();
    },
  };
}
