// The employee log-in.
import { gql } from '../api.js';
import { h, field, notice, busy } from '../dom.js';
import { explain } from '../reasons.js';

const LOGIN = `mutation($p: String!) { employee_login(password: $p) { session reason reason_code } }`;

export function employeeLogin(root, done) {
  const pass = field({ label: 'Employee password', name: 'password', type: 'password', autocomplete: 'current-password', required: true,
    hint: 'The credential the gateway was started with (bank keeps it in <data>/gateway/employee.password).' });
  const msg = notice();
  const button = h('button', { type: 'submit' }, 'Log in');
  const form = h('form', { class: 'card narrow', novalidate: true, 'aria-labelledby': 'emp-h' },
    h('h1', { id: 'emp-h' }, 'Employees'), h('p', {}, 'Only employees see every account.'), pass.wrap, button, msg.el);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    pass.setError(pass.input.value ? '' : 'Enter the employee password.');
    if (!pass.input.value) return pass.input.focus();
    const stop = busy(button, 'Logging in…');
    msg.clear();
    try {
      const { employee_login: r } = await gql(LOGIN, { p: pass.input.value });
      if (r.reason) return msg.show('error', explain(r.reason_code, r.reason));
      done(r.session);
    } catch (err) {
      msg.show('error', err.message);
    } finally {
      stop();
    }
  });
  root.append(form);
  pass.input.focus();
  return () => {};
}
