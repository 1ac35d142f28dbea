// Sending money: money_transfer, then waiting for the saga's outcome. A
// lost answer is retried with the same uuid, so a transfer never happens
// twice.
import { gql, ApiError } from '../api.js';
import { uuid4 } from '../uuid.js';

const TRANSFER = `mutation($uuid: String!, $user: String!, $token: String!, $amount: Int!, $from: String!, $to: String!, $descr: String!) {
  money_transfer(uuid: $uuid, username: $user, token: $token, amount: $amount, from: $from, to: $to, descr: $descr) { success reason reason_code status }
}`;
const TRANSFER_STATUS = `query($uuid: String!) { transfer(uuid: $uuid) { status reason reason_code } }`;

const pause = (ms) => new Promise((ok) => setTimeout(ok, ms));

// send runs money_transfer and waits for the outcome; progress(text) hears
// of waits. It answers { success, reason, reason_code, status }, status
// PENDING when the bank gave no outcome in time.
export async function send(vars, progress, session) {
  for (let attempt = 0; ; attempt++) {
    let r;
    try {
      ({ money_transfer: r } = await gql(TRANSFER, vars));
    } catch (err) {
      if (!(err instanceof ApiError && err.network) || attempt >= 5) throw err;
      progress('The bank did not answer; trying again (it will not send twice)…');
      await pause(1000 * (attempt + 1));
      continue;
    }
    if (r.status !== 'PENDING') return r;
    progress('The bank is still working on it…');
    // The transfer's progress, asked once a second for half a minute.
    for (let i = 0; i < 30; i++) {
      await pause(1000);
      const { transfer: t } = await gql(TRANSFER_STATUS, { uuid: vars.uuid }, session);
      if (t && t.status !== 'STARTED') return { success: t.status === 'COMPLETED', reason: t.reason, reason_code: t.reason_code, status: t.status };
    }
    return r;
  }
}

// onceKey gives the same uuid to the same transfer sent again (after an
// unclear outcome), and a fresh one to any other.
export function onceKey() {
  let last = { key: '', uuid: '' };
  return {
    uuid(vars) {
      const key = JSON.stringify(vars);
      if (last.key !== key) last = { key, uuid: uuid4() };
      return last.uuid;
    },
    done() {
      last = { key: '', uuid: '' };
    },
  };
}
