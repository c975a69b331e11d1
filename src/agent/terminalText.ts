/**
 * Terminal and HTML text as a person would read it: ANSI escape sequences stripped, carriage-return progress
 * collapsed to its last state, backspaces applied, HTML fragments reduced to plain text, plus a fast line-break
 * counter. Pure string functions with no notebook types; `shaping.ts` uses them to build the model-facing view
 * of outputs, and they stay linear in the text (overwritten segments are skipped, not scanned).
 */

/** ANSI/VT escape sequences: CSI (colours, cursor moves, erase), OSC terminated by BEL or ST, and two-char escapes. */
const ANSI_PATTERN = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b\n]*(?:\u0007|\u001b\\)|\u001b[ -/]*[0-~]/g;

/** Removes ANSI escape sequences (SGR colours as in IPython tracebacks, cursor/erase codes as tqdm emits, OSC). */
export function stripAnsi(text: string): string {
  return text.indexOf('\u001b') === -1 ? text : text.replace(ANSI_PATTERN, '');
}

/**
 * Applies carriage returns the way a progress bar intends: per line, only the last non-empty `\r`-separated
 * segment is kept (`10%\r20%\r100%\n` → `100%\n`), which also turns `\r\n` into `\n`. A segment holding
 * only ANSI codes counts as empty. Linear time; overwritten segments are skipped, not scanned.
 */
export function collapseCarriageReturns(text: string): string {
  let cr = text.indexOf('\r');
  if (cr === -1) {
    return text;
  }
  const pieces: string[] = [];
  let copied = 0;
  while (cr !== -1) {
    const lineStart = text.lastIndexOf('\n', cr) + 1;
    let lineEnd = text.indexOf('\n', cr);
    lineEnd = lineEnd === -1 ? text.length : lineEnd;
    pieces.push(text.slice(copied, lineStart), text.slice(...visibleRange(text, lineStart, lineEnd)));
    copied = lineEnd;
    cr = text.indexOf('\r', lineEnd);
  }
  pieces.push(text.slice(copied));
  return pieces.join('');
}

/** Applies backspaces: each `\b` deletes the character (code point) before it on the same line. */
export function applyBackspaces(text: string): string {
  let bs = text.indexOf('\b');
  if (bs === -1) {
    return text;
  }
  // Only lines holding a backspace are rebuilt; the rest is copied in slices.
  const pieces: string[] = [];
  let copied = 0;
  while (bs !== -1) {
    const lineStart = text.lastIndexOf('\n', bs) + 1;
    let lineEnd = text.indexOf('\n', bs);
    lineEnd = lineEnd === -1 ? text.length : lineEnd;
    pieces.push(text.slice(copied, lineStart), backspaceLine(text.slice(lineStart, lineEnd)));
    copied = lineEnd;
    bs = text.indexOf('\b', lineEnd);
  }
  pieces.push(text.slice(copied));
  return pieces.join('');
}

/**
 * One line (no `\n`) with its backspaces applied. Short lines without surrogates: string slices. Long lines (a
 * slice per backspace would be quadratic) and lines with surrogates (deletion is per code point): a stack.
 */
function backspaceLine(line: string): string {
  if (line.length > 1024 || /[\ud800-\udfff]/.test(line)) {
    const kept: string[] = [];
    for (const char of line) {
      if (char !== '\b') {
        kept.push(char);
      } else {
        kept.pop();
      }
    }
    return kept.join('');
  }
  const parts = line.split('\b');
  let out = parts[0];
  for (let i = 1; i < parts.length; i++) {
    out = out.slice(0, -1) + parts[i];
  }
  return out;
}

/** Terminal output as a person would read it: carriage returns applied, ANSI stripped, backspaces applied. */
export function cleanTerminalText(text: string): string {
  return applyBackspaces(stripAnsi(collapseCarriageReturns(text)));
}

/**
 * The `[start, end)` range of one line that survives its carriage returns: after the last `\r` whose
 * following segment is non-empty once ANSI codes are removed (segments over 4 KiB count as non-empty).
 */
function visibleRange(text: string, start: number, end: number): [number, number] {
  let segmentEnd = end;
  while (segmentEnd > start) {
    const cr = start + text.slice(start, segmentEnd).lastIndexOf('\r');
    if (cr < start) {
      break;
    }
    const length = segmentEnd - cr - 1;
    if (length > 4096 || (length > 0 && stripAnsi(text.slice(cr + 1, segmentEnd)) !== '')) {
      return [cr + 1, segmentEnd];
    }
    segmentEnd = cr;
  }
  return [start, segmentEnd];
}

/** Readable text of an HTML fragment: scripts and styles dropped, block ends as line breaks, cells tab-separated. */
export function htmlToText(html: string): string {
  return decodeEntities(
    html
      .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, '')
      .replace(/<!--[\s\S]*?-->/g, '')
      .replace(/>\s*\n\s*</g, '><')
      .replace(/<br\s*\/?>/gi, '\n')
      .replace(/<\/(?:p|div|tr|li|h[1-6]|table|thead|tbody|pre|blockquote|caption)\s*>/gi, '\n')
      .replace(/<\/t[dh]\s*>/gi, '\t')
      .replace(/<[^>]*>/g, '')
  )
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    }
    return ENTITIES[name.toLowerCase()] ?? entity;
  });
}

const NEWLINE_BLOCK = 256;
const NEWLINE_BLOCK_PATTERN = new RegExp(`(?:[^\\n]*\\n){${NEWLINE_BLOCK}}`, 'y');

/**
 * Line breaks in `text[start, end)`. `indexOf` per line is fastest for long lines; when lines turn out
 * short, a sticky non-capturing regex counts 256 at a time (native scan, no allocation per line).
 */
export function countNewlines(text: string, start: number, end: number): number {
  let count = 0;
  let i = text.indexOf('\n', start);
  while (i !== -1 && i < end) {
    count++;
    if (count === 1024 && (i - start) / count < 32 && end - i > 64 * 1024) {
      const rest = text.slice(i + 1, end);
      NEWLINE_BLOCK_PATTERN.lastIndex = 0;
      let scanned = 0;
      while (NEWLINE_BLOCK_PATTERN.test(rest)) {
        count += NEWLINE_BLOCK;
        scanned = NEWLINE_BLOCK_PATTERN.lastIndex;
      }
      return count + countNewlines(rest, scanned, rest.length);
    }
    i = text.indexOf('\n', i + 1);
  }
  return count;
}
