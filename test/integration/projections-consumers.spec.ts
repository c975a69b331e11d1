/**
 * The projections read by their real consumers, in the project's venv: Hugging Face `datasets.load_dataset("json")`
 * for every JSONL format (rows must come back exactly, with no Arrow null padding), `nbformat.validate` for the
 * ipynb, and the OpenAI fine-tuning rules on every openai line.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { EXPORT_FORMATS, isJsonlFormat, projectSample } from '../../src/trace/projections';
import type { ISample } from '../../src/trace/types';
import { openaiExampleErrors } from '../helpers/projectionChecks';
import {
  customToolsSample,
  fencedSample,
  harvestedSample,
  maxStepsSample,
  multiTurnFencedSample,
  multiTurnSample,
  nativeSample
} from '../helpers/projectionSamples';

const PYTHON = join(__dirname, '..', '..', '.venv', 'bin', 'python');

/** Loads every file given with its reader and prints one JSON report. */
const CONSUMERS = `
import json, sys
import datasets, nbformat
datasets.disable_progress_bars()
report = {}
for path in sys.argv[1:]:
    if path.endswith('.ipynb'):
        try:
            nb = nbformat.reads(open(path, encoding='utf-8').read(), as_version=4)
            nbformat.validate(nb)
            report[path] = {'valid': True, 'aiev': nb.metadata.get('aiev')}
        except Exception as error:
            report[path] = {'valid': False, 'error': str(error)[:500]}
        continue
    ds = datasets.load_dataset('json', data_files=path, split='train')
    report[path] = {'num_rows': ds.num_rows, 'features': str(ds.features), 'rows': [ds[i] for i in range(ds.num_rows)]}
print(json.dumps(report, ensure_ascii=False))
`;

/** A loaded row compared with what was written: a column missing from a line comes back as null. */
function asWritten(loaded: Record<string, unknown>, written: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(loaded).filter(([key, value]) => key in written || value !== null));
}

describe('projections read by their consumers', () => {
  let dir: string;
  let samples: ISample[];
  let report: Record<string, any>;
  // A line per sample; preference has a line per pair, none for these records: test/integration/preference.spec.ts
  // loads it, from a real session with decisions.
  const jsonlFormats = EXPORT_FORMATS.filter(f => isJsonlFormat(f) && f !== 'preference');
  const fileOf = (format: string): string => join(dir, `${format}.jsonl`);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'aiev-projections-'));
    samples = [
      nativeSample(),
      fencedSample(),
      customToolsSample('custom-a', [{ code: '1 + 1', timeout: 30 }, { query: 'tips' }, {}]),
      customToolsSample('custom-b', [{ code: 'print(2)', timeout: '30 s' }, { query: 'x' }]),
      maxStepsSample(),
      harvestedSample(),
      multiTurnSample(),
      multiTurnFencedSample()
    ];
    for (const format of jsonlFormats) {
      writeFileSync(fileOf(format), samples.map(sample => `${projectSample(sample, format)}\n`).join(''));
    }
    const notebooks = samples.filter(s => s.notebook).map(s => join(dir, `${s.id}.ipynb`));
    samples.filter(s => s.notebook).forEach((s, i) => writeFileSync(notebooks[i], projectSample(s, 'ipynb')));
    const stdout = execFileSync(PYTHON, ['-c', CONSUMERS, ...jsonlFormats.map(fileOf), ...notebooks], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: {
        ...process.env,
        HF_DATASETS_CACHE: join(dir, 'hf-cache'),
        HF_HUB_OFFLINE: '1',
        HF_DATASETS_OFFLINE: '1',
        PYTHONWARNINGS: 'ignore'
      }
    });
    report = JSON.parse(stdout);
  }, 120000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(jsonlFormats)('%s: datasets.load_dataset("json") gives back every row exactly', format => {
    const loaded = report[fileOf(format)];
    expect(loaded.num_rows).toBe(samples.length);
    const written = readFileSync(fileOf(format), 'utf8').trimEnd().split('\n').map(l => JSON.parse(l));
    loaded.rows.forEach((row: Record<string, unknown>, i: number) => expect(asWritten(row, written[i])).toEqual(written[i]));
  });

  it('keeps the sample id and each format\'s key field', () => {
    const ids = samples.map(s => s.id);
    expect(report[fileOf('trl')].rows.map((r: any) => r.id)).toEqual(ids);
    expect(report[fileOf('sharegpt')].rows.map((r: any) => r.id)).toEqual(ids);
    expect(report[fileOf('aiev')].rows.map((r: any) => r.id)).toEqual(ids);
    expect(report[fileOf('hf-jupyter-agent')].rows.map((r: any) => r.executor_type)).toEqual(ids.map(() => 'ipykernel'));
    expect(report[fileOf('sharegpt')].rows[0].conversations[1].from).toBe('function_call');
    expect(report[fileOf('openai')].rows[1].messages[0].role).toBe('system');
  });

  it('trl: arguments objects of different tools keep only their own keys (no Arrow struct padding)', () => {
    const rows = report[fileOf('trl')].rows;
    const args = rows.flatMap((r: any) =>
      r.messages.flatMap((m: any) => (m.tool_calls ?? []).map((c: any) => c.function.arguments))
    );
    expect(args).toEqual(
      expect.arrayContaining([
        { code: '1 + 1', timeout: 30 },
        { code: 'print(2)', timeout: '30 s' },
        { query: 'tips' },
        {},
        { cell_id: 'c2' }
      ])
    );
    expect(report[fileOf('trl')].features).toContain('Json');
  });

  it('openai: every line passes the fine-tuning rules', () => {
    const lines = readFileSync(fileOf('openai'), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(samples.length);
    lines.forEach(l => expect(openaiExampleErrors(JSON.parse(l))).toEqual([]));
  });

  it('ipynb: nbformat.validate accepts the final notebooks, metadata.aiev included', () => {
    const withNotebook = samples.filter(s => s.notebook);
    expect(withNotebook.map(s => s.id)).toEqual(['native-1', expect.stringMatching(/^nb-/), 'multi-1']);
    for (const sample of withNotebook) {
      expect(report[join(dir, `${sample.id}.ipynb`)]).toEqual({ valid: true, aiev: { id: sample.id, verdict: 'unverified' } });
    }
  });
});
