// The demo page (examples/web) walked through in a real headless Chromium, against a real
// basiq-bff and basiq-sim: sign in, connect a bank through the simulator's Consent UI, come
// back, follow the job, see accounts and transactions, and see a pending transaction that posts
// replace its row. Run it with scripts/e2e.

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
// A 2×2 PNG, in the place of every merchant logo once the test serves them.
const LOGO_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR42mNQCb4GRAwQCgAhsgU1gi3H1AAAAABJRU5ErkJggg==', 'base64');

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
  // test ends, and uncaught page errors fail it. The page follows jobs on the event stream, so
  // it reads each job at most once (GET /v1/jobs/{id}, for where it stands) and never polls.
  async function withPage(screenshotName, walk) {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    context.setDefaultTimeout(TIMEOUT);
    const page = await context.newPage();
    const jobReads = new Map(); // job id → the page's GET /v1/jobs/{id} requests
    page.on('request', (request) => {
      const { origin, pathname } = new URL(request.url());
      const jobId = /^\/v1\/jobs\/([^/]+)$/.exec(pathname)?.[1];
      if (origin === stack.bff && request.method() === 'GET' && jobId) {
        jobReads.set(jobId, (jobReads.get(jobId) ?? 0) + 1);
      }
    });
    page.jobReads = jobReads;
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
      for (const [jobId, reads] of jobReads) {
        assert.ok(reads <= 1, `the page read job ${jobId} ${reads} times: it polled`);
      }
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
  async function logInAtBank(page, loginId, password, institutionId = 'AU00000') {
    if (await page.locator('select#institutionId').count()) {
      await page.selectOption('#institutionId', institutionId);
    }
    await page.fill('#loginId', loginId);
    await page.fill('#password', password);
    await page.click('#connect');
    await page.waitForURL((url) => url.origin === stack.web);
    await page.locator('[data-testid=jobs]').waitFor();
  }

  const jobStatus = (page, status) =>
    page.locator('[data-testid=job-status]').filter({ hasText: new RegExp(`^${status}$`) }).waitFor();

  // (The event log is in a closed <details>: its items are attached, not visible.)
  // The job card as the event stream left it: its state came from a job.updated event that the
  // page lists, and the page read the job once, before the events, and never again.
  async function assertJobFollowedOnTheStream(page, status) {
    const card = page.locator('[data-testid=job]');
    assert.equal(await card.count(), 1, 'one job');
    const [jobId, eventId] = [await card.getAttribute('data-id'), await card.getAttribute('data-event-id')];
    assert.ok(eventId, `the job card shows what the job.updated event said, not what a GET said`);
    const log = await page.locator('[data-testid=event]').evaluateAll((items) =>
      items.map((li) => ({ type: li.dataset.type, id: li.dataset.id, text: li.textContent })).reverse());
    const jobEvents = log.filter((e) => e.type === 'job.updated');
    assert.ok(jobEvents.length >= 1, 'job.updated events arrived');
    assert.equal(jobEvents.at(-1).id, eventId, 'the card shows the last of them');
    assert.match(jobEvents.at(-1).text, new RegExp(`job\\.updated: ${status} \\(\\d/3 steps done\\)$`));
    const ids = log.map((e) => Number(e.id));
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'events arrive in order');
    assert.equal(page.jobReads.get(jobId), 1, 'the page read the job once, and did not poll it');
    assert.equal(await page.getAttribute('[data-testid=events-status]', 'data-state'), 'live');
    return log;
  }

  // What the BFF answers this page's user, asked directly with the JWT the page holds.
  async function bffAnswer(page, pathAndQuery) {
    const jwt = await page.evaluate(() => sessionStorage.getItem('basiq-demo.jwt'));
    const response = await fetch(`${stack.bff}${pathAndQuery}`, { headers: { Authorization: `Bearer ${jwt}` } });
    assert.equal(response.status, 200, `GET ${pathAndQuery}`);
    return response.json();
  }

  // Each account row shows its holder and BSB (062000 as 062-000; a card has none).
  async function assertAccountIdentity(page) {
    const { data: accounts } = await bffAnswer(page, '/v1/accounts');
    const shown = await page.locator('[data-testid=account-row]').evaluateAll((rows) => rows.map((row) => ({
      id: row.dataset.id,
      holder: row.querySelector('[data-testid=account-holder]').textContent,
      bsb: row.querySelector('[data-testid=account-bsb]').textContent,
    })));
    assert.deepEqual(shown, accounts.map((a) => ({
      id: a.id,
      holder: a.accountHolder,
      bsb: a.bsb ? `${a.bsb.slice(0, 3)}-${a.bsb.slice(3)}` : '—',
    })));
    assert.ok(shown.every((a) => /^[A-Z][A-Z' -]+$/.test(a.holder)), 'every account has its holder, as the bank writes it');
    assert.equal(shown.filter((a) => /^\d{3}-\d{3}$/.test(a.bsb)).length, 3, 'three accounts have a BSB');
    assert.equal(shown.filter((a) => a.bsb === '—').length, 1, 'the credit card has none');
  }

  // Each transaction row shows the clean description (the bank's own beneath it when it
  // differs), the ANZSIC category, and the merchant's logo; with the logo host unreachable, as
  // offline, the stand-in badge named after the merchant. Rows match the BFF's first page.
  async function assertEnrichment(page, { logos }) {
    const { data: transactions } = await bffAnswer(page, '/v1/transactions?limit=25');
    const shown = await page.locator('[data-testid=transaction-row]').evaluateAll((rows) =>
      rows.slice(0, 25).map((row) => {
        const text = (testid) => row.querySelector(`[data-testid=${testid}]`)?.textContent ?? null;
        const logo = row.querySelector('[data-testid=merchant-logo]');
        return {
          id: row.dataset.id,
          description: text('transaction-description'),
          bankDescription: text('transaction-bank-description'),
          category: text('transaction-category'),
          logo: logo && { kind: logo.dataset.logo, name: logo.getAttribute('alt') ?? logo.getAttribute('aria-label') },
        };
      }));
    assert.deepEqual(shown, transactions.map((t) => {
      const clean = t.enrich?.cleanDescription || t.description;
      const anzsic = t.enrich?.category?.anzsic;
      const merchant = t.enrich?.merchant;
      return {
        id: t.id,
        description: clean,
        bankDescription: t.description !== clean ? t.description : null,
        category: anzsic?.class?.title ?? anzsic?.group?.title ?? t.subClass?.title ?? '',
        logo: merchant ? { kind: merchant.logo?.thumb ? logos : 'initial', name: merchant.businessName } : null,
      };
    }));

    // The simulator's mix: most purchases fully enriched, some partly, transfers and salary not.
    const enriched = transactions.filter((t) => t.enrich?.merchant?.logo?.thumb && t.enrich.category?.anzsic);
    const partial = transactions.filter((t) => !t.enrich?.merchant && t.enrich?.category?.anzsic);
    const plain = transactions.filter((t) => !t.enrich?.merchant && !t.enrich?.category);
    assert.ok(enriched.length >= 5, `several transactions with merchant, logo and category (${enriched.length})`);
    assert.ok(partial.length + plain.length >= 1, 'and some with less, or none');
    for (const t of enriched) {
      assert.notEqual(t.enrich.cleanDescription, t.description, 'a clean description differs from the bank\'s');
    }
  }

  async function assertAccountsAndTransactions(page) {
    const accounts = page.locator('[data-testid=account-row]');
    await accounts.first().waitFor();
    assert.equal(await accounts.count(), 4, 'the simulator makes four accounts per connection');
    for (const balance of await page.locator('[data-testid=account-balance]').allTextContents()) {
      assert.match(balance, /^-?\d{1,3}(,\d{3})*\.\d{2} AUD$/, 'balances are the decimal strings, grouped');
    }
    await assertAccountIdentity(page);

    const rows = page.locator('[data-testid=transaction-row]');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 25, 'the first page has 25 transactions');
    await assertEnrichment(page, { logos: 'initial' });
    await page.click('#load-more');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=transaction-row]').length === 50);
    assert.match(await page.textContent('#transactions-count'), /^50 of \d+ transactions shown\.$/);
    assert.ok(await page.isVisible('#load-more'), 'more remain');
  }

  // The transaction rows as shown: their ids and status, and the total the page says it holds.
  async function shownTransactions(page) {
    const rows = await page.locator('[data-testid=transaction-row]').evaluateAll((trs) =>
      trs.map((tr) => ({ id: tr.dataset.id, status: tr.dataset.status })));
    const total = Number(/ of (\d+) transactions/.exec(await page.textContent('#transactions-count'))?.[1]);
    return { rows, ids: rows.map((r) => r.id), total };
  }

  // The bank posts a pending transaction (the simulator's control route; Basiq gives the posted
  // copy a new id) and says so with its transactions.updated webhook; the BFF refreshes its copy
  // and publishes data.updated; the page syncs: the posted copy replaces the pending row, with
  // no duplicate and as many transactions as before.
  async function assertPendingTurnsPosted(page) {
    const before = await shownTransactions(page);
    const pending = before.rows.find((r) => r.status === 'pending');
    assert.ok(pending, 'a pending transaction is shown');
    assert.ok(before.total > before.rows.length, `the page holds all ${before.total} transactions`);
    const dataEvents = await page.locator('[data-testid=event][data-type="data.updated"]').count();
    const { basiqUserId } = await bffAnswer(page, '/v1/me');
    const response = await fetch(`${stack.sim}/__sim/users/${basiqUserId}/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ post: [{ id: pending.id, keepPending: false }] }),
    });
    assert.equal(response.status, 200, 'the simulator posted it');
    const { posted: [posted] } = await response.json();
    assert.equal(posted.pendingId, pending.id);
    assert.notEqual(posted.postedId, pending.id, 'the posted copy has its own id');

    await page.waitForFunction(({ pendingId, postedId }) => {
      const ids = [...document.querySelectorAll('[data-testid=transaction-row]')].map((tr) => tr.dataset.id);
      return ids.includes(postedId) && !ids.includes(pendingId);
    }, { pendingId: pending.id, postedId: posted.postedId });
    const after = await shownTransactions(page);
    assert.ok(await page.locator('[data-testid=event][data-type="data.updated"]').count() > dataEvents,
      'a data.updated event brought it');
    assert.equal(after.rows.length, before.rows.length, 'as many rows as before');
    assert.equal(after.total, before.total, 'as many transactions as before: the posted one replaced the pending one');
    assert.equal(new Set(after.ids).size, after.ids.length, 'no row twice');
    assert.equal(after.rows.find((r) => r.id === posted.postedId)?.status, 'posted');
  }

  it('connects Wentworth-Smith, follows the job to success and lists accounts and transactions', async () => {
    await withPage('connect-succeeds', async (page) => {
      await signInAndOpenConsent(page, `e2e-ok-${randomBytes(4).toString('hex')}`);
      await logInAtBank(page, 'Wentworth-Smith', 'whislter');
      assert.equal(new URL(page.url()).search, '', 'the page cleans ?jobIds= out of its URL');

      // The steps as they happen, from the stream: the first job.updated comes while the job
      // is still running (each simulated step takes a second).
      await page.locator('[data-testid=event][data-type="job.updated"]').first().waitFor({ state: 'attached' });
      await jobStatus(page, 'succeeded');
      const steps = await page.locator('[data-testid=job-step]').evaluateAll(
        (items) => items.map((li) => li.dataset.status));
      assert.deepEqual(steps, ['succeeded', 'succeeded', 'succeeded']);
      assert.equal(await page.locator('[data-testid=job-action]').count(), 0, 'no user action');
      assert.ok(await page.isHidden('#problem'), 'no problem shown');
      // The data comes with the job: a data.updated once the BFF's copy has it, after the job's
      // success or sooner, from Basiq's webhooks (transactions.updated, connection.activated)
      // that come as the job's last step ends; no second one when the copy did not change.
      await page.locator('[data-testid=event][data-type="data.updated"]').first().waitFor({ state: 'attached' });
      const log = await assertJobFollowedOnTheStream(page, 'succeeded');
      const types = log.map((e) => e.type);
      assert.ok(types.indexOf('job.updated') < types.indexOf('data.updated'), `the job ran, then data: ${types}`);

      await assertAccountsAndTransactions(page);
      await page.screenshot({ path: path.join(OUT_DIR, 'transactions-logo-stand-ins.png'), fullPage: true });
      await assertPendingTurnsPosted(page);
      await assertEnrichment(page, { logos: 'initial' }); // still the BFF's first page, in its order
      await page.screenshot({ path: path.join(OUT_DIR, 'transactions-pending-posted.png'), fullPage: true });

      // Where the logos load (here, served by the test), they replace the stand-ins, alt text
      // and all. A reload finds the user's connection and shows the data again.
      await page.context().route((url) => url.origin !== stack.web && url.origin !== stack.bff,
        (route) => route.fulfill({ status: 200, contentType: 'image/png', body: LOGO_PNG }));
      await page.reload();
      await page.locator('[data-testid=transaction-row]').first().waitFor();
      const { data: firstPage } = await bffAnswer(page, '/v1/transactions?limit=25');
      const withLogo = firstPage.filter((t) => t.enrich?.merchant?.logo?.thumb).length;
      await page.waitForFunction((count) =>
        document.querySelectorAll('img[data-testid=merchant-logo]').length === count, withLogo);
      await assertEnrichment(page, { logos: 'image' });
      await page.screenshot({ path: path.join(OUT_DIR, 'transactions-logos-loaded.png'), fullPage: true });
    });
  });

  it('reconnects when the BFF restarts, with a new ticket and lastEventId, and misses nothing', async () => {
    await withPage('reconnect', async (page) => {
      const streams = []; // the page's GET /v1/events requests
      page.on('request', (request) => {
        const url = new URL(request.url());
        if (url.origin === stack.bff && url.pathname === '/v1/events') streams.push(url.searchParams);
      });
      await signInAndOpenConsent(page, `e2e-restart-${randomBytes(4).toString('hex')}`);
      await logInAtBank(page, 'Wentworth-Smith', 'whislter');
      await jobStatus(page, 'succeeded');
      await page.locator('[data-testid=event][data-type="data.updated"]').first().waitFor({ state: 'attached' });
      await page.locator('[data-testid=account-row]').first().waitFor();
      await page.waitForTimeout(1000); // the connection.updated that follows the data.updated
      // One stream per page load so far (before the Consent UI, and since coming back).
      assert.equal(streams.length, 2, 'one stream per page load so far');
      const first = streams[1];
      assert.ok(first.get('ticket'), 'opened with a ticket');
      assert.notEqual(first.get('ticket'), streams[0].get('ticket'), 'a new ticket for each');
      assert.equal(first.get('lastEventId'), null, 'from now on, on a page load');
      const lastSeen = await page.locator('[data-testid=event]').first().getAttribute('data-id');

      // The page waits 2 s, then 4 s, … before each reconnect, so events of a refresh started as
      // soon as the BFF is back are written while the page is still away: replayed when it is back.
      await stack.restartBff();
      const jwt = await page.evaluate(() => sessionStorage.getItem('basiq-demo.jwt'));
      const { data: [connection] } = await bffAnswer(page, '/v1/connections');
      const refresh = await fetch(`${stack.bff}/v1/connections/${connection.id}/refresh`,
        { method: 'POST', headers: { Authorization: `Bearer ${jwt}` } });
      assert.equal(refresh.status, 200, 'POST refresh');
      const job = await refresh.json();

      await page.locator('[data-testid=events-status][data-state=live]').waitFor({ timeout: 40_000 });
      await page.locator(`[data-testid=event][data-type="job.updated"]`).filter({ hasText: /succeeded/ })
        .nth(1).waitFor({ state: 'attached', timeout: 40_000 });
      assert.ok(streams.length >= 3, 'the page reconnected');
      const reopened = streams[2];
      assert.ok(reopened.get('ticket') && reopened.get('ticket') !== first.get('ticket'), 'with a new ticket');
      assert.equal(reopened.get('lastEventId'), lastSeen, 'after the last event it had seen');
      const ids = await page.locator('[data-testid=event]').evaluateAll((items) => items.map((li) => Number(li.dataset.id)).reverse());
      assert.deepEqual(ids, [...new Set(ids)].sort((a, b) => a - b), 'no event twice, all in order');
      assert.ok(job.id, 'the refresh answered its job');
    });
  });

  it('lists the consent with its expiry and withdraws it, revoking it at Basiq', async () => {
    await withPage('consent-revoked', async (page) => {
      await signInAndOpenConsent(page, `e2e-revoke-${randomBytes(4).toString('hex')}`);
      await logInAtBank(page, 'Wentworth-Smith', 'whislter');
      await jobStatus(page, 'succeeded');
      await page.locator('[data-testid=account-row]').first().waitFor();

      const { data: consents } = await bffAnswer(page, '/v1/consents');
      assert.equal(consents.length, 1);
      const row = page.locator(`[data-testid=consent-row][data-id="${consents[0].id}"]`);
      await row.locator('[data-testid=consent-status]').filter({ hasText: /^active$/ }).waitFor();
      assert.equal(await row.locator('[data-testid=consent-expiry]').textContent(), consents[0].expiryDate.slice(0, 10));
      assert.ok(await page.isHidden('#renew-prompt'), 'no renew prompt while the consent is far from its end');
      await page.screenshot({ path: path.join(OUT_DIR, 'consent-listed.png'), fullPage: true });

      page.once('dialog', (dialog) => dialog.accept());
      await row.locator('[data-testid=revoke-consent]').click();
      await row.locator('[data-testid=consent-status]').filter({ hasText: /^revoked$/ }).waitFor();
      assert.equal(await row.locator('[data-testid=revoke-consent]').count(), 0, 'a revoked consent cannot be withdrawn again');
      assert.ok(await page.isHidden('#accounts'), 'the data is no longer shown');
      assert.match(await page.textContent('#notice'), /withdrawn/);
      const { data: after } = await bffAnswer(page, '/v1/consents');
      assert.equal(after[0].status, 'revoked', 'revoked at Basiq');
    });
  });

  it('shows the problem+json of a JWT the BFF refuses, with its code and request id, and asks to sign in again', async () => {
    await withPage('refused-jwt', async (page) => {
      await page.goto(`${stack.web}/`);
      await page.fill('#jwt-input', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.bm90LXNpZ25lZA');
      await page.click('#sign-in');
      await page.locator('[data-testid=problem]').waitFor();
      assert.match(await page.textContent('[data-testid=problem-meta]'),
        /^HTTP 401 · unauthorized · requestId: \S+$/, 'the client turned the 401 into its ProblemError');
      assert.ok(await page.isVisible('[data-testid=signin]'), 'the sign-in form is back');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('basiq-demo.jwt')), null);
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

  // Pied Piper Bank asks a refresh of an MFA user's connection the user's question, always
  // (reference/TOPICS/testing.md, "MFA users": gavinBelson's is "What's your first company?",
  // answered "Hooli"). The page shows the question; a wrong answer is refused and the form stays;
  // the right one lets the job go on to succeed.
  it('answers the bank\'s question on a refresh: a wrong answer is refused, the right one succeeds', async () => {
    await withPage('mfa', async (page) => {
      await signInAndOpenConsent(page, `e2e-mfa-${randomBytes(4).toString('hex')}`);
      await logInAtBank(page, 'gavinBelson', 'hooli2016', 'AU00002');
      await jobStatus(page, 'succeeded');
      await page.locator('[data-testid=account-row]').first().waitFor();

      await page.click('[data-testid=refresh-banks]');
      await jobStatus(page, 'action_required');
      const action = page.locator('[data-testid=job-action]');
      assert.equal(await action.getAttribute('data-action'), 'answer_mfa');
      const form = page.locator('[data-testid=mfa-form]');
      assert.match(await form.textContent(), /What's your first company\?/);
      await page.screenshot({ path: path.join(OUT_DIR, 'mfa-question.png'), fullPage: true });

      await form.locator('[data-testid=mfa-answer]').fill('Pied Piper');
      await form.locator('[data-testid=mfa-send]').click();
      await page.locator('[data-testid=problem]').waitFor();
      assert.match(await page.textContent('[data-testid=problem-meta]'), /HTTP 422 · mfa_rejected · field: responses/);
      assert.ok(await page.isVisible('[data-testid=mfa-form]'), 'the question is still asked');

      await page.locator('[data-testid=mfa-answer]').fill('Hooli');
      await page.locator('[data-testid=mfa-send]').click();
      await jobStatus(page, 'succeeded');
      const steps = await page.locator('[data-testid=job-step]').evaluateAll(
        (items) => items.map((li) => li.dataset.status));
      assert.deepEqual(steps, ['succeeded', 'succeeded', 'succeeded', 'succeeded'], 'four steps, the question among them');
      assert.equal(await page.locator('[data-testid=mfa-form]').count(), 0);
    });
  });

  // A bank Basiq cannot connect this way (here a refresh the simulator fails with
  // institution-disabled): the page asks the user to choose another.
  it('asks the user to choose another bank when no retry will help', async () => {
    await withPage('choose-another-bank', async (page) => {
      await signInAndOpenConsent(page, `e2e-disabled-${randomBytes(4).toString('hex')}`);
      await logInAtBank(page, 'Wentworth-Smith', 'whislter');
      await jobStatus(page, 'succeeded');
      const { basiqUserId } = await bffAnswer(page, '/v1/me');
      const { data: [connection] } = await bffAnswer(page, '/v1/connections');
      const next = await fetch(`${stack.sim}/__sim/users/${basiqUserId}/connections/${connection.id}/next-job`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ step: 'verify-credentials', code: 'institution-disabled' }),
      });
      assert.equal(next.status, 204);
      await page.click('[data-testid=refresh-banks]');
      await jobStatus(page, 'failed');
      const action = page.locator('[data-testid=job-action]');
      assert.equal(await action.getAttribute('data-action'), 'choose_another_bank');
      assert.match(await action.textContent(), /cannot be connected this way/);
      await page.screenshot({ path: path.join(OUT_DIR, 'choose-another-bank.png'), fullPage: true });
      await page.click('[data-testid=choose-another-bank]');
      await page.waitForURL((url) => url.href.startsWith(`${stack.sim}/consent/home?`));
      assert.equal(new URL(page.url()).searchParams.get('connectionId'), null, 'a new connection, any bank');
    });
  });

  it('tells bighead that the bank rejected the login, and Try again re-connects the same connection', async () => {
    await withPage('reenter-credentials', async (page) => {
      await signInAndOpenConsent(page, `e2e-bighead-${randomBytes(4).toString('hex')}`);
      await logInAtBank(page, 'bighead', 'password');

      await jobStatus(page, 'action_required');
      await assertJobFollowedOnTheStream(page, 'action_required');
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
