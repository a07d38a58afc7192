import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { FixedWindowThrottlerStorage } from './fixed-window-throttler.storage';
import { PrincipalThrottlerGuard } from './principal-throttler.guard';

/** CONSTELLATION_RATE_LIMIT per principal; import after AuthModule so its guard runs after authentication. */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        throttlers: [{ name: 'default', limit: config.rateLimit.limit, ttl: config.rateLimit.windowMs }],
        storage: new FixedWindowThrottlerStorage(),
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: PrincipalThrottlerGuard }],
})
export class RateLimitModule {}
