// The BFF a team would otherwise write in Node, doing per request what basiq-bff does for
// GET /v1/accounts and GET /v1/transactions: verify the app JWT, look the user up in Postgres,
// call Basiq with the shared server token over a keep-alive pool, parse its JSON, map it to
// basiq-bff's documented shape (SPEC.md §4 "Accounts" and "Transactions") and serialise that.
// scripts/bench runs it as the peer basiq-bff is compared with; it is written the ordinary way
// (Express, jsonwebtoken, pg, undici), not tuned, because that is what the comparison is about.
'use strict';

const crypto = require('node:crypto');
const express = require('express');
const jwt = require('jsonwebtoken');
const { Pool } = require('pg');
const { Agent, request } = require('undici');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const port = Number(env('PORT'));
const basiqUrl = env('BASIQ_API_URL');
const basiqKey = env('BASIQ_API_KEY');
const jwtSecret = env('APP_JWT_SECRET');
// A KeyObject made once: given the secret as a string, jsonwebtoken first tries to parse it as a
// public key on every call and pays for the exception (~350 µs a request, 35 times the check).
const jwtKey = crypto.createSecretKey(Buffer.from(jwtSecret));

const db = new Pool({ connectionString: env('DATABASE_URL') });
const basiq = new Agent({ keepAliveTimeout: 60_000, connections: 64 });

// One server token for every request, refreshed well before Basiq's hour runs out.
let basiqToken = null;
async function refreshToken() {
  const res = await request(`${basiqUrl}/token`, {
    method: 'POST',
    dispatcher: basiq,
    headers: {
      authorization: `Basic ${basiqKey}`,
      'content-type': 'application/x-www-form-urlencoded',
      'basiq-version': '3.0',
    },
    body: 'scope=SERVER_ACCESS',
  });
  if (res.statusCode !== 200) throw new Error(`POST /token answered ${res.statusCode}`);
  basiqToken = (await res.body.json()).access_token;
}

class HttpError extends Error {
  constructor(status, code, detail) {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

// The same checks as basiq-bff: HS256 only, exp and sub required, 30 s leeway.
function authenticate(req) {
  const header = req.get('authorization') || '';
  const token = header.startsWith('Bearer ') ? header.slice(7) : null;
  if (!token) throw new HttpError(401, 'unauthorized', 'a Bearer JWT is required');
  let claims;
  try {
    claims = jwt.verify(token, jwtKey, { algorithms: ['HS256'], clockTolerance: 30 });
  } catch (e) {
    throw new HttpError(401, 'unauthorized', e.message);
  }
  if (typeof claims.exp !== 'number') throw new HttpError(401, 'unauthorized', 'the JWT has no exp');
  if (typeof claims.sub !== 'string' || claims.sub === '' || claims.sub.length > 255) {
    throw new HttpError(401, 'unauthorized', "the JWT's sub is empty or too long");
  }
  return claims.sub;
}

async function basiqUserId(appUserId) {
  const { rows } = await db.query('select basiq_user_id from app_users where app_user_id = $1', [appUserId]);
  return rows.length ? rows[0].basiq_user_id : null;
}

async function basiqGet(path) {
  const res = await request(`${basiqUrl}${path}`, {
    dispatcher: basiq,
    headers: { authorization: `Bearer ${basiqToken}`, accept: 'application/json' },
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new HttpError(502, 'upstream_error', `Basiq answered ${res.statusCode}`);
  }
  try {
    return await res.body.json();
  } catch {
    throw new HttpError(502, 'upstream_malformed', 'Basiq sent a body that is not JSON');
  }
}

const or = (v) => (v === undefined ? null : v);
const codeTitle = (v) => (v ? { code: or(v.code), title: or(v.title) } : null);

function account(a) {
  const cls = typeof a.class === 'string' ? { type: a.class, product: null } : a.class || {};
  return {
    id: a.id,
    name: or(a.name),
    accountNo: or(a.accountNo),
    maskedNumber: or(a.maskedNumber),
    bsb: or(a.bsb),
    accountHolder: or(a.accountHolder),
    accountOwnership: or(a.accountOwnership),
    isOwned: or(a.isOwned),
    balance: or(a.balance),
    availableFunds: or(a.availableFunds),
    creditLimit: or(a.creditLimit),
    currency: or(a.currency),
    class: { type: or(cls.type), product: or(cls.product) },
    connectionId: or(a.connection),
    institutionId: or(a.institution),
    lastUpdated: or(a.lastUpdated),
    status: or(a.status),
    transactionIntervals: (a.transactionIntervals || []).map((t) => ({ from: or(t.from), to: or(t.to) })),
    // unmaskedAccNum is never passed on.
  };
}

function merchant(m) {
  if (!m) return null;
  return {
    id: or(m.id),
    businessName: or(m.businessName),
    abn: or(m.ABN),
    website: or(m.website),
    phone: m.phoneNumber ? { local: or(m.phoneNumber.local), international: or(m.phoneNumber.international) } : null,
    logo: m.logoMaster || m.logoThumb ? { master: or(m.logoMaster), thumb: or(m.logoThumb) } : null,
  };
}

function category(c) {
  if (!c) return null;
  const a = c.anzsic;
  return {
    matchType: or(c.matchType),
    matchScore: or(c.matchScore),
    mcc: codeTitle(c.mcc),
    anzsic: a
      ? {
          division: codeTitle(a.division),
          subdivision: codeTitle(a.subdivision),
          group: codeTitle(a.group),
          class: codeTitle(a.class),
          subclass: codeTitle(a.subclass),
        }
      : null,
  };
}

function location(l) {
  if (!l) return null;
  return {
    formattedAddress: or(l.formattedAddress),
    routeNo: or(l.routeNo),
    route: or(l.route),
    suburb: or(l.suburb),
    state: or(l.state),
    postalCode: or(l.postalCode),
    country: or(l.country),
    geometry: l.geometry ? { lat: or(l.geometry.lat), lng: or(l.geometry.lng) } : null,
  };
}

function paymentDetails(p) {
  if (!p) return null;
  return {
    bpay: p.bpay ? { billerCode: or(p.bpay.billerCode), billerName: or(p.bpay.billerName), crn: or(p.bpay.crn) } : null,
    apcaNumber: or(p.apcaNumber),
  };
}

function transaction(t) {
  const e = t.enrich;
  return {
    id: t.id,
    status: or(t.status),
    description: or(t.description),
    reference: or(t.reference),
    amount: or(t.amount),
    currency: or(t.currency),
    balance: or(t.balance),
    direction: or(t.direction),
    class: or(t.class),
    subClass: codeTitle(t.subClass),
    accountId: or(t.account),
    connectionId: or(t.connection),
    institutionId: or(t.institution),
    transactionDate: or(t.transactionDate),
    postDate: or(t.postDate),
    paymentDetails: paymentDetails(t.paymentDetails),
    enrich: e
      ? {
          cleanDescription: or(e.cleanDescription),
          tags: e.tags || [],
          merchant: merchant(e.merchant),
          category: category(e.category),
          location: location(e.location),
        }
      : null,
  };
}

// An opaque cursor bound to the user, as basiq-bff's is: Basiq's next-page query and a MAC.
function cursor(userId, nextLink) {
  if (!nextLink) return null;
  const payload = Buffer.from(new URL(nextLink).search).toString('base64url');
  const mac = crypto.createHmac('sha256', jwtSecret).update(`${userId}.${payload}`).digest('base64url');
  return `${payload}.${mac}`;
}

const app = express();
app.disable('x-powered-by');

app.get('/v1/accounts', async (req, res) => {
  const userId = await basiqUserId(authenticate(req));
  if (!userId) return res.json({ data: [] });
  const body = await basiqGet(`/users/${encodeURIComponent(userId)}/accounts`);
  res.json({ data: body.data.map(account) });
});

app.get('/v1/transactions', async (req, res) => {
  const userId = await basiqUserId(authenticate(req));
  if (!userId) return res.json({ data: [], nextCursor: null });
  const body = await basiqGet(`/users/${encodeURIComponent(userId)}/transactions?limit=100`);
  res.json({ data: body.data.map(transaction), nextCursor: cursor(userId, body.links && body.links.next) });
});

app.get('/healthz', (req, res) => res.json({ status: 'ok' }));

// Express 5 passes a rejected handler promise here.
app.use((err, req, res, next) => {
  const status = err.status || 500;
  res.status(status).type('application/problem+json').json({ status, code: err.code || 'internal', detail: err.message });
});

refreshToken()
  .then(() => {
    setInterval(() => refreshToken().catch((e) => console.error('token refresh failed:', e.message)), 20 * 60_000).unref();
    app.listen(port, '127.0.0.1', () => console.log(`bench peer on 127.0.0.1:${port}`));
  })
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
