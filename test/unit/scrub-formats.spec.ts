import { redactionReport, redactionSummary } from '../../src/trace/redaction/report';
import { scrubText } from '../../src/trace/scrub';
import { SECRET_RULES } from '../../src/trace/secretRules';
import { benignLines } from '../fixtures/benignLines';
import { BARE_PLACES, chars, CODE_PLACES, FORMAT_EXAMPLES, GENERIC_SECRETS, IFormatExample, OUTPUT_PLACES } from '../fixtures/secretFormats';
import { windows } from '../fixtures/secrets';

/** Whether nothing of `secret` (no 12 characters of it) is left in `text`. */
const gone = (secret: string, text: string): boolean => windows(secret).every(window => !text.includes(window));

/** The examples a `place` leaves something of, as `id: text`. */
function survivors(examples: IFormatExample[], place: (example: IFormatExample) => string): string[] {
  return examples.flatMap(example => {
    const text = place(example);
    const clean = scrubText(text, { homeDirs: [], env: {} }).text;
    return gone(example.secret, clean) ? [] : [`${example.id}: ${clean}`];
  });
}

const share = (left: string[], total: number): number => 1 - new Set(left.map(line => line.split(':')[0])).size / total;

describe('every provider format of secretRules.ts', () => {
  const total = FORMAT_EXAMPLES.length;

  it('has a generated example of each row that its own pattern matches', () => {
    expect(total).toBe(SECRET_RULES.length);
    expect(total).toBeGreaterThanOrEqual(140);
    expect(new Set(FORMAT_EXAMPLES.map(example => example.secret)).size).toBe(total);
  });

  it.each(Object.entries(OUTPUT_PLACES))('is scrubbed printed in outputs beside a name: %s', (_, place) => {
    const left = survivors(FORMAT_EXAMPLES, example => example.document ?? place(example.name, example.text));
    expect({ left, share: share(left, total) >= 0.99 }).toEqual({ left: [], share: true });
  });

  it('finds each example by its own rule', () => {
    const misnamed = FORMAT_EXAMPLES.filter(example => {
      const { kinds } = scrubText(example.document ?? OUTPUT_PLACES.env(example.name, example.text), { homeDirs: [], env: {} });
      return !kinds.includes(example.id);
    });
    expect(misnamed.map(example => example.id)).toEqual([]);
  });

  it.each(Object.entries(CODE_PLACES))('is scrubbed in code: %s', (_, place) => {
    const left = survivors(FORMAT_EXAMPLES, example => example.document ?? place(example.name, example.text));
    expect({ left, share: share(left, total) >= 0.99 }).toEqual({ left: [], share: true });
  });

  it.each(Object.entries(BARE_PLACES))('is scrubbed bare, when it has a prefix: %s', (_, place) => {
    const prefixed = FORMAT_EXAMPLES.filter(example => !example.named);
    const left = survivors(prefixed, example => place(example.text));
    expect(left).toEqual([]);
  });

  it('scrubs generic secrets in every code form, holding the other quote or spanning lines', () => {
    const left = GENERIC_SECRETS.flatMap(({ name, value, places }) =>
      places.flatMap(place => {
        const clean = scrubText(CODE_PLACES[place](name, value), { homeDirs: [], env: {} }).text;
        return value.split('\n').every(part => gone(part, clean)) ? [] : [`${name} ${place}: ${clean}`];
      })
    );
    expect(left).toEqual([]);
  });
});

describe('ordinary data-science output', () => {
  it('changes at most 1% of lines (and none of the near misses the issue names)', () => {
    const lines = benignLines();
    const changed = lines.filter(line => scrubText(line, { homeDirs: [], env: {} }).text !== line);
    expect(lines.length).toBeGreaterThan(1000);
    expect({ changed, ok: changed.length / lines.length <= 0.01 }).toEqual({ changed: [], ok: true });
  });
});

describe('the other forms the issue lists', () => {
  const body = Buffer.from(chars(300, 'abcdefghijklmnopqrstuvwxyz0123456789')).toString('base64').match(/.{1,64}/g)!.join('\n');
  const pgp = `-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n${body}\n=${chars(4, 'ABCDEFGH')}\n-----END PGP PRIVATE KEY BLOCK-----`;
  const jwt = `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: chars(12, 'abcdef0123') })).toString('base64url')}.${chars(43, 'ABCDEFabcdef0123456789_-')}`;
  const password = `${chars(10, 'abcdefghijk0123456789')}Q!`;
  const cases: [string, string, string][] = [
    ['a PGP private key block alone', pgp, 'private_key'],
    ['a PGP block cut short by truncation', pgp.split('\n').slice(0, 5).join('\n'), 'private_key'],
    ['curl -u user:password', `!curl -s -u analyst:${password} https://api.example.com/v1/report`, 'curl_credentials'],
    ['curl -H Authorization', `curl -H 'Authorization: Token ${password}' https://api.example.com`, 'curl_credentials'],
    ['curl --header X-Api-Key', `curl --header "X-Api-Key: ${password}" https://api.example.com`, 'curl_credentials'],
    ['a JWT in base64', `token=${Buffer.from(jwt).toString('base64')}`, 'jwt_base64']
  ];
  it.each(cases)('%s', (_, text, kind) => {
    const secret = text === pgp || text.startsWith('-----') ? body.split('\n')[1] : text.includes('ZXlK') ? Buffer.from(jwt).toString('base64') : password;
    const { text: clean, kinds } = scrubText(text, { homeDirs: [], env: {} });
    expect(kinds).toEqual([kind]);
    expect(gone(secret, clean)).toBe(true);
  });

  it('keeps curl placeholders and variables', () => {
    for (const text of ['curl -u user:$PASSWORD https://x', 'curl -H "Authorization: Bearer $TOKEN" https://x', 'curl -H "Authorization: Bearer <token>" https://x']) {
      expect(scrubText(text, { homeDirs: [], env: {} }).kinds).toEqual([]);
    }
  });
});

describe('the redactions summary and report', () => {
  const redactions = [
    { kind: 'stripe_key', location: 'steps[2].outputs[0].text' },
    { kind: 'gitlab_pat', location: 'steps[2].code' },
    { kind: 'gitlab_pat', location: 'notebook.cells[0].source' }
  ];
  it('counts by rule, the most frequent first', () => {
    expect(redactionSummary(redactions)).toBe('3 redactions (gitlab_pat 2, stripe_key 1)');
    expect(redactionSummary([])).toBe('0 redactions');
    expect(redactionReport(redactions)).toEqual({ total: 3, by_kind: { gitlab_pat: 2, stripe_key: 1 }, redactions });
  });
});
