// The transfer form and its review step: which account pays, to whom,
// how much, and what for; then everything said again in plain words, with
// a warning where it is due, and one button that sends it.
import { ApiError } from '../api.js';
import { h, field, notice, busy, uid, moneyText } from '../dom.js';
import { normalizeIBAN, validIBAN, groupIBAN } from '../iban.js';
import { showCents } from '../money.js';
import { reviewTransfer, transferFailure, transferSent } from '../review.js';
import { amountField } from './amount.js';
import { send, onceKey } from './send.js';

// transferCard returns the card's element; it follows the store's chosen
// account and never picks another by itself.
export function transferCard({ store, session, fail }) {
  const from = h('select', { id: uid('from'), name: 'from', required: true });
  const to = field({ label: 'To (IBAN)', name: 'to', autocomplete: 'off', required: true, spellcheck: 'false', placeholder: 'e.g. NL91ABNA0417164300' });
  const amount = amountField('Amount');
  const descr = field({ label: 'Description', name: 'descr', autocomplete: 'off', maxlength: 140, hint: 'Optional; the recipient sees it.' });
  const msg = notice();
  const reviewButton = h('button', { type: 'submit' }, 'Review transfer');
  const form = h('form', { novalidate: true, 'aria-labelledby': 'transfer-h' },
    h('div', { class: 'field' }, h('label', { for: from.id }, 'From account'), from),
    to.wrap, amount.wrap, descr.wrap, reviewButton);
  const review = h('div', { class: 'review', hidden: true });
  const title = h('h2', { id: 'transfer-h', tabindex: '-1' }, 'Transfer');
  const card = h('section', { class: 'card', 'aria-labelledby': 'transfer-h' }, title, form, review, msg.el);
  msg.clearOn(form);
  const once = onceKey();

  const renderFrom = () => {
    const { accounts, selected } = store.state();
    from.replaceChildren(...accounts.map((a) => h('option', { value: a.iban, selected: a === selected },
      `${groupIBAN(a.iban)} (balance ${showCents(a.balance_cents)})`)));
    from.disabled = accounts.length === 0;
  };
  store.onChange(renderFrom);
  from.addEventListener('change', () => store.select(from.value));

  // check validates the form; it answers the transfer or nothing.
  const check = () => {
    const { accounts, selected: acct } = store.state();
    const iban = normalizeIBAN(to.input.value);
    const parsed = amount.parse();
    to.setError(!iban ? 'Enter the IBAN to send to.' : !validIBAN(iban) ? 'That is not a valid IBAN: check it for typos.'
      : acct && iban === acct.iban ? 'That is the paying account: choose another one to send to.' : '');
    amount.setError(parsed.error || '');
    if (!acct) return void msg.show('error', 'Open an account first.');
    if (to.input.getAttribute('aria-invalid')) return void to.input.focus();
    if (parsed.error) return void amount.input.focus();
    return { acct, iban, cents: parsed.cents, descr: descr.input.value.trim(), own: accounts.map((a) => a.iban) };
  };

  const showForm = (focus) => {
    review.hidden = true;
    review.replaceChildren();
    form.hidden = false;
    focus?.focus();
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    msg.clear();
    const t = check();
    if (t) showReview(t);
  });

  function showReview(t) {
    const r = reviewTransfer({ from: { iban: t.acct.iban, balanceCents: t.acct.balance_cents }, to: t.iban, amountCents: t.cents, descr: t.descr, own: t.own });
    const heading = h('h3', { id: uid('review'), tabindex: '-1' }, 'Check your transfer');
    const sendButton = h('button', { type: 'button' }, r.confirm);
    const change = h('button', { type: 'button', class: 'secondary' }, 'Change');
    review.replaceChildren(heading,
      h('dl', { class: 'review-list' }, ...r.rows.flatMap((row) => [
        h('dt', {}, row.label),
        h('dd', {}, h('span', { class: row.label === 'To' || row.label === 'From' ? 'iban' : '' }, row.value), row.note ? h('span', { class: 'note' }, ...moneyText(row.note)) : null)])),
      ...r.warnings.map((w) => h('p', { class: 'warning' }, h('strong', {}, 'Warning: '), ...moneyText(w))),
      h('p', { class: 'hint' }, 'Nothing is sent until you press ', h('strong', {}, r.confirm), '.'),
      h('div', { class: 'actions' }, sendButton, change));
    review.setAttribute('aria-labelledby', heading.id);
    form.hidden = true;
    review.hidden = false;
    heading.focus();
    change.addEventListener('click', () => { msg.clear(); showForm(to.input); });
    sendButton.addEventListener('click', () => go(t, r.confirm, sendButton, change));
  }

  async function go(t, confirm, sendButton, change) {
    const vars = { user: store.state().username, token: t.acct.token, amount: t.cents, from: t.acct.iban, to: t.iban, descr: t.descr };
    const done = busy(sendButton, 'Sending…');
    change.disabled = true;
    msg.show('info', 'Sending…');
    try {
      const r = await send({ ...vars, uuid: once.uuid(vars) }, (m) => msg.show('info', m), session);
      if (r.status === 'PENDING') {
        msg.show('info', `No outcome yet: the transfer may still happen. Press ${confirm} again to ask; it will not send twice.`);
        return;
      }
      once.done();
      if (r.success) {
        form.reset();
        amount.reset();
        showForm(title);
        msg.show('success', transferSent({ to: t.iban, amountCents: t.cents }));
        store.load();
      } else {
        showForm(title);
        msg.show('error', transferFailure({ code: r.reason_code, reason: r.reason, to: t.iban, amountCents: t.cents }));
      }
    } catch (err) {
      if (err instanceof ApiError && err.auth) return fail(err);
      msg.show('error', `${err.message} Press ${confirm} again: it will not send twice.`);
    } finally {
      if (sendButton.isConnected) {
        done();
        change.disabled = false;
      }
    }
  }

  renderFrom();
  return { el: card };
}
