import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

// scripts/test-container.sh runs compose.yaml's brokers against the machine's PostgreSQL and RabbitMQ (their
// images cannot be pulled here); this checks the parts of the file that test replaces or cannot see.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a compose file is free-form YAML
type Service = Record<string, any>;
const compose = parse(readFileSync(path.join(__dirname, '..', '..', 'compose.yaml'), 'utf8'), {
  merge: true,
}) as { services: Record<string, Service> };
const services = compose.services;

describe('compose.yaml', () => {
  it('runs PostgreSQL 15, RabbitMQ and two broker replicas, each with a health check', () => {
    expect(Object.keys(services).sort()).toEqual(['broker-1', 'broker-2', 'postgres', 'rabbitmq']);
    expect(services.postgres.image).toBe('docker.io/library/postgres:15');
    expect(services.rabbitmq.image).toBe('docker.io/library/rabbitmq:3-management');
    expect(services.postgres.healthcheck.test).toEqual([
      'CMD',
      'pg_isready',
      '-U',
      'constellation',
      '-d',
      'constellation',
    ]);
    expect(services.rabbitmq.healthcheck.test).toEqual(['CMD', 'rabbitmq-diagnostics', '-q', 'ping']);
  });

  it('gives both replicas the same image, database, secrets file and data volume, started once the servers are healthy', () => {
    const [one, two] = [services['broker-1'], services['broker-2']];
    for (const broker of [one, two]) {
      expect(broker.image).toBe('${CONSTELLATION_IMAGE:-localhost/constellation:latest}');
      expect(broker.build).toEqual({ context: '.', dockerfile: 'Containerfile' });
      expect(broker.env_file).toBe('${CONSTELLATION_ENV_FILE:-.env}');
      expect(broker.environment.DATABASE_URL).toBe(
        'postgres://constellation:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}@postgres:5432/constellation',
      );
      expect([broker.environment.HOST, broker.environment.PORT]).toEqual(['0.0.0.0', '8080']);
      expect(broker.volumes).toEqual(['constellation-data:/var/lib/constellation']);
      expect(broker.depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        rabbitmq: { condition: 'service_healthy' },
      });
      expect(broker.stop_grace_period).toBe('30s');
    }
  });

  it('publishes the console and API on one port, on loopback unless told otherwise', () => {
    expect(services['broker-1'].ports).toEqual([
      '${CONSTELLATION_BIND:-127.0.0.1}:${CONSTELLATION_PORT:-8080}:8080',
    ]);
    for (const name of ['broker-2', 'postgres', 'rabbitmq']) expect(services[name].ports).toBeUndefined();
  });

  it('documents every variable it requires in deploy/compose.env.example', () => {
    const example = readFileSync(path.join(__dirname, '..', 'compose.env.example'), 'utf8');
    const text = readFileSync(path.join(__dirname, '..', '..', 'compose.yaml'), 'utf8');
    const required = [...text.matchAll(/\$\{(\w+):\?/g)].map((m) => m[1]);
    expect([...new Set(required)].sort()).toEqual(['POSTGRES_PASSWORD', 'RABBITMQ_PASSWORD']);
    for (const name of [...required, 'CONSTELLATION_SECRET_KEY', 'CONSTELLATION_ADMIN_TOKEN']) {
      expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
    }
  });
});
