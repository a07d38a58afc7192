import { useState } from 'react';
import { api, ApiError } from '../api';
import { formatDate, formatDuration } from '../format';
import { selfTestsOffered, selfTestSummary, type SelfTestResult } from '../self-test';
import type { Site } from '../types';
import { ErrorBox } from './common';

/** One self-test: its outcome, and each step's result, time and detail. */
export function SelfTestReport({ result, caption }: { result: SelfTestResult; caption: string }) {
  return (
    <div className={`self-test ${result.ok ? 'ok' : 'failed'}`} data-ok={String(result.ok)}>
      <p>
        <strong>{result.ok ? 'Passed' : 'Failed'}</strong>: {selfTestSummary(result)}; finished{' '}
        {formatDate(result.finished_at)}, took{' '}
        {formatDuration((Date.parse(result.finished_at) - Date.parse(result.started_at)) / 1000)}.
      </p>
      <table className="data compact">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Result</th>
            <th scope="col" className="num">
              Time
            </th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {result.steps.map((s, i) => (
            <tr key={i} data-step={s.name} data-ok={String(s.ok)}>
              <td>{s.name}</td>
              <td>
                <span className={`pill ${s.ok ? 'pill-complete' : 'pill-system-error'}`}>
                  {s.ok ? 'ok' : 'failed'}
                </span>
              </td>
              <td className="num">{formatDuration(s.duration_ms / 1000)}</td>
              <td>{s.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * The site page's self-test card (for its owner and admins): runs the test on demand and shows its steps,
 * or the last result. On a broker without self-tests the card is not shown; should the endpoint still
 * answer 404 (no such route), the button goes away with a note.
 */
export function SelfTestCard({ site, canRun }: { site: Site; canRun: boolean }) {
  const [fresh, setFresh] = useState<SelfTestResult>();
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<unknown>();
  const [missing, setMissing] = useState(false);
  if (!selfTestsOffered(site) && !fresh) return null;
  const shown = fresh ?? site.last_self_test ?? null;

  const run = async () => {
    setRunning(true);
    setError(undefined);
    try {
      setFresh(await api<SelfTestResult>(`/api/v1/sites/${site.id}/test`, { method: 'POST' }));
    } catch (e) {
      if (e instanceof ApiError && e.status === 404 && e.code === 'ROUTE_NOT_FOUND') setMissing(true);
      else setError(e);
    } finally {
      setRunning(false);
    }
  };

  return (
    <article className="card" aria-labelledby="self-test-heading">
      <h2 id="self-test-heading">Self-test</h2>
      {canRun && !missing && (
        <p>
          <button type="button" onClick={run} disabled={running} aria-busy={running}>
            {running ? 'Running the self-test…' : 'Run self-test'}
          </button>
        </p>
      )}
      {missing && <p className="hint">This broker does not run site self-tests yet.</p>}
      {error !== undefined && <ErrorBox error={error} />}
      {shown ? (
        <SelfTestReport
          result={shown}
          caption={fresh ? 'Steps of the self-test just run' : 'Steps of the last self-test'}
        />
      ) : (
        <p>No self-test has run yet.</p>
      )}
    </article>
  );
}

/** What an admin weighs before approving: did the site pass its self-test? */
export function PendingSelfTest({ site }: { site: Site }) {
  if (site.last_self_test === undefined) return null;
  if (site.last_self_test === null) return <p className="hint">No self-test has run yet.</p>;
  return (
    <details className="pending-self-test">
      <summary>Last self-test: {selfTestSummary(site.last_self_test)}</summary>
      <SelfTestReport result={site.last_self_test} caption={`Last self-test of ${site.display_name}`} />
    </details>
  );
}
