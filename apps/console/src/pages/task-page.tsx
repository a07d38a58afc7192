import { api } from '../api';
import { Loaded, StatePill } from '../components/common';
import { formatBytes, formatDate, formatDuration } from '../format';
import { useLiveReload } from '../live';
import { decisionText, whyText } from '../placement-text';
import type { Candidate, TaskEvent, TaskPlacement, TesTask } from '../types';
import { useResource } from '../use-resource';

const FINAL = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'];

/** A task: its TES document, its timeline across attempts and the placement explanation, live until it ends. */
export function TaskPage({ id }: { id: string }) {
  const enc = encodeURIComponent(id);
  // Live events refresh the page as the task moves; the slow poll only covers a stream that cannot connect.
  const task = useResource(() => api<TesTask>(`/ga4gh/tes/v1/tasks/${enc}?view=FULL`), `task:${id}`, 60_000);
  const live = task.data === undefined || !FINAL.includes(task.data.state);
  const every = live ? 60_000 : undefined;
  const events = useResource(
    () => api<{ events: TaskEvent[] }>(`/api/v1/tasks/${enc}/events`),
    `task-events:${id}`,
    every,
    task.data?.state,
  );
  const placement = useResource(
    () => api<TaskPlacement>(`/api/v1/tasks/${enc}/placement`),
    `task-placement:${id}`,
    every,
    task.data?.state,
  );
  useLiveReload(
    (e) => e.type === 'task' && e.task_id === id.toLowerCase(),
    () => {
      task.reload();
      events.reload();
      placement.reload();
    },
    `task:${id}`,
    250,
  );
  return (
    <section>
      <h1>
        Task <code>{id}</code>
      </h1>
      <Loaded resource={task} skeletonHeight={200}>
        {(t) => (
          <>
            <p className="status big">
              <StatePill state={t.state} /> {t.name ?? ''} {live && <span className="live">live</span>}
            </p>
            <TaskDocument task={t} />
          </>
        )}
      </Loaded>
      <h2>Timeline</h2>
      <Loaded resource={events}>{(e) => <Timeline events={e.events} />}</Loaded>
      <h2>Placement</h2>
      <Loaded resource={placement}>{(p) => <Placement placement={p} />}</Loaded>
    </section>
  );
}

function TaskDocument({ task }: { task: TesTask }) {
  return (
    <div className="cards">
      <article className="card">
        <h2>Executors</h2>
        <ol className="plain">
          {(task.executors ?? []).map((e, i) => (
            <li key={i}>
              <code>{e.image}</code>
              <pre>{e.command.join(' ')}</pre>
            </li>
          ))}
        </ol>
      </article>
      <article className="card">
        <h2>Inputs</h2>
        <ul className="plain">
          {(task.inputs ?? []).length === 0 && <li>none</li>}
          {(task.inputs ?? []).map((i, n) => (
            <li key={n}>
              <code>{i.path}</code> ← {i.url ? <code>{i.url}</code> : 'inline content'}
            </li>
          ))}
        </ul>
        <h2>Outputs</h2>
        <ul className="plain">
          {(task.outputs ?? []).length === 0 && <li>none</li>}
          {(task.outputs ?? []).map((o, n) => (
            <li key={n}>
              <code>{o.path}</code> → <code>{o.url}</code>
            </li>
          ))}
        </ul>
      </article>
      <article className="card">
        <h2>Resources</h2>
        <dl>
          <dt>Cores</dt>
          <dd>{task.resources?.cpu_cores ?? 'default'}</dd>
          <dt>Memory</dt>
          <dd>{task.resources?.ram_gb !== undefined ? `${task.resources.ram_gb} GB` : 'default'}</dd>
          <dt>Disk</dt>
          <dd>{task.resources?.disk_gb !== undefined ? `${task.resources.disk_gb} GB` : '—'}</dd>
          <dt>Created</dt>
          <dd>{formatDate(task.creation_time)}</dd>
        </dl>
      </article>
    </div>
  );
}

function Timeline({ events }: { events: TaskEvent[] }) {
  if (events.length === 0) return <p>No events yet.</p>;
  return (
    <ol className="timeline" aria-label="Task timeline">
      {events.map((e, i) => (
        <li key={i} data-to={e.to} className={`tl-${e.kind}`}>
          <time dateTime={e.time}>{formatDate(e.time)}</time>
          <span className="tl-change">
            {e.kind === 'copy' ? 'copy at a site: ' : ''}
            {e.from ? `${e.from} → ` : ''}
            <StatePill state={e.to} />
          </span>
          {e.attempt > 0 && <span className="tl-attempt">attempt {e.attempt}</span>}
          {e.reason && <span className="tl-reason">{e.reason}</span>}
        </li>
      ))}
    </ol>
  );
}

function Placement({ placement }: { placement: TaskPlacement }) {
  const record = placement.placement ?? placement.preview;
  if (!record) return <p>Not placed yet.</p>;
  return (
    <div className="placement">
      <p>
        {placement.placement ? '' : 'Not placed yet; placed now it would go: '}
        <strong>{decisionText(record)}</strong> — policy <code>{record.policy}</code>, attempt{' '}
        {record.attempt}, decided {formatDate(record.decided_at)}.
      </p>
      {record.reason && <p className="reason">{record.reason}</p>}
      <table className="data">
        <caption>Candidate sites</caption>
        <thead>
          <tr>
            <th scope="col">Site</th>
            <th scope="col" className="num">
              Queue
            </th>
            <th scope="col" className="num">
              Transfer
            </th>
            <th scope="col" className="num">
              Run
            </th>
            <th scope="col" className="num">
              Total
            </th>
            <th scope="col" className="num">
              WAN input
            </th>
            <th scope="col">Why (not)</th>
          </tr>
        </thead>
        <tbody>
          {[...record.candidates]
            .sort((a, b) => rank(a) - rank(b) || a.totalS - b.totalS)
            .map((c) => (
              <tr
                key={c.siteId}
                data-site={c.slug}
                className={c.siteId === record.site_id ? 'chosen' : undefined}
              >
                <td>
                  <code>{c.slug}</code>
                </td>
                <td className="num">{formatDuration(c.queueWaitS)}</td>
                <td className="num">{formatDuration(c.transferS)}</td>
                <td className="num">{formatDuration(c.runS)}</td>
                <td className="num">{formatDuration(c.totalS)}</td>
                <td className="num">{formatBytes(c.wanBytes)}</td>
                <td>{whyText(c, record)}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
}

function rank(c: Candidate): number {
  return c.placeable ? 0 : c.feasible ? 1 : 2;
}
