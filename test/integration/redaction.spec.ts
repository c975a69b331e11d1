import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { writeSample } from '../../src/trace/logFile';
import { benignLines } from '../fixtures/benignLines';
import { BARE_PLACES, chars, CODE_PLACES, formatExamples, IFormatExample, OUTPUT_PLACES } from '../fixtures/secretFormats';
import { windows } from '../fixtures/secrets';
import { runScripted } from '../helpers/agentHarness';
import { withTestServer } from '../helpers/jupyter';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'aiev.cjs');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const run = (code: string) => ({ toolCalls: [{ name: 'execute_cell', arguments: { code } }] });
const finish = (answer: string) => ({ toolCalls: [{ name: 'final_answer', arguments: { answer } }] });
/** A Python string literal of `text` (JSON's escapes are Python's). */
const literal = (text: string): string => JSON.stringify(text);

/** Runs the real `aiev export` / `aiev harvest` (the built CLI bundle); returns its log (stderr). */
function aiev(args: string[]): string {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  expect({ status: result.status, stderr: result.status ? result.stderr : '' }).toEqual({ status: 0, stderr: '' });
  return result.stderr;
}

/** Whether nothing of `secret` (no 12 characters of it, raw or JSON-escaped) is left in `text`. */
const gone = (secret: string, text: string): boolean => windows(secret).every(window => !text.includes(window) && !text.includes(JSON.stringify(window).slice(1, -1)));

/** Per place, its own fresh examples (so what survives is known by place). */
type Planted = { place: string; examples: IFormatExample[] };

describe('aiev export over every provider format in a real record', () => {
  const server = withTestServer();
  let dir: string;
  let record: string;
  const outputs: Planted[] = Object.keys(OUTPUT_PLACES).map(place => ({ place, examples: formatExamples() }));
  const code: Planted[] = Object.keys(CODE_PLACES).map(place => ({ place, examples: formatExamples() }));
  const bare: Planted[] = Object.keys(BARE_PLACES).map(place => ({ place, examples: formatExamples().filter(example => !example.named) }));
  const benign = benignLines();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aiev-redaction-'));
    const printed = (lines: string[]) => run(`print(${literal(lines.join('\n'))})`);
    const script = [
      ...outputs.map(({ place, examples }) => printed(examples.map(e => e.document ?? OUTPUT_PLACES[place](e.name, e.text)))),
      ...bare.map(({ place, examples }) => printed(examples.map(e => BARE_PLACES[place](e.text)))),
      // Code the kernel does not run (Go, Makefile, Java, XML…): written to a file by a cell magic, kept as code.
      ...code.map(({ place, examples }) => run(`%%writefile snippet_${place}.txt\n${examples.map(e => e.document ?? CODE_PLACES[place](e.name, e.text)).join('\n')}`)),
      printed(benign),
      finish('done')
    ];
    const { sample } = await runScripted(server(), script, { maxSteps: script.length + 1 });
    record = join(dir, 'formats.aiev.json');
    writeSample(record, sample);
  }, 240_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The share of providers none of whose examples survive in `text`, and the ids of those that do. */
  function coverage(planted: Planted[], text: string): { share: number; survivors: string[] } {
    const ids = new Set(planted.flatMap(({ examples }) => examples.map(example => example.id)));
    const survivors = new Set(planted.flatMap(({ examples }) => examples.filter(example => !gone(example.secret, text)).map(example => example.id)));
    return { share: 1 - survivors.size / ids.size, survivors: [...survivors] };
  }

  it.each(['openai', 'ipynb'])('--format %s: ≥ 99%% of providers fully scrubbed in outputs and in code, bare ones too', format => {
    const raw = readFileSync(record, 'utf8');
    // The record itself keeps every example (what the kernel printed, the code it was given).
    expect([outputs, code, bare].map(planted => coverage(planted, raw).share)).toEqual([0, 0, 0]);
    const out = join(dir, `formats.${format}`);
    const report = join(dir, `report.${format}.json`);
    const log = aiev(['export', record, '--format', format, '--out', out, '--redactions-report', report]);
    const text = readFileSync(out, 'utf8');
    const context = coverage(outputs, text);
    const inCode = coverage(code, text);
    const bareShare = coverage(bare, text);
    expect({ format, context: context.share >= 0.99 || context.survivors, code: inCode.share >= 0.99 || inCode.survivors }).toEqual({ format, context: true, code: true });
    expect({ format, bare: bareShare.survivors }).toEqual({ format, bare: [] });
    // The one-line summary and the report: counts by rule and locations, never a value.
    const summary = log.split('\n').find(line => /^aiev export: \d+ redactions \(/.test(line));
    expect(summary).toMatch(/gitlab_pat \d+/);
    const written = JSON.parse(readFileSync(report, 'utf8'));
    expect(written.total).toBe(written.redactions.length);
    expect(summary).toContain(`${written.total} redactions`);
    expect(['gitlab_pat', 'stripe_key', 'twitter_secret', 'kubernetes_secret'].filter(kind => !written.by_kind[kind])).toEqual([]);
    expect(written.redactions[0]).toEqual({ kind: expect.any(String), location: expect.stringMatching(/^(task|steps|notebook|outcome)/) });
    const reportText = readFileSync(report, 'utf8');
    expect(outputs[0].examples.filter(example => !gone(example.secret, reportText))).toEqual([]);
  });

  it('changes at most 1% of the ordinary output lines the kernel printed', () => {
    const out = join(dir, 'benign.ipynb');
    aiev(['export', record, '--format', 'ipynb', '--out', out]);
    const notebook = JSON.parse(readFileSync(out, 'utf8'));
    const cell = notebook.cells.find((c: any) => [c.source].flat().join('').includes('regularisation'));
    const stdout = cell.outputs.filter((o: any) => o.output_type === 'stream').map((o: any) => [o.text].flat().join('')).join('');
    const lines = stdout.replace(/\n$/, '').split('\n');
    expect({ lines: lines.length, first: lines[0] }).toEqual({ lines: benign.length, first: benign[0] });
    const changed = lines.filter((line: string, index: number) => line !== benign[index]);
    expect({ changed, share: changed.length / benign.length <= 0.01 }).toEqual({ changed: expect.any(Array), share: true });
  });
});

describe('a notebook printing a GitLab token, a Stripe key and a PGP block, harvested', () => {
  let dir: string;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves none of them in the dataset, and reports each by rule', () => {
    dir = mkdtempSync(join(tmpdir(), 'aiev-redaction-harvest-'));
    const gitlab = `glpat-${chars(20, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789')}`;
    const stripe = `sk_live_${chars(24, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789')}`;
    // The code builds each from its reverse (or random bytes), so only the outputs the kernel prints hold them.
    const reversed = (text: string) => `${literal([...text].reverse().join(''))}[::-1]`;
    const cells = [
      `token = ${reversed(gitlab)}\nprint(f"Using GitLab token {token}")`,
      `print({"stripe": ${reversed(stripe)}})`,
      [
        'import base64, random',
        'random.seed(12)',
        'body = base64.b64encode(random.randbytes(900)).decode()',
        'lines = [body[i:i + 64] for i in range(0, len(body), 64)]',
        "print('-----BEGIN PGP PRIVATE KEY BLOCK-----\\n\\n' + '\\n'.join(lines) + '\\n=Ab1C\\n-----END PGP PRIVATE KEY BLOCK-----')"
      ].join('\n')
    ];
    const notebook = join(dir, 'keys.ipynb');
    writeFileSync(
      notebook,
      JSON.stringify({
        nbformat: 4,
        nbformat_minor: 5,
        metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
        cells: cells.map((source, index) => ({ cell_type: 'code', id: `c${index}`, metadata: {}, source, execution_count: null, outputs: [] }))
      })
    );
    // Executed by a real kernel, as a user's notebook would be.
    const execute = 'import sys, nbformat, nbclient\nnb = nbformat.read(sys.argv[1], 4)\nnbclient.NotebookClient(nb, timeout=60).execute()\nnbformat.write(nb, sys.argv[1])';
    execFileSync(PYTHON, ['-c', execute, notebook], { env: { ...process.env, JUPYTER_PLATFORM_DIRS: '1' } });
    const executed = readFileSync(notebook, 'utf8');
    const pgpBody = JSON.parse(executed).cells[2].outputs[0].text.join('').split('\n')[3];
    for (const secret of [gitlab, stripe, pgpBody]) {
      expect(executed).toContain(secret);
    }
    const dataset = join(dir, 'dataset.jsonl');
    const report = join(dir, 'redactions.json');
    const log = aiev(['harvest', notebook, '--out', dataset, '--format', 'openai', '--redactions-report', report]);
    const rows = readFileSync(dataset, 'utf8');
    expect(rows.trim().split('\n')).toHaveLength(1);
    expect({ gitlab: gone(gitlab, rows), stripe: gone(stripe, rows), pgp: gone(pgpBody, rows) }).toEqual({ gitlab: true, stripe: true, pgp: true });
    expect(rows).toContain('[REDACTED:private_key]');
    const summary = log.split('\n').find(line => line.startsWith('aiev harvest: ') && line.includes('redaction'));
    expect(summary).toMatch(/^aiev harvest: \d+ redactions \(.*gitlab_pat \d.*\)$/);
    const written = JSON.parse(readFileSync(report, 'utf8'));
    expect(Object.keys(written.by_kind).sort()).toEqual(['gitlab_pat', 'private_key', 'stripe_key']);
    expect(written.redactions.every((entry: any) => typeof entry.sample === 'string' && entry.location)).toBe(true);
    const reportText = readFileSync(report, 'utf8');
    expect([gitlab, stripe, pgpBody].filter(secret => !gone(secret, reportText))).toEqual([]);
  }, 120_000);
});
