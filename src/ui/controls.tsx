/** The sidebar's controls: prompt box, status line, past sessions, banners. Props in, callbacks out. */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { ISessionSummary, SaveState } from '../tokens';

/** Props of `PromptBox`. */
export interface IPromptBoxProps {
  trans: TranslationBundle;
  draft: string;
  /** The agent is working (or starting): Stop is enabled and a message is queued for its next turn. */
  busy: boolean;
  /** Sending is not possible at all (a past session shown read-only). */
  disabled?: boolean;
  placeholder: string;
  onDraft: (text: string) => void;
  onSend: () => void;
  onStop: () => void;
  textareaRef?: React.Ref<HTMLTextAreaElement>;
}

/** The prompt: Enter sends, Shift+Enter makes a new line; Stop is there from the moment a message is sent. */
export function PromptBox(props: IPromptBoxProps): JSX.Element {
  const { trans, draft, busy, disabled } = props;
  const onKeyDown = (event: React.KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      props.onSend();
    }
  };
  return (
    <form
      className="jp-aiev-Prompt"
      onSubmit={event => {
        event.preventDefault();
        props.onSend();
      }}
    >
      <textarea
        ref={props.textareaRef}
        className="jp-aiev-Prompt-input"
        aria-label={trans.__('Ask the agent')}
        placeholder={props.placeholder}
        value={draft}
        rows={3}
        disabled={disabled}
        onChange={event => props.onDraft(event.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="jp-aiev-Prompt-buttons">
        {busy && <span className="jp-aiev-Prompt-hint">{trans.__('A message sent now is queued for the agent’s next turn.')}</span>}
        <button type="button" className="jp-aiev-Button" onClick={() => props.onStop()} disabled={!busy}>
          {trans.__('Stop')}
        </button>
        <button type="submit" className="jp-aiev-Button jp-mod-accept" disabled={disabled || !draft.trim()}>
          {trans.__('Send')}
        </button>
      </div>
    </form>
  );
}

/** Props of `StatusLine`. */
export interface IStatusLineProps {
  trans: TranslationBundle;
  turns: number;
  maxTurns: number;
  elapsedMs: number;
  tokensIn: number;
  tokensOut: number;
  saveState: SaveState;
  saveError: string | null;
  busy: boolean;
}

/** `m:ss` (or `h:mm:ss`). */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Step counter, elapsed time, tokens in and out, and whether the log is saved. */
export function StatusLine(props: IStatusLineProps): JSX.Element {
  const { trans } = props;
  const step = props.maxTurns ? trans.__('Step %1/%2', props.turns, props.maxTurns) : trans._n('%1 step', '%1 steps', props.turns);
  const saved: Record<SaveState, string> = {
    saved: trans.__('saved'),
    saving: trans.__('saving…'),
    unsaved: trans.__('not saved: the server does not answer, retrying (%1)', props.saveError ?? '')
  };
  return (
    <div className="jp-aiev-Status" data-busy={props.busy || undefined}>
      <span className="jp-aiev-Status-step">{step}</span>
      <span className="jp-aiev-Status-time" title={trans.__('Elapsed time')}>
        {formatElapsed(props.elapsedMs)}
      </span>
      <span className="jp-aiev-Status-tokens" title={trans.__('Tokens in / out')}>
        {trans.__('%1 in / %2 out', props.tokensIn.toLocaleString(), props.tokensOut.toLocaleString())}
      </span>
      <span className="jp-aiev-Status-save" data-state={props.saveState} role={props.saveState === 'unsaved' ? 'alert' : undefined}>
        {saved[props.saveState]}
      </span>
    </div>
  );
}

/** Props of `HistoryList`. */
export interface IHistoryListProps {
  trans: TranslationBundle;
  path: string | null;
  sessions: ISessionSummary[];
  /** Opening or continuing is not possible now (the agent is working). */
  disabled: boolean;
  onOpen: (session: ISessionSummary) => void;
  onContinue: (session: ISessionSummary) => void;
}

/** The past sessions of the notebook, each to open read-only or continue; a cut one says so. */
export function HistoryList(props: IHistoryListProps): JSX.Element | null {
  const { trans, sessions, path } = props;
  if (!path || !sessions.length) {
    return null;
  }
  return (
    <details className="jp-aiev-History" open>
      <summary>{trans.__('Past sessions of %1 (%2)', baseName(path), sessions.length)}</summary>
      <ul aria-label={trans.__('Past sessions')}>
        {sessions.map(session => (
          <li key={session.id} className="jp-aiev-History-item" data-state={session.state}>
            <div className="jp-aiev-History-prompt" title={session.prompt}>
              {session.prompt || trans.__('(no message)')}
            </div>
            <div className="jp-aiev-History-meta">
              {new Date(session.updated_at).toLocaleString()} · {trans._n('%1 turn', '%1 turns', session.turns)}
              {session.state === 'cut' && <span className="jp-aiev-Badge jp-mod-warn">{trans.__('cut by a reload')}</span>}
            </div>
            <div className="jp-aiev-History-buttons">
              <button type="button" className="jp-aiev-LinkButton" disabled={props.disabled} onClick={() => props.onOpen(session)}>
                {trans.__('Open')}
              </button>
              <button type="button" className="jp-aiev-LinkButton" disabled={props.disabled} onClick={() => props.onContinue(session)}>
                {trans.__('Continue')}
              </button>
            </div>
          </li>
        ))}
      </ul>
    </details>
  );
}

/** A problem to act on, with a way to dismiss it. */
export function ErrorBanner(props: { trans: TranslationBundle; message: string; onDismiss: () => void }): JSX.Element {
  return (
    <div className="jp-aiev-Error" role="alert">
      <span>{props.message}</span>
      <button type="button" className="jp-aiev-LinkButton" aria-label={props.trans.__('Dismiss')} onClick={() => props.onDismiss()}>
        ×
      </button>
    </div>
  );
}

/** The banner over a past session shown read-only. */
export function ReadOnlyBanner(props: { trans: TranslationBundle; session: ISessionSummary; onContinue: () => void }): JSX.Element {
  const { trans, session } = props;
  return (
    <div className="jp-aiev-ReadOnly" role="status">
      <span>
        {session.state === 'cut'
          ? trans.__('This session was cut by a reload at %1. Continue it to go on where it stopped.', new Date(session.updated_at).toLocaleString())
          : trans.__('A past session (read-only), last active %1.', new Date(session.updated_at).toLocaleString())}
      </span>
      <button type="button" className="jp-aiev-Button" onClick={() => props.onContinue()}>
        {trans.__('Continue')}
      </button>
    </div>
  );
}

/** The last part of a path. */
export function baseName(path: string): string {
  return path.split('/').pop() || path;
}
