import { useState } from 'react';
import { api } from '../api';
import { principal } from '../session';
import type { Site } from '../types';
import { ErrorBox } from './common';

type Action = 'approve' | 'drain' | 'resume' | 'disable';

/** What the caller may do to the site now; the API decides in the end and its refusal is shown. */
export function availableActions(site: Site, role: string, callerId: string): Action[] {
  const owner = site.owner_id === callerId;
  if (role !== 'admin' && !(role === 'provider' && owner)) return [];
  const out: Action[] = [];
  if (site.admin_state === 'pending' && role === 'admin') out.push('approve');
  if (site.admin_state === 'active') out.push('drain');
  if (site.admin_state === 'draining' || (site.admin_state === 'disabled' && role === 'admin'))
    out.push('resume');
  if (site.admin_state !== 'disabled') out.push('disable');
  return out;
}

const LABEL: Record<Action, string> = {
  approve: 'Approve',
  drain: 'Drain',
  resume: 'Resume',
  disable: 'Disable',
};

export function SiteActions({ site, onDone }: { site: Site; onDone: (s: Site) => void }) {
  const me = principal();
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  if (!me) return null;
  const actions = availableActions(site, me.role, me.id);
  if (actions.length === 0) return null;
  const act = async (a: Action) => {
    setBusy(true);
    setError(undefined);
    try {
      const body = reason.trim() === '' ? undefined : { reason: reason.trim() };
      onDone(await api<Site>(`/api/v1/sites/${site.id}/${a}`, { method: 'POST', body }));
      setReason('');
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="actions">
      <label>
        Reason (optional)
        <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} />
      </label>
      <div className="buttons">
        {actions.map((a) => (
          <button
            key={a}
            type="button"
            disabled={busy}
            className={a === 'disable' ? 'danger' : a === 'approve' ? 'primary' : undefined}
            onClick={() => act(a)}
          >
            {a === 'disable' && site.admin_state === 'pending' ? 'Refuse' : LABEL[a]}
          </button>
        ))}
      </div>
      {error !== undefined && <ErrorBox error={error} />}
    </div>
  );
}
