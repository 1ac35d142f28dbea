// What an employee sees: every account's last transaction, and the
// accounts they tick followed live.
import { ApiError } from '../api.js';
import { h, notice } from '../dom.js';
import { lastTransactions } from './last-table.js';
import { followedFeed } from './followed.js';
import { auditView } from './audit.js';

export function overview(root, { live, session, logout }) {
  const msg = notice();
  const onError = (err) => {
    if (err instanceof ApiError && err.auth) return logout();
    msg.show('error', err.message);
  };
  const followed = followedFeed({ live, session, onError });
  const table = lastTransactions({ session, onError, followed });
  const audit = auditView({ session, onError });
  root.append(
    h('div', { class: 'section-head' }, h('h1', {}, 'All accounts'),
      h('div', { class: 'inline' },
        h('button', { type: 'button', class: 'secondary', onclick: table.load }, 'Refresh'),
        h('button', { type: 'button', class: 'link', onclick: logout }, 'Log out'))),
    msg.el, followed.el, audit.el, table.el);
  table.load();
  return () => {
    followed.stop();
    audit.stop();
  };
}
