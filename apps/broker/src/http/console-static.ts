import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Where `npm run build` puts the web console: dist/console. Compiled, this file is in
 * dist/apps/broker/src/http/; run from source (the tests), in apps/broker/src/http/: four levels up is dist/
 * in one case and the repository in the other.
 */
export function consoleRoot(): string {
  const compiled = resolve(__dirname, '../../../../console');
  return existsSync(join(compiled, 'index.html')) ? compiled : resolve(__dirname, '../../../../dist/console');
}

export function consoleBuilt(root = consoleRoot()): boolean {
  return existsSync(join(root, 'index.html'));
}

/** Paths the console never answers: the APIs and the broker's own pages keep their JSON 404s. */
const NOT_CONSOLE = /^\/(api|ga4gh|v1|docs|openapi\.(json|yaml)|health|metrics)(\/|$)/i;

/** Vite names built assets after their content, so a file under /assets/ never changes. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Serves the single-page console at `/`: the built files as Fastify routes (outside Nest, so no guard runs:
 * they are public, and every API call they make carries the user's token), and index.html, uncached, for
 * any other GET that asks for HTML, so that client-side routes survive a reload. Returns false, serving
 * nothing, when the console has not been built.
 */
export async function serveConsole(fastify: FastifyInstance, root = consoleRoot()): Promise<boolean> {
  if (!consoleBuilt(root)) return false;
  await fastify.register(fastifyStatic, {
    root,
    prefix: '/',
    // One route per built file, found at start-up: unknown paths stay with Nest's not-found handler.
    wildcard: false,
    index: 'index.html',
    cacheControl: false,
    setHeaders: (res, path) => {
      res.header('Cache-Control', path.includes('/assets/') ? IMMUTABLE : 'no-cache');
    },
  });
  fastify.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done) => {
    if (!isConsoleRoute(req)) return done();
    reply.header('Cache-Control', 'no-cache');
    reply.sendFile('index.html');
  });
  return true;
}

/** A page the router did not match, asked for by a browser, outside the API: a route of the console's own. */
function isConsoleRoute(req: FastifyRequest): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (req.routeOptions.url !== undefined) return false;
  const path = req.url.split('?')[0];
  if (NOT_CONSOLE.test(path) || path.startsWith('/assets/')) return false;
  return (req.headers.accept ?? '').includes('text/html');
}
