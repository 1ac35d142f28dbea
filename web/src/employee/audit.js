// Audit playback: every event of the bank in log order (audit_log, from
// the reports service), one at a time: next and previous, play, jump to a
// time, and for money events the account's balance before and after.
import { gql } from '../api.js';
import { h, busy, uid } from '../dom.js';
import { showDate, fromLocalInput } from '../dates.js';
import { groupIBAN } from '../iban.js';
import { showCents } from '../money.js';
import { describeEvent } from './events.js';

const AUDIT = `query($from: String, $after: String, $first: Int) {
  audit_log(from: $from, after: $after, first: $first) {
    events { cursor topic offset at type aggregate actor body transaction { id iban change_cents balance_cents balance_before_cents } }
    next has_more
  }
}`;
const PAGE = 50;
// Play shows the next event every this many ms.
const PLAY_EVERY = 1200;

export function auditView({ session, onError }) {
  let events = [];
  let at = -1;
  let next = null;
  let hasMore = false;
  let timer = 0;
  let generation = 0;

  const when = h('input', { type: 'datetime-local', id: uid('audit-at'), step: '1' });
  const jump = h('button', { type: 'button', class: 'secondary' }, 'Jump');
  const fromStart = h('button', { type: 'button', class: 'secondary' }, 'From the first event');
  const prev = h('button', { type: 'button', class: 'secondary' }, 'Previous event');
  const play = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false' }, 'Play');
  const nextButton = h('button', { type: 'button' }, 'Next event');
  const position = h('p', { class: 'hint', id: uid('audit-pos') });
  const card = h('div', { class: 'audit-event', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const list = h('ol', { class: 'audit-list', 'aria-label': 'Loaded events' });

  async function fetchPage(vars) {
    const { audit_log: p } = await gql(AUDIT, { first: PAGE, ...vars }, session);
    return p;
  }

  // start loads the events from a time (RFC 3339; '' for the first).
  async function start(from, button) {
    stop();
    const g = ++generation;
    const done = busy(button, 'Loading…');
    try {
      const p = await fetchPage(from ? { from } : {});
      if (g !== generation) return;
      events = p.events;
      [next, hasMore] = [p.next, p.has_more];
      at = events.length ? 0 : -1;
      render();
    } catch (err) {
      onError(err);
    } finally {
      done();
      controls();
    }
  }

  // step moves by one event, loading the next page at the end.
  async function step(by) {
    if (by > 0 && at === events.length - 1 && hasMore) {
      const g = generation;
      try {
        const p = await fetchPage({ after: next });
        if (g !== generation) return false;
        events = events.concat(p.events);
        [next, hasMore] = [p.next, p.has_more];
      } catch (err) {
        onError(err);
        return false;
      }
    }
    const to = at + by;
    if (to < 0 || to >= events.length) return false;
    at = to;
    render();
    return true;
  }

  const stop = () => {
    clearTimeout(timer);
    timer = 0;
    play.textContent = 'Play';
    play.setAttribute('aria-pressed', 'false');
  };
  const tick = async () => {
    if (await step(1)) timer = setTimeout(tick, PLAY_EVERY);
    else stop();
  };

  function controls() {
    prev.disabled = at <= 0;
    nextButton.disabled = at < 0 || (at === events.length - 1 && !hasMore);
    play.disabled = nextButton.disabled && !timer;
  }

  function render() {
    controls();
    if (at < 0) {
      position.textContent = 'No event there: the log holds none at or after that time.';
      card.replaceChildren();
      list.replaceChildren();
      return;
    }
    const e = events[at];
    position.textContent = `Event ${at + 1} of the ${events.length} loaded${hasMore ? ' (more follow)' : ', the last one so far'}.`;
    card.replaceChildren(...eventCard(e));
    list.replaceChildren(...events.map((x, i) => h('li', {}, h('button', {
      type: 'button', class: 'link', 'aria-current': i === at ? 'true' : false,
      onclick: () => { stop(); at = i; render(); },
    }, `${describeEvent(x.type)} · ${x.aggregate} · ${showDate(x.at, { seconds: true })}`))));
    list.children[at]?.scrollIntoView?.({ block: 'nearest' });
  }

  jump.addEventListener('click', () => {
    const from = fromLocalInput(when.value);
    if (!from) return void when.focus();
    start(from, jump);
  });
  fromStart.addEventListener('click', () => start('', fromStart));
  prev.addEventListener('click', () => { stop(); step(-1); });
  nextButton.addEventListener('click', () => { stop(); step(1).then(controls); });
  play.addEventListener('click', () => {
    if (timer) return stop();
    play.textContent = 'Pause';
    play.setAttribute('aria-pressed', 'true');
    timer = setTimeout(tick, 0);
  });

  const el = h('section', { 'aria-labelledby': 'audit-h', class: 'audit' },
    h('h2', { id: 'audit-h' }, 'Audit playback'),
    h('p', { class: 'hint' }, 'Every event of the bank, in the order it was written: step through them, or play them, from the first or from any time.'),
    h('div', { class: 'audit-controls' },
      h('div', { class: 'field' }, h('label', { for: when.id }, 'Jump to a time'), h('div', { class: 'inline' }, when, jump)),
      h('div', { class: 'actions' }, fromStart)),
    h('div', { class: 'actions', role: 'group', 'aria-label': 'Step through the events' }, prev, play, nextButton),
    position, card, h('details', {}, h('summary', {}, 'The loaded events'), list));
  controls();
  start('', fromStart);
  return { el, stop: () => { generation += 1; stop(); } };
}

// eventCard shows one event: what, when, about what, by whom, and for a
// money event the balance before and after.
function eventCard(e) {
  const t = e.transaction;
  const rows = [
    ['When', showDate(e.at, { seconds: true })],
    ['About', e.aggregate],
    ['By', e.actor ?? 'not named in the event'],
    ['Where', `${e.topic}, offset ${e.offset}`],
  ];
  return [
    h('h3', {}, describeEvent(e.type), ' ', h('span', { class: 'hint' }, `(${e.type})`)),
    t ? h('p', { class: 'audit-balance' },
      'Account ', h('span', { class: 'iban' }, groupIBAN(t.iban)), ': ',
      h('span', { class: 'money', 'data-role': 'before' }, showCents(t.balance_before_cents)), ' → ',
      h('strong', { class: 'money', 'data-role': 'after' }, showCents(t.balance_cents)),
      ` (${t.change_cents < 0 ? '' : '+'}${showCents(t.change_cents)}, transaction ${t.id})`) : null,
    h('dl', { class: 'audit-facts' }, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('details', {}, h('summary', {}, 'The event as recorded'), h('pre', { class: 'audit-body' }, pretty(e.body))),
  ];
}

function pretty(body) {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}
