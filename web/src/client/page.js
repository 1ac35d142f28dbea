// The client page: logging in or creating a user, then the bank. The
// session is shared by the browser's tabs (session.js): logging in or out
// in one does it in all.
import { gql } from '../api.js';
import { h } from '../dom.js';
import { sharedSession } from '../session.js';
import { clearToasts } from '../toast.js';
import { forgetSelection } from './accounts.js';
import { bankPage } from './bank.js';
import { loginForm } from './login.js';
import { signUpForm } from './signup.js';

const LOG_OUT = `mutation { log_out { success reason reason_code } }`;
const session = sharedSession('openbank.session');

export function client(root, ctx) {
  let stop = () => {};
  let welcome = '';
  const show = (mode = 'log-in') => {
    stop();
    stop = () => {};
    root.replaceChildren();
    const s = session.get();
    ctx.live.setSession(s);
    if (s) {
      stop = bankPage(root, { live: ctx.live, session: s, logout, welcome });
      welcome = '';
      return;
    }
    const loggedIn = (r, note) => {
      welcome = note(r);
      forgetSelection();
      session.set(r.session);
    };
    const form = mode === 'sign-up'
      ? signUpForm({ done: (r) => loggedIn(r, (x) => `New account created: welcome, ${x.username}. Your account number is ${x.iban}.`), back: () => show('log-in') })
      : loginForm({ done: (r) => loggedIn(r, () => ''), toSignUp: () => show('sign-up') });
    root.append(h('h1', {}, 'Your bank account'), form.el);
    form.focus();
  };
  // logout ends the session in every tab; everywhere (log_out: every
  // device too) when asked to.
  const logout = async ({ everywhere = false } = {}) => {
    const s = session.get();
    if (everywhere && s) {
      try {
        await gql(LOG_OUT, {}, s);
      } catch {
        // The session ends here anyway; the bank ends it when it expires.
      }
    }
    forgetSelection();
    clearToasts();
    session.end();
  };
  const offChange = session.onChange(() => show());
  const ended = () => logout();
  window.addEventListener('openbank:session-ended', ended);
  show();
  return () => {
    offChange();
    window.removeEventListener('openbank:session-ended', ended);
    stop();
  };
}
