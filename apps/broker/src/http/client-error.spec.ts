import { ErrorCode } from '@constellation/common';
import { classifyClientError, ClientErrorInput, rawErrorResponse } from './client-error';

const overflow = (packet: string, bytesParsed = packet.length): ClientErrorInput => ({
  code: 'HPE_HEADER_OVERFLOW',
  reason: 'Header overflow',
  rawPacket: Buffer.from(packet, 'latin1'),
  bytesParsed,
});

describe('classifyClientError', () => {
  it.each([
    {
      name: 'an overflow inside the request line is a 414',
      err: overflow(`GET /${'a'.repeat(100)}`),
      part: 'head' as const,
      want: { reason: 'uri_too_long', code: ErrorCode.UriTooLong },
    },
    {
      name: 'an overflow in the headers is a 431',
      err: overflow(`GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(100)}`),
      part: 'head' as const,
      want: { reason: 'header_too_large', code: ErrorCode.HeadersTooLarge },
    },
    {
      name: 'an overflow in a read that continues an earlier one cannot be placed: 431, which names both',
      err: overflow('a'.repeat(100)),
      part: 'head' as const,
      want: { reason: 'header_too_large', code: ErrorCode.HeadersTooLarge },
    },
    {
      name: 'a line break after the overflow point does not count',
      err: overflow(`GET /${'a'.repeat(100)} HTTP/1.1\r\n`, 50),
      part: 'head' as const,
      want: { reason: 'uri_too_long', code: ErrorCode.UriTooLong },
    },
    {
      name: 'a timeout before the headers are in',
      err: { code: 'ERR_HTTP_REQUEST_TIMEOUT' },
      part: 'head' as const,
      want: {
        reason: 'request_timeout',
        code: ErrorCode.RequestTimeout,
        message: 'request headers were not received in time',
      },
    },
    {
      name: 'a timeout while the body arrives',
      err: { code: 'ERR_HTTP_REQUEST_TIMEOUT' },
      part: 'body' as const,
      want: { reason: 'request_timeout', message: 'request body was not received in time' },
    },
    {
      name: 'a Content-Length that is no number',
      err: { code: 'HPE_INVALID_CONTENT_LENGTH', reason: 'Invalid character in Content-Length' },
      part: 'head' as const,
      want: {
        reason: 'bad_content_length',
        code: ErrorCode.MalformedRequest,
        message: 'invalid Content-Length: Invalid character in Content-Length',
      },
    },
    {
      name: 'a connection that ends inside a body',
      err: { code: 'HPE_INVALID_EOF_STATE', reason: 'Invalid EOF state' },
      part: 'body' as const,
      want: { reason: 'truncated', message: 'the connection ended before the request body was complete' },
    },
    {
      name: 'chunk extensions over the limit',
      err: { code: 'HPE_CHUNK_EXTENSIONS_OVERFLOW' },
      part: 'body' as const,
      want: { reason: 'chunk_extensions_too_large', code: ErrorCode.PayloadTooLarge },
    },
    {
      name: 'any other parser error in the head, with llhttp’s description',
      err: { code: 'HPE_INVALID_METHOD', reason: 'Invalid method encountered' },
      part: 'head' as const,
      want: { reason: 'malformed_request', message: 'malformed request: Invalid method encountered' },
    },
    {
      name: 'any other parser error in a body',
      err: { code: 'HPE_STRICT', reason: 'Expected LF after chunk data' },
      part: 'body' as const,
      want: { reason: 'bad_body_framing', message: 'malformed request body: Expected LF after chunk data' },
    },
    {
      name: 'a reset: nothing to answer',
      err: { code: 'ECONNRESET' },
      part: 'body' as const,
      want: { reason: 'aborted', code: undefined },
    },
  ])('$name', ({ err, part, want }) => {
    expect(classifyClientError(err, part, 16384)).toMatchObject(want);
  });
});

describe('rawErrorResponse', () => {
  it('is a whole response in the one error body that announces the close', () => {
    const text = rawErrorResponse(ErrorCode.HeadersTooLarge, 'too large', 'id-1').toString('utf8');
    const [head, body] = text.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(head).toContain('\r\nConnection: close');
    expect(head).toContain('\r\nX-Request-Id: id-1');
    expect(head).toContain(`\r\nContent-Length: ${Buffer.byteLength(body)}`);
    expect(JSON.parse(body)).toEqual({ code: 'HEADERS_TOO_LARGE', message: 'too large', request_id: 'id-1' });
  });
});
