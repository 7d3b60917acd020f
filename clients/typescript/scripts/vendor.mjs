// Copies what the demo page (examples/web, no build step) runs into examples/web/vendor/:
//
//   npm run vendor                          build, then copy
//   node scripts/vendor.mjs --check         after `npm ci` and `npm run build`: fails when a
//                                           vendored file is not exactly its source (CI)
//
// - vendor/openapi-fetch/: openapi-fetch's ES module build, licence and package.json, verbatim,
//   from node_modules (so at the version package-lock.json pins, which npm ci has verified);
// - vendor/basiq-bff-client/index.js: this package's dist/index.js, compiled from src/index.ts.
// The page maps the bare names `openapi-fetch` and `basiq-bff-client` to them with an import map.

import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VENDOR_DIR = path.resolve(PACKAGE_DIR, '../../examples/web/vendor');
const OPENAPI_FETCH = path.join(PACKAGE_DIR, 'node_modules/openapi-fetch');

// [source, vendored copy]
const COPIES = [
  [path.join(OPENAPI_FETCH, 'dist/index.mjs'), 'openapi-fetch/index.js'],
  [path.join(OPENAPI_FETCH, 'LICENSE'), 'openapi-fetch/LICENSE'],
  [path.join(OPENAPI_FETCH, 'package.json'), 'openapi-fetch/package.json'],
  [path.join(PACKAGE_DIR, 'dist/index.js'), 'basiq-bff-client/index.js'],
];

const relative = (file) => path.relative(process.cwd(), file) || '.';
const read = (file) => {
  try {
    return readFileSync(file);
  } catch {
    return null;
  }
};

if (process.argv[2] !== '--check') {
  for (const [source, copy] of COPIES) {
    mkdirSync(path.dirname(path.join(VENDOR_DIR, copy)), { recursive: true });
    copyFileSync(source, path.join(VENDOR_DIR, copy));
  }
  console.log(`examples/web/vendor: ${COPIES.map(([, copy]) => copy).join(', ')} copied`);
  process.exit(0);
}

const problems = [];
const locked = JSON.parse(readFileSync(path.join(PACKAGE_DIR, 'package-lock.json'), 'utf8'))
  .packages['node_modules/openapi-fetch']?.version;
const vendored = JSON.parse(read(path.join(VENDOR_DIR, 'openapi-fetch/package.json')) ?? '{}').version;
if (vendored !== locked) {
  problems.push(`examples/web/vendor/openapi-fetch is version ${vendored ?? '(none)'}, package-lock.json pins ${locked}`);
}
for (const [source, copy] of COPIES) {
  const expected = read(source);
  if (expected === null) {
    problems.push(`${relative(source)} is missing: run \`npm ci\` and \`npm run build\` first`);
  } else if (!expected.equals(read(path.join(VENDOR_DIR, copy)) ?? Buffer.alloc(0))) {
    problems.push(`examples/web/vendor/${copy} is not ${relative(source)}`);
  }
}
if (problems.length) {
  console.error(problems.map((p) => `error: ${p}`).join('\n'));
  console.error('Run `npm run vendor` in clients/typescript and commit examples/web/vendor/.');
  process.exitCode = 1;
} else {
  console.log(`examples/web/vendor matches openapi-fetch ${locked} and dist/index.js`);
}
