/**
 * The transcript the sidebar shows, derived from a record's steps plus what is in flight (streamed text,
 * queued messages, notices): each assistant action becomes a card joined with the execution or tool result
 * that answered it. Pure functions, so the views stay dumb and a 200-step session is one pass.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { ExecutionStatus, IAction, IEventStep, IExecutionStep, IStep, IToolResultStep } from '../trace/types';
import { INotice, modelErrorText } from './messages';

/** What an action card says of its action. */
export type ActionState =
  | ExecutionStatus
  /** The kernel is running it now. */
  | 'running'
  /** It waits for the user's approval before it runs. */
  | 'awaiting_approval'
  /** Later in the same model turn; runs after the one running now. */
  | 'waiting'
  /** The run ended before it (a stop, a reload, a final answer). */
  | 'not_run'
  /** A tool that ran nothing on the kernel answered. */
  | 'done'
  /** The call was refused (bad arguments, unknown tool or cell). */
  | 'refused';

/** One action with what answered it. */
export interface IActionCard {
  kind: 'action';
  key: string;
  action: IAction;
  execution: IExecutionStep | null;
  result: IToolResultStep | null;
  state: ActionState;
  /** The notebook cell it wrote or ran, when known. */
  cellId: string | null;
}

/** One entry of the transcript. */
export type TranscriptItem =
  | { kind: 'user'; key: string; text: string; queued: boolean }
  | { kind: 'assistant'; key: string; text: string; reasoning?: string; streaming: boolean }
  | IActionCard
  | { kind: 'answer'; key: string; text: string }
  | { kind: 'notice'; key: string; notice: INotice };

/** A notice placed before the step at index `at` (at the end when `at` ≥ the number of steps). */
export interface IPlacedNotice {
  at: number;
  notice: INotice;
}

/** What is in flight besides the recorded steps. */
export interface ILiveState {
  busy: boolean;
  /** Text of the model turn being streamed. */
  streaming: { text: string; reasoning: string } | null;
  queued: readonly string[];
  notices: readonly IPlacedNotice[];
  /** The call id of the action waiting for the user's approval, if one does. */
  awaitingApproval?: string | null;
}

/** No run, nothing in flight (a past session). */
export const IDLE: ILiveState = { busy: false, streaming: null, queued: [], notices: [] };

/** Build the transcript items of `steps` and `live`. */
export function buildTranscript(
  steps: readonly IStep[],
  live: ILiveState,
  trans: TranslationBundle,
  keyEnv?: string
): TranscriptItem[] {
  const items: TranscriptItem[] = [];
  const cards = new Map<string, IActionCard>();
  let lastTurn: IActionCard[] = [];
  const notices = [...live.notices].sort((a, b) => a.at - b.at);
  let next = 0;
  const placeNotices = (before: number) => {
    while (next < notices.length && notices[next].at <= before) {
      items.push({ kind: 'notice', key: `n${next}`, notice: notices[next].notice });
      next++;
    }
  };
  steps.forEach((step, index) => {
    placeNotices(index);
    const key = `s${index}`;
    switch (step.type) {
      case 'user':
        items.push({ kind: 'user', key, text: step.text, queued: false });
        break;
      case 'assistant':
        if (step.text.trim() || step.reasoning?.trim()) {
          items.push({ kind: 'assistant', key, text: step.text, reasoning: step.reasoning, streaming: false });
        }
        lastTurn = [];
        step.actions.forEach((action, n) => {
          if (action.tool === 'final_answer') {
            items.push({ kind: 'answer', key: `${key}a${n}`, text: action.answer ?? '' });
            return;
          }
          const card: IActionCard = {
            kind: 'action',
            key: `${key}a${n}`,
            action,
            execution: null,
            result: null,
            state: 'not_run',
            cellId: action.cell_id
          };
          cards.set(action.call_id, card);
          lastTurn.push(card);
          items.push(card);
        });
        break;
      case 'execution':
      case 'tool_result': {
        const card = cards.get(step.call_id) ?? (step.type === 'execution' ? orphanCard(step, key, items) : null);
        if (card) {
          card[step.type === 'execution' ? 'execution' : 'result'] = step as never;
          card.cellId = step.cell_id ?? card.cellId;
        }
        break;
      }
      case 'event': {
        const notice = eventNotice(step, trans, keyEnv);
        if (notice) {
          items.push({ kind: 'notice', key, notice });
        }
        break;
      }
    }
  });
  placeNotices(Infinity);
  for (const card of cards.values()) {
    card.state = cardState(card, live.busy && lastTurn.includes(card), lastTurn, live.awaitingApproval ?? null);
  }
  if (live.streaming && (live.streaming.text || live.streaming.reasoning)) {
    items.push({
      kind: 'assistant',
      key: 'streaming',
      text: live.streaming.text,
      reasoning: live.streaming.reasoning || undefined,
      streaming: true
    });
  }
  live.queued.forEach((text, n) => items.push({ kind: 'user', key: `q${n}`, text, queued: true }));
  return items;
}

/** A card for an execution whose action is not in the steps (a log cut mid-turn). */
function orphanCard(step: IExecutionStep, key: string, items: TranscriptItem[]): IActionCard {
  const card: IActionCard = {
    kind: 'action',
    key,
    action: { call_id: step.call_id, tool: 'execute_cell', kind: 'python', cell_id: step.cell_id, arguments: {}, code: step.code },
    execution: null,
    result: null,
    state: 'not_run',
    cellId: step.cell_id
  };
  items.push(card);
  return card;
}

function cardState(card: IActionCard, inRunningTurn: boolean, turn: IActionCard[], awaitingApproval: string | null): ActionState {
  if (card.execution) {
    return card.execution.status;
  }
  if (card.result) {
    return card.result.is_error ? 'refused' : 'done';
  }
  if (!inRunningTurn) {
    return 'not_run';
  }
  if (card.action.call_id === awaitingApproval) {
    return 'awaiting_approval';
  }
  const firstOpen = turn.find(other => !other.execution && !other.result);
  return firstOpen === card ? 'running' : 'waiting';
}

/** The events a user needs to see; bookkeeping (silent executions, saves, refused calls) stays out. */
function eventNotice(step: IEventStep, trans: TranslationBundle, keyEnv?: string): INotice | null {
  const detail = step.detail as Record<string, unknown>;
  switch (step.event as string) {
    case 'driver_lost':
      return {
        level: 'error',
        text: trans.__('%1. This session cannot go on: start a New session (or open the notebook again and Continue).', String(detail.message ?? ''))
      };
    case 'resumed':
      return {
        level: 'info',
        text: detail.cut
          ? trans.__('Continued after the session was cut (a reload or a closed tab): calls that had not run were not run.')
          : trans.__('Continued.')
      };
    case 'model_error':
      return { level: 'error', text: modelErrorText(String(detail.message ?? ''), trans, keyEnv) };
    case 'kernel_died':
      return { level: 'warning', text: trans.__('The kernel died and was restarted: its variables are gone.') };
    case 'kernel_restart':
      return { level: 'info', text: trans.__('The kernel was restarted.') };
    case 'model_retry':
      return { level: 'info', text: trans.__('The model stream was cut; asking again (attempt %1).', String(detail.attempt ?? '')) };
    default:
      return null;
  }
}

/** Whether two builds of an entry show the same (steps are kept as the same objects from build to build). */
export function sameItem(a: TranscriptItem, b: TranscriptItem): boolean {
  if (a.kind === 'notice' && b.kind === 'notice') {
    return a.key === b.key && a.notice.level === b.notice.level && a.notice.text === b.notice.text;
  }
  const fields = Object.keys(a) as (keyof TranscriptItem)[];
  return fields.length === Object.keys(b).length && fields.every(field => a[field] === b[field]);
}

/** Counts the status line shows. */
export interface ISessionCounts {
  /** Model turns. */
  turns: number;
  tokensIn: number;
  tokensOut: number;
}

/** Model turns and tokens in and out (the sum of the assistant steps' `usage`). */
export function sessionCounts(steps: readonly IStep[]): ISessionCounts {
  const counts: ISessionCounts = { turns: 0, tokensIn: 0, tokensOut: 0 };
  for (const step of steps) {
    if (step.type === 'assistant') {
      counts.turns++;
      counts.tokensIn += step.usage?.prompt_tokens ?? 0;
      counts.tokensOut += step.usage?.completion_tokens ?? 0;
    }
  }
  return counts;
}
