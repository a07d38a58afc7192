import { STATUS_CODES } from 'node:http';
import { ErrorCode, httpStatusOf } from '@constellation/common';

/** Why a request never reached a route, or was cut off on the way: the metric's bounded `reason` label. */
export type ClientErrorReason =
  | 'header_too_large'
  | 'uri_too_long'
  | 'malformed_request'
  | 'malformed_url'
  | 'bad_content_length'
  | 'bad_body_framing'
  | 'chunk_extensions_too_large'
  | 'request_timeout'
  | 'truncated'
  | 'aborted';

/** What Node's HTTP parser and server put on the errors they pass to 'clientError'. */
export interface ClientErrorInput {
  code?: string;
  /** llhttp's fixed description ("Invalid method encountered"); it never quotes the request. */
  reason?: string;
  bytesParsed?: number;
  rawPacket?: Buffer;
}

export interface ClientErrorVerdict {
  reason: ClientErrorReason;
  /** The answer's code; none when the client is gone and nothing can be answered. */
  code?: ErrorCode;
  message: string;
}

/** Where in the message the error struck: in the request line and headers, or in a request's body. */
export type MessagePart = 'head' | 'body';

/**
 * Whether a head that overflowed the size limit is still in its request line: the chunk the parser was
 * reading holds no line break before the overflow and starts like a request line. A request line split
 * over reads, or a single header line longer than a read, falls back to 431, which names both.
 */
function inRequestLine(err: ClientErrorInput): boolean {
  if (err.rawPacket === undefined) return false;
  const parsed = err.rawPacket.subarray(0, err.bytesParsed ?? err.rawPacket.length).toString('latin1');
  return !parsed.includes('\n') && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S/.test(parsed);
}

/**
 * The broker's answer to an error Node raised before a route saw the request (`clientError`): which
 * status, code and message, by the error's code (llhttp's HPE_* codes, Node's request timeout, or a
 * socket error when the client went away). `maxHeaderSize` is the server's head limit in bytes.
 */
export function classifyClientError(
  err: ClientErrorInput,
  part: MessagePart,
  maxHeaderSize: number,
): ClientErrorVerdict {
  const detail = err.reason ? `: ${err.reason.replace(/\.$/, '')}` : '';
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return inRequestLine(err)
        ? {
            reason: 'uri_too_long',
            code: ErrorCode.UriTooLong,
            message: `request URL too long: the request line and headers may take ${maxHeaderSize} bytes`,
          }
        : {
            reason: 'header_too_large',
            code: ErrorCode.HeadersTooLarge,
            message: `request line and headers exceed ${maxHeaderSize} bytes`,
          };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return {
        reason: 'chunk_extensions_too_large',
        code: ErrorCode.PayloadTooLarge,
        message: 'chunk extensions of the request body are too large',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        reason: 'request_timeout',
        code: ErrorCode.RequestTimeout,
        message:
          part === 'head'
            ? 'request headers were not received in time'
            : 'request body was not received in time',
      };
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return {
        reason: 'bad_content_length',
        code: ErrorCode.MalformedRequest,
        message: `invalid Content-Length${detail}`,
      };
    case 'HPE_INVALID_EOF_STATE':
      return {
        reason: 'truncated',
        code: ErrorCode.MalformedRequest,
        message:
          part === 'head'
            ? 'the connection ended inside the request headers'
            : 'the connection ended before the request body was complete',
      };
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return {
        reason: 'bad_body_framing',
        code: ErrorCode.MalformedRequest,
        message: `malformed request body framing${detail}`,
      };
  }
  if (err.code?.startsWith('HPE_')) {
    return part === 'body'
      ? {
          reason: 'bad_body_framing',
          code: ErrorCode.MalformedRequest,
          message: `malformed request body${detail}`,
        }
      : {
          reason: 'malformed_request',
          code: ErrorCode.MalformedRequest,
          message: `malformed request${detail}`,
        };
  }
  // ECONNRESET, EPIPE, ETIMEDOUT...: the connection itself failed, so there is no one to answer.
  return {
    reason: 'aborted',
    code: undefined,
    message: `the client connection failed (${err.code ?? 'unknown error'})`,
  };
}

/**
 * A whole HTTP/1.1 response in the broker's error body, for a connection on which Node has no response
 * object to write with (the request's head could not be parsed). `Connection: close`: the server will
 * close, and a client that reads the header will not send its next request on this connection.
 */
export function rawErrorResponse(code: ErrorCode, message: string, requestId: string): Buffer {
  const status = httpStatusOf(code);
  const body = JSON.stringify({ code, message, request_id: requestId });
  return Buffer.from(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      `Date: ${new Date().toUTCString()}\r\n` +
      'Connection: close\r\n' +
      `\r\n${body}`,
    'utf8',
  );
}
