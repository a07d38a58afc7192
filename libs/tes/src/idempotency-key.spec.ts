import { BrokerError } from '@constellation/common';
import { parseIdempotencyKey, requestHash } from './idempotency-key';

describe('parseIdempotencyKey', () => {
  it.each([
    { name: 'absent', raw: undefined, want: undefined },
    {
      name: 'a UUID',
      raw: '0b6f1d2e-9b1c-4c3a-8e2f-1a2b3c4d5e6f',
      want: '0b6f1d2e-9b1c-4c3a-8e2f-1a2b3c4d5e6f',
    },
    { name: 'punctuation', raw: 'galaxy:job/42#1', want: 'galaxy:job/42#1' },
    { name: '255 characters', raw: 'k'.repeat(255), want: 'k'.repeat(255) },
  ])('accepts $name', ({ raw, want }) => {
    expect(parseIdempotencyKey(raw)).toBe(want);
  });

  it.each([
    { name: 'empty', raw: '', reason: 'must not be empty' },
    { name: '256 characters', raw: 'k'.repeat(256), reason: 'must be at most 255 characters (got 256)' },
    { name: 'a space inside', raw: 'a b', reason: /visible ASCII/ },
    { name: 'a tab', raw: 'a\tb', reason: /visible ASCII/ },
    { name: 'non-ASCII', raw: 'clé', reason: /visible ASCII/ },
    { name: 'two headers', raw: ['a', 'b'], reason: 'must be sent once' },
  ])('refuses $name with a 400 naming the header', ({ raw, reason }) => {
    let caught: unknown;
    try {
      parseIdempotencyKey(raw);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BrokerError);
    const err = caught as BrokerError;
    expect(err.code).toBe('BAD_REQUEST');
    expect(err.errors).toHaveLength(1);
    expect(err.errors[0].path).toBe('header Idempotency-Key');
    expect(err.errors[0].reason).toMatch(reason);
  });
});

describe('requestHash', () => {
  it('ignores key order and spacing, and tells different bodies apart', () => {
    const a = requestHash(JSON.parse('{"name":"x","executors":[{"image":"alpine","command":["true"]}]}'));
    const b = requestHash(
      JSON.parse('{ "executors": [ { "command": ["true"], "image": "alpine" } ], "name": "x" }'),
    );
    const c = requestHash({ name: 'y', executors: [{ image: 'alpine', command: ['true'] }] });
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
    expect(a).toHaveLength(32);
  });
});
