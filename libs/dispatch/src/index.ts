// What other libraries and the application may use; internals (SQL, repositories) stay inside the lib.
export { DISPATCH_ENTITIES } from './abandoned-copy.entity';
export { DispatchForTesModule, DispatchModule } from './dispatch.module';
export { SelfTestModule } from './self-test/self-test.module';
export { SelfTestService } from './self-test/self-test.service';
