/**
 * Redaction for every export: `scrubSample`, `scrubValue` and `scrubText` replace each secret found in any text of
 * a record by `[REDACTED:<kind>]` (never any part of the value) and the home folder by `~`, and list each
 * (kind, location) once in `redactions`, locations in the style of `redact.ts` (`steps[3].outputs[0].text[2]`).
 * Idempotent: tokens and `~` never match again. Every rule is one linear pass; on overlap the earlier kind in
 * `SCRUB_KINDS` wins. The rules, and the false positives they avoid (training data must stay intact):
 * - Provider keys need their documented prefix and shape, with token boundaries on both sides; `sk-` keys also
 *   need a 16+ character run mixing letters and digits (`sk-learn` stays). AWS secret keys (40 base64
 *   characters) only after an `aws_secret_access_key` name: alone they look like any hash. UUIDs, hex digests,
 *   tracebacks and base64 images match no rule.
 * - `env_secret`, the value assigned to a secret-sounding name (`NAME=value`, `export`, yaml, dict, JSON; only
 *   literals, placeholders left alone), and the values of the environment's secret-named variables wherever
 *   they appear: `envSecrets.ts` says which names, values and forms count.
 * - The provider formats of `secretRules.ts` (GitLab, Stripe, Twilio, npm, PyPI… ~150 rows, each with its keywords
 *   and entropy threshold): a text runs only the rows whose keywords it holds, found in one pass.
 * - `curl -u user:password` and `curl -H 'Authorization: …'`, base64 of JWTs, Kubernetes Secret values.
 * - `image/*`, `audio/*`, `video/*` values, `data:` URLs and the `data` of image parts are never scanned.
 */
import {
  ASSIGNMENT_FORMS,
  ESCAPE,
  envSecrets,
  keyLike,
  nameStrength,
  PLACEHOLDER,
  QUOTE,
  secretAssignment,
  SECRET_NAME_WORDS,
  secretValue
} from './envSecrets';
import { JsonCopier, locate, omitted, plainCopy, privateKeySpans, REDACTED, Redaction } from './redact';
import { entropy, ISecretRule, KeywordSet, SECRET_RULES } from './secretRules';
import type { ISample } from './types';

/** What to scrub besides the built-in rules. */
export interface IScrubOptions {
  /** Home folder(s) to replace with `~` (default: the user's home, plus any /home/<user> or /Users/<user> prefix found). */
  homeDirs?: string[];
  /** Extra literal values to remove (e.g. a known API key), as `redactSecrets` in redact.ts already does. */
  secrets?: string[];
  /**
   * Environment whose secret-named variables (`OPENAI_API_KEY`…) have their values removed wherever they appear,
   * whatever their shape (default: `process.env` when there is one; `{}` for none).
   */
  env?: Record<string, string | undefined>;
}

/** Every redaction kind, in precedence order when two matches overlap (the provider table's after `jwt`). */
export const SCRUB_KINDS: readonly string[] = [
  ...['known_secret', 'private_key', 'anthropic_key', 'openai_key', 'huggingface_token', 'github_token'],
  ...['aws_access_key_id', 'aws_secret_access_key', 'slack_webhook', 'slack_token', 'google_api_key', 'jwt', 'jwt_base64'],
  ...SECRET_RULES.map(row => row.id),
  ...['curl_credentials', 'auth_header', 'url_credentials', 'url_secret', 'env_secret', 'home_path']
];

/** A redaction kind: one of `SCRUB_KINDS`. */
export type ScrubKind = string;

/** The text that replaces a secret of `kind`, e.g. `[REDACTED:openai_key]`. */
export function redactionToken(kind: string): string {
  return `${REDACTED.slice(0, -1)}:${kind}]`;
}

/** One match: `text.slice(start, end)` becomes `replacement`. */
type Finding = { start: number; end: number; kind: ScrubKind; replacement: string };
type Groups = Record<string, string | undefined>;

/**
 * A global regex whose `secret` group (or whole match) ends each match; `accept` checks. Pre-filters skip it
 * cheaply: a text that can hold an accepted match contains one of `hints`, and its lower-case form one of
 * `lowerHints` (lower-case words).
 */
interface IRule {
  kind: ScrubKind;
  re: RegExp;
  hints?: string[];
  lowerHints?: string[];
  accept?: (secret: string, groups: Groups) => boolean;
  /**
   * A match must not follow a token character (`NOT_AFTER_B64`), checked here rather than in the regex: a regex
   * that starts with its literal prefix is scanned far faster.
   */
  tokenStart?: boolean;
  /** The rule runs only on texts this matches. */
  within?: RegExp;
  /** `hints` and `lowerHints` in lower case, for a `KeywordSet` (built-in rules): each group must have one present. */
  keys?: string[][];
  /** What replaces a match: `redactionToken(kind)` unless given. */
  replacement?: string;
}

type RuleOptions = Omit<IRule, 'kind' | 're'> & { flags?: string };

function rule(kind: ScrubKind, source: string, { flags = '', ...more }: RuleOptions = {}): IRule {
  return { kind, re: new RegExp(source, `g${flags}`), ...more };
}

// Token characters; "not inside a token" on either side (an escaped `\n` before a token counts as a break).
const T = 'A-Za-z0-9_-';
const NOT_AFTER = `(?:(?<![${T}])|(?<=${ESCAPE}))`;
const NOT_BEFORE = `(?![${T}])`;

const NOT_AFTER_B64 = `(?:(?<![A-Za-z0-9_+/-])|(?<=${ESCAPE}))`;
const NOT_BEFORE_B64 = '(?![A-Za-z0-9_+/-])';
// What comes between a name and its value in an assignment (`=`, `:`, `:=`, `::=`, `?=`, `=>`, `,` in a call, `>` in
// XML), with the quotes, brackets and types around it: `name = "`, `"name": '`, `NAME ?= `, `("NAME", "`, `<name>`.
const ASSIGN = `[ \\t\\w.-]{0,20}?[\\s'"\\\\\\]]{0,4}(?:=|>|:{1,3}=|\\|\\||:|=>|\\?=|,)[\\x60'"\\s=\\\\]{0,6}`;
const VALUE_END = `(?=[\\x60'"\\s;,)<\\]}&\\\\]|$)`;

/** A provider row of secretRules.ts as a rule: its boundaries (or its name before it), keywords, entropy, allowlist. */
function tableRule(row: ISecretRule): IRule {
  const source = row.near
    ? `(?:${row.near})${ASSIGN}(?<secret>(?:${row.pattern}))${VALUE_END}`
    : row.within
      ? row.pattern
      : `(?:${row.pattern})${NOT_BEFORE_B64}`;
  const flags = `${row.ignoreCase || row.near ? 'i' : ''}${row.within ? 'm' : ''}`;
  return rule(row.id, source, {
    flags,
    ...(row.near || row.ignoreCase ? { lowerHints: row.keywords } : { hints: row.keywords }),
    within: row.within,
    tokenStart: !row.near && !row.within,
    accept: secret => (row.entropy === undefined || entropy(secret) >= row.entropy) && !row.allow?.test(secret)
  });
}

/** base64 of a JWT (`ZXlK…` is base64 of `eyJ`): its decoded text has a JWT's header and payload. */
function encodedJwt(secret: string): boolean {
  try {
    return /^eyJ[\w-]{8,}\.eyJ[\w-]{8,}/.test(atob(secret.slice(0, secret.length - (secret.length % 4))));
  } catch {
    return false;
  }
}

/** Has a 16+ character `[A-Za-z0-9_]` run with both letters and digits (random key bodies do; words do not). */
const randomRun = (body: string): boolean =>
  body.split('-').some(run => run.length >= 16 && /\d/.test(run) && /[A-Za-z]/.test(run));

/** The pattern rules, in precedence order (literal secrets and private keys come first, home folders last). */
const RULES: IRule[] = [
  rule('anthropic_key', `${NOT_AFTER}sk-ant-(?:api|admin|sid|oat)\\d{2}-[${T}]{20,}${NOT_BEFORE}`, { hints: ['sk-ant-'] }),
  rule('openai_key', `${NOT_AFTER}sk-(?:(?:proj|svcacct|admin|None)-)?[${T}]{20,}${NOT_BEFORE}`, {
    hints: ['sk-'],
    accept: secret => randomRun(secret.slice(3))
  }),
  rule('huggingface_token', `${NOT_AFTER}(?:hf_|api_org_)[A-Za-z0-9]{34}${NOT_BEFORE}`, {
    hints: ['hf_', 'api_org_'],
    accept: secret => keyLike(secret.slice(secret.indexOf('_') + 1))
  }),
  rule('github_token', `${NOT_AFTER}(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})${NOT_BEFORE}`, {
    hints: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_']
  }),
  rule('aws_access_key_id', `(?:(?<![A-Za-z0-9])|(?<=${ESCAPE}))(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])`, {
    hints: ['A3T', 'AKIA', 'ASIA', 'ABIA', 'ACCA']
  }),
  rule(
    'aws_secret_access_key',
    `aws_?secret_?(?:access_?)?key${QUOTE}?\\]?\\s*(?:=>|[:=])\\s*${QUOTE}?(?<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])`,
    { flags: 'i', lowerHints: ['secret'] }
  ),
  rule('slack_webhook', 'https?://hooks\\.slack\\.com/(?:services|workflows|triggers)/(?<secret>[A-Za-z0-9_/+-]{16,})', {
    hints: ['hooks.slack.com']
  }),
  rule('slack_token', `${NOT_AFTER}(?:xox[abposre]|xoxe\\.xox[bp]|xapp)-[A-Za-z0-9-]{10,}${NOT_BEFORE}`, {
    hints: ['xox', 'xapp-'],
    accept: secret => /\d/.test(secret)
  }),
  rule('google_api_key', `${NOT_AFTER}AIza[${T}]{35}${NOT_BEFORE}`, { hints: ['AIza'] }),
  rule('jwt', `${NOT_AFTER}eyJ[${T}]{8,}\\.[${T}]{8,}\\.[${T}]*(?:\\.[${T}]+){0,2}${NOT_BEFORE}`, { hints: ['eyJ'] }),
  rule('jwt_base64', `${NOT_AFTER_B64}ZXlK[A-Za-z0-9+/]{40,}={0,2}${NOT_BEFORE_B64}`, { hints: ['ZXlK'], accept: encodedJwt }),
  ...SECRET_RULES.map(tableRule),
  // `curl -u user:password`, `curl -H 'Authorization: …'` / `-H "X-Api-Key: …"`: the password or header value.
  rule('curl_credentials', `\\bcurl\\b[^\\n]{0,2000}?\\s(?:-u|--user)(?:=|[ \\t]{1,5})["']?[^\\s"':]{1,100}:(?<secret>[^\\s"']{3,200})`, {
    hints: ['curl'],
    accept: secret => !PLACEHOLDER.test(secret)
  }),
  rule(
    'curl_credentials',
    `\\bcurl\\b[^\\n]{0,2000}?\\s(?:-H|--header)(?:=|[ \\t]{1,5})["']?(?:Authorization|[\\w-]*(?:api-?key|token|auth|secret)[\\w-]*)[ \\t]*:[ \\t]*` +
      `(?:(?:Bearer|Basic|Token|Digest|ApiKey|Key)[ \\t]+)?(?<secret>[^\\s"']{8,2000})`,
    { flags: 'i', hints: ['curl'], accept: secret => !PLACEHOLDER.test(secret) && !secret.startsWith('$') }
  ),
  rule('auth_header', '\\bBearer\\s+(?<secret>[A-Za-z0-9._~+/-]{16,}=*)(?![A-Za-z0-9._~+/=-])', {
    flags: 'i',
    lowerHints: ['bearer'],
    accept: keyLike
  }),
  rule(
    'auth_header',
    `\\bAuthorization${QUOTE}?\\s*[:=]\\s*${QUOTE}?(?:Basic|Token|Digest)\\s+(?<secret>[A-Za-z0-9._~+/-]{6,}=*)(?![A-Za-z0-9._~+/=-])`,
    { flags: 'i', lowerHints: ['authorization'], accept: secret => !PLACEHOLDER.test(secret) }
  ),
  rule(
    'url_credentials',
    `\\b[A-Za-z][A-Za-z0-9+.-]{1,15}://[^\\s:/?#@'"[\\]]{1,256}:(?<secret>[^\\s/?#@'"[\\]]{1,256})(?=@)`,
    { hints: ['://'], accept: secret => secretValue(secret.replace(/%2A/gi, '*'), 'strong') }
  ),
  rule('url_secret', `[?&](?<name>[A-Za-z0-9_.-]{1,64})=(?<secret>[^?&\\s#'"<>\\\\]{1,1024})`, {
    hints: ['='],
    lowerHints: [...SECRET_NAME_WORDS, 'sig', 'code'], // what a secret-sounding name, or a URL one, contains
    accept: (secret, groups) => secretValue(secret, nameStrength(groups.name ?? '', true), groups.name)
  })
];

/**
 * The `env_secret` assignment forms (envSecrets.ts), after the patterns and the environment's own values. Only a
 * secret-sounding name gets a match accepted, so a text without any of its words is skipped.
 */
const ASSIGNMENT_RULES = ASSIGNMENT_FORMS.map(({ source, ...more }) =>
  rule('env_secret', source, { ...more, lowerHints: SECRET_NAME_WORDS, accept: more.accept ?? secretAssignment })
);

const NONE: Finding[] = [];
const includesAny = (text: string, hints: string[]): boolean => hints.some(hint => text.includes(hint));

/**
 * The matches of one rule, sorted. A rejected match is looked into again from its value (`"code": "KEY='…'"`).
 * `lower` gives the text in lower case (computed once per text, for `lowerHints`).
 */
/** Whether `at` starts a token: no token character before it (but an escaped `\n`, `\r`, `\t` counts as a break). */
function startsToken(text: string, at: number): boolean {
  const previous = text.charCodeAt(at - 1);
  return at === 0 || !TOKEN_CHAR[previous] || (text[at - 2] === '\\' && 'nrt'.includes(text[at - 1]));
}
const TOKEN_CHAR = Array.from({ length: 128 }, (_, code) => /[A-Za-z0-9_+/-]/.test(String.fromCharCode(code)));

function runRule(text: string, { kind, re, hints, lowerHints, accept, replacement, within, keys, tokenStart }: IRule, lower: () => string): Finding[] {
  // A rule with `keys` runs only when they are present (`Scrubber.find`); its exact-case `hints` are checked here.
  const ready = keys || !lowerHints || includesAny(lower(), lowerHints);
  if (!ready || (hints && !includesAny(text, hints)) || (within && !within.test(text))) {
    return NONE;
  }
  const found: Finding[] = [];
  re.lastIndex = 0;
  for (let match = re.exec(text); match; match = re.exec(text)) {
    const groups = match.groups ?? {};
    const secret = groups.secret ?? match[0];
    const start = match.index + match[0].lastIndexOf(secret);
    if (secret && (!tokenStart || startsToken(text, match.index)) && (!accept || accept(secret, groups))) {
      found.push({ start, end: start + secret.length, kind, replacement: replacement ?? redactionToken(kind) });
    } else {
      re.lastIndex = Math.max(start, match.index + 1);
    }
  }
  return found;
}

/** Keeps `candidates` (sorted by start) that overlap nothing already accepted; returns the merged list. */
function admit(accepted: Finding[], candidates: Finding[]): Finding[] {
  if (!candidates.length) {
    return accepted;
  }
  const out: Finding[] = [];
  let i = 0;
  for (const candidate of candidates) {
    while (i < accepted.length && accepted[i].start < candidate.start) {
      out.push(accepted[i++]);
    }
    const previous = out[out.length - 1];
    const next = accepted[i];
    if ((previous && previous.end > candidate.start) || (next && next.start < candidate.end)) {
      continue;
    }
    out.push(candidate);
  }
  return out.concat(accepted.slice(i));
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// A home folder starts a path: after a non-path character, an ANSI colour code or `file://`.
const HOME_BEFORE = `(?<=^|[^A-Za-z0-9_.~/\\\\-]|\\x1b\\[[0-9;]*m|file://|${ESCAPE})`;
const HOME_AFTER = '(?![A-Za-z0-9_-]|\\.[A-Za-z0-9_])';
const home = (source: string, hints: string[]): IRule => rule('home_path', source, { hints, replacement: '~' });
const ROOT_HOME = home(`${HOME_BEFORE}/root${HOME_AFTER}`, ['/root']);
const HOME_RULES = [
  home(`${HOME_BEFORE}(?:/home/|/Users/(?!(?:Shared|Public|Guest)${HOME_AFTER}))[A-Za-z0-9_-]+(?:\\.[A-Za-z0-9_-]+)*${HOME_AFTER}`, [
    '/home/',
    '/Users/'
  ]),
  ROOT_HOME,
  // C:\Users\name, C:\\Users\\name (escaped), C:/Users/name
  home('(?<![A-Za-z0-9])[A-Za-z]:(\\\\\\\\|\\\\|/)Users\\1(?!(?:Public|Default|All Users|Default User)(?:\\\\|/|$))[^\\\\/:*?"<>|\\s]+', ['Users'])
];

/** Keyword → the built-in rules whose `keys` hold it, with the bit of the group it is in. */
const RULES_BY_KEYWORD = new Map<string, [IRule, number][]>();
for (const current of [...RULES, ...ASSIGNMENT_RULES, ...HOME_RULES]) {
  current.keys = [current.hints, current.lowerHints].filter((group): group is string[] => !!group).map(group => group.map(word => word.toLowerCase()));
  current.keys.forEach((group, bit) => group.forEach(word => RULES_BY_KEYWORD.set(word, [...(RULES_BY_KEYWORD.get(word) ?? []), [current, bit]])));
}
/** The built-in rules' keywords, found in one pass over a text. */
const BUILT_IN_KEYWORDS = new KeywordSet(RULES_BY_KEYWORD.keys());

/** Per built-in rule with a keyword in `present`, a bit for each group of its `keys` that has one. */
function satisfiedGroups(present: Set<string>): Map<IRule, number> {
  const groups = new Map<IRule, number>();
  for (const word of present) {
    for (const [current, bit] of RULES_BY_KEYWORD.get(word) ?? []) {
      groups.set(current, (groups.get(current) ?? 0) | (1 << bit));
    }
  }
  return groups;
}

const processEnv = (): Record<string, string | undefined> => (typeof process === 'undefined' ? {} : process.env);

/** The user's home folder from the environment (what `os.homedir()` reads), without importing `os`. */
function defaultHomeDirs(): string[] {
  const env = processEnv();
  return [env.HOME, env.USERPROFILE].filter((dir): dir is string => !!dir);
}

/** The distinct non-empty `texts`, the longest first (for a regex matching any of them). */
const literals = (texts: Iterable<string>): string[] =>
  [...new Set(texts)].filter(text => text.length > 0).sort((a, b) => b.length - a.length);

/** A rule matching any of `texts` (literals, the longest first), with them as its hints; null when there are none. */
function anyOf(texts: string[], make: (source: string, hints: string[]) => IRule): IRule | null {
  return texts.length ? make(texts.map(escapeRegex).join('|'), texts) : null;
}

const PRIVATE_KEY_TOKEN = redactionToken('private_key');

/** The rules for some options: literal secrets first, then private keys, the patterns, the home folders. */
class Scrubber {
  constructor(options: IScrubOptions) {
    this._known = anyOf(literals(options.secrets ?? []), (source, hints) => rule('known_secret', source, { hints }));
    // Environment values go after the provider rules (a better kind) and before the `env_secret` assignment forms.
    const fromEnv = anyOf(literals(envSecrets(options.env ?? processEnv())), (source, hints) => rule('env_secret', source, { hints }));
    const dirs = (options.homeDirs ?? defaultHomeDirs()).map(dir => dir.replace(/[\\/]+$/, '')).filter(dir => dir.length >= 3);
    const homes = literals(dirs.flatMap(dir => [dir, dir.replace(/\\/g, '\\\\')]));
    const given = anyOf(homes, (source, hints) => home(`${HOME_BEFORE}(?:${source})${HOME_AFTER}`, hints));
    // With the home folder `/root` alone, `given` is the built-in `/root` rule: the second run would find nothing new.
    const builtIn = homes.length === 1 && homes[0] === '/root' ? HOME_RULES.filter(r => r !== ROOT_HOME) : HOME_RULES;
    this._rules = [...RULES, ...(fromEnv ? [fromEnv] : []), ...ASSIGNMENT_RULES, ...(given ? [given] : []), ...builtIn];
    this._rank = new Map(this._rules.map((current, index) => [current, index]));
    this._unkeyed = this._rules.filter(current => !current.keys);
  }

  /** Every finding in `text`, sorted and non-overlapping (remembered: records repeat their texts). */
  find(text: string): Finding[] {
    let accepted = this._found.get(text);
    if (accepted) {
      return accepted;
    }
    let lowerCase: string | undefined;
    const lower = (): string => (lowerCase ??= text.toLowerCase());
    const present = BUILT_IN_KEYWORDS.present(lower());
    const satisfied = satisfiedGroups(present);
    const keys = privateKeySpans(text).map(([start, end]): Finding => ({ start, end, kind: 'private_key', replacement: PRIVATE_KEY_TOKEN }));
    accepted = admit(this._known ? runRule(text, this._known, lower) : NONE, keys);
    const ready = [...satisfied].filter(([current, groups]) => groups === (1 << (current.keys?.length ?? 0)) - 1).map(([current]) => current);
    const rank = this._rank;
    for (const current of [...this._unkeyed, ...ready].sort((a, b) => (rank.get(a) ?? 0) - (rank.get(b) ?? 0))) {
      accepted = admit(accepted, runRule(text, current, lower));
    }
    this._found.set(text, accepted);
    return accepted;
  }

  private readonly _known: IRule | null;
  private readonly _rules: IRule[];
  /** Each rule's place in `_rules` (its precedence), and the rules that run on every text (no `keys`). */
  private readonly _rank: Map<IRule, number>;
  private readonly _unkeyed: IRule[];
  private readonly _found = new Map<string, Finding[]>();
}

/**
 * Applies sorted findings to consecutive ranges of one text (the lines of an array, or the whole text). A
 * finding that starts before its range (in an earlier line) just removes its part; `onStart` is told the kind
 * of each finding that starts in the range. Ranges must come in order.
 */
function rangeApplier(text: string, findings: Finding[]): (from: number, to: number, onStart: (kind: string) => void) => string {
  let first = 0;
  return (from, to, onStart) => {
    while (first < findings.length && findings[first].end <= from) {
      first++;
    }
    let out = '';
    let cursor = from;
    for (let i = first; i < findings.length && findings[i].start < to; i++) {
      const finding = findings[i];
      if (finding.start >= from) {
        out += text.slice(cursor, finding.start) + finding.replacement;
        onStart(finding.kind);
      }
      cursor = Math.min(Math.max(cursor, finding.end), to);
    }
    return out + text.slice(cursor, to);
  };
}

/** Scrub one string; returns the text and the kinds found (for streaming use). */
export function scrubText(text: string, options: IScrubOptions = {}): { text: string; kinds: string[] } {
  const kinds = new Set<string>();
  const findings = new Scrubber(options).find(text);
  return { text: rangeApplier(text, findings)(0, text.length, kind => kinds.add(kind)), kinds: [...kinds] };
}

const SKIPPED_MIME = /^(image|audio|video)\//;
const DATA_URL = /^data:[^,]{0,200};base64,/;

/** An image part of a message (`{type: 'image', data}`, `{mime_type: 'image/png', data}` …). */
function isImagePart(node: Record<string, unknown>): boolean {
  const type = node.type;
  const mime = node.mime_type ?? node.mimeType ?? node.media_type ?? node.mediaType;
  const imageType = typeof type === 'string' && /^(image|image_url|input_image)$/.test(type);
  return imageType || (typeof mime === 'string' && SKIPPED_MIME.test(mime));
}

/** Copies a JSON value in one pass (`JsonCopier`), scrubbing strings and keys and noting each (kind, location) once. */
class Walker extends JsonCopier {
  constructor(
    private readonly _scrubber: Scrubber,
    readonly redactions: Redaction[]
  ) {
    super();
    for (const entry of redactions) {
      this._seen.add(`${entry.kind}\u0000${entry.location}`);
    }
  }

  protected kept(key: string, object: Record<string, unknown>): boolean {
    return SKIPPED_MIME.test(key) || ((key === 'data' || key === 'image_url') && isImagePart(object));
  }

  protected key(key: string): string {
    const clean = this._cleanKeys.has(key) ? key : this._text(key, true);
    if (clean === key) {
      this._cleanKeys.add(key);
    }
    return clean;
  }

  protected text(text: string): string {
    return DATA_URL.test(text) ? text : this._text(text, false);
  }

  /** One text scrubbed whole; its redactions are noted where it is (a key: at its clean self, with ` (key)`). */
  private _text(text: string, isKey: boolean): string {
    const findings = this._scrubber.find(text);
    if (!findings.length) {
      return text;
    }
    const kinds: string[] = [];
    const clean = rangeApplier(text, findings)(0, text.length, kind => kinds.push(kind));
    this._note(kinds, isKey ? `${locate(this.where(), clean)} (key)` : this.where());
    return clean;
  }

  /**
   * Scrubs strings that belong together (the lines of an nbformat multiline string, traceback frames) as one
   * text joined by `\n`, so a private key split over lines is found whole; each line keeps its place.
   */
  protected lines(lines: string[]): string[] {
    const joined = lines.join('\n');
    const findings = this._scrubber.find(joined);
    if (!findings.length) {
      return lines.slice();
    }
    const apply = rangeApplier(joined, findings);
    let offset = 0;
    return lines.map((line, index) => {
      const start = offset;
      offset += line.length + 1;
      const kinds: string[] = [];
      const clean = apply(start, start + line.length, kind => kinds.push(kind));
      if (kinds.length) {
        this._note(kinds, locate(this.where(), index));
      }
      return clean;
    });
  }

  private _note(kinds: string[], where: string): void {
    const location = where || '(root)';
    for (const kind of kinds) {
      if (!this._seen.has(`${kind}\u0000${location}`)) {
        this._seen.add(`${kind}\u0000${location}`);
        this.redactions.push({ kind, location });
      }
    }
  }

  private readonly _seen = new Set<string>();
  /** Keys known to hold nothing (most keys repeat: `output_type`, `text`…). */
  private readonly _cleanKeys = new Set<string>();
}

/** The same for any JSON value (used for plain notebooks): returns the scrubbed copy and the redactions. */
export function scrubValue<T>(value: T, options: IScrubOptions = {}, base = ''): { value: T; redactions: Redaction[] } {
  const walker = new Walker(new Scrubber(options), []);
  return { value: walker.copy(value ?? null, base) as T, redactions: walker.redactions };
}

/** A copy of `sample` with every detected secret replaced and one `redactions` entry per place. Idempotent. */
export function scrubSample(sample: ISample, options: IScrubOptions = {}): ISample {
  const source = sample as unknown as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  const redactions: Redaction[] = omitted(source.redactions) || source.redactions === null ? [] : (plainCopy(source.redactions) as Redaction[]);
  const walker = new Walker(new Scrubber(options), redactions);
  for (const key of Object.keys(source)) {
    if (key === 'redactions') {
      omitted(source[key]) || Object.assign(copy, { redactions });
    } else if (!omitted(source[key])) {
      Object.defineProperty(copy, key, { value: walker.copy(source[key], key), enumerable: true, writable: true, configurable: true });
    }
  }
  copy.redactions = redactions;
  return copy as unknown as ISample;
}

