// Drives GraphiQL in headless Chromium with every request off the bank's
// own host refused (as with no internet): loads /graphiql, runs a
// subscription, and waits for the transaction the Go test then makes.
//
//   node graphiql.mjs BASE_URL CHROMIUM SCREENSHOT
//
// prints "subscribed" once the subscription runs, then the first result
// as JSON; exits 1 on any failure.
import { chromium } from 'playwright-core';

const [base, executablePath, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const host = new URL(base).host;
  const offsite = [];
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.host !== host) {
      offsite.push(url.href);
      return route.abort();
    }
    return route.continue();
  });
  // Whatever the Content-Security-Policy blocks shows as a console error.
  const blocked = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) blocked.push(m.text());
  });
  page.on('pageerror', (e) => blocked.push(e.message));
  await page.goto(`${base}/graphiql`);
  await page.waitForSelector('.graphiql-container', { timeout: 20000 });
  const query = 'subscription {\n  stream_transactions(iban: "NL66OPEN0000000000", descr_includes: "graphiql") {\n    id iban new_balance changed_by from_to descr direction\n  }\n}';
  // Pasted and run at once, as a person pressing Ctrl+Enter right after
  // pasting: GraphiQL parses the editor's text only after a pause, and
  // the run must not depend on that (it once sent the subscription over
  // HTTP, which the gateway refuses).
  await page.evaluate((q) => {
    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q);
    document.querySelector('.graphiql-execute-button').click();
  }, query);
  // Running shows the stop button; then the subscription is on its way.
  await page.waitForSelector('.graphiql-execute-button[aria-label*="Stop"]', { timeout: 10000 });
  console.log('subscribed');
  await page.waitForFunction(() => document.querySelector('.result-window')?.innerText.includes('stream_transactions'), null, { timeout: 20000 });
  const result = await page.evaluate(() => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue());
  await page.screenshot({ path: screenshot });
  if (offsite.length > 0) throw new Error(`GraphiQL asked for ${offsite.join(', ')}`);
  if (blocked.length > 0) throw new Error(`errors on the page: ${blocked.join('; ')}`);
  console.log(JSON.stringify(JSON.parse(result)));
} catch (err) {
  console.error('graphiql:', err.message);
  process.exitCode = 1;
} finally {
  await browser.close();
}
