// Audit playback: every event of the bank in log order (audit_log, from
// the reports service), one at a time: next and previous, play, jump to a
// time; for money events the account's balance before and after.
// audit-log.js keeps the place in the log; this draws it.
import { gql } from '../api.js';
import { h, busy, uid } from '../dom.js';
import { showDate, fromLocalInput } from '../dates.js';
import { groupIBAN } from '../iban.js';
import { showCents } from '../money.js';
import { party } from '../txtable.js';
import { auditCursor } from './audit-log.js';
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
  const log = auditCursor(async (vars) => (await gql(AUDIT, { first: PAGE, ...vars }, session)).audit_log);
  const c = controls();
  const position = h('p', { class: 'hint audit-position' });
  const card = h('div', { class: 'audit-event', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const list = h('ol', { class: 'audit-list', 'aria-label': 'Loaded events' });
  const player = timer(PLAY_EVERY, () => move(1), (on) => {
    c.play.textContent = on ? 'Pause' : 'Play';
    c.play.setAttribute('aria-pressed', String(on));
  });

  const render = () => {
    const s = log.state();
    c.prev.disabled = !s.canBack;
    c.next.disabled = !s.canForward;
    c.play.disabled = !s.canForward && !player.on();
    position.textContent = !s.event ? 'No event there: the log holds none at or after that time.'
      : `Event ${s.at + 1} of ${s.events.length}${s.hasMore ? ' loaded so far; more follow' : ''}.`;
    card.replaceChildren(...(s.event ? eventCard(s.event).filter(Boolean) : []));
    list.replaceChildren(...s.events.map((x, i) => h('li', {}, h('button', {
      type: 'button', class: 'link', 'aria-current': i === s.at ? 'true' : false,
      onclick: () => { player.stop(); log.go(i); render(); },
    }, `${describeEvent(x.type)} · ${x.aggregate} · ${showDate(x.at, { seconds: true })}`))));
  };
  // move steps by one event; it answers whether it moved.
  async function move(by) {
    try {
      const moved = await log.step(by);
      render();
      return moved;
    } catch (err) {
      onError(err);
      return false;
    }
  }
  async function start(from, button) {
    player.stop();
    const done = busy(button, 'Loading…');
    try {
      if (await log.start(from)) render();
    } catch (err) {
      onError(err);
    } finally {
      done();
      render();
    }
  }

  c.jump.addEventListener('click', () => (fromLocalInput(c.when.value) ? start(fromLocalInput(c.when.value), c.jump) : c.when.focus()));
  c.first.addEventListener('click', () => start('', c.first));
  c.prev.addEventListener('click', () => { player.stop(); move(-1); });
  c.next.addEventListener('click', () => { player.stop(); move(1); });
  c.play.addEventListener('click', () => (player.on() ? player.stop() : player.start()));
  const el = h('section', { 'aria-labelledby': 'audit-h', class: 'audit' },
    h('h2', { id: 'audit-h' }, 'Audit playback'),
    h('p', { class: 'hint' }, 'Every event of the bank, in the order it was written: step through them, or play them, from the first or from any time.'),
    c.el, position, card, h('details', {}, h('summary', {}, 'The loaded events'), list));
  render();
  start('', c.first);
  return { el, stop: player.stop };
}

// controls are the audit view's inputs and buttons.
function controls() {
  const c = {
    when: h('input', { type: 'datetime-local', id: uid('audit-at'), step: '1' }),
    jump: h('button', { type: 'button', class: 'secondary' }, 'Jump'),
    first: h('button', { type: 'button', class: 'secondary' }, 'From the first event'),
    prev: h('button', { type: 'button', class: 'secondary' }, 'Previous event'),
    play: h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false' }, 'Play'),
    next: h('button', { type: 'button' }, 'Next event'),
  };
  c.el = h('div', {},
    h('div', { class: 'audit-controls' },
      h('div', { class: 'field' }, h('label', { for: c.when.id }, 'Jump to a time'), h('div', { class: 'inline' }, c.when, c.jump)),
      h('div', { class: 'actions' }, c.first)),
    h('div', { class: 'actions', role: 'group', 'aria-label': 'Step through the events' }, c.prev, c.play, c.next));
  return c;
}

// timer runs step every `every` ms while on, until step answers false;
// changed(on) hears of it starting and stopping.
function timer(every, step, changed) {
  let id = 0;
  const stop = () => {
    clearTimeout(id);
    id = 0;
    changed(false);
  };
  const tick = async () => {
    if (await step()) id = setTimeout(tick, every);
    else stop();
  };
  return {
    on: () => id !== 0,
    start() {
      changed(true);
      id = setTimeout(tick, 0);
    },
    stop,
  };
}

// eventCard shows one event: what, when, about what, by whom, and for a
// money event the balance before and after.
function eventCard(e) {
  const t = e.transaction;
  const rows = [
    ['When', showDate(e.at, { seconds: true })],
    ['About', party(e.aggregate)],
    ['By', e.actor ?? 'not named in the event'],
    ['Where', `${e.topic}, offset ${e.offset}`],
  ];
  return [
    h('h3', {}, describeEvent(e.type), ' ', h('span', { class: 'hint' }, `(${e.type})`)),
    t ? h('p', { class: 'audit-balance' },
      'Account ', h('span', { class: 'iban' }, groupIBAN(t.iban)), ': ',
      h('span', { class: 'money', dataset: { role: 'before' } }, showCents(t.balance_before_cents)), ' → ',
      h('strong', { class: 'money', dataset: { role: 'after' } }, showCents(t.balance_cents)),
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
