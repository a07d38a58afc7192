import type { Server } from 'node:http';

/** Idle time after which a connection that sends or receives nothing is closed. */
const IDLE_SOCKET_MS = 15 * 60_000;
/** Time a client has to send a request's headers (Node's default). */
const HEADERS_TIMEOUT_MS = 60_000;

/**
 * Lets an upload to the job-files endpoint take as long as it needs. Node ≥ 18 ends every request that has
 * not completed within `requestTimeout` (300 s by default) with a 408, and Pulsar's output uploads of a few
 * gigabytes take longer than that; a 408 is a lost output (Pulsar swallows failed uploads). What still bounds a
 * client: the headers timeout (a slow-loris sending headers), and an idle timeout on the socket (a transfer
 * that stalls), both kept finite here.
 */
export function allowLongUploads(server: Server): void {
  server.requestTimeout = 0;
  if (!(server.headersTimeout > 0)) server.headersTimeout = HEADERS_TIMEOUT_MS;
  if (!(server.timeout > 0)) server.setTimeout(IDLE_SOCKET_MS);
}
