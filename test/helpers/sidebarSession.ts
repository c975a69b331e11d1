/**
 * A sidebar session without the browser: the pieces `LabHost.startSession` puts together (the bridge's log sink,
 * its model proxy, the record put on the server, attachments hashed by the server, the verify gate through
 * `/aiev/verify`), on a headless driver of a real server's notebook. For integration tests of what the sidebar
 * makes on the server.
 */
import { AgentSession } from '../../src/agent/session';
import { runSource } from '../../src/agent/source';
import { ChatClient } from '../../src/llm/client';
import { HeadlessNotebookDriver } from '../../src/notebook/headless';
import { bridgeFetch, BridgeClient, modelProxyUrl } from '../../src/request';
import { candidateAttachmentNames } from '../../src/trace/literals';
import type { IOutcome, ISample } from '../../src/trace/types';
import { BridgeLogSink } from '../../src/ui/logSink';
import type { ITestServer } from './jupyter';

/** One question on `server`'s notebook `path`, run to its end (the verify gate on with `verifyGate`), closed. */
export async function runSidebarSession(server: ITestServer, path: string, question: string, options: { verifyGate?: boolean } = {}): Promise<{ outcome: IOutcome; record: ISample }> {
  const client = new BridgeClient(server.settings);
  const driver = await HeadlessNotebookDriver.open({ settings: server.settings, path, interruptGraceMs: 5000 });
  const sink = new BridgeLogSink({ client });
  const startedAt = await client.sessionStart();
  const session = await AgentSession.start({
    driver,
    client: new ChatClient({ baseURL: modelProxyUrl(server.settings), apiKey: 'kept-on-the-server', model: 'scripted', stream: true, fetch: bridgeFetch(server.settings), maxRetries: 0 }),
    sink,
    source: runSource({ app: 'jupyterlab-aiev/lab', appVersion: '0', model: 'scripted', baseUrl: 'http://model', toolMode: 'native', stream: true, notebookPath: path }),
    toolMode: 'native',
    maxSteps: 6,
    prompt: question,
    save: record => client.putRecord(record.id, record),
    attachments: codes => client.attachments(path, candidateAttachmentNames(codes), startedAt),
    verifyGate: options.verifyGate ? { replayer: { replay: async record => ({ verification: await client.verify(record), where: 'server' }) } } : undefined
  });
  try {
    const outcome = await session.send(question);
    return { outcome, record: session.record() };
  } finally {
    await session.close();
    await sink.flush();
    sink.dispose();
    await driver.dispose();
  }
}
