// Creating a user: a form of its own, and a confirmation that names the
// user about to be created (as the bank will write it) before anything
// happens. It never suggests other usernames.
import { gql } from '../api.js';
import { h, field, notice, busy, confirmation } from '../dom.js';
import { explain } from '../reasons.js';
import { normalUsername } from './owners.js';

const SIGN_UP = `mutation($u: String!, $p: String!) { sign_up(username: $u, password: $p) { iban reason reason_code username session } }`;

// signUpForm calls done(result) once the user is created; back() returns
// to logging in.
export function signUpForm({ done, back }) {
  const user = field({ label: 'Choose a username', name: 'username', autocomplete: 'username', required: true, maxlength: 64, spellcheck: 'false',
    autocapitalize: 'none', hint: 'Capitals make no difference: Ann and ann are one user.' });
  const pass = field({ label: 'Choose a password', name: 'new-password', type: 'password', autocomplete: 'new-password', required: true, maxlength: 72 });
  const again = field({ label: 'Repeat the password', name: 'repeat-password', type: 'password', autocomplete: 'new-password', required: true, maxlength: 72 });
  const msg = notice();
  const ask = h('div');
  const button = h('button', { type: 'submit' }, 'Continue');
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'signup-h' },
    h('h2', { id: 'signup-h' }, 'Create a new user'), user.wrap, pass.wrap, again.wrap,
    h('div', { class: 'actions' }, button, h('button', { type: 'button', class: 'secondary', onclick: back }, 'I already have a user: log in')),
    ask, msg.el);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    msg.clear();
    const name = normalUsername(user.input.value);
    user.setError(name ? '' : 'Choose a username.');
    pass.setError(pass.input.value ? '' : 'Choose a password.');
    again.setError(pass.input.value && again.input.value !== pass.input.value ? 'The two passwords differ: type the same one twice.' : '');
    const bad = [user, pass, again].find((f) => f.input.getAttribute('aria-invalid'));
    if (bad) return bad.input.focus();
    const yes = await confirmation(ask, {
      title: `Create the new user “${name}”?`,
      body: [`This creates a new user named ${name} with a new, empty account. If you already have a user, go back and log in instead.`],
      yes: `Create user ${name}`,
      no: 'Go back',
    });
    if (!yes) return;
    const stop = busy(button, 'Creating…');
    try {
      const { sign_up: r } = await gql(SIGN_UP, { u: user.input.value, p: pass.input.value });
      if (r.reason) return msg.show('error', explain(r.reason_code, r.reason));
      done(r);
    } catch (err) {
      msg.show('error', err.message);
    } finally {
      stop();
    }
  });
  return { el: form, focus: () => user.input.focus() };
}
