import { BrokerError, ErrorCode } from '@constellation/common';
import {
  assertInlineContentWithin,
  contentJsonBytes,
  splitInlineContent,
  withInlineContent,
} from './inline-content';
import type { TaskDocument } from './tes.types';

const doc = (contents: Array<string | undefined>): TaskDocument => ({
  executors: [{ image: 'alpine', command: ['true'] }],
  inputs: contents.map((content, i) =>
    content === undefined
      ? { path: `/in/${i}`, type: 'FILE' as const, url: `https://example.org/${i}` }
      : { path: `/in/${i}`, type: 'FILE' as const, content },
  ),
  outputs: [],
  volumes: [],
  tags: {},
});

describe('contentJsonBytes', () => {
  it.each([
    { name: 'plain ASCII', content: 'abc' },
    { name: 'quotes and backslashes', content: 'a"b\\c' },
    { name: 'short escapes', content: 'line\nnext\ttab\r\b\f' },
    { name: 'other control characters', content: '\u0001\u001f' },
    { name: 'multi-byte UTF-8', content: 'é€😀' },
  ])('counts $name as JSON would write them, with the key', ({ content }) => {
    const written = `, "content": ${JSON.stringify(content)}`;
    expect(contentJsonBytes(content)).toBe(Buffer.byteLength(written, 'utf8') + 1);
  });
});

describe('splitInlineContent and withInlineContent', () => {
  it('takes contents out with their places and puts them back unchanged', () => {
    const original = doc([undefined, 'first é', undefined, 'x'.repeat(1000)]);
    const split = splitInlineContent(original);
    expect(split.contents).toEqual([
      { index: 1, content: 'first é' },
      { index: 3, content: 'x'.repeat(1000) },
    ]);
    expect(split.bytes).toBe(Buffer.byteLength('first é') + 1000);
    expect(split.document.inputs.map((i) => i.content)).toEqual([undefined, undefined, undefined, undefined]);
    expect(original.inputs[1].content).toBe('first é');
    expect(withInlineContent(split.document, split.contents)).toEqual(original);
  });

  it('leaves a document without contents as it is', () => {
    const original = doc([undefined]);
    expect(splitInlineContent(original)).toEqual({
      document: original,
      contents: [],
      bytes: 0,
      jsonBytes: 0,
    });
  });
});

describe('assertInlineContentWithin', () => {
  it('accepts contents up to the limit, counted in UTF-8 bytes', () => {
    expect(() => assertInlineContentWithin(doc(['ab', undefined, 'é']), 4)).not.toThrow();
  });

  it('answers 413 naming the input that takes the task past the limit', () => {
    try {
      assertInlineContentWithin(doc(['ab', undefined, 'éé']), 4);
      throw new Error('expected a BrokerError');
    } catch (err) {
      expect(err).toBeInstanceOf(BrokerError);
      expect((err as BrokerError).code).toBe(ErrorCode.PayloadTooLarge);
      expect((err as BrokerError).errors.map((e) => e.path)).toEqual(['inputs[2].content']);
      expect((err as BrokerError).message).toContain('CONSTELLATION_MAX_INLINE_BYTES_PER_TASK');
    }
  });
});
