/**
 * What a harvested notebook's code needs from its folder besides plain string literals (`findAttachments` finds
 * those): the local modules and packages it imports, and the data paths it builds from literals with simple
 * f-strings, `os.path.join(...)` and `pathlib.Path(...) / ...`. Read from the code only, never executed; what is
 * not literal enough to resolve is left out (the replay then fails on it: a `missing file`, never a false verdict).
 * Node only (uses `fs`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'fs';
import { join, relative, sep } from 'path';

/** Most Python files of one local package attached (a package that large is not a helper). */
const MAX_PACKAGE_FILES = 200;

const IMPORT = /^[ \t]*(?:from[ \t]+([A-Za-z_][\w.]*)[ \t]+import\b|import[ \t]+([A-Za-z_][\w.]*(?:[ \t]+as[ \t]+\w+)?(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*(?:[ \t]+as[ \t]+\w+)?)*))/gm;
const STRING = String.raw`[rRbBuU]?(?:'[^'\\\n]*'|"[^"\\\n]*")`;
const NAME = String.raw`[A-Za-z_]\w*`;
const ASSIGNMENT = new RegExp(String.raw`^[ \t]*(${NAME})[ \t]*=[ \t]*(.+?)[ \t]*(?:#.*)?$`, 'gm');
const FSTRING = /\b[fF][rR]?(?:'([^'\\\n]*)'|"([^"\\\n]*)")/g;
const JOIN_CALL = /\bjoin\(([^()\n]*)\)/g;
const PATH_CHAIN = new RegExp(
  String.raw`(?:\b(?:Path|PurePath|PosixPath)\(([^()\n]*)\)|\b(${NAME}))((?:[ \t]*/[ \t]*(?:${STRING}|${NAME}))+)`,
  'g'
);
const PATH_CALL = /\b(?:Path|PurePath|PosixPath)\(([^()\n]*)\)/g;

/** The top-level module names the code imports absolutely (`import a.b as c, d` → a, d; `from e.f import g` → e). */
export function importedModules(code: string): string[] {
  const names = new Set<string>();
  for (const match of code.matchAll(IMPORT)) {
    const modules = match[1] ? [match[1]] : match[2].split(',').map(part => part.trim().split(/[ \t]/)[0]);
    modules.forEach(module => names.add(module.split('.')[0]));
  }
  return [...names];
}

/** The Python files of the local module or package `name` in `folder` (relative POSIX paths), or none. */
function moduleFiles(folder: string, name: string): string[] {
  if (existsSync(join(folder, `${name}.py`))) {
    return [`${name}.py`];
  }
  const root = join(folder, name);
  if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
    return [];
  }
  const files: string[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (files.length >= MAX_PACKAGE_FILES || entry.name.startsWith('.') || entry.name === '__pycache__') {
        continue;
      }
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        visit(path);
      } else if (entry.name.endsWith('.py')) {
        files.push(relative(folder, path).split(sep).join('/'));
      }
    }
  };
  visit(root);
  return files.some(file => file.endsWith('.py')) ? files : [];
}

/**
 * The local modules and packages the code imports from `folder`, and the ones those import, as relative paths
 * with their sources (read here, to be scanned like the notebook's code).
 */
export function localModules(codes: string[], folder: string): { path: string; code: string }[] {
  const found = new Map<string, string>();
  const pending = [...codes];
  const seen = new Set<string>();
  while (pending.length) {
    for (const name of importedModules(pending.shift() as string)) {
      if (seen.has(name)) {
        continue;
      }
      seen.add(name);
      for (const path of moduleFiles(folder, name)) {
        try {
          const code = readFileSync(join(folder, path), 'utf8');
          found.set(path, code);
          pending.push(code);
        } catch {
          continue;
        }
      }
    }
  }
  return [...found].map(([path, code]) => ({ path, code }));
}

/** The value of a string literal (no escapes: see `STRING`), else undefined. */
function literalValue(text: string): string | undefined {
  const match = /^[rRbBuU]?(?:'([^'\\\n]*)'|"([^"\\\n]*)")$/.exec(text.trim());
  return match ? match[1] ?? match[2] : undefined;
}

/** The path a simple expression builds from literals and `constants`, or undefined. */
function resolvePath(text: string, constants: Map<string, string>): string | undefined {
  const expr = text.trim();
  const literal = literalValue(expr);
  if (literal !== undefined) {
    return literal;
  }
  if (/^[A-Za-z_]\w*$/.test(expr)) {
    return constants.get(expr);
  }
  const fstring = /^[fF][rR]?(?:'([^'\\\n]*)'|"([^"\\\n]*)")$/.exec(expr);
  if (fstring) {
    return substitute(fstring[1] ?? fstring[2], constants);
  }
  const call = /^(?:(?:os\.)?path\.join|join|(?:pathlib\.)?(?:Path|PurePath|PosixPath))\(([^()\n]*)\)$/.exec(expr);
  if (call) {
    return joinParts(call[1].split(','), constants);
  }
  const parts = splitTopLevel(expr, '/');
  return parts.length > 1 ? joinParts(parts, constants) : undefined;
}

/** `{NAME}` placeholders of an f-string body replaced by constants; undefined if any is not a known constant. */
function substitute(body: string, constants: Map<string, string>): string | undefined {
  let unknown = false;
  const value = body.replace(/\{([^{}]*)\}/g, (_all, name: string) => {
    const known = constants.get(name.trim());
    unknown ||= known === undefined;
    return known ?? '';
  });
  return unknown ? undefined : value;
}

function joinParts(parts: string[], constants: Map<string, string>): string | undefined {
  const values = parts.filter(part => part.trim()).map(part => resolvePath(part, constants));
  return values.length && values.every(v => v !== undefined) ? values.join('/').replace(/\/+/g, '/') : undefined;
}

/** `a / 'b' / c` split at `/` outside quotes and parentheses. */
function splitTopLevel(expr: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let at = 0; at < expr.length; at++) {
    const char = expr[at];
    if (quote) {
      quote = char === quote ? '' : quote;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === '(') {
      depth++;
    } else if (char === ')') {
      depth--;
    } else if (char === separator && depth === 0) {
      parts.push(expr.slice(start, at));
      start = at + 1;
    }
  }
  parts.push(expr.slice(start));
  return parts;
}

/**
 * The paths the code builds from literals: f-strings whose placeholders are names assigned a literal path
 * (`DATA = 'data'`, `DATA = Path('data')`, in any of `codes`), `os.path.join(...)` and `Path(...)` of literals and
 * such names, and `/` chains of them. Each comes back as the relative or absolute path it spells.
 */
export function builtPaths(codes: string[]): string[] {
  const constants = new Map<string, string>();
  const all = codes.join('\n');
  for (let round = 0; round < 2; round++) {
    // Twice: a constant may be built from one assigned later in the text (another cell above it).
    for (const [, name, value] of all.matchAll(ASSIGNMENT)) {
      const path = resolvePath(value, constants);
      if (path !== undefined && !constants.has(name)) {
        constants.set(name, path);
      }
    }
  }
  const found = new Set<string>();
  const add = (path: string | undefined) => path && found.add(path);
  for (const match of all.matchAll(FSTRING)) {
    add(substitute(match[1] ?? match[2], constants));
  }
  for (const match of all.matchAll(JOIN_CALL)) {
    add(joinParts(match[1].split(','), constants));
  }
  for (const match of all.matchAll(PATH_CALL)) {
    add(joinParts(match[1].split(','), constants));
  }
  for (const match of all.matchAll(PATH_CHAIN)) {
    const head = match[1] !== undefined ? joinParts(match[1].split(','), constants) : constants.get(match[2]);
    const rest = match[3].split('/').slice(1).map(part => resolvePath(part, constants));
    if (head !== undefined && rest.every(part => part !== undefined)) {
      add([head, ...rest].join('/').replace(/\/+/g, '/'));
    }
  }
  return [...found];
}
