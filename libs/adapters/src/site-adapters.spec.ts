import { SiteAdapters } from './site-adapters';
import type { SiteAdapter } from './site-adapter';
import { TesSiteAdapter } from './tes/tes.adapter';

function stubAdapter(kind: SiteAdapter['kind']): SiteAdapter {
  return { kind } as SiteAdapter;
}

describe('SiteAdapters', () => {
  it('finds each adapter by its site kind and lists the kinds', () => {
    const tes = new TesSiteAdapter();
    const pulsar = stubAdapter('pulsar-rest');
    const registry = new SiteAdapters([pulsar, tes]);
    expect(registry.for('tes')).toBe(tes);
    expect(registry.for('pulsar-rest')).toBe(pulsar);
    expect(registry.for('pulsar-amqp')).toBeUndefined();
    expect(registry.for('slurm')).toBeUndefined();
    expect(registry.kinds()).toEqual(['pulsar-rest', 'tes']);
  });

  it('refuses two adapters for one kind', () => {
    expect(() => new SiteAdapters([stubAdapter('tes'), new TesSiteAdapter()])).toThrow(
      'two site adapters for kind "tes"',
    );
  });
});
