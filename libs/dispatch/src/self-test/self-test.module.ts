import { Module } from '@nestjs/common';
import { RegistryModule } from '@constellation/registry';
import { SiteAdaptersModule } from '../site-adapters.module';
import { SelfTestController } from './self-test.controller';
import { SelfTestFiles } from './self-test-files';
import { SelfTestFilesController } from './self-test-files.controller';
import { SelfTestRunner } from './self-test.runner';
import { SelfTestService } from './self-test.service';

/** Site self-tests: POST /api/v1/sites/{ref}/test, the files its jobs fetch and deliver, and the CLI's use. */
@Module({
  imports: [RegistryModule, SiteAdaptersModule],
  controllers: [SelfTestController, SelfTestFilesController],
  providers: [SelfTestFiles, SelfTestRunner, SelfTestService],
  exports: [SelfTestService],
})
export class SelfTestModule {}
