/**
 * What the model sees of an execution: outputs rendered as text (terminal control sequences cleaned up),
 * images split off for vision models, and the middle cut when the text exceeds a character budget.
 * The raw outputs stay whole in the record; this is only the model-facing view.
 *
 * Performance: the cost is bounded by the head and tail windows plus fast scans (`indexOf`) of the middle,
 * so 50 MB of plain or terminal stream output shapes in a few tens of milliseconds at most. Only the part of
 * the text that is shown is cleaned; the middle is merely counted (cleaned to count it exactly only while its
 * text with control characters stays within `APPROX_DIRTY_CHARS`, which bounds that cost to a few ms).
 */
import type * as nbformat from '@jupyterlab/nbformat';

import { formatCount } from '../notebook/cappedText';
import { addGap, cutMiddle, EMPTY_GAP, IGap, textGap, trimEndNewlines } from './middleCut';
import {
  applyBackspaces,
  cleanTerminalText,
  collapseCarriageReturns,
  countNewlines,
  htmlToText,
  stripAnsi
} from './terminalText';

/** Default model-facing budget in characters (about 1.5k tokens). */
export const DEFAULT_MODEL_BUDGET_CHARS = 6000;

/** Options of `shapeOutputs`. */
export interface IShapeOptions {
  /** Maximum length of `text` (when at least ~200; the cut marker needs room). */
  budgetChars?: number;
  /** Whether the model accepts images; if not, images become a placeholder line. */
  vision?: boolean;
}

/** An image for a vision-capable model. */
export interface IShapedImage {
  mime: string;
  /** Base64, without line breaks. */
  data: string;
}

/** The model-facing view of an execution's outputs. */
export interface IShapedOutput {
  /** Text for the tool message; '' when there was no output. */
  text: string;
  images: IShapedImage[];
  /** True when something was cut from `text`. */
  truncated: boolean;
  /** Characters cut, summed over every marker in `text` (cleaned characters, or raw ones where it says "about"). */
  omittedChars: number;
}

/**
 * Renders outputs for the model within `budgetChars`. Text per output: stream text (stderr under a
 * `[stderr]` line); for rich outputs the richest text mime (markdown > latex > JSON > plain > tag-stripped
 * HTML); for errors `ename: evalue` and the cleaned traceback (itself bounded to 60% of the budget). Raster
 * images (png, jpeg, webp, gif) go to `images` with a `[image/png 640x480 #1]` line when `vision`, else a
 * placeholder line. `image/svg+xml` is not treated as text (its XML is noise to a model and vision endpoints
 * reject SVG): it becomes a placeholder; the bundle's `text/plain` follows any image placeholder.
 *
 * Over budget, the first ~40% and last ~60% are kept (snapped to line starts) around one line
 * `[... 1,234,567 characters (45,678 lines) cut from the middle of the output ...]`: exactly the cleaned
 * characters cut and the line breaks cut (plus one when the cut reaches the end). Counting cut text that
 * holds ANSI codes, carriage returns or backspaces means cleaning it, so when more than `APPROX_DIRTY_CHARS`
 * (1 MiB) of such raw text lies wholly inside the cut, it is counted raw instead: its raw characters (an upper
 * bound of the cleaned ones) and its line breaks (exact: cleaning never removes one), and the marker reads
 * `about 1,234,567 characters`. The same wording covers a second bound: past 8 MiB of such text cleaned in
 * all (huge lines at the ends), the rest is counted raw. The head and tail shown are exact either way.
 */
export function shapeOutputs(outputs: readonly nbformat.IOutput[], options: IShapeOptions = {}): IShapedOutput {
  const budget = Math.max(0, Math.floor(options.budgetChars ?? DEFAULT_MODEL_BUDGET_CHARS));
  const images: IShapedImage[] = [];
  const stats = { omitted: 0 };
  const parts: IPart[] = [];
  for (const output of outputs) {
    parts.push(...renderOutput(output, !!options.vision, images, budget, stats));
  }
  const doc = windowDocument(parts.filter(part => part.text !== ''), budget);
  const cut = cutMiddle(doc.head, doc.middle, doc.tail, budget, 'output');
  const omittedChars = stats.omitted + cut.omittedChars;
  return { text: cut.text, images, truncated: omittedChars > 0, omittedChars };
}

/** A block of model text ending at a line boundary; `raw` blocks still need `cleanTerminalText`. */
interface IPart {
  text: string;
  raw: boolean;
  /** Whether a raw part contains ESC, CR or BS (computed on demand). */
  dirty?: boolean;
}

const RASTER_MIMES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];
const SPAN_CHARS = 64 * 1024;
const EXACT_DIRTY_CHARS = 8 * 1024 * 1024;
/** Past this many raw characters of dirty text (ESC, CR or BS) wholly inside the cut, the cut is counted raw. */
export const APPROX_DIRTY_CHARS = 1024 * 1024;
const ERROR_SHARE = 0.6;

function renderOutput(
  output: nbformat.IOutput,
  vision: boolean,
  images: IShapedImage[],
  budget: number,
  stats: { omitted: number }
): IPart[] {
  switch (output.output_type) {
    case 'stream': {
      const stream = output as nbformat.IStream;
      const text = multiline(stream.text);
      const label = stream.name === 'stderr' && text ? [{ text: '[stderr]\n', raw: false }] : [];
      return [...label, { text, raw: true }];
    }
    case 'execute_result':
    case 'display_data':
      return renderBundle((output as nbformat.IDisplayData).data ?? {}, vision, images);
    case 'error': {
      const error = output as nbformat.IError;
      const traceback = trimEndNewlines(cleanTerminalText((error.traceback ?? []).join('\n')));
      const bound = Math.floor(budget * ERROR_SHARE);
      const cut = traceback.length > bound ? cutMiddle(traceback, EMPTY_GAP, '', bound, 'traceback') : null;
      stats.omitted += cut?.omittedChars ?? 0;
      const summary = cleanTerminalText(`${error.ename}: ${error.evalue}`);
      return [{ text: [summary, cut ? cut.text : traceback].filter(Boolean).join('\n'), raw: false }];
    }
    default:
      return [{ text: `[${output.output_type} output]`, raw: false }];
  }
}

function renderBundle(data: nbformat.IMimeBundle, vision: boolean, images: IShapedImage[]): IPart[] {
  const plain = data['text/plain'] !== undefined ? multiline(data['text/plain']) : '';
  const raster = RASTER_MIMES.find(mime => typeof data[mime] === 'string' || Array.isArray(data[mime]));
  if (raster || data['image/svg+xml'] !== undefined) {
    let line: string;
    if (raster) {
      const base64 = multiline(data[raster]).replace(/\s+/g, '');
      const size = imageSize(raster, base64);
      if (vision) {
        images.push({ mime: raster, data: base64 });
        line = `[${raster} ${size} #${images.length}]`;
      } else {
        line = `[${raster} ${size} output omitted: the model is not vision-capable]`;
      }
    } else {
      const svg = multiline(data['image/svg+xml']);
      line = `[image/svg+xml output omitted: vector image of ${formatCount(svg.length)} characters]`;
    }
    return [{ text: line + '\n', raw: false }, { text: plain, raw: true }];
  }
  for (const mime of ['text/markdown', 'text/latex']) {
    if (data[mime] !== undefined) {
      return [{ text: multiline(data[mime]), raw: true }];
    }
  }
  const json = data['application/json'];
  if (json !== undefined) {
    return [{ text: typeof json === 'string' ? json : JSON.stringify(json, null, 2), raw: true }];
  }
  if (data['text/plain'] !== undefined) {
    return [{ text: plain, raw: true }];
  }
  if (data['text/html'] !== undefined) {
    return [{ text: htmlToText(multiline(data['text/html'])), raw: true }];
  }
  const mimes = Object.keys(data);
  return mimes.length ? [{ text: `[${mimes.join(', ')} output omitted]`, raw: false }] : [];
}

/** A line-aligned slice of a part. */
interface ISpan {
  part: IPart;
  start: number;
  end: number;
}

/** Splits raw parts after the first line break past every `SPAN_CHARS` (one `indexOf` per span). */
function toSpans(parts: IPart[]): ISpan[] {
  const spans: ISpan[] = [];
  for (const part of parts) {
    for (let start = 0; start < part.text.length; ) {
      const end = (part.raw && part.text.indexOf('\n', start + SPAN_CHARS - 1) + 1) || part.text.length;
      spans.push({ part, start, end });
      start = end;
    }
  }
  return spans;
}

/** A span's cleaned text, or when it is longer than twice the window, its two ends around the rest. */
type CleanSpan = { text: string } | ISplit;

interface ISplit {
  head: string;
  gap: IGap;
  tail: string;
}

/** Shared allowance of characters with ANSI codes or backspaces that may be cleaned just to count them. */
interface IAllowance {
  dirtyChars: number;
}

function isDirty(part: IPart): boolean {
  const text = part.text;
  part.dirty ??= part.raw && (text.includes('\u001b') || text.includes('\r') || text.includes('\b'));
  return part.dirty;
}

/** The virtual line break that ends a part whose text does not end with one. */
function closing(span: ISpan): string {
  const text = span.part.text;
  return span.end === text.length && text.charCodeAt(text.length - 1) !== 10 ? '\n' : '';
}

function cleanSpan(span: ISpan, allowance: IAllowance, window: number): CleanSpan {
  const raw = span.part.text.slice(span.start, span.end);
  const close = closing(span);
  if (!isDirty(span.part)) {
    return splitLong(raw, close, window);
  }
  // Carriage returns cost a few searches per line; ANSI codes and backspaces cost a pass over the text.
  const text = collapseCarriageReturns(raw);
  if (!text.includes('\u001b') && !text.includes('\b')) {
    return splitLong(text, close, window);
  }
  const rawWindow = 4 * window + 1024;
  if (text.length <= Math.max(allowance.dirtyChars, 2 * rawWindow)) {
    allowance.dirtyChars = Math.max(0, allowance.dirtyChars - text.length);
    return splitLong(applyBackspaces(stripAnsi(text)), close, window);
  }
  // Too much to clean: clean windows at both ends, minus a margin where an escape may have been split.
  const margin = 256;
  const head = applyBackspaces(stripAnsi(text.slice(0, rawWindow))).slice(0, -margin);
  const tail = applyBackspaces(stripAnsi(text.slice(text.length - rawWindow))).slice(margin) + close;
  const lines = countNewlines(text, 0, text.length) + close.length - textGap(head).lines - textGap(tail).lines;
  const chars = Math.max(0, text.length + close.length - head.length - tail.length);
  return { head, gap: { chars, lines, exact: false }, tail };
}

function splitLong(body: string, close: string, window: number): CleanSpan {
  if (body.length <= 2 * window) {
    return { text: body + close };
  }
  const tailStart = body.length - window;
  return {
    head: body.slice(0, window),
    gap: { chars: tailStart - window, lines: countNewlines(body, window, tailStart), exact: true },
    tail: body.slice(tailStart) + close
  };
}

/** The document's cleaned head (≥ budget chars when it is longer), the measured middle, and cleaned tail. */
function windowDocument(parts: IPart[], budget: number): { head: string; middle: IGap; tail: string } {
  const spans = toSpans(parts);
  const allowance: IAllowance = { dirtyChars: EXACT_DIRTY_CHARS };
  const middle: IGap = { chars: 0, lines: 0, exact: true };
  const headTexts: string[] = [];
  const tailTexts: string[] = [];
  let [headLength, tailLength, first, last] = [0, 0, 0, spans.length];
  let split: ISplit | null = null;
  while (first < last && headLength < budget && !split) {
    const cleaned = cleanSpan(spans[first++], allowance, budget);
    split = 'text' in cleaned ? null : cleaned;
    headTexts.push('text' in cleaned ? cleaned.text : cleaned.head);
    headLength += headTexts[headTexts.length - 1].length;
  }
  if (split) {
    addGap(middle, split.gap);
    if (first === last) {
      tailTexts.push(split.tail);
    } else {
      addGap(middle, textGap(split.tail));
    }
  }
  while (last > first && tailLength < budget) {
    const cleaned = cleanSpan(spans[--last], allowance, budget);
    tailTexts.unshift('text' in cleaned ? cleaned.text : cleaned.tail);
    tailLength += tailTexts[0].length;
    if (!('text' in cleaned)) {
      addGap(middle, cleaned.gap);
      addGap(middle, textGap(cleaned.head));
      break;
    }
  }
  // Over APPROX_DIRTY_CHARS of raw text with control characters in the middle: count it raw, not cleaned.
  let dirtyChars = 0;
  for (let i = first; i < last; i++) {
    dirtyChars += isDirty(spans[i].part) ? spans[i].end - spans[i].start : 0;
  }
  const raw = dirtyChars > APPROX_DIRTY_CHARS;
  for (let i = first; i < last; ) {
    const span = spans[i];
    const dirty = isDirty(span.part);
    if (dirty && !raw) {
      const cleaned = cleanSpan(span, allowance, 0);
      addGap(middle, 'text' in cleaned ? textGap(cleaned.text) : sumSplit(cleaned));
      i++;
      continue;
    }
    // Consecutive spans of one part: one raw count over the whole range (exact for plain text; for dirty
    // text the characters are an upper bound, the line breaks still exact: cleaning never removes one).
    let j = i;
    while (j + 1 < last && spans[j + 1].part === span.part) {
      j++;
    }
    const extra = closing(spans[j]).length;
    const lines = countNewlines(span.part.text, span.start, spans[j].end) + extra;
    addGap(middle, { chars: spans[j].end - span.start + extra, lines, exact: !dirty });
    i = j + 1;
  }
  return { head: headTexts.join(''), middle, tail: tailTexts.join('') };
}

function sumSplit(split: ISplit): IGap {
  const gap = textGap(split.head);
  addGap(gap, split.gap);
  addGap(gap, textGap(split.tail));
  return gap;
}

function multiline(value: unknown): string {
  return typeof value === 'string' ? value : Array.isArray(value) ? value.join('') : '';
}

/** `640x480` from a PNG or GIF header, else the decoded size in bytes. */
function imageSize(mime: string, base64: string): string {
  let header = '';
  try {
    header = atob(base64.slice(0, 32));
  } catch {
    // Not base64: fall through to the byte count.
  }
  const byte = (at: number) => header.charCodeAt(at);
  if (mime === 'image/png' && header.slice(12, 16) === 'IHDR') {
    const read = (at: number) => ((byte(at) << 24) | (byte(at + 1) << 16) | (byte(at + 2) << 8) | byte(at + 3)) >>> 0;
    return `${read(16)}x${read(20)}`;
  }
  if (mime === 'image/gif' && header.startsWith('GIF')) {
    return `${byte(6) | (byte(7) << 8)}x${byte(8) | (byte(9) << 8)}`;
  }
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return `${formatCount(Math.floor((base64.length * 3) / 4) - padding)} bytes`;
}
