import { redactSecrets } from '../../src/trace/redact';

describe('redactSecrets', () => {
  it('scrubs strings and keys at any depth and reports their locations', () => {
    const value = { a: ['x', 'the KEY here'], 'odd key': { KEY: 1, n: 2, b: true, z: null } };
    const { value: clean, locations } = redactSecrets(value, ['KEY', ''], 'root');
    expect(clean).toEqual({ a: ['x', 'the [REDACTED] here'], 'odd key': { '[REDACTED]': 1, n: 2, b: true, z: null } });
    expect(locations).toEqual(['root.a[1]', 'root["odd key"]["[REDACTED]"] (key)']);
    expect(value.a[1]).toBe('the KEY here');
  });

  it('replaces the longer of two overlapping secrets whole', () => {
    expect(redactSecrets('abc-123 abc', ['abc', 'abc-123']).value).toBe('[REDACTED] [REDACTED]');
  });
});
