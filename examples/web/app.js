// The whole demo app: sign in → connect a bank → follow the job → show accounts and transactions.
// Plain browser JavaScript, no framework. Read it top to bottom; each numbered part is one step.
//
// Safety rule used everywhere below: data from the BFF (or the URL) goes into the page only as
// text (textContent / append(string)), never as HTML, so nothing in it can run as script.

import { BFF_BASE_URL, DEV_JWT_SECRET } from './config.js';

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------------
// 1. Calling the BFF. Every /v1 call carries the app user's JWT as a Bearer token. Errors come
//    back as application/problem+json: {type, title, status, detail, code, field?, requestId}.
// ---------------------------------------------------------------------------------------------

class Problem extends Error {
  constructor(problem) {
    super(problem.title);
    this.problem = problem;
  }
}

async function api(path, { method = 'GET', body } = {}) {
  const headers = { Authorization: `Bearer ${session.jwt}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(BFF_BASE_URL + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    // fetch only throws when there is no answer at all (BFF down, or CORS refused it).
    throw new Problem({
      title: 'Cannot reach basiq-bff',
      detail: `${BFF_BASE_URL} did not answer (${e.message}). Is it running, and does its ` +
        `CORS_ALLOWED_ORIGINS include ${location.origin}?`,
    });
  }
  if (response.ok) return response.status === 204 ? null : response.json();
  let problem;
  try {
    problem = await response.json();
  } catch {
    problem = { title: `HTTP ${response.status}`, status: response.status };
  }
  problem.requestId ??= response.headers.get('x-request-id');
  throw new Problem(problem);
}

// Show a problem: its title, its detail, and the requestId to quote when asking for help.
function showProblem(error) {
  const p = error instanceof Problem ? error.problem : { title: 'Unexpected error', detail: String(error) };
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

function showNotice(text) {
  $('notice').textContent = text;
  $('notice').hidden = false;
}

// Make an element. Children that are strings become text nodes (append() never parses HTML).
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

// Run a button's action: disable it meanwhile and show any error.
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

const utf8 = (text) => new TextEncoder().encode(text);
const base64url = (bytes) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

// An HS256 JWT: base64url(header).base64url(claims).base64url(HMAC-SHA256 of the first two).
async function mintDevJwt(userId) {
  if (!crypto.subtle) throw new Error('WebCrypto needs a secure context: open the page on localhost or https');
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
  for (const id of ['session', 'jobs', 'accounts', 'transactions']) $(id).hidden = true;
  if (!keepMessages) $('problem').hidden = $('notice').hidden = true;
  $('signin').hidden = false;
}

// After sign-in (or on a page load with a stored JWT): GET /v1/me checks the JWT and tells us
// whether this user already has connections.
async function signedIn(jobIds) {
  const me = await api('/v1/me');
  $('session-user').textContent = me.userId;
  $('signin').hidden = true;
  $('session').hidden = false;
  if (jobIds.length) await watchJobs(jobIds);
  else if (me.connectionCount > 0) await showAccounts();
}

// ---------------------------------------------------------------------------------------------
// 3. "Connect your bank": the BFF mints a consent link bound to this user; the browser goes to
//    Basiq's Consent UI, and comes back to `returnTo` with ?jobIds=… (or ?error=…).
//    `extra` carries {connectionId} when re-entering the credentials of an existing connection.
// ---------------------------------------------------------------------------------------------

async function connectBank(extra = {}) {
  const returnTo = location.origin + location.pathname; // this page, without ?jobIds from last time
  const { consentUrl } = await api('/v1/consent', { method: 'POST', body: { returnTo, ...extra } });
  window.location.assign(consentUrl);
}

// What ?error=… from the consent callback means, in words for the user.
const CALLBACK_ERRORS = {
  no_connection: 'No bank was connected. You can try again whenever you like.',
  invalid_job: 'We could not confirm the new bank connection. Please try again.',
  temporarily_unavailable: 'We could not check the new bank connection just now. Please try again in a minute.',
};

// ---------------------------------------------------------------------------------------------
// 4. Job progress: poll GET /v1/jobs/{id} every second until every job has settled, showing its
//    steps; a failed job carries error.userAction, which says what to ask of the user.
// ---------------------------------------------------------------------------------------------

const SETTLED = new Set(['succeeded', 'failed', 'action_required']);
const STEP_NAMES = {
  'verify-credentials': 'Checking your login',
  'retrieve-accounts': 'Fetching your accounts',
  'retrieve-transactions': 'Fetching your transactions',
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function watchJobs(jobIds) {
  $('jobs').hidden = false;
  for (;;) {
    const jobs = await Promise.all(jobIds.map((id) => api(`/v1/jobs/${encodeURIComponent(id)}`)));
    $('job-list').replaceChildren(...jobs.map(renderJob));
    if (jobs.every((job) => SETTLED.has(job.status))) {
      if (jobs.some((job) => job.status === 'succeeded')) await showAccounts();
      return;
    }
    await sleep(1000);
  }
}

function renderJob(job) {
  const card = el('article', { class: 'job', 'data-testid': 'job', 'data-status': job.status },
    'Status: ', el('span', { class: `badge ${job.status}`, 'data-testid': 'job-status' }, job.status));
  card.append(el('ol', {}, ...job.steps.map((step) =>
    el('li', { 'data-status': step.status, 'data-testid': 'job-step' },
      STEP_NAMES[step.title] ?? step.title, ' — ', step.status.replace('_', ' ')))));
  if (job.error) card.append(renderUserAction(job));
  return card;
}

// The message (and button) for each error.userAction the BFF can answer.
function renderUserAction(job) {
  const { userAction, retryAfterSeconds, title, code } = job.error;
  const box = el('div', { class: 'user-action', 'data-testid': 'job-action', 'data-action': userAction });
  switch (userAction) {
    case 'reenter_credentials': {
      // The bank said no to the login: open the Consent UI again for this same connection.
      const retry = el('button', { type: 'button', 'data-testid': 'try-again' }, 'Try again');
      onClick(retry, () => connectBank(job.connectionId ? { connectionId: job.connectionId } : {}));
      box.append(el('p', {}, 'Your bank rejected the login details. Check your username and ' +
        'password, then try again.'), retry);
      break;
    }
    case 'visit_bank': {
      // The bank wants the user to accept something on its own site first; then refresh.
      const refresh = el('button', { type: 'button', 'data-testid': 'check-again' }, 'I have done that, check again');
      onClick(refresh, async () => {
        const next = await api(`/v1/connections/${encodeURIComponent(job.connectionId)}/refresh`, { method: 'POST' });
        await watchJobs([next.id]);
      });
      box.append(el('p', {}, 'Your bank needs you to log in on its own website or app first, ' +
        'to accept new terms or clear a message. Do that, then come back here.'));
      if (job.connectionId) box.append(refresh);
      break;
    }
    case 'retry_later': {
      const minutes = Math.max(1, Math.ceil((retryAfterSeconds ?? 600) / 60));
      box.append(el('p', {}, `Your bank is not available right now. Please try again in about ${minutes} minutes.`));
      break;
    }
    default: // 'wait', and anything newer than this page
      box.append(el('p', {}, 'Your bank is taking longer than usual. We keep trying in the ' +
        'background: your data will appear here by itself, no need to do anything.'));
  }
  box.append(el('p', { class: 'muted' }, `The bank said: ${title} (code ${code})`));
  return box;
}

// ---------------------------------------------------------------------------------------------
// 5. Accounts and transactions. Money arrives as decimal strings ("-1234.50"): it is formatted
//    as text, never turned into a floating-point number, so no cent is ever rounded.
// ---------------------------------------------------------------------------------------------

function formatMoney(amount, currency) {
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(amount ?? '');
  if (!match) return amount ?? '—'; // missing, or a shape we do not know: show it as given
  const [, sign, whole, fraction = ''] = match;
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ','); // 1234567 → 1,234,567
  return `${sign}${grouped}${fraction} ${currency ?? ''}`.trim();
}

const accountNames = new Map(); // accountId → name, for the transactions table
let nextCursor = null;

async function showAccounts() {
  const { data: accounts } = await api('/v1/accounts');
  $('accounts-body').replaceChildren(...accounts.map((a) => {
    accountNames.set(a.id, a.name);
    return el('tr', { 'data-testid': 'account-row' },
      el('td', {}, a.name ?? a.id),
      el('td', {}, a.accountNo ?? ''),
      el('td', {}, a.class?.product ?? a.class?.type ?? ''),
      el('td', { class: 'num', 'data-testid': 'account-balance' }, formatMoney(a.balance, a.currency)),
      el('td', { class: 'num' }, formatMoney(a.availableFunds, a.currency)));
  }));
  $('accounts').hidden = false;
  $('transactions-body').replaceChildren();
  await loadTransactions(null);
}

// First page: ?limit=25. Next pages: ?cursor=<nextCursor> (opaque; it remembers the limit).
async function loadTransactions(cursor) {
  const query = cursor ? `cursor=${encodeURIComponent(cursor)}` : 'limit=25';
  const page = await api(`/v1/transactions?${query}`);
  $('transactions-body').append(...page.data.map((t) =>
    el('tr', { 'data-testid': 'transaction-row' },
      el('td', {}, (t.postDate ?? t.transactionDate ?? '').slice(0, 10), t.status === 'pending' ? ' (pending)' : ''),
      el('td', {}, t.description ?? ''),
      el('td', {}, accountNames.get(t.accountId) ?? ''),
      el('td', { class: `num ${t.direction ?? ''}` }, formatMoney(t.amount, t.currency)))));
  nextCursor = page.nextCursor ?? null;
  $('load-more').hidden = !nextCursor;
  const shown = $('transactions-body').childElementCount;
  $('transactions-count').textContent = `${shown} transactions shown${nextCursor ? '' : ' (all of them)'}.`;
  $('transactions').hidden = false;
}

// ---------------------------------------------------------------------------------------------
// 6. Start: wire the buttons, read what the Consent UI round trip put in the URL, and go.
// ---------------------------------------------------------------------------------------------

async function main() {
  $('demo-user-id').value = `demo-${crypto.randomUUID().slice(0, 8)}`;
  if (!DEV_JWT_SECRET) $('demo-signin').hidden = true;

  // Coming back from the Consent UI: ?jobIds=a,b or ?error=…. Take them, then clean the URL so
  // a reload does not show them again.
  const params = new URLSearchParams(location.search);
  const jobIds = (params.get('jobIds') ?? '').split(',').filter(Boolean);
  const error = params.get('error');
  if (jobIds.length || error) history.replaceState(null, '', location.pathname);
  if (error) showNotice(CALLBACK_ERRORS[error] ?? `The bank connection did not complete (${error}).`);

  onClick($('sign-in'), async () => {
    const jwt = $('jwt-input').value.trim();
    if (jwt.split('.').length !== 3) throw new Problem({ title: 'Not a JWT', detail: 'A JWT has three parts separated by dots.' });
    session.jwt = jwt;
    await signedIn(jobIds);
  });
  onClick($('demo-user'), async () => {
    const userId = $('demo-user-id').value.trim();
    if (!userId) throw new Problem({ title: 'User id needed', detail: 'Type a user id, e.g. alice.' });
    session.jwt = await mintDevJwt(userId);
    await signedIn(jobIds);
  });
  onClick($('sign-out'), async () => signOut());
  onClick($('connect-bank'), () => connectBank());
  onClick($('load-more'), () => loadTransactions(nextCursor));

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
