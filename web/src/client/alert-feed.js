// The logged-in user's alerts as they are raised: a toast on the page
// and, once the person allows it, a browser notification. They come over
// the page's live connection, which carries the session.
import { h, notice } from '../dom.js';
import { explain, failureOf } from '../reasons.js';
import { toast } from '../toast.js';
import * as browser from '../notify.js';

const ALERTS = 'subscription { alerts { id iban transaction_id message } }';

export function alertFeed({ live }) {
  const msg = notice();
  const recent = h('ul', { class: 'alerts-feed' });
  const permit = h('p', { class: 'notify' });

  const renderPermit = () => {
    const p = browser.permission();
    if (p === 'unsupported') return permit.replaceChildren('This browser cannot show notifications: alerts show on this page.');
    if (p === 'granted') return permit.replaceChildren('Alerts also show as browser notifications while this page is open.');
    if (p === 'denied') return permit.replaceChildren('This browser blocks notifications from the bank: alerts show on this page only. Allow them in the site settings to get them there too.');
    const button = h('button', { type: 'button', class: 'secondary' }, 'Also notify me in this browser');
    button.addEventListener('click', async () => {
      await browser.ask();
      renderPermit();
    });
    return permit.replaceChildren(button);
  };
  renderPermit();

  const stop = live.subscribe({ query: ALERTS }, {
    next: ({ data, errors }) => {
      if (errors?.length) {
        const { code, reason } = failureOf(errors[0]);
        return msg.show('error', `Alerts: ${explain(code, reason)}`);
      }
      const a = data?.alerts;
      if (!a) return;
      toast('Alert:', a.message);
      browser.notify('Open Bank alert', a.message, `openbank-alert-${a.id}`);
      recent.prepend(h('li', { class: 'alert' }, a.message));
      while (recent.children.length > 5) recent.lastChild.remove();
    },
    error: () => msg.show('error', 'Alerts could not be followed; reload the page.'),
  });
  const el = h('div', {}, h('h3', {}, 'Latest alerts'), permit,
    recent, msg.el);
  return { el, stop };
}
