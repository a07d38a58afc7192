/** The signed-in principal as /api/v1/principals/me describes it. */
export interface Principal {
  id: string;
  name: string;
  role: 'admin' | 'provider' | 'submitter';
}

// sessionStorage, never localStorage or a URL: the token lives as long as the tab and leaves with sign-out.
const TOKEN = 'constellation.token';
const PRINCIPAL = 'constellation.principal';
const NOTICE = 'constellation.notice';

export function token(): string | null {
  return sessionStorage.getItem(TOKEN);
}

export function principal(): Principal | null {
  const raw = sessionStorage.getItem(PRINCIPAL);
  return raw === null ? null : (JSON.parse(raw) as Principal);
}

export function signIn(t: string, p: Principal): void {
  sessionStorage.setItem(TOKEN, t);
  sessionStorage.setItem(PRINCIPAL, JSON.stringify(p));
}

/** Forgets the token; `notice` is shown once on the sign-in page (why the user was sent there). */
export function signOut(notice?: string): void {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(PRINCIPAL);
  if (notice) sessionStorage.setItem(NOTICE, notice);
}

export function takeNotice(): string | null {
  const n = sessionStorage.getItem(NOTICE);
  sessionStorage.removeItem(NOTICE);
  return n;
}
