import { useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { api } from '../api';
import { Loaded, StatePill } from '../components/common';
import { formatDate } from '../format';
import { TES_STATES } from '../../../../libs/tes/src/tes.types';
import type { TesTask } from '../types';
import { useResource } from '../use-resource';

// A task the broker accepted is never UNKNOWN: every other TES state can be searched for.
const STATES = TES_STATES.filter((state) => state !== 'UNKNOWN');

interface Query {
  state: string;
  namePrefix: string;
  pageToken: string;
}

function listUrl(q: Query): string {
  const p = new URLSearchParams({ view: 'BASIC', page_size: '50' });
  if (q.state) p.set('state', q.state);
  if (q.namePrefix) p.set('name_prefix', q.namePrefix);
  if (q.pageToken) p.set('page_token', q.pageToken);
  return `/ga4gh/tes/v1/tasks?${p}`;
}

/** The caller's tasks (all tasks for an admin), through the TES list with its state and name filters. */
export function TasksPage() {
  const [form, setForm] = useState({ state: '', namePrefix: '' });
  const [query, setQuery] = useState<Query>({ state: '', namePrefix: '', pageToken: '' });
  const [pages, setPages] = useState<string[]>([]);
  const url = listUrl(query);
  const tasks = useResource(() => api<{ tasks: TesTask[]; next_page_token?: string }>(url), url, 10_000);
  const search = (e: FormEvent) => {
    e.preventDefault();
    setPages([]);
    setQuery({ ...form, pageToken: '' });
  };
  return (
    <section>
      <h1>Tasks</h1>
      <form className="filters" onSubmit={search} role="search">
        <label>
          State
          <select value={form.state} onChange={(e) => setForm({ ...form, state: e.target.value })}>
            <option value="">any</option>
            {STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Name starts with
          <input value={form.namePrefix} onChange={(e) => setForm({ ...form, namePrefix: e.target.value })} />
        </label>
        <button type="submit" className="primary">
          Search
        </button>
      </form>
      <Loaded resource={tasks} skeletonHeight={300}>
        {(t) => (
          <>
            <table className="data">
              <caption className="visually-hidden">Tasks, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Task</th>
                  <th scope="col">Name</th>
                  <th scope="col">State</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {t.tasks.length === 0 && (
                  <tr>
                    <td colSpan={4}>No task matches.</td>
                  </tr>
                )}
                {t.tasks.map((task) => (
                  <tr key={task.id}>
                    <td>
                      <Link href={`/tasks/${task.id}`}>
                        <code>{task.id}</code>
                      </Link>
                    </td>
                    <td>{task.name ?? ''}</td>
                    <td>
                      <StatePill state={task.state} />
                    </td>
                    <td>{formatDate(task.creation_time)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <div className="pager">
              <button
                type="button"
                disabled={pages.length === 0}
                onClick={() => {
                  const prev = pages.slice(0, -1);
                  setPages(prev);
                  setQuery({ ...query, pageToken: prev[prev.length - 1] ?? '' });
                }}
              >
                Previous
              </button>
              <button
                type="button"
                disabled={!t.next_page_token}
                onClick={() => {
                  setPages([...pages, t.next_page_token as string]);
                  setQuery({ ...query, pageToken: t.next_page_token as string });
                }}
              >
                Next
              </button>
            </div>
          </>
        )}
      </Loaded>
    </section>
  );
}
