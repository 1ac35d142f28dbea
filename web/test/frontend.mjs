// Drives the frontend in headless Chromium against a running bank, as two
// clients and an employee, with every request off the bank's host refused.
//
//   node frontend.mjs BASE_URL CHROMIUM ARTIFACT_DIR EMPLOYEE_PASSWORD
//
// Midway it prints "restart <first client's username>" and waits for a line on stdin: meanwhile the
// Go test stops the gateway, makes a transfer to the first client through
// another gateway ("restarted <amount>" gives its cents) and starts it
// again. Prints "ok" at the end; exits 1 on any failure.
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const [base, executablePath, artifacts, employeePassword] = process.argv.slice(2);
const stdin = createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => stdin.once('line', resolve));
const suffix = Math.random().toString(36).slice(2, 8);
const T = { timeout: 20_000 };

function check(cond, what) {
  if (!cond) throw new Error(what);
}

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
const offsite = [];
const errors = [];
const pages = [];
async function newPage(viewport) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const host = new URL(base).host;
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.host !== host) {
      offsite.push(url.href);
      return route.abort();
    }
    return route.continue();
  });
  page.on('pageerror', (e) => errors.push(e.message));
  // Whatever the Content-Security-Policy blocks shows as a console error.
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(m.text());
  });
  pages.push(page);
  return page;
}

async function signUp(page, username, action = 'Create an account') {
  await page.goto(`${base}/#/client`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('secret pw');
  await page.getByRole('button', { name: action }).click();
  const iban = page.getByLabel('Account number (IBAN)');
  await iban.waitFor(T);
  await page.getByText('Live', { exact: true }).waitFor(T);
  return (await iban.textContent()).trim();
}

// rows lists the transactions table of a page as text, newest first.
async function rows(page, table = page.getByRole('table', { name: /Transactions of the chosen account/ })) {
  return table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => ({ id: tr.dataset.id, text: tr.innerText.replace(/\s+/g, ' ').trim() })));
}

async function waitRow(page, pattern, table) {
  await page.waitForFunction(({ source, name }) => {
    const t = [...document.querySelectorAll('table')].find((x) => x.querySelector('caption')?.textContent.startsWith(name));
    return t && [...t.querySelectorAll('tbody tr')].some((tr) => new RegExp(source).test(tr.innerText.replace(/\s+/g, ' ')));
  }, { source: pattern.source, name: table ?? 'Transactions of the chosen account' }, T);
}

// accessible fails on what axe-core finds serious or critical on a page.
async function accessible(page, name) {
  // Evaluated rather than added as an inline <script>, which the page's
  // Content-Security-Policy refuses, as it should.
  await page.evaluate(`${axeSource}\n;true`);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
  });
  check(found.length === 0, `accessibility of the ${name} page: ${found.join('; ')}`);
}

async function balance(page) {
  return (await page.locator('#balance').textContent()).trim();
}

try {
  // Home: what this is, and the company account's transactions live.
  const home = await newPage({ width: 1280, height: 900 });
  await home.goto(`${base}/`);
  await home.getByRole('heading', { name: 'The company account, live' }).waitFor(T);
  await waitRow(home, /cash/, 'Latest transactions of the company account');
  await home.screenshot({ path: join(artifacts, 'frontend-home.png'), fullPage: true });
  await accessible(home, 'home');

  // Two clients: ann on a desktop, bob on a phone-sized screen.
  const ann = await newPage({ width: 1280, height: 900 });
  const bob = await newPage({ width: 390, height: 844 });
  // Log in with a username no one has: refused, no account opened.
  await ann.goto(`${base}/#/client`);
  await ann.getByLabel('Username').fill(`ann-${suffix}`);
  await ann.getByLabel('Password').fill('secret pw');
  await ann.getByRole('button', { name: 'Log in', exact: true }).click();
  await ann.getByText('Wrong username or password. New here? Use Create an account.').waitFor(T);
  const annIBAN = await signUp(ann, `ann-${suffix}`);
  const bobIBAN = await signUp(bob, `bob-${suffix}`);
  check(/^NL\d{2}OPEN\d{10}$/.test(annIBAN) && annIBAN !== bobIBAN, `IBANs ${annIBAN} ${bobIBAN}`);
  check(await balance(ann) === '€0,00', 'a new account holds €0,00');
  const bobWidth = await bob.evaluate(() => document.documentElement.scrollWidth);
  check(bobWidth <= 390, `the phone page is ${bobWidth}px wide: it scrolls sideways`);

  // Bob sets an alert on money coming in, which ann's transfer sets off.
  await bob.getByLabel('Alert me when').selectOption('INCOMING_ABOVE');
  await bob.getByLabel('Alert threshold').fill('10');
  await bob.getByRole('button', { name: 'Set alert' }).click();
  await bob.getByText('Alert set.').waitFor(T);
  await bob.getByText('Money comes in of more than €10,00').waitFor(T);

  // Ann deposits cash and sends some to bob: both see it live.
  await ann.getByLabel('Cash to deposit').fill('100');
  await ann.getByRole('button', { name: 'Deposit' }).click();
  await ann.getByText('Deposited €100,00.').waitFor(T);
  await waitRow(ann, /cash cash deposit credit €100,00 €100,00/);
  await ann.waitForFunction(() => document.querySelector('#balance').textContent === '€100,00', null, T);

  const transfer = async (to, amount, descr) => {
    await ann.getByLabel('To (IBAN)').fill(to);
    await ann.getByLabel('Amount', { exact: true }).fill(amount);
    await ann.getByLabel('Description').fill(descr);
    await ann.getByRole('button', { name: 'Send money' }).click();
  };
  // Bob's IBAN as people paste it: grouped, lower case.
  await transfer(bobIBAN.toLowerCase().replace(/(.{4})/g, '$1 '), '12,50', 'lunch');
  await ann.getByText(`Sent €12,50 to ${bobIBAN}.`).waitFor(T);
  await waitRow(ann, new RegExp(`${bobIBAN} lunch debit -€12,50 €87,50`));
  await waitRow(bob, new RegExp(`${annIBAN} lunch credit €12,50 €12,50`));
  await bob.waitForFunction(() => document.querySelector('#balance').textContent === '€12,50', null, T);
  await bob.getByText(`€12,50 came in on ${bobIBAN} ("lunch"), more than €10,00`).waitFor(T);
  await bob.screenshot({ path: join(artifacts, 'frontend-client-phone.png'), fullPage: true });

  // What the form refuses itself, and what the bank refuses.
  await transfer('NL66OPEN0000000001', '5', 'typo');
  await ann.getByText('That is not a valid IBAN: check it for typos.').waitFor(T);
  await transfer(bobIBAN, '-5', 'negative');
  await ann.getByText('The amount must be more than zero.').waitFor(T);
  await transfer(bobIBAN, '1.000', 'too much');
  await ann.getByText(/^Transfer failed: Not enough money in the account/).waitFor(T);
  await transfer('NL91ABNA0417164300', '5', 'elsewhere');
  await ann.getByText('Sent €5,00 to NL91ABNA0417164300.').waitFor(T);
  await ann.screenshot({ path: join(artifacts, 'frontend-client.png'), fullPage: true });
  await accessible(ann, 'client');
  await accessible(bob, 'client (phone)');

  // An employee page needs the employee credential.
  const emp = await newPage({ width: 1280, height: 900 });
  await emp.goto(`${base}/#/employee`);
  await emp.getByLabel('Employee password').fill('not it');
  await emp.getByRole('button', { name: 'Log in' }).click();
  await emp.getByText('Wrong employee password.').waitFor(T);
  check(await emp.getByRole('heading', { name: 'All accounts' }).count() === 0, 'the overview shows without the credential');
  await emp.screenshot({ path: join(artifacts, 'frontend-employee-login.png') });
  await accessible(emp, 'employee log-in');
  await emp.getByLabel('Employee password').fill(employeePassword);
  await emp.getByRole('button', { name: 'Log in' }).click();
  await emp.getByRole('heading', { name: 'All accounts' }).waitFor(T);
  await emp.getByLabel(`Follow ${annIBAN}`).check(T);
  await emp.getByLabel(`Follow ${bobIBAN}`).check(T);
  await waitRow(emp, new RegExp(`${bobIBAN} ${annIBAN} lunch credit €12,50`), 'Transactions of the followed accounts');

  // Ann opens a second account, switches to it, and pays into it.
  await ann.getByRole('button', { name: 'Open another account' }).click();
  const opened = (await ann.getByText(/^Opened account NL/).textContent(T)).match(/NL\w+/)[0];
  const second = (await ann.getByLabel('Account number (IBAN)').textContent()).trim();
  check(second === opened, `the new account ${opened} is selected (${second} is)`);
  check(await ann.getByRole('radio').count() === 2, 'two accounts are listed');
  await ann.getByText('No transactions yet.').waitFor(T);
  await ann.getByRole('radio').first().check();
  await ann.waitForFunction((iban) => document.querySelector('output.iban')?.textContent === iban, annIBAN, T);
  await transfer(second, '7', 'to my savings');
  await ann.getByText(`Sent €7,00 to ${second}.`).waitFor(T);
  await waitRow(emp, new RegExp(`${annIBAN} ${second} to my savings debit -€7,00 €75,50`), 'Transactions of the followed accounts');
  await emp.screenshot({ path: join(artifacts, 'frontend-employee.png'), fullPage: true });
  await accessible(emp, 'employee');

  // The gateway restarts; a transfer happens while it is away. The pages
  // reconnect, and show that transfer once.
  const before = (await rows(ann)).length;
  console.log(`restart ann-${suffix}`);
  const [, cents] = (await nextLine()).split(' ');
  const euros = `€${Math.floor(cents / 100)},${String(cents % 100).padStart(2, '0')}`;
  await ann.getByText('Live', { exact: true }).waitFor(T);
  await waitRow(ann, new RegExp(`cash while away credit ${euros}`));
  await waitRow(emp, new RegExp(`${annIBAN} cash while away credit ${euros}`), 'Transactions of the followed accounts');
  // A fresh transfer after the reconnection arrives live too.
  await transfer(bobIBAN, '1', 'after restart');
  await waitRow(bob, new RegExp(`${annIBAN} after restart credit €1,00`));
  await waitRow(ann, /after restart debit -€1,00/);
  const after = await rows(ann);
  const ids = after.map((r) => r.id);
  check(new Set(ids).size === ids.length, `duplicate transactions after reconnecting: ${ids}`);
  check(after.length === before + 2, `${after.length} rows after the restart, want ${before + 2}: ${JSON.stringify(after)}`);

  // Log out ends the session everywhere; logging in again (the username
  // in capitals) finds the same account.
  await ann.getByRole('button', { name: 'Log out' }).click();
  await ann.getByRole('button', { name: 'Log in', exact: true }).waitFor(T);
  check(await signUp(ann, `ANN-${suffix}`, 'Log in') === annIBAN, 'logging in again shows the first account');

  check(offsite.length === 0, `asked for off-site ${offsite.join(', ')}`);
  check(errors.length === 0, `errors on the pages: ${errors.join('; ')}`);
  console.log('ok');
} catch (err) {
  console.error('frontend:', err.message);
  process.exitCode = 1;
  // What each page showed when it failed.
  for (const [i, p] of pages.entries()) {
    await p.screenshot({ path: join(artifacts, `frontend-failed-${i}.png`), fullPage: true }).catch(() => {});
    console.error(`page ${i} (${p.url()}):`, (await p.locator('main').innerText().catch(() => '')).slice(0, 1500));
  }
} finally {
  stdin.close();
  await browser.close();
}
