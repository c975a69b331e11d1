/**
 * What the sidebar's UI tests share: the lab server's key, root folder and model port (playwright.config.js), the
 * scripted model on that port, the sidebar's controls by role and name, the session store's records, and a
 * watch on everything the browser receives.
 */
import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import { execFileSync, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join, resolve } from 'path';
import type { APIRequestContext, Locator, Page } from '@playwright/test';

import type { IScriptedModel, ScriptEntry } from '../../test/scripted-model/server';
import { startScriptedModel } from '../../test/scripted-model/server';
import type { ISample } from '../../src/trace/types';

export { lastToolResult } from '../../test/scripted-model/server';
export type { ChatRequest, ScriptEntry } from '../../test/scripted-model/server';

/** The API key the lab server holds (random per run). */
export const KEY = process.env.AIEV_UI_KEY!;
/** The lab server's root folder. */
export const ROOT = process.env.AIEV_UI_ROOT!;
/** The bridge's session store (its default: .aiev/sessions under the root). */
export const STORE = join(ROOT, '.aiev', 'sessions');
export const REPO = resolve(__dirname, '..', '..');
const MODEL_PORT = Number(process.env.AIEV_UI_MODEL_PORT);

/** sha256 of the key, for a kernel to compare its environment with without the key in any cell. */
export const KEY_SHA256 = createHash('sha256').update(KEY).digest('hex');

/** The scripted model on the port the lab's bridge forwards to; it accepts only the server's key. */
export function startModel(script: ScriptEntry[], requireApiKey = KEY): Promise<IScriptedModel> {
  return startScriptedModel(script, { port: MODEL_PORT, requireApiKey, models: ['scripted-model'] });
}

/** A tool call turn. */
export const call = (name: string, args: object) => ({ toolCalls: [{ name, arguments: args }] });
export const run = (code: string) => call('execute_cell', { code });

/** The sidebar and its controls, found by role and accessible name. */
export class Sidebar {
  constructor(readonly page: Page) {
    this.root = page.locator('#jp-aiev-sidebar');
    this.prompt = this.root.getByRole('textbox', { name: 'Ask the agent' });
    this.send = this.root.getByRole('button', { name: 'Send', exact: true });
    this.stop = this.root.getByRole('button', { name: 'Stop', exact: true });
    this.newSession = this.root.getByRole('button', { name: 'New session', exact: true });
    this.cards = this.root.locator('.jp-aiev-Card');
    this.answers = this.root.getByRole('region', { name: 'Final answer' });
  }

  readonly root: Locator;
  readonly prompt: Locator;
  readonly send: Locator;
  readonly stop: Locator;
  readonly newSession: Locator;
  readonly cards: Locator;
  readonly answers: Locator;

  /** Open the sidebar from its tab in the right side bar. */
  async open(): Promise<void> {
    const tab = this.page.locator('.jp-SideBar.jp-mod-right [data-id="jp-aiev-sidebar"]');
    if ((await tab.getAttribute('aria-selected')) !== 'true') {
      await tab.click();
    }
    await expect(this.prompt).toBeVisible();
  }

  /** Type a message and press Send. */
  async ask(text: string): Promise<void> {
    await this.prompt.fill(text);
    await this.send.click();
    await expect(this.prompt).toHaveValue('');
  }

  /** Make the sidebar wider, as a user drags it: the handle between the main area and the right panel. */
  async widen(by = 220): Promise<void> {
    const handle = this.page.locator('#jp-main-split-panel > .lm-SplitPanel-handle:not(.lm-mod-hidden)').last();
    const box = (await handle.boundingBox())!;
    const before = (await this.root.boundingBox())!.width;
    await this.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await this.page.mouse.down();
    await this.page.mouse.move(box.x - by, box.y + box.height / 2, { steps: 5 });
    await this.page.mouse.up();
    await expect.poll(async () => (await this.root.boundingBox())!.width).toBeGreaterThan(before + by / 2);
  }

  /** The notices (how runs ended, faults). */
  notices(): Locator {
    return this.root.locator('.jp-aiev-Notice');
  }
}

/** Create a notebook, open the sidebar and ask `question` there. */
export async function askInNewNotebook(page: IJupyterLabPageFixture, name: string, question: string): Promise<Sidebar> {
  await page.notebook.createNew(name);
  const sidebar = new Sidebar(page);
  await sidebar.open();
  await sidebar.ask(question);
  return sidebar;
}

/** The records in the session store whose session worked on `notebookPath`. */
export function recordsOf(notebookPath: string): ISample[] {
  if (!existsSync(STORE)) {
    return [];
  }
  return readdirSync(STORE)
    .filter(name => name.endsWith('.aiev.json'))
    .map(name => JSON.parse(readFileSync(join(STORE, name), 'utf8')) as ISample)
    .filter(record => (record.source as { notebook_path?: string }).notebook_path === notebookPath);
}

/** The one record of `notebookPath`, once its session saved it with `userTurns` user steps. */
export async function recordOf(notebookPath: string, userTurns = 1): Promise<ISample> {
  let found: ISample | undefined;
  await expect
    .poll(
      () => {
        const records = recordsOf(notebookPath);
        found = records[0];
        return records.length === 1 ? found.steps.filter(s => s.type === 'user').length : -records.length;
      },
      { timeout: 30000 }
    )
    .toBe(userTurns);
  return found!;
}

/** Ids of the sessions in the store whose event log says they work on `notebookPath`. */
export function sessionIdsOf(notebookPath: string): string[] {
  if (!existsSync(STORE)) {
    return [];
  }
  return readdirSync(STORE)
    .filter(name => name.endsWith('.aiev.events.jsonl'))
    .map(name => name.slice(0, -'.aiev.events.jsonl'.length))
    .filter(id => logLines(id)[0]?.payload?.source?.notebook_path === notebookPath);
}

/** The event log lines of a session, as the store holds them. */
export function logLines(id: string): { seq: number; kind: string; payload: any }[] {
  return readFileSync(join(STORE, `${id}.aiev.events.jsonl`), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(line => JSON.parse(line));
}

/** `npx aiev verify FILE` (the project's CLI bundle): its exit status and what it printed (stdout and stderr). */
export function aievVerify(file: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [join(REPO, 'dist', 'aiev.cjs'), 'verify', file], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 170000
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** pip of the project's venv (the lab's kernels run in it). */
export function pip(...args: string[]): string {
  return execFileSync(join(REPO, '.venv', 'bin', 'pip'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/** Everything the browser receives: response headers and bodies, websocket frames; checked for `secret`. */
export class ReceivedWatch {
  constructor(page: Page) {
    page.on('response', response => {
      const headers = JSON.stringify(response.headers());
      this.responses++;
      this._pending.push(
        response
          .body()
          .then(body => this._check(`${response.url()} (body)`, body.toString('latin1')))
          .catch(() => undefined)
      );
      this._check(`${response.url()} (headers)`, headers);
    });
    page.on('websocket', socket => {
      socket.on('framereceived', frame => {
        this.frames++;
        this._check(`${socket.url()} (frame)`, typeof frame.payload === 'string' ? frame.payload : frame.payload.toString('latin1'));
      });
    });
  }

  responses = 0;
  frames = 0;

  /** Where the key was seen (empty when nowhere), after every pending body was read. */
  async leaks(): Promise<string[]> {
    await Promise.all(this._pending);
    return this._leaks;
  }

  private _check(where: string, text: string): void {
    if (text.includes(KEY)) {
      this._leaks.push(where);
    }
  }

  private readonly _pending: Promise<void>[] = [];
  private readonly _leaks: string[] = [];
}

/**
 * Create `name` in `folder` with a python3 kernelspec and open it. Unlike `page.notebook.createNew` (which makes
 * Untitled.ipynb and renames the file behind the kernel session's back), the kernel session gets the notebook's
 * real path, so a reloaded page finds the same kernel again.
 */
export async function openNewNotebook(page: IJupyterLabPageFixture, folder: string, name: string, firstSource = ''): Promise<string> {
  const path = `${folder}/${name}`;
  const notebook = {
    cells: [{ cell_type: 'code', source: firstSource, metadata: {}, outputs: [], execution_count: null, id: 'first' }],
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' } },
    nbformat: 4,
    nbformat_minor: 5
  };
  await page.contents.uploadContent(JSON.stringify(notebook), 'text', path);
  await page.notebook.openByPath(path);
  await expect(page.locator('#jp-main-statusbar')).toContainText('Python 3 (ipykernel) | Idle', { timeout: 60000 });
  return path;
}

/** A cell's text as the notebook shows it (its editor). */
export async function cellSource(page: IJupyterLabPageFixture, index: number): Promise<string> {
  return (await page.notebook.getCellLocator(index))!.locator('.jp-InputArea-editor').innerText();
}

/** Shut down every kernel session of the lab server (tests with Galata's kernel mocks off clean up their own). */
export async function deleteSessions(request: APIRequestContext): Promise<void> {
  for (const session of await (await request.get('/api/sessions')).json()) {
    await request.delete(`/api/sessions/${session.id}`);
  }
}
