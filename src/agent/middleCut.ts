/**
 * Cutting model-facing text to a character budget: about 40% head and 60% tail are kept, snapped to line
 * starts and never splitting a surrogate pair, around one marker line `[... 1,234 characters (56 lines) cut
 * from the middle of the output ...]`. `IGap` and its helpers account for text that is counted but not shown,
 * so the marker can report exact (or, for huge text with control sequences, approximate) figures.
 * `shaping.ts` uses it for whole outputs and for long tracebacks.
 */
import { formatCount } from '../notebook/cappedText';
import { countNewlines } from './terminalText';

/** Characters and line breaks of text that is not shown. */
export interface IGap {
  chars: number;
  lines: number;
  /** False when `chars` counts raw characters (huge text with control sequences). */
  exact: boolean;
}

/** No text at all. */
export const EMPTY_GAP: IGap = { chars: 0, lines: 0, exact: true };

/** The gap of a text that is counted whole. */
export function textGap(text: string): IGap {
  return { chars: text.length, lines: countNewlines(text, 0, text.length), exact: true };
}

/** Adds `gap` to `total` (inexact if either is). */
export function addGap(total: IGap, gap: IGap): void {
  total.chars += gap.chars;
  total.lines += gap.lines;
  total.exact &&= gap.exact;
}

const MARKER_RESERVE = 120;

/**
 * Joins head, middle and tail, cutting to `budget`: ~40% head and ~60% tail around one marker line. The
 * caller guarantees `head` and `tail` are long enough for their share whenever there is a middle.
 */
export function cutMiddle(
  head: string,
  middle: IGap,
  tail: string,
  budget: number,
  noun: string
): { text: string; omittedChars: number } {
  if (middle.chars === 0) {
    const whole = trimEndNewlines(head + tail);
    if (whole.length <= budget) {
      return { text: whole, omittedChars: 0 };
    }
    const split = Math.floor(whole.length * 0.4);
    [head, tail] = [whole.slice(0, split), whole.slice(split)];
  } else {
    tail = trimEndNewlines(tail);
  }
  const room = Math.max(0, budget - MARKER_RESERVE);
  const headShare = Math.floor(room * 0.4);
  const headEnd = snapHeadEnd(head, headShare);
  const tailStart = snapTailStart(tail, Math.max(0, tail.length - (room - headShare)), room - headShare);
  const chars = head.length - headEnd + middle.chars + tailStart;
  const shownTail = tail.slice(tailStart);
  // Lines = line breaks cut, plus the last line when the cut runs to the end.
  const lines =
    countNewlines(head, headEnd, head.length) +
    middle.lines +
    countNewlines(tail, 0, tailStart) +
    (chars > 0 && shownTail === '' ? 1 : 0);
  const shownHead = head.slice(0, headEnd);
  const about = middle.exact ? '' : 'about ';
  const marker =
    `[... ${about}${formatCount(chars)} characters (${formatCount(lines)} line${lines === 1 ? '' : 's'})` +
    ` cut from the middle of the ${noun} ...]`;
  const lead = shownHead === '' || shownHead.endsWith('\n') ? '' : '\n';
  return { text: shownHead + lead + marker + (shownTail ? '\n' + shownTail : ''), omittedChars: chars };
}

/** Where to end the head: after a line break in the last quarter of `length`, else at `length`. */
function snapHeadEnd(head: string, length: number): number {
  if (length >= head.length) {
    return head.length;
  }
  const newline = head.lastIndexOf('\n', length - 1);
  if (length > 0 && newline + 1 >= length - Math.floor(length / 4)) {
    return newline + 1;
  }
  return isLowSurrogate(head, length) ? length - 1 : length;
}

/** Where to start the tail: after a line break in the first quarter of `length`, else at `start`. */
function snapTailStart(tail: string, start: number, length: number): number {
  if (start === 0 || tail.charCodeAt(start - 1) === 10) {
    return start;
  }
  const newline = tail.indexOf('\n', start);
  if (newline !== -1 && newline + 1 <= start + Math.floor(length / 4)) {
    return newline + 1;
  }
  return isLowSurrogate(tail, start) ? start + 1 : start;
}

/** `text` without its trailing line breaks. */
export function trimEndNewlines(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 10) {
    end--;
  }
  return text.slice(0, end);
}

function isLowSurrogate(text: string, i: number): boolean {
  const code = text.charCodeAt(i);
  return code >= 0xdc00 && code <= 0xdfff;
}
