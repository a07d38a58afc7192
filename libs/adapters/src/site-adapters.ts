import type { AdapterSite, SiteAdapter } from './site-adapter';

/** The adapter for each site kind (CONVENTIONS.md §7: one interface, a registry keyed by `site.kind`). */
export class SiteAdapters {
  private readonly byKind = new Map<AdapterSite['kind'], SiteAdapter>();

  constructor(adapters: readonly SiteAdapter[]) {
    for (const adapter of adapters) {
      // Two adapters for one kind is a wiring mistake; failing at start-up beats a silent winner.
      if (this.byKind.has(adapter.kind)) throw new Error(`two site adapters for kind "${adapter.kind}"`);
      this.byKind.set(adapter.kind, adapter);
    }
  }

  for(kind: string): SiteAdapter | undefined {
    return this.byKind.get(kind as AdapterSite['kind']);
  }

  kinds(): string[] {
    return [...this.byKind.keys()].sort();
  }
}
