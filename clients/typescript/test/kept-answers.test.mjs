// The client's kept answers against a real basiq-bff (run by scripts/ci-extra, with BFF_URL and
// JWT of a user with a bank connected): the second read of an unchanged answer is a 304 on the
// wire, and the client hands on the same data as a 200.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBasiqBffClient, unwrap } from '../dist/index.js';

const { BFF_URL, JWT } = process.env;

test('an unchanged answer is asked for again with If-None-Match and handed on from what was kept', { skip: !BFF_URL && 'BFF_URL is not set' }, async () => {
  const seen = [];
  const bff = createBasiqBffClient({
    baseUrl: BFF_URL,
    getToken: () => JWT,
    fetch: async (request) => {
      const response = await fetch(request);
      seen.push({ ifNoneMatch: request.headers.get('If-None-Match'), status: response.status });
      return response;
    },
  });
  // The bank's first job may still be running: wait for its accounts (reading with no answers kept).
  const plain = createBasiqBffClient({ baseUrl: BFF_URL, getToken: () => JWT, keptAnswers: 0 });
  for (let i = 0; i < 100 && (await unwrap(plain.GET('/v1/accounts'))).data.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const first = await unwrap(bff.GET('/v1/accounts'));
  const second = await unwrap(bff.GET('/v1/accounts'));
  assert.ok(first.data.length > 0, 'the user has accounts');
  assert.deepEqual(second, first);
  assert.equal(seen[0].ifNoneMatch, null);
  assert.match(seen[1].ifNoneMatch ?? '', /^".+"$/, 'the second read names the kept ETag');
  assert.equal(seen[1].status, 304, 'and basiq-bff answers 304, without a body');

  const { response } = await plain.GET('/v1/accounts');
  assert.equal(response.status, 200);
  assert.ok(response.headers.get('Data-Read-At'), 'the answer says when its data was read');
});
