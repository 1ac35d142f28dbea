// The home page: what Open Bank is, and one account anyone may watch, the
// company's.
import { follow } from './feed.js';
import { h, notice } from './dom.js';
import { groupIBAN } from './iban.js';
import { txTable } from './txtable.js';

// The bank's own account, opened at start with the initial cash.
const COMPANY = 'NL66OPEN0000000000';

export function home(root, { live }) {
  // The company account's feed is public: no session needed.
  const table = txTable('Latest transactions of the company account');
  const msg = notice();
  root.append(
    h('h1', {}, 'Open Bank'),
    h('p', { class: 'lead' }, 'An open-source, event-sourced bank: every command goes through Kafka and every balance is built from events. Below, one account anyone may watch: the bank\'s own.'),
    h('ul', { class: 'cards' },
      h('li', {}, h('a', { href: '#/client' }, 'Log in or create a user'), h('p', {}, 'Open accounts, deposit cash, review and send transfers, share an account, set alerts; your balances and transactions update live.')),
      h('li', {}, h('a', { href: '#/employee' }, 'Employees'), h('p', {}, 'With the employee password: the last transaction of every account, and accounts followed live.')),
      h('li', {}, h('a', { href: 'graphiql' }, 'GraphiQL'), h('p', {}, 'The GraphQL API, with queries, mutations and subscriptions.'))),
    h('section', { 'aria-labelledby': 'company-h' },
      h('h2', { id: 'company-h' }, 'The company account, live'),
      h('p', {}, 'The newest transactions of the bank\'s own account, ', h('span', { class: 'iban' }, groupIBAN(COMPANY)),
        ', appear here as they happen. Other accounts are private: only their owners (and employees) see them.'),
      msg.el, table.el));
  return follow(live, COMPANY, 10, (list) => { msg.clear(); table.render(list); },
    (e) => (e.code === 'ACCOUNT_NOT_FOUND' || e.code === 'NOT_YOUR_ACCOUNT'
      ? msg.show('info', 'The company account is not open yet: its transactions will appear here as they happen.')
      : msg.show('error', `Transactions unavailable: ${e.message}`)));
}
