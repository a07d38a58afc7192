import { useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { api, fieldErrors } from '../api';
import { ErrorBox, Loaded } from '../components/common';
import { PendingSelfTest } from '../components/self-test';
import { SiteActions } from '../components/site-actions';
import { formatDate } from '../format';
import type { Site } from '../types';
import { useResource } from '../use-resource';
import { useLiveReload } from '../live';

interface PrincipalRow {
  id: string;
  name: string;
  role: string;
  max_running_tasks: number | null;
  share_weight: number;
  created_at: string;
}

/** Admin work: sites waiting for approval, principals with their quotas, and new tokens. */
export function AdminPage() {
  const pending = useResource(
    () => api<{ sites: Site[] }>('/api/v1/sites?admin_state=pending&page_size=200'),
    'pending',
    60_000,
  );
  // A site registered, approved or refused anywhere changes the list of those waiting.
  useLiveReload((e) => e.type === 'site', pending.reload, 'pending', 5000);
  const principals = useResource(
    () => api<{ principals: PrincipalRow[] }>('/api/v1/principals?page_size=500'),
    'principals',
  );
  return (
    <section>
      <h1>Administration</h1>
      <h2>Sites waiting for approval</h2>
      <Loaded resource={pending}>
        {(p) =>
          p.sites.length === 0 ? (
            <p>No site is waiting.</p>
          ) : (
            <ul className="pending">
              {p.sites.map((s) => (
                <li key={s.id} className="card" data-pending={s.slug}>
                  <h3>
                    <Link href={`/sites/${s.slug}`}>{s.display_name}</Link> <small>{s.slug}</small>
                  </h3>
                  <p>
                    {s.kind} · {s.country} · {s.capacity.max_concurrent_tasks} concurrent tasks · registered{' '}
                    {formatDate(s.created_at)}
                  </p>
                  <PendingSelfTest site={s} />
                  <SiteActions site={s} onDone={pending.reload} />
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      <h2>Principals</h2>
      <Loaded resource={principals}>
        {(p) => (
          <table className="data">
            <caption className="visually-hidden">Principals</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col" className="num">
                  Quota (running) · share weight
                </th>
                <th scope="col">Created</th>
                <th scope="col">Token</th>
              </tr>
            </thead>
            <tbody>
              {p.principals.map((r) => (
                <tr key={r.id}>
                  <td>{r.name}</td>
                  <td>{r.role}</td>
                  <td className="num">
                    <Quota principal={r} onSaved={principals.reload} />
                  </td>
                  <td>{formatDate(r.created_at)}</td>
                  <td>
                    <IssueToken principal={r} />
                    <Tokens principal={r} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
      <NewPrincipal onCreated={principals.reload} />
    </section>
  );
}

function IssueToken({ principal }: { principal: PrincipalRow }) {
  const [issued, setIssued] = useState<string>();
  const [error, setError] = useState<unknown>();
  const issue = async () => {
    try {
      const t = await api<{ token: string }>(`/api/v1/principals/${principal.id}/tokens`, {
        method: 'POST',
        body: { description: 'issued in the console' },
      });
      setIssued(t.token);
    } catch (e) {
      setError(e);
    }
  };
  if (issued) return <ShownOnce token={issued} />;
  return (
    <>
      <button type="button" onClick={issue} aria-label={`Issue a token for ${principal.name}`}>
        Issue
      </button>
      {error !== undefined && <ErrorBox error={error} />}
    </>
  );
}

/** A new token, shown this once (the broker keeps only its hash), with a copy button. */
function ShownOnce({ token }: { token: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="token-once">
      <code>{token}</code>
      <button
        type="button"
        onClick={() =>
          navigator.clipboard?.writeText(token).then(
            () => setCopied(true),
            () => undefined,
          )
        }
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
      <span className="hint">Shown once: copy it now.</span>
    </div>
  );
}

function NewPrincipal({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState('submitter');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>();
  const [token, setToken] = useState<string>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    setError(undefined);
    try {
      const res = await api<{ token: { token: string } | null }>('/api/v1/principals', {
        method: 'POST',
        body: { name, role },
      });
      setToken(res.token?.token);
      setName('');
      onCreated();
    } catch (err) {
      setErrors(fieldErrors(err));
      setError(err);
    }
  };
  return (
    <form className="inline-form" onSubmit={submit}>
      <h2>New principal</h2>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} aria-invalid={!!errors.name} />
        {errors.name && <span className="field-error">{errors.name}</span>}
      </label>
      <label>
        Role
        <select value={role} onChange={(e) => setRole(e.target.value)}>
          <option>submitter</option>
          <option>provider</option>
          <option>admin</option>
        </select>
      </label>
      <button type="submit" className="primary">
        Create
      </button>
      {error !== undefined && Object.keys(errors).length === 0 && <ErrorBox error={error} />}
      {token && <ShownOnce token={token} />}
    </form>
  );
}

/** Quota (most running tasks; empty for no limit) and fair-share weight, saved with PATCH. */
function Quota({ principal, onSaved }: { principal: PrincipalRow; onSaved: () => void }) {
  const [quota, setQuota] = useState(principal.max_running_tasks?.toString() ?? '');
  const [weight, setWeight] = useState(principal.share_weight.toString());
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    setError(undefined);
    setSaved(false);
    try {
      await api(`/api/v1/principals/${principal.id}`, {
        method: 'PATCH',
        body: {
          max_running_tasks: quota.trim() === '' ? null : asNumber(quota),
          share_weight: asNumber(weight),
        },
      });
      setSaved(true);
      onSaved();
    } catch (err) {
      setErrors(fieldErrors(err));
      setError(err);
    }
  };
  return (
    <form className="quota" onSubmit={save}>
      <label>
        <span className="visually-hidden">Quota of {principal.name}</span>
        <input
          inputMode="numeric"
          size={5}
          placeholder="none"
          value={quota}
          onChange={(e) => setQuota(e.target.value)}
          aria-invalid={errors.max_running_tasks ? true : undefined}
        />
      </label>
      <label>
        <span className="visually-hidden">Share weight of {principal.name}</span>
        <input
          inputMode="decimal"
          size={4}
          value={weight}
          onChange={(e) => setWeight(e.target.value)}
          aria-invalid={errors.share_weight ? true : undefined}
        />
      </label>
      <button type="submit" aria-label={`Save quota and weight of ${principal.name}`}>
        Save
      </button>
      {saved && <span className="hint">saved</span>}
      {Object.entries(errors).map(([path, reason]) => (
        <span key={path} className="field-error">
          {path}: {reason}
        </span>
      ))}
      {error !== undefined && Object.keys(errors).length === 0 && <ErrorBox error={error} />}
    </form>
  );
}

interface TokenRow {
  id: string;
  description: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** A principal's tokens (never the tokens themselves), each revocable. */
function Tokens({ principal }: { principal: PrincipalRow }) {
  const [open, setOpen] = useState(false);
  const [tokens, setTokens] = useState<TokenRow[]>();
  const [error, setError] = useState<unknown>();
  const load = async () => {
    try {
      setTokens((await api<{ tokens: TokenRow[] }>(`/api/v1/principals/${principal.id}/tokens`)).tokens);
    } catch (e) {
      setError(e);
    }
  };
  const revoke = async (id: string) => {
    try {
      await api(`/api/v1/tokens/${id}/revoke`, { method: 'POST' });
      await load();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <details
      className="tokens"
      open={open}
      onToggle={(e) => {
        const isOpen = (e.currentTarget as HTMLDetailsElement).open;
        setOpen(isOpen);
        if (isOpen) void load();
      }}
    >
      <summary>Tokens</summary>
      {error !== undefined && <ErrorBox error={error} />}
      {tokens === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <ul className="plain">
          {tokens.map((t) => (
            <li key={t.id}>
              {t.description || 'token'} · created {formatDate(t.created_at)} · last used{' '}
              {formatDate(t.last_used_at)}{' '}
              {t.revoked_at ? (
                <strong>revoked {formatDate(t.revoked_at)}</strong>
              ) : (
                <button type="button" className="danger" onClick={() => revoke(t.id)}>
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </details>
  );
}

/** A number when the text is one; else the text itself, for the API to refuse with its field error. */
export function asNumber(text: string): number | string {
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}
