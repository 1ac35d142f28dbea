import { follow } from './live.js';
import { h, notice, txTable } from './dom.js';
import { groupIBAN } from './iban.js';

// The bank's own account, opened at start with the initial cash.
const COMPANY = 'NL66OPEN0000000000';

export function home(root, { live }) {
  // The company account's feed is public: no session needed.
  const table = txTable('Latest transactions of the company account');
  const msg = notice();
  root.append(
    h('h1', {}, 'Open Bank'),
    h('p', { class: 'lead' }, 'An open-source, event-sourced bank: every command goes through Kafka, every balance is built from events, and the company account\'s transactions arrive here live.'),
    h('ul', { class: 'cards' },
      h('li', {}, h('a', { href: '#/client' }, 'Open an account or log in'), h('p', {}, 'Sign up with a username and password, move money, watch your transactions live.')),
      h('li', {}, h('a', { href: '#/employee' }, 'Employees'), h('p', {}, 'The last transaction of every account, and accounts followed live.')),
      h('li', {}, h('a', { href: 'graphiql' }, 'GraphiQL'), h('p', {}, 'The GraphQL API, with queries, mutations and subscriptions.'))),
    h('section', { 'aria-labelledby': 'company-h' },
      h('h2', { id: 'company-h' }, 'The company account, live'),
      h('p', {}, 'Transactions of ', h('code', { class: 'iban' }, groupIBAN(COMPANY)), ' as they happen.'),
      msg.el, table.el));
  return follow(live, COMPANY, 10, (list) => { msg.clear(); table.render(list); },
    (e) => (e.code === 'ACCOUNT_NOT_FOUND' || e.code === 'NOT_YOUR_ACCOUNT'
      ? msg.show('info', 'The company account is not open yet: its transactions will appear here as they happen.')
      : msg.show('error', `Transactions unavailable: ${e.message}`)));
}
