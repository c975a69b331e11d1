/**
 * Environment-variable secrets for `scrub.ts`: how secret a variable / key / parameter name sounds, whether a
 * value assigned to it is a real secret, and the `env_secret` assignment forms. Names are read upper-cased
 * (camelCase, dots and dashes as `_`). *PASSWORD*, *SECRET*, *CREDENTIAL*, *_API_KEY, *_PASS names are strong: any
 * literal goes. *_KEY, *_TOKEN, *_AUTH* are weak: only key-like values (12+ characters with 2+ digits and
 * letters) go, so `'pad_token': '<|endoftext|>'`, `'sort_key': 'name'` and `from_key = 'int64'` stay. Names
 * ending _FILE, _PATH, _URL, _ID, _NAME… and placeholder values (`$VAR`, `{x}`, `<key>`, `***`, `your-api-key`,
 * `hf_...`, paths, env-var names, type names) are left alone. The forms: `NAME=value` (upper-case name, no
 * spaces, as `env`, `export` and `.env` print it), `name: value` / `name=value` alone on a line (yaml, .env), and
 * `name = 'literal'`, `'name': 'literal'`, `"name": "literal"` (code, dict, JSON); only literals count
 * (`task_key = compute()`, `api_key: str` stay). `envSecrets` gives the values (8+ characters) of the
 * secret-named variables of an environment (`OPENAI_API_KEY`…), removed wherever they appear.
 */
import { REDACTED } from './redact';

/** How secret a name sounds: `strong` names make any literal a secret, `weak` ones only key-like values. */
export type Strength = 'strong' | 'weak' | null;

// Secret-sounding names (upper-cased, camelCase / dots / dashes read as `_`); see the header for strong vs weak.
const STRONG_NAME = new RegExp(
  'PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|(^|_)SECRETS?(_|$)|' +
    '(^|_)(API_?KEY|ACCESS_KEY|PRIVATE_KEY|AUTH_KEY|PASS|(AUTH|ACCESS|API|REFRESH|BEARER|SESSION)_TOKEN)$'
);
const WEAK_NAME = /._KEY$|(^|_)TOKEN$|(^|_)AUTH(ORIZATION)?(_|$)/;
/**
 * Lower-case words one of which every strong or weak name contains (case aside): a text without any of them holds
 * no secret-sounding name (a cheap pre-filter for scrub.ts). Keep in step with STRONG_NAME and WEAK_NAME.
 */
export const SECRET_NAME_WORDS = ['pass', 'secret', 'key', 'token', 'auth', 'credential'];
const URL_WEAK_NAME = /^(KEY|SIG|SIGNATURE|CODE)$|_SIGNATURE$/;
const NOT_SECRET_NAME = new RegExp(
  '_(IDS?|NAMES?|USER|USERNAME|FILE|PATH|DIR|URL|URI|HOST|PORT|TYPE|MODE|FIELDS?|LENGTH|LEN|MIN|MAX|COUNT|LIMIT|' +
    'TIMEOUT|TTL|ENV|VAR|HEADER|PARAM|PROMPT|HINT|ENABLED|REQUIRED|POLICY|ALGORITHM|FORMAT|VERSION|PREFIX|SUFFIX|' +
    'COLUMN|INDEX|SIZE|TOKENS|EXPIRY|EXPIRES|ARN|MANAGER|WORDS?|BACKEND|PROVIDER|STORE|ENGINE|SCOPES?|NAMESPACE|' +
    'MOUNT|LEVEL|STRENGTH|KIND|METHOD|SOURCE|LOCATION|REF|CLASS|TEMPLATE)$|' +
    // Keys that name things, not credentials: `cache_key`, `idempotency_key`, `sort_key`, `partition_key`…
    '(^|_)(CACHE|IDEMPOTENCY|SORT|PRIMARY|PARTITION|FOREIGN|ROUTING|GROUP|INDEX|LOOKUP|DEDUPE?|HASH|OBJECT|BUCKET|' +
    'DICT|MAP|JOIN|MERGE|SEED|RANDOM|RNG|CONFIG|SECTION|TABLE|ROW|COLUMN|FIELD|SHARD|LOCK|QUEUE|TOPIC|METRIC|STATE|' +
    'CLUSTER|SPLIT|FOLD|DATASET|REGISTRY|LABEL|CONTEXT|CELL|PAGINATION|CURSOR|PAGE)_KEY$'
);
// Names whose values may be any word (a password can be one); other strong names need more than a lower-case word.
const PASSWORD_NAME = /PASS(WORD|WD|PHRASE)?($|_)|PWD$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Values that stand for a secret rather than being one. */
export const PLACEHOLDER = new RegExp(
  [
    '^[$%]|^\\{.*\\}$|^<.*>$|\\*\\*\\*|(\\.\\.\\.|…)$|^[*xX.…•_-]+$', // $VAR, %(x)s, {key}, <token>, ***, sk-..., xxxx
    '^[a-z_-]*(key|token|secret|pass|passwd|password|pwd)[a-z_-]*$|your[_-]?(api[_-]?)?(key|token|secret|password)',
    '^(~|\\.{1,2})?[/\\\\]|^[A-Za-z]:[\\\\/]', // paths
    '^(str|bytes|int|float|bool|string|number|boolean|SecretStr|Any|object|None|null|nil|undefined|true|false)$',
    '^(yes|no|on|off|required|optional|changeme|example|placeholder|redacted)$'
  ].join('|'),
  'i'
);

/** A name upper-cased, camelCase, dots and dashes read as `_`. */
const upperName = (name: string): string => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[.-]/g, '_').toUpperCase();

/** How secret a variable / key / parameter name sounds (camelCase, dots and dashes read as `_`). */
export function nameStrength(name: string, inUrl = false): Strength {
  const upper = upperName(name);
  if (NOT_SECRET_NAME.test(upper)) {
    return null;
  }
  if (STRONG_NAME.test(upper)) {
    return 'strong';
  }
  return WEAK_NAME.test(upper) || (inUrl && URL_WEAK_NAME.test(upper)) ? 'weak' : null;
}

/** 12+ key characters with 2+ digits and 2+ letters, or 24+ letters a quarter of them capitals (not CamelCase). */
export function keyLike(value: string): boolean {
  if (/^[A-Za-z]{24,}$/.test(value)) {
    const capitals = value.replace(/[a-z]/g, '').length / value.length;
    return capitals >= 0.25 && capitals <= 0.75;
  }
  return /^[A-Za-z0-9+/=_.~-]{12,}$/.test(value) && /\d.*\d/.test(value) && /[A-Za-z].*[A-Za-z]/.test(value);
}

/**
 * Whether a literal assigned to a name of that strength is a secret (not a placeholder, nor a token already). Given
 * the `name`, a lower-case word is one only for a password name (`secret_word = 'regularisation'` stays); a UUID is
 * one only for a strong name (`idempotency_key: <uuid>` stays).
 */
export function secretValue(value: string, strength: Strength, name = ''): boolean {
  if (!strength || !value.trim() || value.includes(REDACTED.slice(0, -1)) || PLACEHOLDER.test(value)) {
    return false;
  }
  if (/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/.test(value)) {
    return false;
  }
  if (strength === 'weak') {
    return keyLike(value) && !UUID.test(value);
  }
  return !name || !/^[a-z]+(-[a-z]+)*$/.test(value) || PASSWORD_NAME.test(upperName(name));
}

/** Whether an assignment form's `secret` group is a secret for its `name` group. */
export const secretAssignment = (secret: string, groups: Record<string, string | undefined>): boolean =>
  secretValue(secret, nameStrength(groups.name ?? ''), groups.name ?? '');

/** Code rather than a literal: an identifier or attribute chain (`pw`, `config.api_key`). */
const CODE_VALUE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** For the unquoted `name = value` forms of code: a secret assignment whose value is not code (unless key-like). */
const unquotedAssignment = (secret: string, groups: Record<string, string | undefined>): boolean =>
  secretAssignment(secret, groups) && (!CODE_VALUE.test(secret) || keyLike(secret));

/** For triple-quoted values: the text inside, without the blank lines around it. */
const blockAssignment = (secret: string, groups: Record<string, string | undefined>): boolean => secretAssignment(secret.trim(), groups);

/** The secret-named variables of an environment whose values (8+ characters) are secrets, as `[name, value]`. */
export function secretEnvEntries(env: Record<string, string | undefined>): [string, string][] {
  return Object.entries(env).filter(
    (entry): entry is [string, string] => !!entry[1] && entry[1].length >= 8 && secretValue(entry[1], nameStrength(entry[0]))
  );
}

/** Values (8+ characters) of the secret-named variables of an environment. */
export function envSecrets(env: Record<string, string | undefined>): string[] {
  return secretEnvEntries(env).map(([, value]) => value);
}

/** An escaped `\n`, `\r` or `\t` (JSON text): before a token it counts as a break. Shared with scrub.ts. */
export const ESCAPE = '\\\\[nrt]';
/** A quote, possibly JSON-escaped. Shared with scrub.ts. */
export const QUOTE = `(?:\\\\?['"])`;
const NAME = '(?<name>[A-Za-z_][A-Za-z0-9_.-]{0,127})';

/** One assignment form: a regex source with `name` and `secret` groups, its extra flags, cheap hints and check. */
export interface IAssignmentForm {
  source: string;
  flags?: string;
  hints?: string[];
  /** Whether a match is a secret (default `secretAssignment`). */
  accept?: (secret: string, groups: Record<string, string | undefined>) => boolean;
}

// Between a name and its quoted value: an optional type (Go `var x string = `, `x: str = `) and the operator.
const TYPED = "(?:[ \\t]*:?[ \\t]+(?:string|str|String|&str|&'static str))?";
const OPERATOR = '(?:=>|::?=|\\?=|:|=(?!=))';
// A quoted value up to its closing quote `q` (possibly JSON-escaped); it may hold the other quotes.
const QUOTED = (min: number): string => `\\\\?(?<q>['"\`])(?<secret>(?:(?!\\\\?\\k<q>)[^\\n]){${min},4096})\\\\?\\k<q>`;

/** The `env_secret` assignment forms, in precedence order; each match is checked by `secretAssignment`. */
export const ASSIGNMENT_FORMS: IAssignmentForm[] = [
  // `NAME = """…"""`, `name = '''…'''`: a triple-quoted value, over lines.
  {
    source: `(?<![A-Za-z0-9_.$])${NAME}${TYPED}[ \\t]*${OPERATOR}[ \\t]*(?<q>"""|''')(?<secret>[\\s\\S]{1,4096}?)\\k<q>`,
    hints: ['"""', "'''"],
    accept: blockAssignment
  },
  // `NAME = 'literal'`, `'name': "literal"`, `os.environ["NAME"] = '…'`, Go `var name string = "…"` and backticks,
  // Makefile `NAME ?= "…"`, also with JSON-escaped quotes.
  {
    source: `(?:(?<![A-Za-z0-9_.$])|(?<=${ESCAPE}))${QUOTE}?${NAME}${QUOTE}?\\]?${TYPED}[ \\t]*${OPERATOR}[ \\t]*${QUOTED(0)}`
  },
  // `System.setProperty("X_TOKEN", "…")`, `os.environ.setdefault('X_TOKEN', '…')`, `os.putenv`, Go `os.Setenv`.
  {
    source: `(?:setProperty|setdefault|putenv|[sS]etenv)\\([ \\t]*\\\\?(?<p>['"])${NAME}\\\\?\\k<p>[ \\t]*,[ \\t]*${QUOTED(1)}`,
    hints: ['(']
  },
  // XML: `<password>…</password>`, `<add key="ApiKey" value="…"/>`.
  { source: `<${NAME}(?:[ \\t][^>\\n]{0,200})?>(?<secret>[^<\\n]{1,4096})</\\k<name>>`, hints: ['</'] },
  { source: `<add[ \\t]+key=\\\\?(?<p>['"])${NAME}\\\\?\\k<p>[ \\t]+value=${QUOTED(1)}`, flags: 'i', hints: ['key='] },
  // `NAME=value` as `env`, `export` and `.env` print it: upper-case name, no spaces.
  {
    source:
      `(?<=^|[\\s;(,{\\[|&'"\`]|${ESCAPE})(?<name>[A-Z][A-Z0-9_]*)=` +
      `(?<secret>[^\\s'"\`,;(){}\\[\\]<>|&]{1,4096})(?=$|[\\s,;)}\\]'"|&])`,
    hints: ['=']
  },
  // `name: value` / `name=value` alone on a line (yaml, .env), any case.
  {
    source:
      `^[ \\t]*(?:-[ \\t]+|export[ \\t]+)?${NAME}(?:=|[ \\t]*:[ \\t]+)` +
      `(?<secret>[^\\s'"\`,;(){}\\[\\]<>|&#]{1,4096})[ \\t]*(?=$|#)`,
    flags: 'm'
  },
  // `name = value` unquoted in code or config, Makefile `NAME ::= value` / `NAME ?= value`: not code.
  {
    source:
      `^[ \\t]*(?:(?:export|var|let|const|set|readonly|local)[ \\t]+)?${NAME}[ \\t]*(?:::?=|\\?=|\\+?=)[ \\t]*` +
      `(?<secret>[^\\s'"\`,;(){}\\[\\]<>|&#]{1,4096})[ \\t]*(?=$|#)`,
    flags: 'm',
    hints: ['='],
    accept: unquotedAssignment
  }
];
