// Logging in: username and password, and nothing else happens. A new
// user goes to sign-up, a separate form (signup.js).
import { gql } from '../api.js';
import { h, field, notice, busy } from '../dom.js';
import { explain } from '../reasons.js';

const LOG_IN = `mutation($u: String!, $p: String!) { log_in(username: $u, password: $p) { iban reason reason_code username session } }`;

// loginForm calls done(result) once logged in; toSignUp() switches to
// sign-up.
export function loginForm({ done, toSignUp }) {
  const user = field({ label: 'Username', name: 'username', autocomplete: 'username', required: true, maxlength: 64, spellcheck: 'false', autocapitalize: 'none' });
  const pass = field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, maxlength: 72 });
  const msg = notice();
  const button = h('button', { type: 'submit' }, 'Log in');
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'login-h' },
    h('h2', { id: 'login-h' }, 'Log in'), user.wrap, pass.wrap, button, msg.el);
  const newHere = h('section', { class: 'card', 'aria-labelledby': 'new-h' },
    h('h2', { id: 'new-h' }, 'New to Open Bank?'),
    h('p', {}, 'Create a user with a username and a password: you get your first account with it.'),
    h('button', { type: 'button', class: 'secondary', onclick: toSignUp }, 'Create a new user'));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const username = user.input.value.trim();
    user.setError(username ? '' : 'Enter your username.');
    pass.setError(pass.input.value ? '' : 'Enter your password.');
    if (!username) return user.input.focus();
    if (!pass.input.value) return pass.input.focus();
    const stop = busy(button, 'Logging in…');
    msg.clear();
    try {
      const { log_in: r } = await gql(LOG_IN, { u: username, p: pass.input.value });
      if (r.reason) return msg.show('error', explain(r.reason_code, r.reason));
      done(r);
    } catch (err) {
      msg.show('error', err.message);
    } finally {
      stop();
    }
  });
  return { el: h('div', { class: 'columns' }, form, newHere), focus: () => user.input.focus() };
}
