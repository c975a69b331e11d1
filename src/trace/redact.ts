/**
 * Secret redaction for everything a session records: `redactSecrets` deep-copies a JSON value with every
 * occurrence of each secret (API keys, server tokens) replaced by `[REDACTED]`, in strings and object keys
 * alike, and reports where it found them as locations such as `steps[3].outputs[0].text`, which end up in
 * `ISample.redactions`. Used by the recorder before anything reaches the event log or the written record.
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
