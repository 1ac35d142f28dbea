// The employee page: behind the employee credential the gateway was
// started with; the session is shared by the browser's tabs.
import { sharedSession } from '../session.js';
import { employeeLogin } from './login.js';
import { overview } from './overview.js';

const session = sharedSession('openbank.employee');

export function employee(root, ctx) {
  let stop = () => {};
  const show = () => {
    stop();
    stop = () => {};
    root.replaceChildren();
    const s = session.get();
    ctx.live.setSession(s);
    stop = s ? overview(root, { live: ctx.live, session: s, logout }) : employeeLogin(root, (x) => session.set(x));
  };
  const logout = () => session.end();
  const offChange = session.onChange(show);
  window.addEventListener('openbank:session-ended', logout);
  show();
  return () => {
    offChange();
    window.removeEventListener('openbank:session-ended', logout);
    stop();
  };
}
