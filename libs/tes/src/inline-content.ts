import { BrokerError, ErrorCode } from '@constellation/common';
import type { TaskDocument } from './tes.types';

/** One input's inline content, with its place in `inputs`. */
export interface InputContent {
  index: number;
  content: string;
}

/** A document with its inline contents taken out, and what they weigh. */
export interface SplitDocument {
  /** The document without any `inputs[].content`: what the `task` row stores. */
  document: TaskDocument;
  contents: InputContent[];
  /** UTF-8 bytes of the contents. */
  bytes: number;
  /** Bytes the contents add to the task's JSON text as PostgreSQL writes it (see contentJsonBytes). */
  jsonBytes: number;
}

/**
 * Bytes a string takes as a JSON string value inside PostgreSQL's jsonb text, and the key before it:
 * escape_json writes `"`, `\`, and \b \f \n \r \t with two characters, other control characters as
 * \u00XX (six), the rest as UTF-8; `, "content": ` and the two quotes add 15 more (16, rounded up).
 */
export function contentJsonBytes(content: string): number {
  let extra = 0;
  for (let i = 0; i < content.length; i++) {
    const c = content.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    extra += c === 0x22 || c === 0x5c || c === 8 || c === 9 || c === 10 || c === 12 || c === 13 ? 1 : 5;
  }
  return Buffer.byteLength(content, 'utf8') + extra + 16;
}

/** Takes the inline contents out of a validated document (whose contents are never empty). */
export function splitInlineContent(document: TaskDocument): SplitDocument {
  const contents: InputContent[] = [];
  let bytes = 0;
  let jsonBytes = 0;
  const inputs = document.inputs.map((input, index) => {
    if (input.content === undefined) return input;
    const { content, ...rest } = input;
    contents.push({ index, content });
    bytes += Buffer.byteLength(content, 'utf8');
    jsonBytes += contentJsonBytes(content);
    return rest;
  });
  if (contents.length === 0) return { document, contents, bytes, jsonBytes };
  return { document: { ...document, inputs }, contents, bytes, jsonBytes };
}

/** Puts contents back into a stored document (what a site must receive). */
export function withInlineContent(document: TaskDocument, contents: InputContent[]): TaskDocument {
  if (contents.length === 0) return document;
  const byIndex = new Map(contents.map((c) => [c.index, c.content]));
  return {
    ...document,
    inputs: document.inputs.map((input, i) => {
      const content = byIndex.get(i);
      return content === undefined ? input : { ...input, content };
    }),
  };
}

/**
 * A 413 naming the input whose content takes the task past `limit` bytes: the body fitted the request
 * limit, but inline content is held by the broker until the task finishes, and is bounded apart.
 */
export function assertInlineContentWithin(document: TaskDocument, limit: number): void {
  let total = 0;
  for (const [i, input] of document.inputs.entries()) {
    if (input.content === undefined) continue;
    total += Buffer.byteLength(input.content, 'utf8');
    if (total > limit) {
      const reason =
        `takes the task's inline content to at least ${total} bytes, over the limit of ${limit} bytes per ` +
        `task (CONSTELLATION_MAX_INLINE_BYTES_PER_TASK); put large inputs in storage and pass them by url`;
      throw new BrokerError(ErrorCode.PayloadTooLarge, `inputs[${i}].content ${reason}`, [
        { path: `inputs[${i}].content`, reason },
      ]);
    }
  }
}

/** The 429 of a submitter whose unfinished tasks already hold as much inline content as they may. */
export function queuedInlineContentExceeded(held: number, adding: number, limit: number): BrokerError {
  return new BrokerError(
    ErrorCode.QuotaExceeded,
    `your unfinished tasks hold ${held} bytes of inline content and this task adds ${adding}, over the ` +
      `limit of ${limit} bytes per submitter (CONSTELLATION_MAX_QUEUED_INLINE_BYTES); submit it again when ` +
      `some of them have finished, or put large inputs in storage and pass them by url`,
    [
      {
        path: 'inputs',
        reason: `inline content over the submitter's limit of ${limit} bytes for unfinished tasks`,
      },
    ],
  );
}
