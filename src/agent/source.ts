/** The `source` block of a record: who ran the session, against which endpoint, how. */
import type { ISource } from '../trace/types';
import { systemPromptIdFor } from './agent';

/** What a caller knows about a run. */
export interface IRunSourceOptions {
  /** e.g. `jupyterlab-aiev/cli`. */
  app: string;
  appVersion: string;
  model: string;
  /** The model endpoint; only its host and port are recorded, never a path, query or credentials. */
  baseUrl: string;
  toolMode: 'native' | 'fenced';
  stream: boolean;
  sampling?: Record<string, unknown>;
  /** Server path of the notebook the session works on. */
  notebookPath?: string;
}

/** Host and port of a URL (`invalid-url` when it does not parse). */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid-url';
  }
}

/** The record's `source`, with the system prompt id the agent uses for the tool mode. */
export function runSource(options: IRunSourceOptions): ISource {
  return {
    app: options.app,
    app_version: options.appVersion,
    model: options.model,
    provider_host: hostOf(options.baseUrl),
    tool_mode: options.toolMode,
    stream: options.stream,
    sampling: options.sampling ?? {},
    system_prompt_id: systemPromptIdFor(options.toolMode),
    ...(options.notebookPath !== undefined ? { notebook_path: options.notebookPath } : {})
  };
}
