/**
 * A task's attachments: the files its code reads, found from the code itself. Every one-line Python string literal
 * in the code that names an existing regular file inside the session's working folder becomes `{path, sha256}`,
 * `path` relative to that folder (POSIX). The replay verifier copies them into its fresh folder, so a notebook
 * that reads `data.csv` can replay. Node only (uses `fs`).
 */
import { createHash } from 'crypto';
import { closeSync, openSync, readSync, realpathSync, Stats, statSync } from 'fs';
import { isAbsolute, join, posix, relative, resolve, sep } from 'path';

import { isSafeAttachmentPath, pythonStringLiterals } from './literals';
import type { ITask } from './types';

export { isSafeAttachmentPath, pythonStringLiterals };

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
