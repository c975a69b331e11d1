/**
 * Secret redaction for everything a session records: `redactSecrets` deep-copies a JSON value with every
 * occurrence of each secret (API keys, server tokens) replaced by `[REDACTED]`, in strings and object keys
 * alike, and reports where it found them as locations such as `steps[3].outputs[0].text`, which end up in
 * `ISample.redactions`. Used by the recorder before anything reaches the event log or the written record.
 * `JsonCopier` copies a JSON value in one pass with its strings and keys rewritten (for the export scrubber).
 * `privateKeySpans` finds private-key blocks in a text (for the export scrubber, `scrub.ts`).
 */
import type { ISample } from './types';

/** What replaces every occurrence of a secret. */
export const REDACTED = '[REDACTED]';

/** One entry of `ISample.redactions`. */
export type Redaction = ISample['redactions'][number];

/** Appends a property or index to a location such as `steps[3].outputs[0].text`. */
export function locate(base: string, key: string | number): string {
  if (typeof key === 'number') {
    return `${base}[${key}]`;
  }
  if (/^[A-Za-z_$][\w$]*$/.test(key)) {
    return base ? `${base}.${key}` : key;
  }
  return `${base}[${JSON.stringify(key)}]`;
}

/**
 * Returns a deep copy of a JSON value with every occurrence of each secret (in strings and object keys)
 * replaced by `[REDACTED]`, and the locations (relative to `base`) of the strings that held one.
 */
export function redactSecrets<T>(value: T, secrets: readonly string[], base = ''): { value: T; locations: string[] } {
  const needles = [...new Set(secrets.filter(secret => secret.length > 0))].sort((a, b) => b.length - a.length);
  const locations: string[] = [];
  const scrub = (text: string): string => needles.reduce((out, needle) => out.split(needle).join(REDACTED), text);
  const walk = (node: unknown, where: string): unknown => {
    if (typeof node === 'string') {
      const clean = scrub(node);
      if (clean !== node) {
        locations.push(where);
      }
      return clean;
    }
    if (Array.isArray(node)) {
      return node.map((item, index) => walk(item, locate(where, index)));
    }
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(node)) {
        const cleanKey = scrub(key);
        if (cleanKey !== key) {
          locations.push(`${locate(where, cleanKey)} (key)`);
        }
        out[cleanKey] = walk(item, locate(where, cleanKey));
      }
      return out;
    }
    return node;
  };
  const copy = JSON.parse(JSON.stringify(value ?? null));
  return { value: (needles.length ? walk(copy, base) : copy) as T, locations };
}

/** What `JSON.stringify` leaves out of an object (and writes as `null` in an array). */
export const omitted = (value: unknown): boolean =>
  value === undefined || typeof value === 'function' || typeof value === 'symbol';

/** `JSON.parse(JSON.stringify(value))`. */
export const plainCopy = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/** Sets a property as `JSON.parse` does (an own `__proto__` too). */
function define(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    object[key] = value;
  }
}

/**
 * Copies a JSON value in one pass, as `JSON.parse(JSON.stringify(value))` would, with every string rewritten by
 * `text`, every array of 2+ strings by `lines` (into a new array), every key by `key`; the values of `kept` keys
 * are copied as they are. `where()` is the location of the node being copied (built only when asked for).
 */
export abstract class JsonCopier {
  /** The copy of `node`, found at `base`. */
  copy(node: unknown, base: string): unknown {
    this._base = base;
    this._path.length = 0;
    return this._copy(node);
  }

  protected abstract text(text: string): string;
  protected abstract lines(lines: string[]): string[];
  protected abstract key(key: string): string;
  protected abstract kept(key: string, object: Record<string, unknown>): boolean;

  /** The location of the node being copied, as `locate` builds it. */
  protected where(): string {
    let where = this._base;
    for (const key of this._path) {
      where = locate(where, key);
    }
    return where;
  }

  private _copy(node: unknown): unknown {
    if (typeof node === 'string') {
      return this.text(node);
    }
    if (node === null || typeof node !== 'object') {
      return typeof node === 'number' ? (Number.isFinite(node) ? node + 0 : null) : typeof node === 'boolean' ? node : plainCopy(node);
    }
    const boxed = node instanceof String || node instanceof Number || node instanceof Boolean;
    if (boxed || typeof (node as { toJSON?: unknown }).toJSON === 'function') {
      return this._copy(plainCopy(node));
    }
    const path = this._path;
    if (Array.isArray(node)) {
      if (node.length > 1 && node.every(item => typeof item === 'string')) {
        return this.lines(node as string[]);
      }
      const out = new Array<unknown>(node.length);
      for (let index = 0; index < node.length; index++) {
        path.push(index);
        out[index] = omitted(node[index]) ? null : this._copy(node[index]);
        path.pop();
      }
      return out;
    }
    const object = node as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(object)) {
      const value = object[key];
      if (omitted(value)) {
        continue;
      }
      if (this.kept(key, object)) {
        define(out, key, typeof value === 'string' ? value : plainCopy(value));
        continue;
      }
      const clean = this.key(key);
      path.push(clean);
      define(out, clean, this._copy(value));
      path.pop();
    }
    return out;
  }

  private _base = '';
  private readonly _path: (string | number)[] = [];
}

// Private-key blocks (PEM, OpenSSH, PGP): `-----BEGIN … PRIVATE KEY-----` … `-----END … -----`.
const PEM_LABEL = '(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----';
const PEM_BEGIN = new RegExp(`-----BEGIN ${PEM_LABEL}`, 'g');
const PEM_END = new RegExp(`-----END ${PEM_LABEL}`, 'g');
const PEM_BODY_LINE = /^(?:[A-Za-z0-9+/=]*|(?:Proc-Type|DEK-Info|Comment|Version|Charset|Hash|MessageID):.*)$/;
const PEM_MAX_BLOCK = 32768;

/** Where the line break at `at` ends (a real one or a JSON-escaped `\n` / `\r\n`), or -1 when there is none. */
function breakEnd(text: string, at: number): number {
  if (text[at] === '\n' || text[at] === '\r') {
    return text.startsWith('\r\n', at) ? at + 2 : at + 1;
  }
  if (text[at] === '\\' && (text[at + 1] === 'n' || text[at + 1] === 'r')) {
    return text.startsWith('\\r\\n', at) ? at + 4 : at + 2;
  }
  return -1;
}

/** End of the body lines (base64, `Proc-Type:` headers, blanks) after a lone BEGIN that ends at `from`. */
function bodyAfter(text: string, from: number): number {
  const limit = Math.min(text.length, from + PEM_MAX_BLOCK);
  let end = from;
  for (let lineStart = from, at = from; at <= limit; at++) {
    const next = at === limit ? at : breakEnd(text, at);
    if (next >= 0) {
      const line = text.slice(lineStart, at).trim();
      if (!PEM_BODY_LINE.test(line)) {
        break;
      }
      end = line ? at : end;
      lineStart = next;
      at = Math.max(at, next - 1);
    }
  }
  return end;
}

/** Start of the base64 lines before a lone END that starts at `to`. */
function bodyBefore(text: string, to: number): number {
  const limit = Math.max(0, to - PEM_MAX_BLOCK);
  let start = to;
  for (let lineEnd = to, at = to - 1; at >= limit - 1; at--) {
    const escaped = text[at] === '\\' && (text[at + 1] === 'n' || text[at + 1] === 'r');
    if (at < limit || text[at] === '\n' || text[at] === '\r' || escaped) {
      const lineStart = at < limit ? limit : at + (escaped ? 2 : 1);
      const line = text.slice(lineStart, lineEnd).trim();
      if (!/^[A-Za-z0-9+/=]*$/.test(line)) {
        break;
      }
      start = line ? lineStart : start;
      lineEnd = at;
    }
  }
  return start;
}

/**
 * Where private-key blocks are in `text`, as sorted, disjoint `[start, end)` spans: BEGIN through the next END
 * (line breaks real or JSON-escaped `\n`), or a BEGIN or END alone (another BEGIN comes first, or none) with the
 * base64 lines after or before it: a block cut by output truncation or split over outputs. Linear in `text`.
 */
export function privateKeySpans(text: string): [number, number][] {
  if (!text.includes('PRIVATE KEY')) {
    return [];
  }
  const positions = (re: RegExp): [number, number][] => [...text.matchAll(re)].map(m => [m.index ?? 0, (m.index ?? 0) + m[0].length]);
  const begins = positions(PEM_BEGIN);
  const ends = positions(PEM_END);
  const spans: [number, number][] = [];
  let covered = 0;
  let e = 0;
  const loneEndsBefore = (limit: number): void => {
    for (; e < ends.length && ends[e][0] < limit; e++) {
      if (ends[e][0] >= covered) {
        spans.push([Math.max(covered, bodyBefore(text, ends[e][0])), ends[e][1]]);
        covered = ends[e][1];
      }
    }
  };
  begins.forEach(([start, headerEnd], b) => {
    if (start >= covered) {
      loneEndsBefore(headerEnd);
      const nextBegin = b + 1 < begins.length ? begins[b + 1][0] : Infinity;
      const paired = e < ends.length && ends[e][0] < nextBegin && ends[e][0] - headerEnd <= PEM_MAX_BLOCK;
      covered = paired ? ends[e++][1] : bodyAfter(text, headerEnd);
      spans.push([start, covered]);
    }
  });
  loneEndsBefore(Infinity);
  return spans;
}
