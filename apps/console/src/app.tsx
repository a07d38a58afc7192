import { useEffect, useState, type ReactElement } from 'react';
import { Link, Redirect, Route, Switch, useLocation } from 'wouter';
import { whenTokenExpires } from './api';
import { stopLive } from './live';
import { AdminPage } from './pages/admin-page';
import { MapPage } from './pages/map-page';
import { RegisterPage } from './pages/register-page';
import { SignInPage } from './pages/sign-in-page';
import { EditSitePage, SitePage } from './pages/site-page';
import { TaskPage } from './pages/task-page';
import { TasksPage } from './pages/tasks-page';
import { principal, signOut } from './session';

export function App() {
  const [, setVersion] = useState(0);
  const [location, navigate] = useLocation();
  const me = principal();
  const refresh = () => setVersion((v) => v + 1);

  useEffect(() => {
    whenTokenExpires(() => {
      refresh();
      navigate('/sign-in');
    });
  }, [navigate]);

  // Move focus to the page's heading after navigation, so keyboard and screen-reader users start there.
  useEffect(() => {
    const heading = document.querySelector<HTMLElement>('main h1');
    if (!heading) return;
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }, [location]);

  const signedIn = (page: ReactElement) => (me ? page : <Redirect to="/sign-in" />);
  const nav = (href: string, label: string) => (
    <Link href={href} aria-current={location === href ? 'page' : undefined}>
      {label}
    </Link>
  );

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          <img src="/favicon.svg" alt="" width="24" height="24" /> Constellation
        </Link>
        <nav aria-label="Main">
          {nav('/', 'Network')}
          {me && nav('/tasks', 'Tasks')}
          {me && me.role !== 'submitter' && nav('/register', 'Register a site')}
          {me?.role === 'admin' && nav('/admin', 'Admin')}
        </nav>
        <div className="who">
          {me ? (
            <>
              <span>
                {me.name} <small>({me.role})</small>
              </span>
              <button
                type="button"
                onClick={() => {
                  stopLive();
                  signOut();
                  refresh();
                  navigate('/');
                }}
              >
                Sign out
              </button>
            </>
          ) : (
            <Link href="/sign-in">Sign in</Link>
          )}
        </div>
      </header>
      <main id="main">
        <Switch>
          <Route path="/">
            <MapPage />
          </Route>
          <Route path="/sign-in">
            <SignInPage onSignedIn={refresh} />
          </Route>
          <Route path="/sites/:slug/edit">{(p) => signedIn(<EditSitePage slug={p.slug} />)}</Route>
          <Route path="/sites/:slug">{(p) => signedIn(<SitePage slug={p.slug} />)}</Route>
          <Route path="/tasks">{signedIn(<TasksPage />)}</Route>
          <Route path="/tasks/:id">{(p) => signedIn(<TaskPage id={p.id} />)}</Route>
          <Route path="/register">{signedIn(<RegisterPage />)}</Route>
          <Route path="/admin">{signedIn(<AdminPage />)}</Route>
          <Route>
            <section>
              <h1>Not found</h1>
              <p>
                No page here. <Link href="/">Back to the Network</Link>
              </p>
            </section>
          </Route>
        </Switch>
      </main>
    </>
  );
}
