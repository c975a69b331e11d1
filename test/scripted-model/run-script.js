#!/usr/bin/env node
/**
 * Run the scripted model standalone, e.g. to point `npx aiev` at it by hand:
 *
 *   node test/scripted-model/run-script.js script.json [--api-key KEY] [--model NAME ...]
 *
 * `script.json` holds an array of static turns (the `Turn` objects of `types.ts`; turn functions need a test).
 * Prints the base URL (`http://127.0.0.1:PORT/v1`) on stdout, then serves until SIGINT/SIGTERM and reports on
 * stderr what was consumed. No server logic lives here: `server.ts` is bundled on the fly with esbuild (a dev
 * dependency) into a temporary folder and required.
 */
'use strict';

const { mkdtempSync, readFileSync, rmSync } = require('fs');
const { tmpdir } = require('os');
const { join } = require('path');

function parseArgs(argv) {
  const args = { scriptPath: undefined, apiKey: undefined, models: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--api-key') {
      args.apiKey = argv[++i];
    } else if (argv[i] === '--model') {
      args.models.push(argv[++i]);
    } else if (!args.scriptPath) {
      args.scriptPath = argv[i];
    } else {
      throw new Error(`unexpected argument ${argv[i]}`);
    }
  }
  if (!args.scriptPath) {
    throw new Error('usage: run-script.js script.json [--api-key KEY] [--model NAME ...]');
  }
  return args;
}

/** `server.ts` compiled to CommonJS and loaded. */
function loadServer() {
  const dir = mkdtempSync(join(tmpdir(), 'aiev-scripted-model-'));
  const outfile = join(dir, 'server.js');
  try {
    require('esbuild').buildSync({
      entryPoints: [join(__dirname, 'server.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile,
      logLevel: 'warning'
    });
    return require(outfile);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const script = JSON.parse(readFileSync(args.scriptPath, 'utf8'));
  if (!Array.isArray(script)) {
    throw new Error(`${args.scriptPath}: expected a JSON array of turns`);
  }
  const { startScriptedModel } = loadServer();
  const options = { requireApiKey: args.apiKey, models: args.models.length ? args.models : undefined };
  const model = await startScriptedModel(script, options);
  process.stdout.write(`${model.baseUrl}\n`);
  const shutdown = async () => {
    await model.stop();
    process.stderr.write(`scripted model: ${model.requests.length} chat requests, ${model.remaining} turns left\n`);
    for (const failure of model.failures) {
      process.stderr.write(`  ${failure}\n`);
    }
    process.exit(model.failures.length ? 1 : 0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch(error => {
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
});
