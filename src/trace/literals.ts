/**
 * The file names Python code mentions: its one-line string literals, and which of them can be an attachment's
 * path. Browser-safe (the sidebar asks the server to hash the files they name; `attachments.ts` does it on disk).
 */

const STRING_PREFIXES = new Set(['', 'r', 'u', 'b', 'br', 'rb', 'f', 'fr', 'rf']);

/**
 * The values of the one-line string literals in Python code: single or double quoted, with an optional r/b/u
 * prefix; comments and triple-quoted strings are skipped, and so are f-strings with a `{` (not a fixed name). Escapes
 * other than `\\`, `\'` and `\"` leave a non-raw literal out (a path seldom has them).
 */
export function pythonStringLiterals(code: string): string[] {
  const found: string[] = [];
  let at = 0;
  while (at < code.length) {
    const char = code[at];
    if (char === '#') {
      const end = code.indexOf('\n', at);
      at = end < 0 ? code.length : end;
      continue;
    }
    if (char !== '"' && char !== "'") {
      at++;
      continue;
    }
    const prefix = /[A-Za-z]{0,2}$/.exec(code.slice(Math.max(0, at - 2), at))?.[0].toLowerCase() ?? '';
    const before = code[at - prefix.length - 1] ?? '';
    const valid = STRING_PREFIXES.has(prefix) && !/\w/.test(before);
    if (code.startsWith(char.repeat(3), at)) {
      at = endOfString(code, at + 3, char.repeat(3)).end;
      continue;
    }
    const { end, closed } = endOfString(code, at + 1, char);
    const body = code.slice(at + 1, end - 1);
    if (closed && valid && !body.includes('\n') && !(prefix.includes('f') && body.includes('{'))) {
      const raw = prefix.includes('r');
      const value = raw ? body : body.replace(/\\(["'\\])/g, '$1');
      if (value && (raw || !body.replace(/\\(["'\\])/g, '').includes('\\'))) {
        found.push(value);
      }
    }
    at = end;
  }
  return found;
}

/**
 * Where a string whose body starts at `from` ends: just past its closing `quote` (`closed`), or, unclosed, at the
 * end of the line (one-line strings) or of the code.
 */
function endOfString(code: string, from: number, quote: string): { end: number; closed: boolean } {
  for (let at = from; at < code.length; at++) {
    if (code[at] === '\\') {
      at++;
    } else if (code.startsWith(quote, at)) {
      return { end: at + quote.length, closed: true };
    } else if (code[at] === '\n' && quote.length === 1) {
      return { end: at, closed: false };
    }
  }
  return { end: code.length, closed: false };
}

/**
 * True for a path an attachment may have: relative, POSIX, not empty, no `.`, `..` or empty segment, no backslash,
 * NUL or drive letter: it refuses all the replay verifier calls `unsafe`, and forms it would normalise (`./x`).
 */
export function isSafeAttachmentPath(path: string): boolean {
  if (typeof path !== 'string' || !path || path.startsWith('/') || /[\\\0]|^[A-Za-z]:/.test(path)) {
    return false;
  }
  return path.split('/').every(part => part !== '' && part !== '.' && part !== '..');
}

/**
 * The relative names in `codes` that can be attachments of a session working in one folder: each string literal
 * that is a safe relative path (after a leading `./`), once, sorted. Absolute names are left to `findAttachments`.
 */
export function candidateAttachmentNames(codes: string[]): string[] {
  const names = new Set<string>();
  for (const literal of codes.flatMap(pythonStringLiterals)) {
    const name = literal.replace(/^(\.\/)+/, '');
    if (isSafeAttachmentPath(name)) {
      names.add(name);
    }
  }
  return [...names].sort();
}
