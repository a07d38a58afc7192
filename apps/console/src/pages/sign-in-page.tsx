import { useState, type FormEvent } from 'react';
import { useLocation } from 'wouter';
import { ApiError } from '../api';
import { ErrorBox } from '../components/common';
import { signIn, signOut, takeNotice, type Principal } from '../session';

/** Paste a token; it is checked against /api/v1/principals/me and kept in this tab's sessionStorage only. */
export function SignInPage({ onSignedIn }: { onSignedIn: () => void }) {
  const [notice] = useState(takeNotice);
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [, navigate] = useLocation();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const t = value.trim();
    if (t === '') return setError(new Error('Paste your API token.'));
    setBusy(true);
    setError(undefined);
    try {
      // Checked before it is kept: a wrong token is never stored.
      const res = await fetch('/api/v1/principals/me', { headers: { Authorization: `Bearer ${t}` } });
      if (res.status === 401)
        throw new ApiError(401, 'UNAUTHENTICATED', 'That token is not valid (or was revoked).');
      if (!res.ok) throw new ApiError(res.status, 'HTTP_' + res.status, res.statusText);
      const me = (await res.json()) as Principal;
      signIn(t, me);
      setValue('');
      onSignedIn();
      navigate('/');
    } catch (err) {
      signOut();
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="narrow">
      <h1>Sign in</h1>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={submit}>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          aria-describedby="token-help"
        />
        <p id="token-help" className="hint">
          Your Constellation token, as an admin issued it. It stays in this browser tab only and is forgotten
          when you sign out or close the tab.
        </p>
        <button type="submit" className="primary" disabled={busy}>
          Sign in
        </button>
      </form>
      {error !== undefined && <ErrorBox error={error} />}
    </section>
  );
}
