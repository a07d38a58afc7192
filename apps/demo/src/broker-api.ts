/** The broker's public REST and TES API, as a provider, an admin and a Galaxy would call it. */
export class BrokerApi {
  constructor(readonly url: string) {}

  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    token: string,
    body?: unknown,
    okStatuses: number[] = [200, 201],
  ): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!okStatuses.includes(res.status))
      throw new Error(`${method} ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
    return (text === '' ? {} : JSON.parse(text)) as T;
  }

  /** Every id of the submitter's tasks in one state, page by page (MINIMAL view). */
  async idsInState(token: string, state: string): Promise<string[]> {
    const ids: string[] = [];
    let pageToken: string | undefined;
    do {
      const q = new URLSearchParams({ state, page_size: '2047', view: 'MINIMAL' });
      if (pageToken) q.set('page_token', pageToken);
      const page = await this.call<{ tasks?: { id: string }[]; next_page_token?: string }>(
        'GET',
        `/ga4gh/tes/v1/tasks?${q.toString()}`,
        token,
      );
      for (const t of page.tasks ?? []) ids.push(t.id);
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
    return ids;
  }
}
