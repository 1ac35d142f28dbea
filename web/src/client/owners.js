// The owners of the chosen account: who they are, adding a co-owner, and
// leaving the account (closing it, for its last owner). Each asks first.
import { gql } from '../api.js';
import { h, field, notice, busy, confirmation } from '../dom.js';
import { groupIBAN } from '../iban.js';
import { showCents } from '../money.js';
import { explain } from '../reasons.js';

const ADD_OWNER = `mutation($iban: String!, $u: String!) { add_owner(iban: $iban, username: $u) { success reason reason_code } }`;
const LEAVE = `mutation($iban: String!) { leave_account(iban: $iban) { success reason reason_code } }`;

// normalUsername is a username as the bank writes it: trimmed, NFC, lower
// case (contract.NormalizeUsername).
export function normalUsername(s) {
  return s.trim().normalize('NFC').toLowerCase().normalize('NFC');
}

// ownersPanel: say(kind, text) puts a message at the top of the page (for
// what changes the whole page, as leaving an account does).
export function ownersPanel(ctx) {
  const list = h('ul', { class: 'owner-list' });
  const ask = h('div');
  const msg = notice();
  const add = addOwnerForm({ ...ctx, msg, ask });
  const leave = leaveButton({ ...ctx, msg, ask });
  const el = h('div', { class: 'owners-panel' }, h('h4', {}, 'Owners'), list, add, leave, ask, msg.el);
  msg.clearOn(add);
  const render = () => {
    const { selected: acct, username } = ctx.store.state();
    if (!acct) return;
    list.replaceChildren(...acct.owners.map((o) => h('li', {}, o, o === username ? ' (you)' : '')));
    leave.textContent = acct.owners.length > 1 ? 'Leave this account' : 'Close this account';
  };
  return { el, render };
}

// addOwnerForm adds a co-owner to the chosen account, once confirmed.
function addOwnerForm({ store, session, fail, msg, ask }) {
  const who = field({ label: 'Username of the co-owner', name: 'co-owner', autocomplete: 'off', maxlength: 64, spellcheck: 'false' });
  const button = h('button', { type: 'submit', class: 'secondary' }, 'Add co-owner');
  const form = h('form', { class: 'add-owner', novalidate: true, 'aria-label': 'Add a co-owner' }, who.wrap, button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    msg.clear();
    const { selected: acct, username } = store.state();
    const name = normalUsername(who.input.value);
    who.setError(!name ? 'Enter the username of the person to add.' : name === username ? 'You already own this account.' : '');
    if (!acct || who.input.getAttribute('aria-invalid')) return who.input.focus();
    const yes = await confirmation(ask, {
      title: `Make ${name} a co-owner of ${groupIBAN(acct.iban)}?`,
      body: [`${name} will see all its transactions and can send its money, as you can. Only ${name} can take themselves off it again.`],
      yes: `Add ${name} as co-owner`,
    });
    if (!yes) return;
    const done = busy(button, 'Adding…');
    try {
      const { add_owner: r } = await gql(ADD_OWNER, { iban: acct.iban, u: name }, session);
      if (!r.success) return msg.show('error', explain(r.reason_code, r.reason));
      who.input.value = '';
      await store.load();
      msg.show('success', `${name} is now a co-owner of ${groupIBAN(acct.iban)}.`);
    } catch (err) {
      fail(err);
    } finally {
      done();
    }
  });
  return form;
}

// leaveButton takes the user off the chosen account (closing it, for its
// last owner, who must have emptied it), once confirmed.
function leaveButton({ store, session, fail, say, msg, ask }) {
  const button = h('button', { type: 'button', class: 'secondary' });
  button.addEventListener('click', async () => {
    msg.clear();
    const { selected: acct, username } = store.state();
    if (!acct) return;
    const last = acct.owners.length <= 1;
    if (last && acct.balance_cents !== 0) {
      return msg.show('error', `You are the only owner of ${groupIBAN(acct.iban)}, so it must be empty before you close it: its balance is ${showCents(acct.balance_cents)}. Move the money to another account first.`);
    }
    const others = acct.owners.filter((o) => o !== username);
    const yes = await confirmation(ask, last ? {
      title: `Close ${groupIBAN(acct.iban)}?`,
      body: ['You are its only owner: once you leave it, no one can use it again.'],
      yes: 'Close the account', danger: true,
    } : {
      title: `Leave ${groupIBAN(acct.iban)}?`,
      body: [`You will no longer see it or send its money; ${others.join(', ')} keep${others.length > 1 ? '' : 's'} it. Your alerts on it end.`],
      yes: 'Leave the account', danger: true,
    });
    if (!yes) return;
    const done = busy(button, last ? 'Closing…' : 'Leaving…');
    try {
      const { leave_account: r } = await gql(LEAVE, { iban: acct.iban }, session);
      if (!r.success) return msg.show('error', explain(r.reason_code, r.reason));
      await store.load();
      const now = store.state().selected;
      say('success', `You ${last ? 'closed' : 'left'} ${groupIBAN(acct.iban)}.${now ? ` Showing ${groupIBAN(now.iban)} now.` : ''}`);
    } catch (err) {
      fail(err);
    } finally {
      done();
    }
  });
  return button;
}
