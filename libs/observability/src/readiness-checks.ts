import { Injectable } from '@nestjs/common';

/** Resolves while the dependency serves; rejects with why not (the message is shown on /health/ready). */
export type ReadinessCheck = () => Promise<void>;

/**
 * What else than the database the broker needs to be ready, named by the libraries that need it (the job-files
 * bucket): /health/ready runs each, and fails naming the one that does not answer and why.
 */
@Injectable()
export class ReadinessChecks {
  private readonly checks = new Map<string, ReadinessCheck>();

  add(name: string, check: ReadinessCheck): void {
    if (this.checks.has(name)) throw new Error(`a readiness check named ${name} is already added`);
    this.checks.set(name, check);
  }

  entries(): [string, ReadinessCheck][] {
    return [...this.checks];
  }
}
