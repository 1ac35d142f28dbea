// What the browser tests share: pages that may reach nothing but the
// bank, the checks run one by one (a failed one is reported by name and
// the next ones still run), accessibility by axe-core, screenshots, and
// waits for conditions (never for time).
import { chromium } from 'playwright-core';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { readFileSync, readdirSync, rmSync } from 'node:fs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export const T = { timeout: 20_000 };
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export function check(cond, what) {
  if (!cond) throw new Error(what);
}

// Every page starts with these: the WebSockets it opens and the closes
// it has seen (in the page, before the page's own handlers run), and the
// browser notifications it shows.
function spies() {
  window.__sockets = { opened: 0, closed: 0 };
  const Real = window.WebSocket;
  window.WebSocket = class extends Real {
    constructor(...args) {
      super(...args);
      window.__sockets.opened += 1;
      this.addEventListener('close', () => { window.__sockets.closed += 1; });
    }
  };
  window.__notifications = [];
  if (typeof window.Notification === 'function') {
    const RealN = window.Notification;
    const Spy = function Notification(title, options) {
      window.__notifications.push({ title, body: options?.body ?? '' });
      return new RealN(title, options);
    };
    Object.defineProperty(Spy, 'permission', { get: () => RealN.permission });
    Spy.requestPermission = (...a) => RealN.requestPermission(...a);
    window.Notification = Spy;
  }
}

// Browser runs one Chromium; its pages fail the run on page errors,
// anything the Content-Security-Policy blocks, and any request off the
// bank's host.
export class Browser {
  constructor(base, artifacts) {
    this.base = base;
    this.host = new URL(base).host;
    this.artifacts = artifacts;
    this.offsite = [];
    this.errors = [];
    this.pages = [];
    this.failed = [];
    this.passed = 0;
    // Screenshots of failures are of this run only.
    for (const f of readdirSync(artifacts)) if (/^failed-.*\.png$/.test(f)) rmSync(join(artifacts, f));
  }

  async launch(executablePath) {
    this.browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  }

  // context is a browser profile: its tabs share sessionStorage-less
  // state (BroadcastChannel, permissions) as one person's browser does.
  async context(viewport) {
    const context = await this.browser.newContext({ viewport });
    await context.addInitScript(spies);
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.host !== this.host) {
        this.offsite.push(url.href);
        return route.abort();
      }
      return route.fallback();
    });
    return context;
  }

  async page(viewport, context) {
    const ctx = context ?? await this.context(viewport);
    const page = await ctx.newPage();
    if (context && viewport) await page.setViewportSize(viewport);
    page.on('pageerror', (e) => this.errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) this.errors.push(m.text());
    });
    this.pages.push(page);
    return page;
  }

  // item runs one check of the issue; a failure is kept, screenshotted,
  // and the run goes on. essential ones stop the run when they fail.
  async item(name, f, { essential = false } = {}) {
    const started = Date.now();
    try {
      await f();
      this.passed += 1;
      console.error(`  ok   ${name} (${Date.now() - started} ms)`);
    } catch (err) {
      this.failed.push(`${name}: ${err.message.split('\n')[0]}`);
      console.error(`  FAIL ${name}: ${err.message}`);
      for (const [i, p] of this.pages.entries()) {
        if (p.isClosed()) continue;
        await p.screenshot({ path: join(this.artifacts, `failed-${this.failed.length}-${i}.png`), fullPage: true }).catch(() => {});
      }
      if (essential) throw new Error(`${name} failed, the rest depends on it`);
    }
  }

  async shot(page, name) {
    await page.screenshot({ path: join(this.artifacts, `${name}.png`), fullPage: true });
  }

  async close() {
    await this.browser?.close();
  }
}

// accessible fails on what axe-core finds serious or critical on a page,
// and on a page that shows a programmer's word for nothing (null,
// undefined, NaN, [object …]) to people.
export async function accessible(page, name) {
  const text = await page.locator('body').innerText();
  const garbage = text.match(/\b(null|undefined|NaN)\b|\[object \w+\]/);
  check(!garbage, `the ${name} page shows "${garbage?.[0]}": …${text.slice(Math.max(0, (garbage?.index ?? 0) - 80), (garbage?.index ?? 0) + 40)}…`);
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

// rowTexts lists a transactions table of a page as text, newest first.
export async function rowTexts(page, caption = 'Transactions of the chosen account') {
  return page.evaluate((name) => {
    const t = [...document.querySelectorAll('table')].find((x) => x.querySelector('caption')?.textContent.startsWith(name));
    return t ? [...t.querySelectorAll('tbody tr')].map((tr) => ({ id: tr.dataset.id, text: tr.innerText.replace(/\s+/g, ' ').trim() })) : [];
  }, caption);
}

// waitRow waits for a row of a table (by caption) to match pattern.
export async function waitRow(page, pattern, caption = 'Transactions of the chosen account') {
  await page.waitForFunction(({ source, name }) => {
    const t = [...document.querySelectorAll('table')].find((x) => x.querySelector('caption')?.textContent.startsWith(name));
    return t && [...t.querySelectorAll('tbody tr')].some((tr) => new RegExp(source).test(tr.innerText.replace(/\s+/g, ' ')));
  }, { source: pattern.source, name: caption }, T);
}

// waitText waits for an element matching selector whose text matches
// pattern.
export async function waitText(page, selector, pattern) {
  await page.waitForFunction(({ selector: s, source }) => [...document.querySelectorAll(s)]
    .some((el) => new RegExp(source).test(el.textContent.replace(/\s+/g, ' '))), { selector, source: pattern.source }, T);
}

// hold stalls the GraphQL requests whose body matches pattern until the
// returned release() is called: a loading state can then be seen for
// sure, however fast the bank answers.
export async function hold(page, pattern) {
  let release;
  const released = new Promise((r) => { release = r; });
  let seen;
  const arrived = new Promise((r) => { seen = r; });
  const handler = async (route) => {
    if (route.request().method() === 'POST' && pattern.test(route.request().postData() ?? '')) {
      seen();
      await released;
    }
    return route.fallback();
  };
  await page.route('**/graphql', handler);
  return {
    arrived,
    async release() {
      release();
      await page.unroute('**/graphql', handler);
    },
  };
}

// contrast is the WCAG contrast ratio of two CSS colours (rgb/rgba).
export function contrast(a, b) {
  const lum = (c) => {
    const [r, g, bl] = c.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}
