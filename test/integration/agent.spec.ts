import { ChatRequest, lastToolResult, ScriptEntry } from '../scripted-model/server';
import { executions, runScripted, streamText } from '../helpers/agentHarness';
import { withTestServer } from '../helpers/jupyter';
import { expectMainScenario, field, mainScenario, PACKAGE, uninstallPackage } from '../helpers/mainScenario';

describe('agent on a real kernel', () => {
  const server = withTestServer();

  describe('missing package: ModuleNotFoundError, %pip install, then a value only the real output gives', () => {
    beforeAll(uninstallPackage);
    afterAll(uninstallPackage);

    for (const stream of [true, false]) {
      it(`works ${stream ? 'streaming' : 'non-streaming'}`, async () => {
        const { script, seen } = mainScenario();
        const run = await runScripted(server(), script, { stream, prompt: 'Print a table with tabulate.' });
        expectMainScenario(run.sample, run.outcome, seen);
        // Every request after the first carried the previous tool results; the SDK saw `stream` as asked.
        expect(run.requests.map(r => Boolean(r.body.stream))).toEqual([stream, stream, stream, stream]);
        // The notebook on the server holds the three cells with their real outputs, ids equal to the record's.
        expect(run.savedNotebook.cells.map((c: any) => c.id)).toEqual(executions(run.sample).map(e => e.cell_id));
        expect(run.savedNotebook.cells[2].outputs[0].text).toContain('42  x');
        uninstallPackage();
      });
    }
  });

  it('an upgrade of an already-imported package says restart_required', async () => {
    const script: ScriptEntry[] = [
      { toolCalls: [{ name: 'execute_cell', arguments: { code: `%pip install -q ${PACKAGE}==0.9.0` } }] },
      { toolCalls: [{ name: 'execute_cell', arguments: { code: `import ${PACKAGE}\nprint(${PACKAGE}.__version__)` } }] },
      { toolCalls: [{ name: 'execute_cell', arguments: { code: `%pip install -q ${PACKAGE}==0.10.0` } }] },
      (request: ChatRequest) => {
        expect(lastToolResult(request)).toContain('call restart_kernel before using the new version');
        return { toolCalls: [{ name: 'restart_kernel', arguments: {} }] };
      },
      { toolCalls: [{ name: 'execute_cell', arguments: { code: `import ${PACKAGE}\nprint(${PACKAGE}.__version__)` } }] },
      { toolCalls: [{ name: 'final_answer', arguments: { answer: 'upgraded' } }] }
    ];
    try {
      const run = await runScripted(server(), script);
      const [first, imported, upgrade, after] = executions(run.sample);
      expect(first.install).toMatchObject({ resolved: [{ name: PACKAGE, version: '0.9.0' }], restart_required: false });
      expect(streamText(imported)).toBe('0.9.0\n');
      expect(upgrade.install).toMatchObject({ resolved: [{ name: PACKAGE, version: '0.10.0' }], restart_required: true });
      expect(streamText(after)).toBe('0.10.0\n');
      expect(run.sample.steps.some(s => s.type === 'event' && s.event === 'kernel_restart')).toBe(true);
    } finally {
      uninstallPackage();
    }
  });

  describe('images', () => {
    // A real 2x3 PNG built in the kernel (zlib + struct only), shown with IPython.display.
    const PNG_CELL = [
      'import struct, zlib',
      'from IPython.display import Image, display',
      'def chunk(kind, data):',
      "    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))",
      "raw = b''.join(b'\\x00' + b'\\xff\\x00\\x00' * 2 for _ in range(3))",
      "png = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 2, 3, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')",
      'display(Image(data=png))'
    ].join('\n');
    const script = (check: (request: ChatRequest) => void): ScriptEntry[] => [
      { toolCalls: [{ name: 'execute_cell', arguments: { code: PNG_CELL } }] },
      (request: ChatRequest) => {
        check(request);
        return { toolCalls: [{ name: 'final_answer', arguments: { answer: 'a red image' } }] };
      }
    ];

    it('reach a vision model as image parts', async () => {
      const run = await runScripted(
        server(),
        script(request => {
          const last = request.messages[request.messages.length - 1];
          expect(last.role).toBe('user');
          const parts = last.content as { type: string; image_url?: { url: string } }[];
          expect(parts.map(p => p.type)).toEqual(['text', 'image_url']);
          expect(parts[1].image_url!.url).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
          expect(lastToolResult(request)).toMatch(/\[image\/png 2x3/);
        }),
        { vision: true }
      );
      const [shown] = executions(run.sample);
      expect(Object.keys((shown.outputs[0] as any).data)).toContain('image/png');
    });

    it('become a placeholder for a text-only model', async () => {
      await runScripted(
        server(),
        script(request => {
          expect(request.messages[request.messages.length - 1].role).toBe('tool');
          expect(lastToolResult(request)).toContain('image/png output omitted');
        }),
        { vision: false }
      );
    });
  });

  it('stops at the step cap without a final answer', async () => {
    const loop = { toolCalls: [{ name: 'execute_cell', arguments: { code: 'print(1)' } }] };
    const run = await runScripted(server(), [loop, loop, loop], { maxSteps: 3 });
    expect(run.outcome).toEqual({ reason: 'max_steps', message: 'no final answer within 3 model turns' });
    expect(executions(run.sample)).toHaveLength(3);
    expect(run.requests).toHaveLength(3);
  });

  it('edits a failing cell by id and runs it again (the id is kept)', async () => {
    let cellId = '';
    const script: ScriptEntry[] = [
      { toolCalls: [{ name: 'execute_cell', arguments: { code: 'total = sum(range(10)) +' } }] },
      (request: ChatRequest) => {
        cellId = field(lastToolResult(request), 'cell_id');
        return { toolCalls: [{ name: 'edit_cell', arguments: { cell_id: cellId, code: 'total = sum(range(10))\nprint(total)' } }] };
      },
      { toolCalls: [{ name: 'run_cell', arguments: { cell_id: '__CELL__' } }] },
      (request: ChatRequest) => ({ toolCalls: [{ name: 'final_answer', arguments: { answer: lastToolResult(request).split('output:\n')[1] } }] })
    ];
    // run_cell needs the id the kernel run produced: patch the static entry once it is known.
    script[2] = () => ({ toolCalls: [{ name: 'run_cell', arguments: { cell_id: cellId } }] });
    const run = await runScripted(server(), script);
    const [first, second] = executions(run.sample);
    expect(first.status).toBe('error');
    expect(first.error?.ename).toBe('SyntaxError');
    expect(second.status).toBe('ok');
    expect(second.cell_id).toBe(first.cell_id);
    expect(run.outcome.answer?.trim()).toBe('45');
    expect(run.sample.verification.interactive).toMatchObject({ executions: 2, errors: 1, fixes: 1 });
    expect(run.savedNotebook.cells).toHaveLength(1);
    expect(run.savedNotebook.cells[0].source).toBe('total = sum(range(10))\nprint(total)');
    // The record's final notebook keeps the cell once, as it last ran successfully, with that run's output.
    expect(run.sample.notebook?.cells.map(c => [c.id, c.source])).toEqual([[first.cell_id, 'total = sum(range(10))\nprint(total)']]);
    expect(run.sample.notebook?.cells[0].outputs).toEqual(second.outputs);
  });

  it('fenced mode: code blocks run as cells and the results come back as the next user turn', async () => {
    const script = [
      { content: 'Computing:\n```python\nx = 2 ** 10\nprint(x)\n```\nand\n```sh\necho shell-$((6*7))\n```' },
      (request: ChatRequest) => {
        const last = request.messages[request.messages.length - 1];
        expect(last.role).toBe('user');
        const text = String(last.content);
        expect(text).toContain('Result of code block 1:');
        expect(text).toContain('1024');
        expect(text).toContain('shell-42');
        return { content: 'The answer is 1024.' };
      }
    ];
    const run = await runScripted(server(), script, { toolMode: 'fenced' });
    expect(run.outcome).toEqual({ reason: 'final_answer', answer: 'The answer is 1024.' });
    expect(run.requests[0].body.tools).toBeUndefined();
    const [py, sh] = executions(run.sample);
    expect(streamText(py)).toBe('1024\n');
    expect(streamText(sh)).toMatch(/^shell-42\r?\n$/); // IPython runs ! commands in a pty
    const actions = run.sample.steps.flatMap(s => (s.type === 'assistant' ? s.actions : []));
    expect(actions.map(a => a.kind)).toEqual(['python', 'shell']);
    expect(actions[1].code).toBe('!echo shell-$((6*7))');
  });
});
