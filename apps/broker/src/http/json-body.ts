import type { FastifyInstance, FastifyRequest } from 'fastify';

/** A body the broker refuses, shaped as body-parser reported it (see AllExceptionsFilter). */
function bodyError(message: string, type: string, status: number): Error {
  // A plain Error: Nest would turn one carrying a status of its own into a bare HttpException.
  return Object.assign(new Error(message), { type, status });
}

/** The charset parameter of a Content-Type header, lower-cased, if there is one. */
function charsetOf(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '');
  return m?.[1].toLowerCase();
}

/**
 * Request bodies as the broker has always read them (Express's body-parser, strict): JSON for
 * application/json and application/*+json, in a UTF charset, uncompressed, whose top level is an object or
 * an array; an empty body is {}. Every other content type is left unread for its handler (the job-files
 * endpoint reads multipart uploads from the raw stream), so a TES create without JSON gets the
 * validator's precise message rather than the parser's.
 */
export function registerJsonBodies(fastify: FastifyInstance): void {
  const parse = (
    req: FastifyRequest,
    body: string | Buffer,
    done: (err: Error | null, body?: unknown) => void,
  ) => {
    const charset = charsetOf(req.headers['content-type']);
    if (charset !== undefined && !charset.startsWith('utf-')) {
      return done(bodyError(`unsupported charset "${charset.toUpperCase()}"`, 'charset.unsupported', 415));
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity') {
      return done(bodyError(`unsupported content encoding "${encoding}"`, 'encoding.unsupported', 415));
    }
    const text = body.toString();
    const first = /\S/.exec(text)?.[0];
    if (first === undefined) return done(null, {});
    if (first !== '{' && first !== '[') {
      return done(
        bodyError(
          `the JSON at position ${text.indexOf(first)} is not an object or an array`,
          'entity.parse.failed',
          400,
        ),
      );
    }
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(bodyError((err as Error).message, 'entity.parse.failed', 400));
    }
  };
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, parse);
  fastify.addContentTypeParser(/^application\/[^;]*\+json/, { parseAs: 'string' }, parse);
  fastify.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
}
