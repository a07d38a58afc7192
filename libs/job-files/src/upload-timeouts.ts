import type { Server } from 'node:http';

/** Idle time after which a connection that sends or receives nothing is closed. */
const IDLE_SOCKET_MS = 15 * 60_000;
/** Time a client has to send a request's headers (Node's default). */
const HEADERS_TIMEOUT_MS = 60_000;
/** Time any other request has to arrive whole: Node's own default, kept for every route but job-files. */
export const REQUEST_TIMEOUT_MS = 300_000;
const JOB_FILES_PREFIX = '/api/v1/job-files/';

/**
 * Lets an upload to the job-files endpoint take as long as it needs. Node ≥ 18 ends every request that has
 * not completed within `requestTimeout` (300 s by default) with a 408, and Pulsar's output uploads of a few
 * gigabytes take longer than that; a 408 is a lost output (Pulsar swallows failed uploads). What still bounds a
 * client: the headers timeout (a slow-loris sending headers), and an idle timeout on the socket (a transfer
 * that stalls), both kept finite here.
 */
export function allowLongUploads(server: Server, requestTimeoutMs = REQUEST_TIMEOUT_MS): void {
  server.requestTimeout = 0;
  if (!(server.headersTimeout > 0)) server.headersTimeout = HEADERS_TIMEOUT_MS;
  if (!(server.timeout > 0)) server.setTimeout(IDLE_SOCKET_MS);
  // Only job-files uploads may take long: any other request (a body trickled in byte by byte before anyone
  // is authenticated, say) still has to arrive whole within Node's usual bound.
  server.on('request', (req, res) => {
    if (req.complete || (req.url ?? '').startsWith(JOB_FILES_PREFIX)) return;
    const timer = setTimeout(() => {
      if (req.complete) return;
      // As Node reports its own requestTimeout: to the server's 'clientError' handler, which can answer
      // 408 before closing; a server without one just drops the request.
      const timeout = Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
      if (!server.emit('clientError', timeout, req.socket)) req.destroy();
    }, requestTimeoutMs);
    timer.unref();
    res.once('close', () => clearTimeout(timer));
  });
}
