import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakePulsarAmqp, uniqueManager, type FakePulsarAmqp } from '@constellation/testing';
import { registerSiteUp, startDispatchApp } from './dispatch-suite';
import { createPrincipal, type TestPrincipal } from './principals';
import { onHostPulsarSiteDocument } from './site-documents';
import { startTcpForwarder, type TcpForwarder } from './tcp-forwarder';
import type { TestApp } from './test-app';

/** A dispatching broker and a fake Pulsar AMQP site registered on it (up), reached through a forwarder. */
export interface AmqpDispatch {
  t: TestApp;
  admin: TestPrincipal;
  pulsar: FakePulsarAmqp;
  slug: string;
  close(): Promise<void>;
}

/**
 * Starts the broker with `env` on the message broker at `amqpUrl`, its job-files URL through a TCP forwarder
 * (so the site posts to it as to a public URL), and registers a fake Pulsar AMQP site on a manager of its own;
 * `site` overrides the site document.
 */
export async function startAmqpDispatch(
  amqpUrl: string,
  env: Record<string, string>,
  site: Record<string, unknown> = {},
): Promise<AmqpDispatch> {
  const dataDir = mkdtempSync(join(tmpdir(), 'amqp-dispatch-'));
  let forwarder: TcpForwarder | undefined;
  let t: TestApp | undefined;
  let pulsar: FakePulsarAmqp | undefined;
  const close = async () => {
    await t?.close();
    await pulsar?.close();
    await forwarder?.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    forwarder = await startTcpForwarder();
    t = await startDispatchApp({
      AMQP_URL: amqpUrl,
      CONSTELLATION_DATA_DIR: dataDir,
      CONSTELLATION_PUBLIC_URL: forwarder.url,
      ...env,
    });
    forwarder.pointAt(t.url);
    const admin = await createPrincipal(t, 'admin');
    pulsar = await startFakePulsarAmqp({ amqpUrl, manager: uniqueManager() });
    const { slug } = await registerSiteUp(
      t,
      admin,
      admin,
      onHostPulsarSiteDocument({
        kind: 'pulsar-amqp',
        url: null,
        pulsar_manager: pulsar.manager,
        credentials: null,
        ...site,
      }),
    );
    return { t, admin, pulsar, slug, close };
  } catch (err) {
    await close();
    throw err;
  }
}
