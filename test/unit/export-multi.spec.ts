import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { exportCommand, exportFileName } from '../../src/cli/export';
import { UsageError } from '../../src/cli/connect';
import { EXPORT_FORMATS, ExportFormat } from '../../src/trace/projections';
import { writeSample } from '../../src/trace/logFile';
import { nativeSample } from '../helpers/projectionSamples';

/** A valid record with things to scrub: a provider-shaped key and the home folder in a printed output. */
function sampleWithSecrets() {
  const sample = nativeSample('multi-1');
  const key = `sk-proj-${'Ab3dEf5hIj7lMn9pQr1t'.repeat(2)}`;
  const execution = sample.steps.find(step => step.type === 'execution') as { outputs: { text?: string }[]; model_text: string };
  const printed = `OPENAI_API_KEY=${key}\nsaved to /home/dana/project/out.csv\n`;
  execution.outputs[0].text = printed;
  execution.model_text += `\n${printed}`;
  return { sample, key };
}

describe('aiev export with several formats', () => {
  let dir: string;
  let record: string;
  let key: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aiev-export-multi-'));
    record = join(dir, 'run-1.aiev.json');
    const made = sampleWithSecrets();
    key = made.key;
    writeSample(record, made.sample);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const single = async (format: ExportFormat, ...more: string[]): Promise<string> => {
    const out = join(dir, `single.${format}`);
    expect(await exportCommand([record, '--format', format, '--out', out, ...more], () => undefined)).toBe(0);
    return readFileSync(out, 'utf8');
  };

  it('names the files after the record', () => {
    expect(exportFileName('/x/run-1.aiev.json', 'openai')).toBe('run-1.openai.jsonl');
    expect(exportFileName('run-2.json', 'hf-jupyter-agent')).toBe('run-2.hf-jupyter-agent.jsonl');
    expect(exportFileName('run-2.json', 'ipynb')).toBe('run-2.ipynb');
  });

  it('writes every format of `all`, each byte for byte what the single-format export writes', async () => {
    const outDir = join(dir, 'out');
    const log: string[] = [];
    expect(await exportCommand([record, '--format', 'all', '--out-dir', outDir], line => log.push(line))).toBe(0);
    expect(readdirSync(outDir).sort()).toEqual(EXPORT_FORMATS.map(format => exportFileName(record, format)).sort());
    expect(log).toHaveLength(EXPORT_FORMATS.length + 1);
    expect(log[EXPORT_FORMATS.length]).toMatch(/^aiev export: [1-9]\d* redactions \(.*openai_key [1-9].*\)$/);
    for (const [index, format] of EXPORT_FORMATS.entries()) {
      const path = join(outDir, exportFileName(record, format));
      expect(log[index]).toMatch(new RegExp(`^aiev export: ${format} → .*${exportFileName(record, format).replace(/\./g, '\\.')} \\([1-9]\\d* secrets scrubbed\\)$`));
      const written = readFileSync(path, 'utf8');
      expect(written).toBe(await single(format));
      expect(written).not.toContain(key);
      expect(written).not.toContain('/home/dana');
    }
  });

  it('takes a comma-separated list (each format once), also with --no-redact', async () => {
    const outDir = join(dir, 'some');
    const log: string[] = [];
    const argv = [record, '--format', 'trl,ipynb,trl', '--out-dir', outDir, '--no-redact'];
    expect(await exportCommand(argv, line => log.push(line))).toBe(0);
    expect(readdirSync(outDir).sort()).toEqual(['run-1.ipynb', 'run-1.trl.jsonl']);
    expect(log).toEqual([
      `aiev export: trl → ${join(outDir, 'run-1.trl.jsonl')} (not redacted)`,
      `aiev export: ipynb → ${join(outDir, 'run-1.ipynb')} (not redacted)`
    ]);
    expect(readFileSync(join(outDir, 'run-1.trl.jsonl'), 'utf8')).toBe(await single('trl', '--no-redact'));
    expect(readFileSync(join(outDir, 'run-1.trl.jsonl'), 'utf8')).toContain(key);
  });

  it('refuses several formats without --out-dir, unknown formats, and --out with --out-dir', async () => {
    await expect(exportCommand([record, '--format', 'openai,trl', '--out', join(dir, 'x')], () => undefined)).rejects.toThrow(UsageError);
    await expect(exportCommand([record, '--format', 'openai,csv', '--out-dir', dir], () => undefined)).rejects.toThrow(/--format must be one of/);
    await expect(exportCommand([record, '--format', 'openai', '--out', 'a', '--out-dir', dir], () => undefined)).rejects.toThrow(/not both/);
  });
});
