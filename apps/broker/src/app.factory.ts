import { json } from 'express';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { RequestLogMiddleware } from '@constellation/observability';
import { addTesToOpenApi } from '@constellation/tes';
import { AppModule } from './app.module';
import { AllExceptionsFilter, bodyParserErrorHandler } from './http/all-exceptions.filter';
import { RuntimeOptions } from './runtime-options';

/** Builds the configured application (not yet listening); shared by main.ts and the end-to-end tests. */
export async function createApp(runtime: RuntimeOptions): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(runtime), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.set('trust proxy', 'loopback');
  app.disable('x-powered-by');
  // No ETag: TES clients poll without If-None-Match, and Express would hash every response body to make one.
  app.set('etag', false);
  // Flat query strings: repeated keys become arrays of any length (TES tag_key), no nested objects.
  app.set('query parser', 'simple');
  // First, so that every request (a body the parser rejects too) gets its request id and its log line.
  app.use(app.get(RequestLogMiddleware).use);
  app.use(json({ limit: runtime.config.bodyLimitBytes, type: ['application/json', 'application/*+json'] }));
  app.use(bodyParserErrorHandler);
  app.useGlobalFilters(new AllExceptionsFilter());
  app.enableCors();

  const document = addTesToOpenApi(
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Constellation')
        .setDescription('GA4GH TES 1.1 broker and meta-scheduler for the European Pulsar Network')
        .setVersion(runtime.config.serviceVersion)
        .addBearerAuth()
        .addBasicAuth()
        .build(),
    ),
  );
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'openapi.json',
    yamlDocumentUrl: 'openapi.yaml',
  });
  return app;
}
