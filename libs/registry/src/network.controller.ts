import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@constellation/common';
import { NetworkRepository } from './network.repository';
import { NetworkSiteView, NetworkSummaryView } from './network.views';
import { sitePlaceOf } from './site.mapper';

/** How far back the data store → site lines of the map look. */
const LINKS_WINDOW_HOURS = 24;

@ApiTags('network')
@Controller('api/v1/network')
export class NetworkController {
  constructor(private readonly repo: NetworkRepository) {}

  @Get()
  @Public()
  @ApiOperation({
    summary:
      'The Network at a glance, without a token: approved sites with location, health and load, data stores, and which sites recently took tasks reading from which store',
  })
  @ApiOkResponse({ type: NetworkSummaryView })
  async summary(): Promise<NetworkSummaryView> {
    const now = new Date();
    const [sites, stores, links] = await Promise.all([
      this.repo.approvedSites(),
      this.repo.dataStores(),
      this.repo.recentLinks(new Date(now.getTime() - LINKS_WINDOW_HOURS * 3600_000)),
    ]);
    return {
      generated_at: now.toISOString(),
      links_window_hours: LINKS_WINDOW_HOURS,
      sites: sites.map((s) => ({
        ...sitePlaceOf(s),
        // approvedSites() returns no pending site.
        admin_state: s.adminState as NetworkSiteView['admin_state'],
        health: s.health,
        max_concurrent_tasks: s.maxConcurrentTasks,
        cores: s.totalCores,
        running: s.runningTasks,
        queued: s.queuedTasks,
      })),
      data_stores: stores.map((d) => ({
        id: d.id,
        name: d.name,
        country: d.country,
        latitude: d.latitude,
        longitude: d.longitude,
      })),
      links: links.map((l) => ({ data_store_id: l.dataStoreId, site_id: l.siteId, tasks: l.tasks })),
    };
  }
}
