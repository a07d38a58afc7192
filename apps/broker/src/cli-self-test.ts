import type { SelfTestResult } from '@constellation/registry';

/** What the CLI prints for a self-test: a table a provider reads top to bottom, and the exit code. */
export function selfTestReport(slug: string, result: SelfTestResult): { text: string; exitCode: number } {
  const failed = result.steps.filter((s) => !s.ok).length;
  const verdict = result.ok ? 'passed' : `FAILED (${failed} of ${result.steps.length} steps not ok)`;
  const rows = result.steps.map((s) => [
    s.name,
    s.ok ? 'ok' : s.detail.startsWith('skipped:') ? 'skipped' : 'FAILED',
    `${s.duration_ms} ms`,
    s.detail,
  ]);
  const head = ['STEP', 'RESULT', 'TIME', 'DETAIL'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (i < 3 ? r[i].length : 0))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < 3 ? (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i])) : c))
      .join('  ')
      .trimEnd();
  const text = [
    `self-test of site ${slug}: ${verdict}`,
    `started ${result.started_at}, finished ${result.finished_at}`,
    '',
    line(head),
    ...rows.map(line),
    '',
  ].join('\n');
  return { text, exitCode: result.ok ? 0 : 1 };
}

/** Runs the self-test on a remote broker through its API (`--url`/`--token`, or CONSTELLATION_URL/_TOKEN). */
export async function remoteSelfTest(url: string, token: string, slug: string): Promise<SelfTestResult> {
  const target = `${url.replace(/\/+$/, '')}/api/v1/sites/${encodeURIComponent(slug)}/test`;
  let res: Response;
  try {
    res = await fetch(target, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  } catch (err) {
    throw new Error(
      `cannot reach ${url}: ${err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err)}`,
    );
  }
  const body = (await res.json().catch(() => null)) as
    (SelfTestResult & { code?: string; message?: string }) | null;
  if (!res.ok || body === null || !Array.isArray(body.steps)) {
    const said = body?.message ? `${body.code ?? ''}: ${body.message}` : `HTTP ${res.status}`;
    throw new Error(`the broker at ${url} refused the self-test: ${said}`);
  }
  return body;
}
