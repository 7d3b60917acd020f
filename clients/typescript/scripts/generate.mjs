// Regenerates the client's OpenAPI snapshot and types from a running basiq-bff:
//
//   npm run generate                             from http://localhost:8080 (docker compose, cargo run)
//   npm run generate -- http://127.0.0.1:18080   from another basiq-bff (or a saved openapi.json)
//   npm run generate -- --check URL              writes nothing: fails, with a diff, when the
//                                                committed files differ from what URL gives (CI)
//
// It writes openapi.json (the document as served, indented: the snapshot the types come from) and
// src/schema.ts (openapi-typescript's types of it, with its default options). Commit both.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';

const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FILES = ['openapi.json', 'src/schema.ts'];
const MAX_DIFF_LINES = 400;
const HEADER = `${COMMENT_HEADER.trimEnd()}\n// From openapi.json, basiq-bff's /openapi.json: regenerate both with \`npm run generate\`.\n\n`;

const args = process.argv.slice(2);
const check = args[0] === '--check';
if (check) args.shift();
const source = args[0] ?? 'http://localhost:8080';
if (args.length > 1 || source.startsWith('-')) {
  console.error('usage: npm run generate -- [--check] [BFF_URL | openapi.json file]');
  process.exit(2);
}

/** The document: from BFF_URL/openapi.json (or a URL to the document itself), or from a file. */
async function readDocument() {
  if (!/^https?:\/\//.test(source)) return JSON.parse(readFileSync(source, 'utf8'));
  const url = source.endsWith('.json') ? source : `${source.replace(/\/+$/, '')}/openapi.json`;
  let response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  } catch (e) {
    const reason = e.cause?.code ?? e.cause?.message ?? e.message;
    throw new Error(`${url}: no answer (${reason}); is basiq-bff running there?`);
  }
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

async function generate(document, outDir) {
  mkdirSync(path.join(outDir, 'src'), { recursive: true });
  writeFileSync(path.join(outDir, 'openapi.json'), `${JSON.stringify(document, null, 2)}\n`);
  const types = astToString(await openapiTS(document, { silent: true }));
  writeFileSync(path.join(outDir, 'src/schema.ts'), HEADER + types);
}

const document = await readDocument().catch((e) => {
  console.error(`error: ${e.message}`);
  process.exit(1);
});
if (!check) {
  await generate(document, PACKAGE_DIR);
  console.log(`clients/typescript: ${FILES.join(' and ')} regenerated from ${source}`);
  process.exit(0);
}

/** The files that differ from what the served document gives, with a diff of each printed. */
async function staleFiles(document) {
  const outDir = mkdtempSync(path.join(tmpdir(), 'basiq-bff-client-'));
  try {
    await generate(document, outDir);
    const read = (dir, file) => {
      try {
        return readFileSync(path.join(dir, file), 'utf8');
      } catch {
        return null;
      }
    };
    const stale = FILES.filter((file) => read(PACKAGE_DIR, file) !== read(outDir, file));
    for (const file of stale) {
      // diff is on every CI machine, Linux and macOS; without it the message still names the file.
      const diff = spawnSync('diff', ['-u', '--label', `committed ${file}`, '--label', `generated ${file}`,
        path.join(PACKAGE_DIR, file), path.join(outDir, file)], { encoding: 'utf8' });
      const lines = (diff.stdout ?? '').split('\n');
      console.error(lines.slice(0, MAX_DIFF_LINES).join('\n'));
      if (lines.length > MAX_DIFF_LINES) console.error(`… and ${lines.length - MAX_DIFF_LINES} more lines`);
    }
    return stale;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

const stale = await staleFiles(document);
if (stale.length === 0) {
  console.log(`clients/typescript: ${FILES.join(' and ')} match ${source}`);
} else {
  console.error(`\nerror: clients/typescript is out of date: ${stale.join(' and ')} differ from what ` +
    `${source} serves.\nStart a basiq-bff built from this tree (docker compose up --build, or cargo run; ` +
    `see clients/typescript/README.md), run \`npm ci && npm run generate -- <its URL>\` in ` +
    `clients/typescript, and commit openapi.json and src/schema.ts.`);
  process.exitCode = 1;
}
