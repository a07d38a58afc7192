import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { Link, useLocation, useSearch } from 'wouter';
import { api, fieldErrors } from '../api';
import { ErrorBox, Loaded, StatePill } from '../components/common';
import { formatDate } from '../format';
import { TES_STATES } from '../../../../libs/tes/src/tes.types';
import { useLiveReload } from '../live';
import { principal } from '../session';
import {
  FIELD_OF_PARAM,
  queryToSearch,
  searchApiUrl,
  searchToQuery,
  type TaskSearchForm,
} from '../task-search';
import type { TaskSearchPage } from '../types';
import { useResource } from '../use-resource';

// A task the broker accepted is never UNKNOWN: every other TES state can be searched for.
const STATES = TES_STATES.filter((state) => state !== 'UNKNOWN');

/**
 * Task search (GET /api/v1/tasks): the caller's tasks, everyone's for an admin, by state, name, submitter,
 * site and creation time. The filters live in the page URL, so a search can be bookmarked and shared; the
 * list follows task changes live.
 */
export function TasksPage() {
  const query = useSearch();
  const [, navigate] = useLocation();
  const admin = principal()?.role === 'admin';
  const [form, setForm] = useState<TaskSearchForm>(() => queryToSearch(query));
  const [pages, setPages] = useState<string[]>([]);
  const pageToken = pages[pages.length - 1] ?? '';
  const url = searchApiUrl(query, pageToken);
  const tasks = useResource(() => api<TaskSearchPage>(url), url, 60_000);
  useLiveReload((e) => e.type === 'task', tasks.reload, url, 2000);

  // Another search in the URL (back button, a shared link): the form and the paging follow it.
  useEffect(() => {
    setForm(queryToSearch(query));
    setPages([]);
  }, [query]);

  const errors = fieldErrors(tasks.error);
  const errorOf = (field: keyof TaskSearchForm) =>
    Object.entries(errors).find(([path]) => FIELD_OF_PARAM[path] === field)?.[1];
  const otherErrors = Object.keys(errors).some((path) => FIELD_OF_PARAM[path] === undefined);
  const invalid = Object.keys(errors).length > 0;

  const search = (e: FormEvent) => {
    e.preventDefault();
    const next = searchToQuery(form);
    setPages([]);
    navigate(next === '' ? '/tasks' : `/tasks?${next}`);
  };
  const set = (field: keyof TaskSearchForm) => (value: string) => setForm({ ...form, [field]: value });
  const field = (name: keyof TaskSearchForm, label: string, input: ReactNode) => (
    <div className={`field${errorOf(name) ? ' invalid' : ''}`}>
      <label htmlFor={`s-${name}`}>{label}</label>
      {input}
      {errorOf(name) && (
        <span className="field-error" id={`se-${name}`} role="alert">
          {errorOf(name)}
        </span>
      )}
    </div>
  );
  const text = (name: keyof TaskSearchForm, type = 'text', placeholder?: string) => (
    <input
      id={`s-${name}`}
      type={type}
      value={form[name]}
      placeholder={placeholder}
      aria-invalid={errorOf(name) ? true : undefined}
      aria-describedby={errorOf(name) ? `se-${name}` : undefined}
      onChange={(e) => set(name)(e.target.value)}
    />
  );

  return (
    <section>
      <h1>Tasks</h1>
      <form className="filters" onSubmit={search} role="search" aria-label="Search tasks">
        {field(
          'state',
          'State',
          <select id="s-state" value={form.state} onChange={(e) => set('state')(e.target.value)}>
            <option value="">any</option>
            {STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>,
        )}
        {field('namePrefix', 'Name starts with', text('namePrefix'))}
        {admin && field('submitter', 'Submitter', text('submitter', 'text', 'name or id'))}
        {field('site', 'Site', text('site', 'text', 'slug or id'))}
        {field('createdAfter', 'Created from', text('createdAfter', 'datetime-local'))}
        {field('createdBefore', 'Created before', text('createdBefore', 'datetime-local'))}
        <button type="submit" className="primary">
          Search
        </button>
        {query !== '' && (
          <button type="button" onClick={() => navigate('/tasks')}>
            Clear
          </button>
        )}
      </form>
      {otherErrors && <ErrorBox error={tasks.error} />}
      {invalid ? (
        <p role="status">Correct the search above.</p>
      ) : (
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
                    {admin && <th scope="col">Submitter</th>}
                    <th scope="col">Site</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  {t.tasks.length === 0 && (
                    <tr>
                      <td colSpan={admin ? 6 : 5}>No task matches.</td>
                    </tr>
                  )}
                  {t.tasks.map((task) => (
                    <tr key={task.id} data-task={task.id}>
                      <td>
                        <Link href={`/tasks/${task.id}`}>
                          <code>{task.id}</code>
                        </Link>
                      </td>
                      <td>{task.name ?? ''}</td>
                      <td>
                        <StatePill state={task.state} />
                      </td>
                      {admin && <td>{task.submitter}</td>}
                      <td>{task.site ? <Link href={`/sites/${task.site}`}>{task.site}</Link> : '—'}</td>
                      <td>{formatDate(task.creation_time)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <div className="pager">
                <button
                  type="button"
                  disabled={pages.length === 0}
                  onClick={() => setPages(pages.slice(0, -1))}
                >
                  Previous
                </button>
                <button
                  type="button"
                  disabled={!t.next_page_token}
                  onClick={() => setPages([...pages, t.next_page_token as string])}
                >
                  Next
                </button>
              </div>
            </>
          )}
        </Loaded>
      )}
    </section>
  );
}
