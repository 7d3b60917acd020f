// The demo page (examples/web) walked through in a real headless Chromium, against a real
// basiq-bff and basiq-sim: sign in, connect a bank through the simulator's Consent UI, come
// back, follow the job, see accounts and transactions. Run it with scripts/e2e.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { OUT_DIR, startStack } from './stack.js';

// Debian's chromium; playwright-core never downloads a browser.
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps calling Google's hosts, which this
// sandbox refuses.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT = 20_000; // for any one thing to appear on the page

describe('the demo page against basiq-bff and basiq-sim', { timeout: 180_000, concurrency: 1 }, () => {
  let stack;
  let browser;

  before(async () => {
    stack = await startStack();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  // A fresh browser context (own sessionStorage) per test; the screenshot is taken however the
  // test ends, and uncaught page errors fail it.
  async function withPage(screenshotName, walk) {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    context.setDefaultTimeout(TIMEOUT);
    const page = await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      // Only the demo's own errors: the simulator's Consent UI is not under test here.
      const { url } = message.location();
      if (message.type() === 'error' && url.startsWith(stack.web)) pageErrors.push(`${message.text()} (${url})`);
    });
    try {
      await walk(page);
      assert.deepEqual(pageErrors, [], 'the page logged no errors');
    } finally {
      await page.screenshot({ path: path.join(OUT_DIR, `${screenshotName}.png`), fullPage: true });
      await context.close();
    }
  }

  // Demo page → "Use demo user" → "Connect your bank" → the Consent UI.
  async function signInAndOpenConsent(page, userId) {
    await page.goto(`${stack.web}/`);
    await page.fill('#demo-user-id', userId);
    await page.screenshot({ path: path.join(OUT_DIR, 'sign-in.png') });
    await page.click('#demo-user');
    await page.locator('#session-user').filter({ hasText: userId }).waitFor();
    await page.click('#connect-bank');
    await page.waitForURL((url) => url.href.startsWith(`${stack.sim}/consent/home?`));
  }

  // On the Consent UI: pick an institution (when asked), log in, submit; then wait to be back.
  async function logInAtBank(page, loginId, password) {
    if (await page.locator('select#institutionId').count()) {
      await page.selectOption('#institutionId', 'AU00000');
    }
    await page.fill('#loginId', loginId);
    await page.fill('#password', password);
    await page.click('#connect');
    await page.waitForURL((url) => url.origin === stack.web);
    await page.locator('[data-testid=jobs]').waitFor();
  }

  const jobStatus = (page, status) =>
    page.locator('[data-testid=job-status]').filter({ hasText: new RegExp(`^${status}$`) }).waitFor();

  async function assertAccountsAndTransactions(page) {
    const accounts = page.locator('[data-testid=account-row]');
    await accounts.first().waitFor();
    assert.equal(await accounts.count(), 4, 'the simulator makes four accounts per connection');
    for (const balance of await page.locator('[data-testid=account-balance]').allTextContents()) {
      assert.match(balance, /^-?\d{1,3}(,\d{3})*\.\d{2} AUD$/, 'balances are the decimal strings, grouped');
    }

    const rows = page.locator('[data-testid=transaction-row]');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 25, 'the first page has 25 transactions');
    await page.click('#load-more');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=transaction-row]').length === 50);
    assert.match(await page.textContent('#transactions-count'), /^50 transactions shown\.$/);
    assert.ok(await page.isVisible('#load-more'), 'more pages remain');
  }

  it('connects Wentworth-Smith, follows the job to success and lists accounts and transactions', async () => {
    await withPage('connect-succeeds', async (page) => {
      await signInAndOpenConsent(page, `e2e-ok-${randomBytes(4).toString('hex')}`);
      await logInAtBank(page, 'Wentworth-Smith', 'whislter');
      assert.equal(new URL(page.url()).search, '', 'the page cleans ?jobIds= out of its URL');

      await jobStatus(page, 'succeeded');
      const steps = await page.locator('[data-testid=job-step]').evaluateAll(
        (items) => items.map((li) => li.dataset.status));
      assert.deepEqual(steps, ['succeeded', 'succeeded', 'succeeded']);
      assert.equal(await page.locator('[data-testid=job-action]').count(), 0, 'no user action');
      assert.ok(await page.isHidden('#problem'), 'no problem shown');

      await assertAccountsAndTransactions(page);
    });
  });

  it('asks erlich to visit the bank and tells jianYang to try again in ten minutes', async () => {
    for (const [login, password, userAction, message] of [
      ['erlich', 'aviato', 'visit_bank', /log in on its own website or app first/],
      ['jianYang', 'nothotdog', 'retry_later', /try again in about 10 minutes/],
    ]) {
      await withPage(`user-action-${userAction}`, async (page) => {
        await signInAndOpenConsent(page, `e2e-${login}-${randomBytes(4).toString('hex')}`);
        await logInAtBank(page, login, password);
        await page.locator('[data-testid=job-action]').waitFor();
        const action = page.locator('[data-testid=job-action]');
        assert.equal(await action.getAttribute('data-action'), userAction);
        assert.match(await action.textContent(), message);
      });
    }
  });

  it('tells bighead that the bank rejected the login, and Try again re-connects the same connection', async () => {
    await withPage('reenter-credentials', async (page) => {
      await signInAndOpenConsent(page, `e2e-bighead-${randomBytes(4).toString('hex')}`);
      await logInAtBank(page, 'bighead', 'password');

      await jobStatus(page, 'action_required');
      const action = page.locator('[data-testid=job-action]');
      assert.equal(await action.getAttribute('data-action'), 'reenter_credentials');
      assert.match(await action.textContent(), /Your bank rejected the login details/);
      assert.ok(await page.isVisible('[data-testid=try-again]'));
      assert.ok(await page.isHidden('[data-testid=accounts]'), 'no accounts after a failed login');
      await page.screenshot({ path: path.join(OUT_DIR, 'reenter-credentials-message.png'), fullPage: true });

      // "Try again" opens the Consent UI for the same connection (no institution picker).
      await page.click('[data-testid=try-again]');
      await page.waitForURL((url) => url.href.startsWith(`${stack.sim}/consent/home?`));
      assert.ok(new URL(page.url()).searchParams.get('connectionId'), 'the Consent UI gets the connectionId');
      assert.equal(await page.locator('select#institutionId').count(), 0);
      await logInAtBank(page, 'Wentworth-Smith', 'whislter');
      await jobStatus(page, 'succeeded');
      await assertAccountsAndTransactions(page);
    });
  });
});
