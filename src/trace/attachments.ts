/**
 * A task's attachments: the files its code reads, found from the code itself. Every one-line Python string literal
 * in the code that names an existing regular file inside the session's working folder becomes `{path, sha256}`,
 * `path` relative to that folder (POSIX). The replay verifier copies them into its fresh folder, so a notebook
 * that reads `data.csv` can replay. Node only (uses `fs`).
 */
import { createHash } from 'crypto';
import { closeSync, openSync, readSync, realpathSync, Stats, statSync } from 'fs';
import { isAbsolute, join, posix, relative, resolve, sep } from 'path';

import type { ITask } from './types';

/** One attachment of a task: a path relative to the working folder and the sha256 of its bytes. */
export type IAttachment = ITask['attachments'][number];

/** Options of `findAttachments`. */
export interface IFindAttachmentsOptions {
  /** Files modified at or after this time (written by the session itself) are not attachments. */
  modifiedBefore?: Date;
  /** Largest file attached (default 100 MiB); larger ones are left out. */
  maxFileBytes?: number;
  /** Most bytes attached in all (default 500 MiB); files past it, in path order, are left out. */
  maxTotalBytes?: number;
  /** More candidate paths besides the code's literals (paths the code builds: see `notebookFiles.ts`). */
  paths?: string[];
}

/** Default cap on one attachment's size. */
export const MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024;
/** Default cap on all attachments' size together. */
export const MAX_ATTACHMENTS_TOTAL_BYTES = 500 * 1024 * 1024;

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

/** Whether `path` is inside `folder` (both absolute; the folder itself is not inside). */
function inside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/** The literal as a safe path relative to `folder` (real path `real`), or null when it cannot be one. */
function relativeName(literal: string, folder: string, real: string): string | null {
  let name = literal;
  if (isAbsolute(literal)) {
    const base = [folder, real].find(root => inside(root, literal));
    if (!base) {
      return null;
    }
    name = relative(base, literal).split(sep).join('/');
  }
  name = name.replace(/^(\.\/)+/, '');
  const normal = posix.normalize(name);
  return name.split('/').includes('..') || !isSafeAttachmentPath(normal) ? null : normal;
}

/**
 * The real path of the attachment `path` in `folder` when it is a safe relative path naming a regular file whose
 * real path stays inside the folder's (no symlink leads out); null otherwise (also when it does not exist).
 */
export function attachmentSource(folder: string, path: string): string | null {
  if (!isSafeAttachmentPath(path)) {
    return null;
  }
  try {
    const source = realpathSync(join(folder, path));
    return inside(realpathSync(folder), source) && statSync(source).isFile() ? source : null;
  } catch {
    return null;
  }
}

/**
 * sha256 of files already hashed by this process, by real path, size and mtime: many notebooks of a class share
 * one dataset, and a harvest would otherwise read it once per notebook.
 */
const HASHED = new Map<string, string>();

/** The sha256 of a file's bytes (`stat` is its stat), read in chunks unless this process hashed it as it is. */
function cachedSha256(path: string, stat: Stats): string {
  const key = `${path}\0${stat.size}\0${stat.mtimeMs}`;
  let digest = HASHED.get(key);
  if (digest === undefined) {
    digest = sha256Of(path);
    HASHED.set(key, digest);
  }
  return digest;
}

/** The sha256 of a file's bytes, read in chunks. */
function sha256Of(path: string): string {
  const hash = createHash('sha256');
  const buffer = Buffer.alloc(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer)) {
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * The files the code reads, as attachments: each string literal of `codes` naming an existing regular file in
 * `folder` (relative, or absolute inside it; its real path must stay inside the folder's, so no symlink leads out),
 * sorted by path, each once, within the size caps, not modified at or after `modifiedBefore`. Never throws: a
 * folder that does not exist has no attachments, a file that cannot be read is left out.
 */
export function findAttachments(codes: string[], folder: string, options: IFindAttachmentsOptions = {}): IAttachment[] {
  const maxFile = options.maxFileBytes ?? MAX_ATTACHMENT_BYTES;
  let budget = options.maxTotalBytes ?? MAX_ATTACHMENTS_TOTAL_BYTES;
  const base = resolve(folder);
  let real: string;
  try {
    real = realpathSync(base);
  } catch {
    return [];
  }
  const names = new Set<string>();
  for (const literal of [...codes.flatMap(pythonStringLiterals), ...(options.paths ?? [])]) {
    const name = relativeName(literal, base, real);
    if (name) {
      names.add(name);
    }
  }
  const attachments: IAttachment[] = [];
  for (const name of [...names].sort()) {
    const file = attachmentSource(base, name);
    if (!file) {
      continue;
    }
    try {
      const stat = statSync(file);
      const fresh = options.modifiedBefore && stat.mtimeMs >= options.modifiedBefore.getTime();
      if (stat.size > maxFile || stat.size > budget || fresh) {
        continue;
      }
      attachments.push({ path: name, sha256: cachedSha256(file, stat) });
      budget -= stat.size;
    } catch {
      continue; // gone, unreadable, or a name the file system refuses
    }
  }
  return attachments;
}
