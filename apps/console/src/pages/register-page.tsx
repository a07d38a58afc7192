import { useState, type FormEvent, type ReactNode } from 'react';
import { Link } from 'wouter';
import { api, ApiError } from '../api';
import { ErrorBox } from '../components/common';
import {
  credentialFields,
  EMPTY_SITE_FORM,
  errorsByField,
  siteToForm,
  toSiteDocument,
  type SiteForm,
} from '../site-form';
import type { Site } from '../types';

const RUNTIMES = ['docker', 'singularity', 'apptainer', 'none'];

/**
 * A provider registers a site (it waits, pending, for an admin), or edits one it owns with `existing`
 * (credentials typed here replace the stored ones: that is how they are rotated). Each 400's field errors
 * sit by their fields, and nothing typed is lost.
 */
export function RegisterPage({ existing }: { existing?: Site }) {
  const [form, setForm] = useState<SiteForm>(existing ? siteToForm(existing) : EMPTY_SITE_FORM);
  const [errors, setErrors] = useState<ReturnType<typeof errorsByField>>({});
  const [failure, setFailure] = useState<unknown>();
  const [created, setCreated] = useState<Site>();
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof SiteForm>(k: K, v: SiteForm[K]) => setForm((f) => ({ ...f, [k]: v }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(undefined);
    const parsed = toSiteDocument(form);
    if (parsed.errors.length > 0) return setErrors(errorsByField(parsed.errors));
    setBusy(true);
    try {
      if (existing) {
        // The slug is fixed once created.
        const { slug: _slug, ...changes } = parsed.document;
        setCreated(await api<Site>(`/api/v1/sites/${existing.id}`, { method: 'PATCH', body: changes }));
      } else setCreated(await api<Site>('/api/v1/sites', { method: 'POST', body: parsed.document }));
      setErrors({});
    } catch (err) {
      setErrors(err instanceof ApiError ? errorsByField(err.errors) : {});
      setFailure(err);
    } finally {
      setBusy(false);
    }
  };

  if (created)
    return (
      <section className="narrow">
        <h1>{existing ? 'Site saved' : 'Site registered'}</h1>
        <p role="status">
          <strong>{created.display_name}</strong> (<code>{created.slug}</code>) is{' '}
          <strong>{created.admin_state}</strong>: an admin approves it before it takes tasks.
        </p>
        <p>
          <Link href={`/sites/${created.slug}`}>Open the site page</Link>
        </p>
      </section>
    );

  const field = (name: keyof SiteForm, label: string, input: ReactNode, help?: string) => (
    <div className={`field${errors[name] ? ' invalid' : ''}`}>
      <label htmlFor={`f-${name}`}>{label}</label>
      {input}
      {help && <span className="hint">{help}</span>}
      {errors[name] && (
        <span className="field-error" id={`e-${name}`} role="alert">
          {errors[name]}
        </span>
      )}
    </div>
  );
  const text = (name: keyof SiteForm, type = 'text') => (
    <input
      id={`f-${name}`}
      name={name}
      type={type}
      value={form[name] as string}
      onChange={(e) => set(name, e.target.value as never)}
      aria-invalid={errors[name] ? true : undefined}
      aria-describedby={errors[name] ? `e-${name}` : undefined}
      autoComplete="off"
    />
  );

  return (
    <section>
      <h1>{existing ? `Edit ${existing.display_name}` : 'Register a site'}</h1>
      {existing && (
        <p className="hint">
          Credentials are never shown: leave them empty to keep them, or type new ones to rotate them.
          Changing the URL or kind sends an approved site back to pending.
        </p>
      )}
      <form className="site-form" onSubmit={submit} noValidate>
        <fieldset>
          <legend>Identity</legend>
          {!existing && field('slug', 'Slug', text('slug'), 'a-z, 0-9 and -; fixed once created')}
          {field('display_name', 'Display name', text('display_name'), 'shown on the map')}
          {field('country', 'Country', text('country'), 'ISO 3166-1 alpha-2, e.g. DE')}
          {field('latitude', 'Latitude', text('latitude'))}
          {field('longitude', 'Longitude', text('longitude'))}
        </fieldset>
        <fieldset>
          <legend>Endpoint</legend>
          {field(
            'kind',
            'Kind',
            <select
              id="f-kind"
              value={form.kind}
              onChange={(e) => set('kind', e.target.value as SiteForm['kind'])}
            >
              <option value="pulsar-rest">Pulsar (REST)</option>
              <option value="pulsar-amqp">Pulsar (AMQP)</option>
              <option value="tes">GA4GH TES</option>
            </select>,
          )}
          {field(
            'url',
            'URL',
            text('url'),
            form.kind === 'pulsar-amqp'
              ? 'amqp(s)://… with vhost, or empty for the broker’s AMQP_URL'
              : 'http(s)://…',
          )}
          {form.kind !== 'tes' && field('pulsar_manager', 'Pulsar manager', text('pulsar_manager'))}
          {credentialFields(form.kind).map((k) =>
            field(
              k,
              k === 'token'
                ? form.kind === 'tes'
                  ? 'Bearer token'
                  : 'Private token'
                : k === 'username'
                  ? 'User'
                  : 'Password',
              text(k, k === 'username' ? 'text' : 'password'),
              'write-only: never shown again',
            ),
          )}
        </fieldset>
        <fieldset>
          <legend>Capacity</legend>
          {field('max_concurrent_tasks', 'Concurrent tasks', text('max_concurrent_tasks'))}
          {field('cores', 'Total cores', text('cores'))}
          {field('memory_gib', 'Total memory (GiB)', text('memory_gib'))}
          {field('per_task_cores', 'Cores per task', text('per_task_cores'))}
          {field('per_task_memory_gib', 'Memory per task (GiB)', text('per_task_memory_gib'))}
          <div
            className={`field${errors.runtimes ? ' invalid' : ''}`}
            role="group"
            aria-labelledby="runtimes-label"
          >
            <span id="runtimes-label">Runtimes</span>
            <div className="checks">
              {RUNTIMES.map((r) => (
                <label key={r}>
                  <input
                    type="checkbox"
                    checked={form.runtimes.includes(r)}
                    onChange={(e) =>
                      set(
                        'runtimes',
                        e.target.checked ? [...form.runtimes, r] : form.runtimes.filter((x) => x !== r),
                      )
                    }
                  />
                  {r}
                </label>
              ))}
            </div>
            {errors.runtimes && <span className="field-error">{errors.runtimes}</span>}
          </div>
        </fieldset>
        {errors[''] && <p className="field-error">{errors['']}</p>}
        {failure !== undefined && Object.keys(errors).length === 0 && <ErrorBox error={failure} />}
        {Object.keys(errors).length > 0 && (
          <p className="error" role="alert">
            The site was not registered: correct the fields marked below their input.
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {existing ? 'Save' : 'Register'}
        </button>
      </form>
    </section>
  );
}
