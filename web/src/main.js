// Open Bank in the browser: three pages behind hash routes (#/, #/client,
// #/employee), so any static server can serve the build.
import { connect } from './live.js';
import { h } from './dom.js';
import { home } from './home.js';
import { client } from './client/page.js';
import { employee } from './employee/page.js';

const pages = {
  '#/': { title: 'Home', render: home },
  '#/client': { title: 'Client', render: client },
  '#/employee': { title: 'Employee', render: employee },
};

// The live badge speaks only while the page watches something: with
// nothing to watch there is no connection, and nothing is wrong.
const liveStatus = h('span', { class: 'live-status', role: 'status', hidden: true });
const live = connect(({ state, retryIn }) => {
  liveStatus.dataset.state = state;
  liveStatus.hidden = state === 'idle';
  liveStatus.textContent = state === 'idle' ? ''
    : state === 'live' ? 'Live'
      : state === 'reconnecting' && retryIn > 0 ? `Offline: reconnecting in ${Math.ceil(retryIn / 1000)} s…`
        : state === 'reconnecting' ? 'Offline: reconnecting…' : 'Connecting…';
}, () => window.dispatchEvent(new Event('openbank:session-ended')));

const nav = h('nav', { 'aria-label': 'Pages' }, h('ul', {},
  ...Object.entries(pages).map(([hash, p]) => h('li', {}, h('a', { href: hash }, p.title)))));
const main = h('main', { id: 'main', tabindex: '-1' });
document.body.replaceChildren(
  h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); } }, 'Skip to content'),
  h('header', {}, h('a', { class: 'brand', href: '#/' }, 'Open Bank'), nav, liveStatus),
  main,
  h('footer', {}, 'An event-sourced bank on Kafka. ', h('a', { href: 'graphiql' }, 'GraphiQL'), ' · ', h('a', { href: 'graphql' }, 'API')),
);

let cleanup = () => {};
function route() {
  const hash = pages[location.hash] ? location.hash : '#/';
  cleanup();
  main.replaceChildren();
  for (const a of nav.querySelectorAll('a')) {
    if (a.getAttribute('href') === hash) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = hash === '#/' ? 'Open Bank' : `${pages[hash].title} · Open Bank`;
  cleanup = pages[hash].render(main, { live }) || (() => {});
}
window.addEventListener('hashchange', route);
route();
