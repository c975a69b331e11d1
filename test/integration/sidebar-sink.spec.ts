/**
 * The browser's event-log sink against the bridge's real session store on a real Jupyter server, through a proxy
 * that can refuse requests or lose answers: lines arrive in order and whole, a server away for a while shows as
 * "unsaved" and loses nothing, a lost answer is resent and the store's 409 puts the sink back on track.
 */
import { runSource } from '../../src/agent/source';
import { settingsFor } from '../../src/cli/connect';
import { BridgeClient } from '../../src/request';
import type { SaveState } from '../../src/tokens';
import type { ILogLine } from '../../src/trace/eventLog';
import { SessionRecorder } from '../../src/trace/recorder';
import { BridgeLogSink } from '../../src/ui/logSink';
import { IFaultyProxy, startFaultyProxy } from '../helpers/faultyProxy';
import { withTestServer } from '../helpers/jupyter';
import { until } from '../helpers/until';

/** A real recorder writing into `sink`, with a few steps. */
function record(sink: BridgeLogSink, steps: number): SessionRecorder {
  const recorder = new SessionRecorder({
    sink,
    source: runSource({ app: 'jupyterlab-aiev/test', appVersion: '0', model: 'm', baseUrl: 'http://127.0.0.1:1/v1', toolMode: 'native', stream: true }),
    task: { prompt: 'hello', attachments: [], tags: [] },
    tools: [],
    outputsCapBytes: 1024
  });
  for (let i = 0; i < steps; i++) {
    recorder.user(`message ${i}`);
  }
  return recorder;
}

const strip = (lines: readonly ILogLine[]) => lines.map(({ seq, kind, payload }) => ({ seq, kind, payload }));

describe('BridgeLogSink on the bridge session store', () => {
  const server = withTestServer();
  let proxy: IFaultyProxy;
  let client: BridgeClient;
  let direct: BridgeClient;

  beforeEach(async () => {
    proxy = await startFaultyProxy(server().baseUrl);
    client = new BridgeClient(settingsFor(proxy.baseUrl, server().token));
    direct = new BridgeClient(server().settings);
  });
  afterEach(() => proxy.stop());

  it('sends every line in order; the store holds exactly the recorded log', async () => {
    const sink = new BridgeLogSink({ client });
    const states: SaveState[] = [];
    sink.stateChanged.connect((_, state) => states.push(state));
    const recorder = record(sink, 5);
    await sink.flush();
    expect(sink.state).toBe('saved');
    expect(states).toEqual(['saving', 'saved']);
    const stored = await direct.events(recorder.id);
    expect(strip(stored)).toEqual(strip(sink.lines));
    expect(stored.map(line => line.seq)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a server that stays away shows as unsaved, keeps every line, and gets them all once it is back', async () => {
    proxy.down = true;
    const sink = new BridgeLogSink({ client, retryMs: 20, maxRetryMs: 100, unsavedAfter: 3 });
    const recorder = record(sink, 3);
    await until(() => sink.state === 'unsaved', 'unsaved');
    expect(sink.error).toBeTruthy();
    recorder.user('written while the server was away');
    expect(sink.pending).toBe(5);
    proxy.down = false;
    await sink.flush();
    expect(sink.state).toBe('saved');
    expect(sink.error).toBeNull();
    const stored = await direct.events(recorder.id);
    expect(stored.map(line => (line.payload as { text?: string }).text ?? line.kind)).toEqual([
      'header',
      'message 0',
      'message 1',
      'message 2',
      'written while the server was away'
    ]);
    expect(proxy.requests.filter(r => r.fate === 'refused').length).toBeGreaterThanOrEqual(3);
  });

  it('an answer lost after the store took the lines: the resend gets 409 and the sink goes on from next_seq', async () => {
    const sink = new BridgeLogSink({ client, retryMs: 20 });
    const recorder = record(sink, 1);
    await sink.flush();
    proxy.dropNextResponses(1);
    recorder.user('stored, but the answer is lost');
    recorder.user('after the conflict');
    await sink.flush();
    const stored = await direct.events(recorder.id);
    expect(stored.map(line => line.seq)).toEqual([0, 1, 2, 3]);
    expect(strip(stored)).toEqual(strip(sink.lines));
    const posts = proxy.requests.filter(r => r.method === 'POST');
    const dropped = posts.findIndex(r => r.fate === 'dropped');
    expect(dropped).toBeGreaterThan(0);
    // The store took the dropped batch (200); its resend was refused with 409 and the sink went on.
    expect(posts.slice(dropped).map(r => [r.fate, r.status])).toEqual([
      ['dropped', 200],
      ['passed', 409],
      ...(posts.length > dropped + 2 ? [['passed', 200]] : [])
    ]);
  });

  it('a resumed session continues its log on the server from where it is', async () => {
    const first = new BridgeLogSink({ client });
    const recorder = record(first, 2);
    await first.flush();
    const lines = await direct.events(recorder.id);
    const second = new BridgeLogSink({ client, id: recorder.id, history: lines });
    const resumed = SessionRecorder.resume(lines, { sink: second });
    resumed.user('after the reload');
    await second.flush();
    const stored = await direct.events(recorder.id);
    expect(stored.map(line => line.seq)).toEqual([0, 1, 2, 3]);
    expect((stored[3].payload as { text: string }).text).toBe('after the reload');
  });
});
