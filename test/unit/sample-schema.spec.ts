import { runSource } from '../../src/agent/source';
import { SessionRecorder } from '../../src/trace/recorder';
import { ISample, SAMPLE_SCHEMA } from '../../src/trace/types';
import { SAMPLE_JSON_SCHEMA, validateSample } from '../../src/trace/validate';

/** A small but complete record: one call of each kind, finished. Steps: user, assistant, execution, tool_result, event. */
function baseSample(): ISample {
  let tick = 0;
  const recorder = new SessionRecorder({
    source: runSource({
      app: 'jupyterlab-aiev/test',
      appVersion: '0.1.0',
      model: 'scripted',
      baseUrl: 'http://127.0.0.1:9999/v1',
      toolMode: 'native',
      stream: false
    }),
    task: { prompt: 'print 1/0', attachments: [{ path: 'data.csv', sha256: 'a'.repeat(64) }], tags: [] },
    tools: [{ type: 'function', function: { name: 'run_cell', description: 'Run code.', parameters: { type: 'object' } } }],
    outputsCapBytes: 1000,
    id: 'schema-test',
    now: () => new Date(Date.UTC(2025, 0, 1) + 1000 * tick++)
  });
  recorder.user('print 1/0');
  recorder.assistant({
    text: '',
    actions: [{ call_id: 'call_1', tool: 'run_cell', kind: 'python', cell_id: 'c1', arguments: { code: '1/0' }, code: '1/0' }]
  });
  recorder.execution({
    call_id: 'call_1',
    cell_id: 'c1',
    code: '1/0',
    executor: 'ipykernel',
    execution_count: 1,
    status: 'error',
    started_at: '2025-01-01T00:00:02.000Z',
    duration_ms: 12.5,
    error: { ename: 'ZeroDivisionError', evalue: 'division by zero' },
    outputs: [
      { output_type: 'stream', name: 'stderr', text: 'warning\n' },
      { output_type: 'error', ename: 'ZeroDivisionError', evalue: 'division by zero', traceback: ['...'] }
    ],
    truncated: false,
    model_text: 'ZeroDivisionError: division by zero'
  });
  recorder.toolResult({ call_id: 'call_2', cell_id: null, model_text: 'unknown tool', is_error: true });
  recorder.event('kernel_restart', { requested_by: 'model' });
  return recorder.finish({ reason: 'max_steps' });
}

/** Validates a mutated copy of the base record. */
function check(mutate: (sample: any) => void): { valid: boolean; errors: string[] } {
  const sample = baseSample();
  mutate(sample);
  return validateSample(sample);
}

describe('sample.schema.json', () => {
  it('names the schema version the code writes', () => {
    expect(SAMPLE_JSON_SCHEMA.$id).toBe(`https://jupyterlab-aiev.invalid/schema/sample-${SAMPLE_SCHEMA.version}.json`);
    expect(SAMPLE_JSON_SCHEMA.title).toEqual(expect.any(String));
  });

  it('accepts a recorder-built record', () => {
    expect(validateSample(baseSample())).toEqual({ valid: true, errors: [] });
  });

  it('rejects a misspelt key with the path and the key', () => {
    const result = check(sample => {
      sample.steps[2].stauts = sample.steps[2].status;
      delete sample.steps[2].status;
    });
    expect(result.valid).toBe(false);
    expect(result.errors).toContain("/steps/2: must NOT have additional properties: 'stauts'");
    expect(result.errors).toContain("/steps/2: must have required property 'status'");
  });

  it('rejects a misspelt top-level key', () => {
    const result = check(sample => {
      sample.outcomes = sample.outcome;
    });
    expect(result.errors).toEqual(["(root): must NOT have additional properties: 'outcomes'"]);
  });

  it('rejects a status outside the enum and lists the allowed values', () => {
    const result = check(sample => {
      sample.steps[2].status = 'failed';
    });
    expect(result.errors).toEqual([
      '/steps/2/status: must be equal to one of the allowed values: ok, error, timeout, interrupted, kernel_died'
    ]);
  });

  it('rejects an action without call_id', () => {
    const result = check(sample => {
      delete sample.steps[1].actions[0].call_id;
    });
    expect(result.errors).toEqual(["/steps/1/actions/0: must have required property 'call_id'"]);
  });

  it('rejects a tool result without call_id and an unknown step type', () => {
    expect(check(sample => delete sample.steps[3].call_id).errors).toEqual([
      "/steps/3: must have required property 'call_id'"
    ]);
    const unknown = check(sample => {
      sample.steps[4].type = 'tool_call';
    });
    expect(unknown.valid).toBe(false);
    expect(unknown.errors[0]).toMatch(/^\/steps\/4: value of tag "type" must be in oneOf \(got "tool_call"\)$/);
  });

  it('checks each enum of the record', () => {
    const enums: [string, (sample: any) => void][] = [
      ['kind', s => (s.steps[1].actions[0].kind = 'bash')],
      ['event', s => (s.steps[4].event = 'restart')],
      ['verdict', s => (s.verification.verdict = 'passed')],
      ['reason', s => (s.outcome.reason = 'done')],
      ['tool_mode', s => (s.source.tool_mode = 'json')]
    ];
    for (const [field, mutate] of enums) {
      const errors = check(mutate).errors;
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(`/${field}: must be equal to one of the allowed values`);
    }
  });

  it('checks nbformat outputs by output_type', () => {
    expect(check(sample => delete sample.steps[2].outputs[1].traceback).errors).toEqual([
      "/steps/2/outputs/1: must have required property 'traceback'"
    ]);
    expect(check(sample => (sample.steps[2].outputs[0].name = 'stdin')).errors[0]).toMatch(/outputs\/0\/name/);
    expect(check(sample => (sample.steps[2].outputs[0].output_type = 'stdout')).valid).toBe(false);
    expect(
      check(sample => sample.steps[2].outputs.push({ output_type: 'execute_result', data: {}, metadata: {} })).errors
    ).toEqual(["/steps/2/outputs/2: must have required property 'execution_count'"]);
  });

  it('allows extra keys in output data and metadata, detail, sampling, replay and tests', () => {
    const result = check(sample => {
      sample.steps[2].outputs.push({
        output_type: 'display_data',
        data: { 'image/png': 'iVBORw0KGgo=', 'application/vnd.custom+json': { a: 1 } },
        metadata: { 'image/png': { width: 10 }, anything: true }
      });
      sample.steps[4].detail.extra = { nested: [1, 2] };
      sample.source.sampling = { temperature: 0, seed: 7 };
      sample.verification.replay = { runner: 'nbclient', cells: [] };
      sample.verification.tests = { passed: 1 };
    });
    expect(result).toEqual({ valid: true, errors: [] });
  });

  it('checks the notebook top level and cell identity, loosely inside', () => {
    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'python3' } },
      cells: [{ cell_type: 'code', id: 'c1', source: ['1/0'], metadata: {}, outputs: [{ any: 'thing' }], execution_count: 1 }]
    };
    expect(check(sample => (sample.notebook = notebook)).valid).toBe(true);
    expect(check(sample => (sample.notebook = { ...notebook, nbformat: 3 })).errors).toEqual([
      '/notebook/nbformat: must be equal to constant: 4'
    ]);
    expect(
      check(sample => (sample.notebook = { ...notebook, cells: [{ cell_type: 'code', source: '', metadata: {} }] })).errors
    ).toContain("/notebook/cells/0: must have required property 'id'");
  });

  it('keeps a key-bearing URL out of provider_host and checks formats', () => {
    expect(check(sample => (sample.source.provider_host = 'https://api.example.com/v1')).valid).toBe(false);
    expect(check(sample => (sample.created_at = 'yesterday')).errors).toEqual([
      '/created_at: must match format "date-time"'
    ]);
    expect(check(sample => (sample.task.attachments[0].sha256 = 'abc')).valid).toBe(false);
  });
});
