export { DurationModel, SIM_SECONDS_TAG, SIM_TOOL_TAG } from './duration-model';
export { networkSites, type NetworkSite } from './network-sites';
export { simDataDir } from './sim-data';
export {
  FAULT_MODES,
  SimSiteServer,
  type FaultMode,
  type SimServerOptions,
  type SiteStatus,
} from './sim-site-server';
export { SimulatedSite, type SimSiteConfig, type SiteCounts } from './simulated-site';
