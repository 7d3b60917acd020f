// The whole demo app: sign in → connect a bank → follow the job live → show accounts and transactions.
// Plain browser JavaScript, no framework, no build step. Read it top to bottom; each numbered part
// is one step.
//
// It calls the BFF through the TypeScript client in clients/typescript (openapi-fetch over the
// types generated from the BFF's /openapi.json): index.html's import map points the bare names
// `basiq-bff-client` and `openapi-fetch` at their copies in vendor/. The JSDoc types below are
// checked against the generated types by `tsc` (jsconfig.json), so a renamed field fails CI.
//
// Safety rule used everywhere below: data from the BFF (or the URL) goes into the page only as
// text (textContent / append(string)), never as HTML, so nothing in it can run as script.

import { createBasiqBffClient, ProblemError, subscribe, TransactionSync, unwrap } from 'basiq-bff-client';
import { BFF_BASE_URL, DEV_JWT_SECRET } from './config.js';

/** @import { Account, BffEvent, Consent, Job, Merchant, MfaChallenge, Problem, Subscription, Transaction } from 'basiq-bff-client' */

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
/** @param {string} id */
const $button = (id) => /** @type {HTMLButtonElement} */ ($(id));
/** @param {string} id */
const $input = (id) => /** @type {HTMLInputElement | HTMLTextAreaElement} */ ($(id));

// ---------------------------------------------------------------------------------------------
// 1. Calling the BFF. The client puts the app user's JWT on every call as a Bearer token, and
//    every path, parameter and answer is typed. Errors come back as application/problem+json:
//    {type, title, status, detail, code, field?, requestId}; unwrap() throws them as a
//    ProblemError.
// ---------------------------------------------------------------------------------------------

const bff = createBasiqBffClient({ baseUrl: BFF_BASE_URL, getToken: () => session.jwt });

/** A message that does not come from the BFF: the BFF did not answer, or the input is wrong. */
class Notice extends Error {
  /** @param {string} title @param {string} detail */
  constructor(title, detail) {
    super(detail);
    this.title = title;
  }
}

/**
 * One call's data; a ProblemError when the BFF answered with an error.
 * @template T
 * @param {Promise<{ data?: T, error?: unknown, response: Response }>} request
 * @returns {Promise<T>}
 */
async function api(request) {
  try {
    return await unwrap(request);
  } catch (e) {
    if (e instanceof ProblemError) throw e;
    // fetch only rejects when there is no answer at all (BFF down, or CORS refused it).
    throw new Notice('Cannot reach basiq-bff',
      `${BFF_BASE_URL} did not answer (${e instanceof Error ? e.message : e}). Is it running, ` +
      `and does its CORS_ALLOWED_ORIGINS include ${location.origin}?`);
  }
}

// Show a problem: its title, its detail, and the requestId to quote when asking for help.
/** @param {unknown} error */
function showProblem(error) {
  /** @type {Partial<Problem>} */
  const p = error instanceof ProblemError ? error.problem
    : error instanceof Notice ? { title: error.title, detail: error.message }
    : { title: 'Unexpected error', detail: String(error) };
  const box = $('problem');
  const meta = [p.status && `HTTP ${p.status}`, p.code, p.field && `field: ${p.field}`,
    p.requestId && `requestId: ${p.requestId}`].filter(Boolean).join(' · ');
  box.replaceChildren(
    el('strong', { 'data-testid': 'problem-title' }, p.title ?? 'Error'),
    el('p', { 'data-testid': 'problem-detail' }, p.detail ?? ''),
    el('div', { class: 'meta', 'data-testid': 'problem-meta' }, meta),
  );
  box.hidden = false;
  if (p.status === 401) signOut({ keepMessages: true }); // the JWT is bad or expired: sign in again
}

/** @param {string} text */
function showNotice(text) {
  $('notice').textContent = text;
  $('notice').hidden = false;
}

/**
 * Make an element. Children that are strings become text nodes (append() never parses HTML).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string>} [attributes]
 * @param {...(Node | string)} children
 */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/**
 * Run a button's action: disable it meanwhile and show any error.
 * @param {HTMLButtonElement} button
 * @param {() => Promise<unknown>} action
 */
function onClick(button, action) {
  button.addEventListener('click', async () => {
    button.disabled = true;
    $('problem').hidden = true;
    try {
      await action();
    } catch (e) {
      showProblem(e);
    } finally {
      button.disabled = false;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// 2. Signing in. A real app gets the user's JWT from its identity provider. Here you paste one,
//    or "Use demo user" signs one in the browser with the DEV-ONLY secret from config.js.
//    The JWT is kept in sessionStorage so it survives the trip through the Consent UI.
// ---------------------------------------------------------------------------------------------

const session = {
  get jwt() { return sessionStorage.getItem('basiq-demo.jwt'); },
  set jwt(value) {
    if (value) sessionStorage.setItem('basiq-demo.jwt', value);
    else sessionStorage.removeItem('basiq-demo.jwt');
  },
};

/** @param {string} text */
const utf8 = (text) => new TextEncoder().encode(text);
/** @param {Uint8Array} bytes */
const base64url = (bytes) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

// An HS256 JWT: base64url(header).base64url(claims).base64url(HMAC-SHA256 of the first two).
/** @param {string} userId */
async function mintDevJwt(userId) {
  if (!crypto.subtle) throw new Notice('WebCrypto unavailable', 'WebCrypto needs a secure context: open the page on localhost or https');
  if (!DEV_JWT_SECRET) throw new Notice('No demo secret', 'DEV_JWT_SECRET is not set in config.js');
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(utf8(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));
  const claims = base64url(utf8(JSON.stringify({
    sub: userId,
    email: `${userId.replace(/[^A-Za-z0-9._-]/g, '-')}@example.com`, // used to create the Basiq user
    iat: now,
    exp: now + 3600,
  })));
  const key = await crypto.subtle.importKey(
    'raw', utf8(DEV_JWT_SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const signature = await crypto.subtle.sign('HMAC', key, utf8(`${header}.${claims}`));
  return `${header}.${claims}.${base64url(new Uint8Array(signature))}`;
}

function signOut({ keepMessages = false } = {}) {
  session.jwt = null;
  stopEvents();
  transactionSync = null; // the next user starts from an empty copy
  withdrawn = false;
  shownCount = PAGE_SIZE;
  for (const id of ['session', 'consents', 'jobs', 'accounts', 'transactions', 'events']) $(id).hidden = true;
  if (!keepMessages) $('problem').hidden = $('notice').hidden = true;
  $('signin').hidden = false;
}

// After sign-in (or on a page load with a stored JWT): GET /v1/me checks the JWT and tells us
// whether this user already has connections.
/** @param {string[]} jobIds */
async function signedIn(jobIds) {
  const me = await api(bff.GET('/v1/me'));
  $('session-user').textContent = me.userId;
  $('signin').hidden = true;
  $('session').hidden = false;
  await startEvents();
  // A null connectionCount means Basiq could not say just now (me.unknown): try the accounts.
  if (me.basiqUserId) await showConsents();
  if (jobIds.length) await watchJobs(jobIds);
  else if (me.connectionCount !== 0) await loadData();
}

// ---------------------------------------------------------------------------------------------
// 3. "Connect your bank": the BFF mints a consent link bound to this user; the browser goes to
//    Basiq's Consent UI, and comes back to `returnTo` with ?jobIds=… (or ?error=…).
//    `extra` carries {connectionId} when re-entering the credentials of an existing connection.
// ---------------------------------------------------------------------------------------------

/** @param {{ connectionId?: string, action?: 'extend' }} [extra] */
async function connectBank(extra = {}) {
  const returnTo = location.origin + location.pathname; // this page, without ?jobIds from last time
  const { consentUrl } = await api(bff.POST('/v1/consent', { body: { returnTo, ...extra } }));
  window.location.assign(consentUrl);
}

// What ?error=… from the consent callback means, in words for the user.
/** @type {Record<string, string>} */
const CALLBACK_ERRORS = {
  no_connection: 'No bank was connected. You can try again whenever you like.',
  invalid_job: 'We could not confirm the new bank connection. Please try again.',
  temporarily_unavailable: 'We could not check the new bank connection just now. Please try again in a minute.',
};

// ---------------------------------------------------------------------------------------------
// 3b. Consents: GET /v1/consents lists what the user agreed to share and until when; "Withdraw"
//     is DELETE /v1/consents/{id} (the BFF then erases what it keeps for the user). When Basiq
//     warns that the consent lapses soon, GET /v1/connections flags the connections with
//     attentionReason "consent_expiring": the page asks the user to renew, which is the Consent
//     UI again with action "extend".
// ---------------------------------------------------------------------------------------------

/** @param {string | null | undefined} date */
const day = (date) => (date ?? '').slice(0, 10) || '—';

async function showConsents() {
  const [{ data: consents }, { data: connections }] = await Promise.all([
    api(bff.GET('/v1/consents')), api(bff.GET('/v1/connections'))]);
  $('consents-body').replaceChildren(...consents.map(renderConsent));
  $('consents').hidden = consents.length === 0;
  const expiring = connections.find((c) => c.attentionReason === 'consent_expiring');
  $('renew-prompt').hidden = !expiring;
  if (expiring) {
    $('renew-text').textContent = `Your consent to share your bank data ends on ${day(expiring.expiryDate)}. ` +
      'Renew it to keep your accounts up to date.';
  }
}

/** @param {Consent} c */
function renderConsent(c) {
  const shared = c.permissions.map((p) => p.name ?? p.scope ?? '').filter(Boolean).join(', ');
  const cell = el('td', {});
  if (c.status === 'active' && c.id) {
    const consentId = c.id;
    const withdraw = el('button', { type: 'button', class: 'link', 'data-testid': 'revoke-consent' }, 'Withdraw');
    onClick(withdraw, async () => {
      if (!confirm('Stop sharing your bank data? Your accounts will no longer be shown.')) return;
      await api(bff.DELETE('/v1/consents/{consentId}', { params: { path: { consentId } } }));
      // Nothing shows the data again (a data.updated still on its way, a load already due)
      // until a new consent's job succeeds.
      withdrawn = true;
      clearTimeout(reloadTimer);
      for (const id of ['accounts', 'transactions', 'jobs']) $(id).hidden = true;
      showNotice('Consent withdrawn: your bank data is no longer shared.');
      await showConsents();
    });
    cell.append(withdraw);
  }
  return el('tr', { 'data-testid': 'consent-row', 'data-id': c.id ?? '', 'data-status': c.status ?? '' },
    el('td', {}, el('span', { class: `badge ${c.status ?? ''}`, 'data-testid': 'consent-status' }, c.status ?? '')),
    el('td', { title: c.purpose?.title ?? '' }, shared),
    el('td', { class: 'nowrap' }, day(c.createdAt)),
    el('td', { class: 'nowrap', 'data-testid': 'consent-expiry' }, day(c.expiryDate)),
    cell);
}

// ---------------------------------------------------------------------------------------------
// 4. Live updates and job progress. The client's subscribe() gets a single-use ticket
//    (POST /v1/events/ticket, with the JWT), opens an EventSource on GET /v1/events?ticket=…,
//    and hands over each event with its data typed by its name; when the stream fails or ends,
//    it reopens with a new ticket and lastEventId, so no event is missed. A job is read once
//    (GET /v1/jobs/{id}, for where it stands now), then followed by its job.updated events,
//    step by step; a failed job carries error.userAction, which says what to ask of the user.
//    data.updated reloads the accounts and syncs the transactions; a connection.updated saying one was deleted
//    takes its accounts off the page; consent.updated reloads the consents.
// ---------------------------------------------------------------------------------------------

/** @type {Record<string, string>} */
const STEP_NAMES = {
  'verify-credentials': 'Checking your login',
  'mfa-challenge': 'Confirming it is you',
  'retrieve-accounts': 'Fetching your accounts',
  'retrieve-transactions': 'Fetching your transactions',
};

/** @type {Subscription | null} */
let events = null;
/** @type {Set<string>} the ids of the jobs this page follows */
const watched = new Set();
/** @type {Map<string, { job: Job, eventId: string | null }>} those jobs, as last seen, and the event that said so */
const jobs = new Map();

// Resolves once the stream is open, so that nothing that happens after it is missed.
function startEvents() {
  if (events) return Promise.resolve();
  $('events').hidden = false;
  return new Promise(/** @param {(value?: void) => void} resolve */ (resolve) => {
    events = subscribe(bff, {
      onOpen: () => {
        $('events-status').textContent = 'live';
        $('events-status').dataset.state = 'live';
        resolve();
      },
      onEvent: onBffEvent,
      onError: (error) => {
        $('events-status').textContent = 'reconnecting…';
        $('events-status').dataset.state = 'reconnecting';
        // A ticket refused for a bad JWT: show it (and sign out); otherwise it just reconnects.
        if (error instanceof ProblemError && error.status === 401) showProblem(error);
        resolve(); // the page works without it too (a reload shows the latest)
      },
    });
  });
}

function stopEvents() {
  events?.close();
  events = null;
  watched.clear();
  jobs.clear();
}

/** @param {BffEvent} event */
function onBffEvent(event) {
  $('event-log').prepend(el('li', { 'data-testid': 'event', 'data-type': event.type, 'data-id': event.id },
    `#${event.id} ${event.type}`, describeEvent(event)));
  switch (event.type) {
    case 'job.updated': // only the jobs this page follows (another tab's are not its business)
      if (watched.has(event.data.id)) showJob(event.data, event.id);
      break;
    case 'data.updated':
      reloadData();
      break;
    case 'connection.updated': // a connection deleted (here or elsewhere) takes its accounts along
      if (event.data.status === 'deleted') {
        for (const row of document.querySelectorAll('[data-testid=account-row]')) {
          if (/** @type {HTMLElement} */ (row).dataset.connectionId === event.data.id) row.remove();
        }
      }
      break;
    case 'user.erased':
      signOut();
      showNotice('This user and everything stored about them were erased.');
      break;
    case 'consent.updated': // created, renewed, withdrawn, expired, or expiring soon
      showConsents().catch(showProblem);
      break;
  }
}

/** @param {BffEvent} event */
function describeEvent(event) {
  switch (event.type) {
    case 'job.updated': {
      const done = event.data.steps.filter((step) => step.status === 'succeeded').length;
      return `: ${event.data.status} (${done}/${event.data.steps.length} steps done)`;
    }
    case 'connection.updated': return `: ${event.data.status}`;
    default: return '';
  }
}

/** @param {string[]} jobIds */
async function watchJobs(jobIds) {
  $('jobs').hidden = false;
  for (const jobId of jobIds) watched.add(jobId);
  const read = await Promise.all(jobIds.map((jobId) =>
    api(bff.GET('/v1/jobs/{jobId}', { params: { path: { jobId } } }))));
  // An event that came while these were read is newer than what they say.
  for (const job of read) if (!jobs.has(job.id)) showJob(job, null);
}

/** @param {Job} job @param {string | null} eventId the event that brought it, if one did */
function showJob(job, eventId) {
  const before = jobs.get(job.id)?.job;
  jobs.set(job.id, { job, eventId });
  $('job-list').replaceChildren(...[...jobs.values()].map((shown) => renderJob(shown.job, shown.eventId)));
  if (job.status === 'succeeded' && before?.status !== 'succeeded') {
    withdrawn = false;
    reloadData();
  }
}

// Accounts read again and transactions synced, a moment after the last reason to (a job's
// success and its data.updated come together), one load at a time.
/** @type {ReturnType<typeof setTimeout> | undefined} */
let reloadTimer;
let loading = Promise.resolve();
/** The user withdrew their consent on this page: their data stays off it. */
let withdrawn = false;
function reloadData() {
  if (withdrawn) return;
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => loadData().catch(showProblem), 300);
}
function loadData() {
  loading = loading.catch(() => {}).then(showAccounts);
  return loading;
}

/** @param {Job} job @param {string | null} eventId */
function renderJob(job, eventId) {
  const card = el('article', { class: 'job', 'data-testid': 'job', 'data-id': job.id, 'data-status': job.status,
    ...(eventId ? { 'data-event-id': eventId } : {}) },
    'Status: ', el('span', { class: `badge ${job.status}`, 'data-testid': 'job-status' }, job.status));
  card.append(el('ol', {}, ...job.steps.map((step) =>
    el('li', { 'data-status': step.status, 'data-testid': 'job-step' },
      STEP_NAMES[step.title] ?? step.title, ' — ', step.status.replace('_', ' ')))));
  if (job.error) card.append(renderUserAction({ ...job, error: job.error }));
  return card;
}

// The message (and button) for each error.userAction the BFF can answer.
/** @param {Job & { error: NonNullable<Job['error']> }} job */
function renderUserAction(job) {
  const { connectionId } = job;
  const { userAction, retryAfterSeconds, title, code } = job.error;
  const box = el('div', { class: 'user-action', 'data-testid': 'job-action', 'data-action': userAction });
  switch (userAction) {
    case 'reenter_credentials': {
      // The bank said no to the login: open the Consent UI again for this same connection.
      const retry = el('button', { type: 'button', 'data-testid': 'try-again' }, 'Try again');
      onClick(retry, () => connectBank(connectionId ? { connectionId } : {}));
      box.append(el('p', {}, 'Your bank rejected the login details. Check your username and ' +
        'password, then try again.'), retry);
      break;
    }
    case 'visit_bank': {
      // The bank wants the user to accept something on its own site first; then refresh.
      const refresh = el('button', { type: 'button', 'data-testid': 'check-again' }, 'I have done that, check again');
      box.append(el('p', {}, 'Your bank needs you to log in on its own website or app first, ' +
        'to accept new terms or clear a message. Do that, then come back here.'));
      if (connectionId) {
        onClick(refresh, async () => {
          const next = await api(bff.POST('/v1/connections/{connectionId}/refresh',
            { params: { path: { connectionId } } }));
          watched.clear();
          jobs.clear();
          await watchJobs([next.id]);
        });
        box.append(refresh);
      }
      break;
    }
    case 'answer_mfa': {
      // A refresh stopped at the bank's one-time code or security questions: ask them here.
      if (job.mfaChallenge) box.append(renderMfaForm(job.id, job.mfaChallenge));
      break;
    }
    case 'choose_another_bank': {
      // No retry will clear it: the bank cannot be connected this way.
      const other = el('button', { type: 'button', 'data-testid': 'choose-another-bank' }, 'Connect another bank');
      onClick(other, () => connectBank({}));
      box.append(el('p', {}, 'This bank cannot be connected this way. Choose another bank, or ' +
        'contact support if this is the one you need.'), other);
      break;
    }
    case 'retry_later': {
      const minutes = Math.max(1, Math.ceil((retryAfterSeconds ?? 600) / 60));
      const outage = job.error.institutionStatus === 'major-outage' ? ' It reports a major outage.' : '';
      box.append(el('p', {}, `Your bank is not available right now.${outage} Please try again in about ${minutes} minutes.`));
      break;
    }
    default: // 'wait', and anything newer than this page
      box.append(el('p', {}, 'Your bank is taking longer than usual. We keep trying in the ' +
        'background: your data will appear here by itself, no need to do anything.'));
  }
  box.append(el('p', { class: 'muted' }, `The bank said: ${title} (code ${code})`));
  return box;
}

// The bank's challenge, one field per question (or the code's label), sent to
// POST /v1/jobs/{jobId}/mfa. A refused answer keeps the form, with the problem shown above; an
// accepted one lets the job go on (its job.updated events follow).
/** @param {string} jobId @param {MfaChallenge} challenge */
function renderMfaForm(jobId, challenge) {
  const form = el('form', { 'data-testid': 'mfa-form' },
    el('p', {}, challenge.description || 'Your bank asks you to confirm it is you.'));
  const fields = challenge.input.map((label, i) => {
    const input = el('input', { type: 'text', required: '',
      autocomplete: 'one-time-code', 'data-testid': 'mfa-answer', id: `mfa-${jobId}-${i}` });
    form.append(el('label', { for: input.id }, label), input);
    return input;
  });
  const send = el('button', { type: 'submit', 'data-testid': 'mfa-send' }, 'Send');
  form.append(send);
  if (challenge.expiresAt) {
    form.append(el('p', { class: 'muted' }, `Answer before ${new Date(challenge.expiresAt).toLocaleTimeString()}.`));
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    send.disabled = true;
    $('problem').hidden = true;
    try {
      const responses = fields.map((input) => input.value);
      showJob(await api(bff.POST('/v1/jobs/{jobId}/mfa', { params: { path: { jobId } }, body: { responses } })), null);
    } catch (e) {
      showProblem(e);
    } finally {
      send.disabled = false;
    }
  });
  return form;
}

// Refreshing every bank of the user: a job per connection, followed like the first ones.
async function refreshBanks() {
  const { data: started } = await api(bff.POST('/v1/connections/refresh'));
  watched.clear();
  jobs.clear();
  await watchJobs(started.map((job) => job.id));
}

// ---------------------------------------------------------------------------------------------
// 5. Accounts and transactions. Money arrives as decimal strings ("-1234.50"): it is formatted
//    as text, never turned into a floating-point number, so no cent is ever rounded. What Basiq's
//    classification engine knows of a transaction is in `enrich`, and any part of it may be null.
// ---------------------------------------------------------------------------------------------

/** @param {string | null | undefined} amount @param {string | null | undefined} currency */
function formatMoney(amount, currency) {
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(amount ?? '');
  if (!match) return amount || '—'; // missing, or a shape we do not know: show it as given
  const [, sign, whole = '', fraction = ''] = match;
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ','); // 1234567 → 1,234,567
  return `${sign}${grouped}${fraction} ${currency ?? ''}`.trim();
}

// A BSB as Australians write it: 062000 → 062-000. Cards have none.
/** @param {string | null | undefined} bsb */
function formatBsb(bsb) {
  if (!bsb) return el('span', { class: 'muted', title: 'No BSB (a card account)' }, '—');
  return /^\d{6}$/.test(bsb) ? `${bsb.slice(0, 3)}-${bsb.slice(3)}` : bsb;
}

/** @type {Map<string, string>} accountId → name, for the transactions table */
const accountNames = new Map();

async function showAccounts() {
  const { data: accounts } = await api(bff.GET('/v1/accounts'));
  if (withdrawn) return; // withdrawn while this load ran
  $('accounts-body').replaceChildren(...accounts.map(renderAccount));
  $('accounts').hidden = false;
  await syncTransactions();
}

/** @param {Account} a */
function renderAccount(a) {
  accountNames.set(a.id, a.name ?? a.id);
  return el('tr', { 'data-testid': 'account-row', 'data-id': a.id, 'data-connection-id': a.connectionId ?? '' },
    el('td', {}, a.name ?? a.id),
    el('td', { 'data-testid': 'account-holder' }, a.accountHolder ?? ''),
    el('td', { class: 'nowrap', 'data-testid': 'account-bsb' }, formatBsb(a.bsb)),
    el('td', { class: 'nowrap' }, a.maskedNumber ?? a.accountNo ?? ''),
    el('td', {}, a.class.product ?? a.class.type ?? ''),
    el('td', { class: 'num', 'data-testid': 'account-balance' }, formatMoney(a.balance, a.currency)),
    el('td', { class: 'num' }, formatMoney(a.availableFunds, a.currency)));
}

// The transactions are a local copy kept by the client's TransactionSync: the first sync
// (GET /v1/transactions/sync, no cursor) reads them all, each later one (on data.updated) only
// what changed since its cursor: removed ids, then added and modified transactions, by id. The
// table is drawn from that copy, so a pending transaction that posts (Basiq gives the posted one
// a new id: the pending id comes as removed, the posted copy as added) replaces its row, never
// shows twice. "Show more" shows 25 more of the copy; it reads nothing.
/** @type {TransactionSync | null} */
let transactionSync = null;
const PAGE_SIZE = 25;
let shownCount = PAGE_SIZE;

async function syncTransactions() {
  transactionSync ??= new TransactionSync(bff, { limit: 500 });
  await transactionSync.sync();
  if (withdrawn) return;
  renderTransactions();
}

// Newest first, as GET /v1/transactions lists them: pending ones (no post date yet) first, then
// by post date, then by transaction date (the dates are ISO 8601: as text, they sort as dates).
/** @param {string} a @param {string} b */
const compare = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
/** @param {Transaction} a @param {Transaction} b */
const newestFirst = (a, b) => compare(b.postDate ?? '9999', a.postDate ?? '9999')
  || compare(b.transactionDate ?? '', a.transactionDate ?? '') || compare(a.id, b.id);

function renderTransactions() {
  const all = [...(transactionSync?.transactions.values() ?? [])].sort(newestFirst);
  const shown = all.slice(0, shownCount);
  $('transactions-body').replaceChildren(...shown.map(renderTransaction));
  $('load-more').hidden = shown.length === all.length;
  $('transactions-count').textContent = shown.length === all.length
    ? `${all.length} transactions shown (all of them).`
    : `${shown.length} of ${all.length} transactions shown.`;
  $('transactions').hidden = false;
}

function showMoreTransactions() {
  shownCount += PAGE_SIZE;
  renderTransactions();
}

/** @param {Transaction} t */
function renderTransaction(t) {
  // The clean description ("Woolworths") over the bank's own ("WOOLWORTHS 1234 SYDNEY NS AUS").
  const name = t.enrich?.cleanDescription || t.description || '';
  const anzsic = t.enrich?.category?.anzsic;
  const category = anzsic?.class?.title ?? anzsic?.group?.title ?? t.subClass?.title ?? '';
  const described = el('div', { class: 'payee' }, payeeLogo(t.enrich?.merchant, name),
    el('div', {},
      el('div', { 'data-testid': 'transaction-description' }, name),
      t.description && t.description !== name
        ? el('div', { class: 'muted small', 'data-testid': 'transaction-bank-description' }, t.description)
        : ''));
  return el('tr', { 'data-testid': 'transaction-row', 'data-id': t.id, 'data-status': t.status ?? '' },
    el('td', { class: 'nowrap' }, (t.postDate ?? t.transactionDate ?? '').slice(0, 10),
      t.status === 'pending' ? el('div', { class: 'muted small' }, 'pending') : ''),
    el('td', {}, described),
    el('td', { 'data-testid': 'transaction-category' }, category),
    el('td', {}, accountNames.get(t.accountId ?? '') ?? ''),
    el('td', { class: `num ${t.direction ?? ''}` }, formatMoney(t.amount, t.currency)));
}

// The merchant's logo. Until it has loaded, and for good when there is none or it fails (Basiq
// serves logos from its own host; offline, with basiq-sim, they never load), a round badge with
// the payee's initial stands in, coloured by the merchant's name; grey when no merchant is known.
/** @param {Merchant | null | undefined} merchant @param {string} name */
function payeeLogo(merchant, name) {
  const merchantName = merchant?.businessName || name;
  const initial = (merchantName.match(/[\p{L}\p{N}]/u)?.[0] ?? '·').toUpperCase();
  const badge = merchant
    ? el('span', { class: 'logo initial', role: 'img', 'aria-label': merchantName,
      style: `background-color: hsl(${hue(merchantName)} 45% 40%)`, 'data-testid': 'merchant-logo',
      'data-logo': 'initial' }, initial)
    : el('span', { class: 'logo initial none', 'aria-hidden': 'true', 'data-logo': 'none' }, initial);
  const thumb = merchant?.logo?.thumb;
  if (thumb) {
    const img = el('img', { class: 'logo', alt: merchantName, width: '32', height: '32',
      referrerpolicy: 'no-referrer', 'data-testid': 'merchant-logo', 'data-logo': 'image' });
    img.addEventListener('load', () => badge.replaceWith(img), { once: true });
    img.src = thumb;
  }
  return badge;
}

/** @param {string} text a hue from 0 to 359, the same for the same text */
function hue(text) {
  let h = 0;
  for (const c of text) h = (h * 31 + (c.codePointAt(0) ?? 0)) % 360;
  return h;
}

// ---------------------------------------------------------------------------------------------
// 6. Start: wire the buttons, read what the Consent UI round trip put in the URL, and go.
// ---------------------------------------------------------------------------------------------

async function main() {
  $input('demo-user-id').value = `demo-${crypto.randomUUID().slice(0, 8)}`;
  if (!DEV_JWT_SECRET) $('demo-signin').hidden = true;

  // Coming back from the Consent UI: ?jobIds=a,b or ?error=…. Take them, then clean the URL so
  // a reload does not show them again.
  const params = new URLSearchParams(location.search);
  const jobIds = (params.get('jobIds') ?? '').split(',').filter(Boolean);
  const error = params.get('error');
  if (jobIds.length || error) history.replaceState(null, '', location.pathname);
  if (error) showNotice(CALLBACK_ERRORS[error] ?? `The bank connection did not complete (${error}).`);

  onClick($button('sign-in'), async () => {
    const jwt = $input('jwt-input').value.trim();
    if (jwt.split('.').length !== 3) throw new Notice('Not a JWT', 'A JWT has three parts separated by dots.');
    session.jwt = jwt;
    await signedIn(jobIds);
  });
  onClick($button('demo-user'), async () => {
    const userId = $input('demo-user-id').value.trim();
    if (!userId) throw new Notice('User id needed', 'Type a user id, e.g. alice.');
    session.jwt = await mintDevJwt(userId);
    await signedIn(jobIds);
  });
  onClick($button('sign-out'), async () => signOut());
  onClick($button('connect-bank'), () => connectBank());
  onClick($button('renew-consent'), () => connectBank({ action: 'extend' }));
  onClick($button('load-more'), async () => showMoreTransactions());
  onClick($button('refresh-banks'), refreshBanks);

  if (!session.jwt) {
    $('signin').hidden = false;
    return;
  }
  try {
    await signedIn(jobIds);
  } catch (e) {
    showProblem(e);
    if ($('session').hidden) $('signin').hidden = false;
  }
}

main();
