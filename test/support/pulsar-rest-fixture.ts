import { FakePulsarSite, startFakePulsarSite } from '@constellation/testing';
import { DataStoreOptions, DataStoreServer, startDataStore } from './data-store-server';
import { registerSiteUp, startDispatchSuite } from './dispatch-suite';
import type { TestPrincipal } from './principals';
import { pulsarRestSiteDocument } from './site-documents';
import type { TestApp } from './test-app';

/** A dispatch app, its admin and a submitter (alice), a fake Pulsar REST site registered and up, a data store. */
export interface PulsarRestFixture {
  t: TestApp;
  admin: TestPrincipal;
  alice: TestPrincipal;
  pulsar: FakePulsarSite;
  store: DataStoreServer;
  /** The site's slug, which doubles as a zone. */
  slug: string;
  close(): Promise<void>;
}

export async function startPulsarRestFixture(options: {
  /** Dispatch settings over FAST_DISPATCH. */
  env: Record<string, string>;
  /** The site's private token. */
  token: string;
  /** What the data store serves, and how it behaves. */
  files?: Record<string, string>;
  store?: DataStoreOptions;
}): Promise<PulsarRestFixture> {
  const { t, admin, alice } = await startDispatchSuite(options.env);
  const closers: (() => Promise<void>)[] = [() => t.close()];
  const close = async () => {
    for (const c of closers.splice(0)) await c();
  };
  try {
    const pulsar = await startFakePulsarSite({ token: options.token });
    closers.push(() => pulsar.close());
    const store = await startDataStore(options.files ?? {}, options.store);
    closers.push(() => store.close());
    const doc = pulsarRestSiteDocument(pulsar.url, options.token);
    const { slug } = await registerSiteUp(t, admin, admin, doc);
    return { t, admin, alice, pulsar, store, slug, close };
  } catch (err) {
    await close();
    throw err;
  }
}
