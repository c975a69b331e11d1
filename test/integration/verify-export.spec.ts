import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { exportCommand } from '../../src/cli/export';
import { verifyCommand } from '../../src/cli/verify';
import { EXPORT_FORMATS } from '../../src/trace/projections';
import { writeSample } from '../../src/trace/logFile';
import type { ISample } from '../../src/trace/types';
import { validateSample } from '../../src/trace/validate';
import { runScripted } from '../helpers/agentHarness';
import { withTestServer } from '../helpers/jupyter';

const run = (code: string) => ({ toolCalls: [{ name: 'execute_cell', arguments: { code } }] });
const finish = (answer: string) => ({ toolCalls: [{ name: 'final_answer', arguments: { answer } }] });
/** A fake GitHub token's body; the cell prints it from its reverse, so only the output holds the token. */
const TOKEN_TAIL = 'Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0LmNbVc';
const REVERSED_TAIL = [...TOKEN_TAIL].reverse().join('');

describe('aiev verify and aiev export on records of real runs', () => {
  const server = withTestServer();
  let dir: string;
  let good: string;
  let random: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aiev-verify-'));
    const goodRun = await runScripted(server(), [
      run('import numbers\nvalues = [2, 3, 5, 7]\nprint(sum(values))'),
      run(`print("GITHUB_TOKEN=ghp_" + "${REVERSED_TAIL}"[::-1])`),
      finish('17')
    ]);
    good = join(dir, 'good.json');
    writeSample(good, goodRun.sample);
    random = join(dir, 'random.json');
    writeSample(random, (await runScripted(server(), [run('import random\nprint(random.random())'), finish('?')])).sample);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const read = (path: string): ISample => JSON.parse(readFileSync(path, 'utf8'));

  it('verify: a deterministic record is verified (exit 0) and the verification is written into the file', async () => {
    const log: string[] = [];
    expect(await verifyCommand([good], line => log.push(line))).toBe(0);
    const sample = read(good);
    expect(sample.verification.verdict).toBe('verified');
    expect((sample.verification.replay as any).cells).toHaveLength(2);
    expect(validateSample(sample).valid).toBe(true);
    expect(log).toEqual([`aiev verify: verified (${good})`]);
  });

  it('verify: random output diverges (exit 1)', async () => {
    expect(await verifyCommand([random], () => undefined)).toBe(1);
    expect(read(random).verification.verdict).toBe('diverged');
  });

  it('verify takes the replay options harvest takes: --kernel replays there and says so; not with --server-url', async () => {
    const copy = join(dir, 'kernel.json');
    writeSample(copy, read(good));
    expect(await verifyCommand([copy, '--kernel', 'python3', '--float-tolerance', '1e-9'], () => undefined)).toBe(0);
    expect((read(copy).verification.replay as any).environment).toEqual({ kind: 'kernel', kernel_name: 'python3' });
    const remote = verifyCommand([copy, '--kernel', 'python3', '--server-url', server().baseUrl], () => undefined);
    await expect(remote).rejects.toThrow('the replay environment and tolerance options work only without --server-url');
  });

  it("verify through the server's /aiev/verify route gives the same verdict", async () => {
    const copy = join(dir, 'remote.json');
    writeSample(copy, { ...read(random), verification: { ...read(random).verification, verdict: 'unverified', replay: null } });
    const args = [copy, '--server-url', server().baseUrl, '--token', server().token];
    expect(await verifyCommand(args, () => undefined)).toBe(1);
    expect(read(copy).verification.verdict).toBe('diverged');
  });

  it('export: every format is written, and the printed token survives in none of them', async () => {
    const raw = readFileSync(good, 'utf8');
    expect(raw).toContain(`ghp_${TOKEN_TAIL}`); // the record itself keeps what the kernel printed
    for (const format of EXPORT_FORMATS) {
      const out = join(dir, `good.${format}`);
      const log: string[] = [];
      expect(await exportCommand([good, '--format', format, '--out', out], line => log.push(line))).toBe(0);
      const text = readFileSync(out, 'utf8');
      expect({ format, leaked: text.includes(TOKEN_TAIL) }).toEqual({ format, leaked: false });
      expect(log[0]).toMatch(new RegExp(`^aiev export: ${format} → .* \\(\\d+ secrets scrubbed\\)$`));
    }
    const notebook = JSON.parse(readFileSync(join(dir, 'good.ipynb'), 'utf8'));
    expect(notebook.metadata.aiev.verdict).toBe('verified');
  });

  it('export --no-redact keeps the output as recorded', async () => {
    const out = join(dir, 'raw.jsonl');
    expect(await exportCommand([good, '--format', 'openai', '--out', out, '--no-redact'], () => undefined)).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain(TOKEN_TAIL);
  });
});
