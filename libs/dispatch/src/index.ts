export * from './dispatch.module';
export * from './probe.service';
export * from './probe.scheduler';
export * from './reachability';
