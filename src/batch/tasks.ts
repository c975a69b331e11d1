/**
 * Task suites for `aiev batch`: one JSON object per line, in the project's own shape or HumanEval / MBPP style,
 * read into `IBatchTask`s. A bad line is reported with its line number and skipped; the rest is read.
 *
 * - project: `{id, prompt, tests?, setup?, attachments?, tags?}`: `tests` and `setup` are Python sources (a string
 *   or a list), run after (tests) or before (setup) the notebook in the same kernel; `attachments` are paths of
 *   files the task's code reads, relative to the tasks file's folder;
 * - HumanEval: `{task_id, prompt, test, entry_point}`: the prompt is the function's signature and docstring, the
 *   test defines `check(candidate)`, run as `check(<entry_point>)`;
 * - MBPP: `{task_id, text, test_list, test_setup_code?}`: each of `test_list` is one test (after the setup code).
 *
 * `--map FIELD=SOURCE` copies the line's `SOURCE` to `FIELD` first (dots reach into objects: `meta.name`), for
 * suites whose names differ.
 */
import { existsSync, statSync } from 'fs';
import { isAbsolute, join, normalize } from 'path';

/** One task of a suite. */
export interface IBatchTask {
  /** As the suite names it (`HumanEval/0`). */
  id: string;
  /** `id` made safe as one path segment (the folder of its records). */
  slug: string;
  prompt: string;
  tests: string[];
  setup: string[];
  /** Paths relative to `attachmentsDir`. */
  attachments: string[];
  tags: string[];
  /** 1-based line of the tasks file. */
  line: number;
}

/** A line that could not be read as a task. */
export interface ITaskLineError {
  line: number;
  message: string;
}

/** A suite read from its text. */
export interface ITaskSuite {
  tasks: IBatchTask[];
  errors: ITaskLineError[];
}

/** Options of `parseTasks`. */
export interface IParseTasksOptions {
  /** `FIELD=SOURCE` pairs (`--map`). */
  map?: Record<string, string>;
  /** Folder attachments are relative to (the tasks file's); they must exist there. */
  attachmentsDir?: string;
}

/** `--map` values (`FIELD=SOURCE`) as an object; throws on a value without `=`. */
export function parseFieldMap(values: readonly string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const value of values) {
    const at = value.indexOf('=');
    if (at <= 0 || at === value.length - 1) {
      throw new Error(`--map takes FIELD=SOURCE, not '${value}'`);
    }
    map[value.slice(0, at)] = value.slice(at + 1);
  }
  return map;
}

/** Every task of a suite's JSONL text; bad lines (not JSON, missing fields, repeated ids) in `errors`. */
export function parseTasks(text: string, options: IParseTasksOptions = {}): ITaskSuite {
  const tasks: IBatchTask[] = [];
  const errors: ITaskLineError[] = [];
  const slugs = new Set<string>();
  text.split('\n').forEach((row, index) => {
    const line = index + 1;
    if (!row.trim()) {
      return;
    }
    try {
      const task = taskOf(mapped(JSON.parse(row), options.map ?? {}), line, options.attachmentsDir);
      if (slugs.has(task.slug)) {
        throw new Error(`task id '${task.id}' repeats an earlier line's`);
      }
      slugs.add(task.slug);
      tasks.push(task);
    } catch (error) {
      const message = error instanceof SyntaxError ? `not JSON (${error.message})` : (error as Error).message;
      errors.push({ line, message });
    }
  });
  return { tasks, errors };
}

function mapped(value: unknown, map: Record<string, string>): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('a task line is a JSON object');
  }
  const fields = { ...(value as Record<string, unknown>) };
  for (const [field, source] of Object.entries(map)) {
    const found = source.split('.').reduce<unknown>((at, key) => (at && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined), value);
    if (found === undefined) {
      throw new Error(`--map ${field}=${source}: the line has no '${source}'`);
    }
    fields[field] = found;
  }
  return fields;
}

function taskOf(fields: Record<string, unknown>, line: number, attachmentsDir: string | undefined): IBatchTask {
  if ('task_id' in fields && 'entry_point' in fields && 'test' in fields) {
    const entry = text(fields, 'entry_point');
    return task(String(fields.task_id), line, {
      prompt:
        `Write the Python function \`${entry}\` described below in a notebook cell and run it; do not only show it.\n\n` +
        `\`\`\`python\n${text(fields, 'prompt').trimEnd()}\n\`\`\``,
      tests: [`${text(fields, 'test').trimEnd()}\n\ncheck(${entry})`],
      tags: ['humaneval']
    });
  }
  if ('task_id' in fields && 'test_list' in fields) {
    const tests = sources(fields, 'test_list');
    const setup = typeof fields.test_setup_code === 'string' && fields.test_setup_code.trim() ? `${fields.test_setup_code}\n` : '';
    return task(String(fields.task_id), line, {
      prompt: `${text(fields, 'text')}\nYour code should pass these tests:\n${tests.join('\n')}`,
      tests: tests.map(test => setup + test),
      tags: ['mbpp']
    });
  }
  if (fields.id === undefined) {
    throw new Error("a task needs an 'id' (or HumanEval's task_id/prompt/test/entry_point, or MBPP's task_id/text/test_list)");
  }
  const attachments = fields.attachments === undefined ? [] : sources(fields, 'attachments');
  for (const path of attachments) {
    checkAttachment(path, attachmentsDir);
  }
  return task(String(fields.id), line, {
    prompt: text(fields, 'prompt'),
    tests: fields.tests === undefined ? [] : sources(fields, 'tests'),
    setup: fields.setup === undefined ? [] : sources(fields, 'setup'),
    attachments,
    tags: fields.tags === undefined ? [] : sources(fields, 'tags')
  });
}

function task(id: string, line: number, parts: Partial<IBatchTask> & { prompt: string }): IBatchTask {
  if (!id.trim()) {
    throw new Error('the task id is empty');
  }
  const slug = id.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[.]+/, '_').slice(0, 120);
  return { id, slug, tests: [], setup: [], attachments: [], tags: [], line, ...parts };
}

/** A non-empty string field. */
function text(fields: Record<string, unknown>, name: string): string {
  const value = fields[name];
  if (typeof value !== 'string' || !value.trim()) {
    throw new Error(`'${name}' must be a non-empty string`);
  }
  return value;
}

/** A string or a list of strings, as a list. */
function sources(fields: Record<string, unknown>, name: string): string[] {
  const value = fields[name];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || !list.every(item => typeof item === 'string')) {
    throw new Error(`'${name}' must be a string or a list of strings`);
  }
  return list;
}

function checkAttachment(path: string, folder: string | undefined): void {
  const clean = normalize(path);
  if (isAbsolute(path) || clean.startsWith('..') || !clean || clean === '.') {
    throw new Error(`attachment '${path}' must be a path inside the tasks file's folder`);
  }
  if (folder !== undefined && !(existsSync(join(folder, clean)) && statSync(join(folder, clean)).isFile())) {
    throw new Error(`attachment '${path}' is not a file in ${folder}`);
  }
}
