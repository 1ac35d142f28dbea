// A transfer: the form (transfer-form.js), then its review
// (transfer-review.js), then sending it once and saying how it went.
import { ApiError } from '../api.js';
import { h, notice, busy } from '../dom.js';
import { reviewTransfer, transferFailure, transferSent } from '../review.js';
import { transferForm } from './transfer-form.js';
import { reviewPanel } from './transfer-review.js';
import { send, onceKey } from './send.js';

export function transferCard({ store, session, fail }) {
  const msg = notice();
  const form = transferForm({ store, refuse: (text) => msg.show('error', text) });
  const review = h('div', { class: 'review', hidden: true });
  const title = h('h2', { id: 'transfer-h', tabindex: '-1' }, 'Transfer');
  const el = h('section', { class: 'card', 'aria-labelledby': 'transfer-h' }, title, form.el, review, msg.el);
  msg.clearOn(form.el);
  const once = onceKey();

  const showForm = (focus) => {
    review.hidden = true;
    review.replaceChildren();
    form.el.hidden = false;
    focus();
  };
  form.el.addEventListener('submit', (e) => {
    e.preventDefault();
    msg.clear();
    const t = form.check();
    if (!t) return;
    const r = reviewTransfer({ from: { iban: t.acct.iban, balanceCents: t.acct.balance_cents, limitCents: t.acct.overdraft_limit_cents }, to: t.iban, amountCents: t.cents, descr: t.descr, own: t.own });
    form.el.hidden = true;
    const buttons = reviewPanel(review, r, {
      onSend: () => go(t, r.confirm, buttons),
      onChange: () => { msg.clear(); showForm(form.focus); },
    });
  });

  // go sends the reviewed transfer: the same one sent again (after an
  // unclear outcome) keeps its uuid, so it never happens twice.
  async function go(t, confirm, { send: sendButton, change }) {
    const vars = { user: store.state().username, token: t.acct.token, amount: t.cents, from: t.acct.iban, to: t.iban, descr: t.descr };
    const done = busy(sendButton, 'Sending…');
    change.disabled = true;
    msg.show('info', 'Sending…');
    try {
      const r = await send({ ...vars, uuid: once.uuid(vars) }, (m) => msg.show('info', m), session);
      if (r.status === 'PENDING') {
        return msg.show('info', `No outcome yet: the transfer may still happen. Press ${confirm} again to ask; it will not send twice.`);
      }
      once.done();
      if (r.success) form.reset();
      showForm(() => title.focus());
      if (r.success) {
        msg.show('success', transferSent({ to: t.iban, amountCents: t.cents }));
        store.load();
      } else {
        msg.show('error', transferFailure({ code: r.reason_code, reason: r.reason, to: t.iban, amountCents: t.cents }));
      }
    } catch (err) {
      if (err instanceof ApiError && err.auth) return fail(err);
      msg.show('error', `${err.message} Press ${confirm} again: it will not send twice.`);
    } finally {
      done();
      change.disabled = false;
    }
  }

  return { el };
}
