import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import {
  BrokerLogger,
  labelRoute,
  MetricsService,
  REQUEST_LINE_LOGGER,
  RequestLogHook,
} from '@constellation/observability';
import { addTesToOpenApi } from '@constellation/tes';
import { AppModule } from './app.module';
import { AllExceptionsFilter } from './http/all-exceptions.filter';
import { ClientErrorEdge } from './http/client-error-edge';
import { DocumentValidationPipe } from './http/document-validation.pipe';
import { serveConsole } from './http/console-static';
import { registerJsonBodies } from './http/json-body';
import { documentErrorAnswers } from './http/openapi-errors';
import { AppOptions } from './app-options';

/** Builds the configured application (not yet listening); shared by main.ts and the end-to-end tests. */
export async function createApp(runtime: AppOptions): Promise<INestApplication> {
  // Errors before any route: the handlers log and count through the application, built after the adapter.
  const edge = new ClientErrorEdge();
  // Fastify rather than Express: a request costs the process a third of the CPU (docs/tes.md#performance).
  // The router behaves as Express's did: paths match whatever their case and with a trailing slash, and a
  // long path segment reaches its handler (a 404 for an unknown task) instead of a 414.
  const adapter = new FastifyAdapter({
    bodyLimit: runtime.config.bodyLimitBytes,
    // X-Forwarded-For is believed only from the configured proxies; otherwise any local process could pick
    // its own address for the failed-login limit and the request log.
    trustProxy: runtime.config.trustedProxies.length > 0 ? runtime.config.trustedProxies : false,
    routerOptions: { ignoreTrailingSlash: true, caseSensitive: false, maxParamLength: 16_384 },
    // While draining at shutdown, requests on open connections are still served (Fastify would answer
    // them with a 503 of its own).
    return503OnClosing: false,
    // No Express-style middleware is mounted (the request log is a hook, below), so Nest need not put
    // @fastify/middie, its URL decoding and path matching, in front of every request.
    skipMiddie: true,
    // A URL Fastify cannot decode gets the broker's error body, request id, log line and count, not Fastify's
    // own answer.
    frameworkErrors: edge.handleFrameworkError,
    // Errors Node raises outside any route (431, malformed heads, bad framing, timeouts, bodies cut short).
    clientErrorHandler: edge.handle,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(runtime), adapter, {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(BrokerLogger));
  const fastify = app.getHttpAdapter().getInstance();
  registerJsonBodies(fastify, runtime.config.bodyLimitBytes);
  // Before the body is read, so that a request whose body the parser rejects gets its request id, its log
  // line and its duration sample too, labelled with the route pattern the router matched. (The adapter's own
  // hooks come first: a CORS preflight, and a URL the router cannot decode, are answered before this one.)
  const requestLog = app.get(RequestLogHook);
  edge.attach({
    lines: app.get(REQUEST_LINE_LOGGER),
    counter: app.get(MetricsService).httpClientErrors,
    requestLog,
  });
  fastify.addHook('onRequest', (req, reply, done) => {
    if (req.routeOptions.url !== undefined) labelRoute(req.raw, req.routeOptions.url);
    requestLog.use(req.raw, reply.raw, done, req.ip);
  });
  // The web console (apps/console), when built; after the request log, so its files are logged and counted.
  await serveConsole(fastify);
  app.useGlobalFilters(new AllExceptionsFilter());
  // Bodies typed with a document class are checked against it (libs/common document-fields.ts).
  app.useGlobalPipes(new DocumentValidationPipe());
  // The methods Express's cors allowed (admins PATCH and DELETE from browsers); a bare OPTIONS is no error.
  app.enableCors({ methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE'], strictPreflight: false });

  const document = documentErrorAnswers(
    addTesToOpenApi(
      SwaggerModule.createDocument(
        app,
        new DocumentBuilder()
          .setTitle('Constellation')
          .setDescription('GA4GH TES 1.1 broker and meta-scheduler for the European Pulsar Network')
          .setVersion(runtime.config.serviceVersion)
          // A Constellation API token, not a JWT (addBearerAuth would say bearerFormat JWT).
          .addSecurity('bearer', { type: 'http', scheme: 'bearer', description: 'A Constellation API token' })
          .addBasicAuth()
          .build(),
      ),
    ),
  );
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'openapi.json',
    yamlDocumentUrl: 'openapi.yaml',
  });
  return app;
}
