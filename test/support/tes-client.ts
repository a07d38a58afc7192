import request from 'supertest';
import type { TestPrincipal } from './principals';

/** A minimal TES client over supertest: the base path and credentials of one submitter. */
export function tes(baseUrl: string, who: TestPrincipal, prefix = '/ga4gh/tes/v1') {
  const auth = (r: request.Test) => r.set('Authorization', who.bearer);
  return {
    create: (body: unknown) =>
      auth(
        request(baseUrl)
          .post(`${prefix}/tasks`)
          .send(body as object),
      ),
    get: (id: string, view?: string) =>
      auth(
        request(baseUrl)
          .get(`${prefix}/tasks/${id}`)
          .query(view ? { view } : {}),
      ),
    list: (query: string) => auth(request(baseUrl).get(`${prefix}/tasks?${query}`)),
    cancel: (id: string) => auth(request(baseUrl).post(`${prefix}/tasks/${id}:cancel`)),
  };
}

export const MINIMAL_TASK = { executors: [{ image: 'alpine', command: ['echo', 'hello'] }] };
