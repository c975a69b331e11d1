/**
 * The sentences the sidebar says when something is in the way: each names what happened and what to do, and
 * none carries a stack trace. Kept apart from the model and views so each wording exists once.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { IBridgeConfig } from '../tokens';
import type { IOutcome } from '../trace/types';

/** An error whose message is written for the user (shown as is). */
export class UserFacingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserFacingError';
  }
}

/** A line of the transcript that is not dialogue: why a run ended, a fault, a retry. */
export interface INotice {
  level: 'info' | 'warning' | 'error';
  text: string;
}

/** What the sidebar knows of a notebook before starting a session on it. */
export interface INotebookFacts {
  /** The notebook's path; null when no notebook is open. */
  path: string | null;
  readOnly: boolean;
  /** `null`: no kernel; otherwise its status (`idle`, `busy`, `dead`, `starting`, …). */
  kernelStatus: string | null;
}

/** Why a session cannot start on this notebook with this server configuration; null when it can. */
export function preflightProblem(
  notebook: INotebookFacts,
  config: IBridgeConfig | null,
  model: string,
  trans: TranslationBundle
): string | null {
  if (config && !config.configured) {
    return config.message || trans.__('No model is configured on the Jupyter server.');
  }
  if (config && !model) {
    return trans.__(
      'The server has no default model: choose one in Settings → AIEV agent → Model (the server offers: %1).',
      config.models.join(', ') || trans.__('none')
    );
  }
  if (notebook.path === null) {
    return trans.__('Open a notebook first: the agent writes and runs cells in the notebook you have open.');
  }
  if (notebook.readOnly) {
    return trans.__(
      '%1 is read-only: the agent cannot add cells to it. Save a copy you can edit (File → Save Notebook As…) and ask there.',
      notebook.path
    );
  }
  if (notebook.kernelStatus === null) {
    return trans.__('%1 has no kernel: select one (Kernel → Change Kernel…), then ask again.', notebook.path);
  }
  if (notebook.kernelStatus === 'dead') {
    return trans.__('The kernel of %1 is dead: restart it (Kernel → Restart Kernel…), then ask again.', notebook.path);
  }
  return null;
}

/** `model request …` errors of `ChatClient` made readable: what failed, the proxy's message, what to check. */
export function modelErrorText(message: string, trans: TranslationBundle, keyEnv = 'OPENAI_API_KEY'): string {
  const http = /HTTP (\d{3}):\s*(?:\d{3}\s+)?([\s\S]*)$/.exec(message);
  if (!http) {
    const detail = message.replace(/^model request failed after \d+ attempts?:\s*/, '');
    return trans.__('The model could not be reached through the Jupyter server: %1', detail);
  }
  const status = Number(http[1]);
  const detail = http[2].trim() || trans.__('no details');
  if (status === 401 || status === 403) {
    return trans.__(
      'The model endpoint rejected the API key (HTTP %1): %2. Check the key the Jupyter server reads from %3.',
      status,
      detail,
      keyEnv
    );
  }
  if (status === 404) {
    return trans.__('The model endpoint does not know this model (HTTP 404): %1. Check Settings → AIEV agent → Model.', detail);
  }
  if (status === 429) {
    return trans.__('The model endpoint is rate limiting requests (HTTP 429): %1. Wait a moment and ask again.', detail);
  }
  if (status >= 500) {
    return trans.__('The model endpoint failed or could not be reached (HTTP %1): %2', status, detail);
  }
  return trans.__('The model endpoint refused the request (HTTP %1): %2', status, detail);
}

/** How a run's end is told in the transcript; null for a final answer (the answer itself is shown). */
export function outcomeNotice(outcome: IOutcome, trans: TranslationBundle, keyEnv?: string): INotice | null {
  switch (outcome.reason) {
    case 'final_answer':
      return null;
    case 'cancelled':
      return { level: 'info', text: trans.__('Stopped. Send a message to continue this session.') };
    case 'max_steps':
      return {
        level: 'warning',
        text: trans.__('The agent hit the step cap without a final answer (%1). Send a message to let it go on.', outcome.message ?? '')
      };
    case 'model_error':
      return { level: 'error', text: modelErrorText(outcome.message ?? '', trans, keyEnv) };
    case 'error':
      return { level: 'error', text: trans.__('The run ended: %1', outcome.message ?? trans.__('unknown error')) };
  }
}

/** Any error thrown while starting or driving a session, as one sentence (never a stack). */
export function errorText(error: unknown, trans: TranslationBundle): string {
  if (error instanceof UserFacingError) {
    return error.message;
  }
  // The notebook drivers say what to do in their own words (no kernel, kernel dead, notebook closed).
  if (error instanceof Error && (error.name === 'NotebookUnavailableError' || error.name === 'DriverLostError')) {
    return sentence(error.message);
  }
  const message = error instanceof Error ? error.message : String(error);
  return trans.__('Something went wrong: %1', message.split('\n')[0]);
}

/** `text` with a capital first letter and a closing full stop. */
function sentence(text: string): string {
  const trimmed = text.trim();
  return trimmed.charAt(0).toUpperCase() + trimmed.slice(1) + (/[.!?]$/.test(trimmed) ? '' : '.');
}
