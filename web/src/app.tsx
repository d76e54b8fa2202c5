import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Session } from './api';
import { apiOnce } from './early';
import { href, useRoute } from './route';
import { ErrorNote, Field } from './ui';
import { LiveFeedProvider } from './live';
import { OverviewPage } from './pages/overview';
import { MessagesPage } from './pages/messages';
import { MessagePage } from './pages/message';
import { TemplatesPage } from './pages/templates';
import { SuppressionsPage } from './pages/suppressions';
import { WebhooksPage } from './pages/webhooks';
import { SettingsPage } from './pages/settings';
import { ParkedCallbacksPage } from './pages/parked-callbacks';

const NAVIGATION = [
  ['overview', 'Overview'],
  ['messages', 'Messages'],
  ['templates', 'Templates'],
  ['suppressions', 'Suppressions'],
  ['webhooks', 'Webhooks'],
  ['settings', 'Settings'],
] as const;

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  useEffect(() => {
    apiOnce<Session>('/session').then(setSession, () => setSession(null));
  }, []);
  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null) return <SignIn onSignedIn={setSession} />;
  return <SignedIn session={session} onSession={setSession} />;
}

function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [mode, setMode] = useState<'app' | 'admin'>('app');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const body = mode === 'app' ? { apiKey: form.get('apiKey'), apiSecret: form.get('apiSecret') } : { adminToken: form.get('adminToken') };
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await api<Session>('/session', { method: 'POST', body }));
    } catch (caught) {
      setError(caught as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>Sign in to the WhatsApp notifications dashboard</h1>
      <div role="tablist" aria-label="Sign in as" class="tabs">
        <button role="tab" type="button" aria-selected={mode === 'app'} onClick={() => setMode('app')}>
          App
        </button>
        <button role="tab" type="button" aria-selected={mode === 'admin'} onClick={() => setMode('admin')}>
          Admin
        </button>
      </div>
      <form onSubmit={submit} class="card" aria-label={mode === 'app' ? 'Sign in with an app' : 'Sign in as the admin'}>
        {mode === 'app' ? (
          <>
            <Field label="API key">
              <input name="apiKey" autoComplete="username" required />
            </Field>
            <Field label="API secret">
              <input name="apiSecret" type="password" autoComplete="current-password" required />
            </Field>
          </>
        ) : (
          <Field label="Admin token">
            <input name="adminToken" type="password" autoComplete="current-password" required />
          </Field>
        )}
        <ErrorNote error={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

function SignedIn({ session, onSession }: { session: Session; onSession: (session: Session | null) => void }) {
  const route = useRoute();
  const [page, ...rest] = route.path.length ? route.path : ['overview'];
  const signOut = async () => {
    await api('/session', { method: 'DELETE' }).catch(() => undefined);
    onSession(null);
  };
  const links = session.kind === 'admin' ? [...NAVIGATION, ['parked-callbacks', 'Parked callbacks'] as const] : NAVIGATION;
  const appKey = session.app?.id ?? 'none';
  return (
    <LiveFeedProvider key={appKey} enabled={session.app !== null}>
      <a class="skip" href="#main" onClick={(event) => (event.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">WhatsApp notifications</span>
        {session.kind === 'admin' ? <AppChooser session={session} onSession={onSession} /> : <span class="app-name">{session.app?.name}</span>}
        <button type="button" class="link-button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <nav aria-label="Dashboard">
        <ul>
          {links.map(([path, label]) => (
            <li key={path}>
              <a href={href(path)} aria-current={page === path || (page === 'message' && path === 'messages') ? 'page' : undefined}>
                {label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1} key={`${appKey}/${route.path.join('/')}`}>
        {session.app === null && page !== 'parked-callbacks' ? (
          <p>No app to show yet: create one with POST /admin/apps, then choose it above.</p>
        ) : (
          <Page page={page} rest={rest} query={route.query} admin={session.kind === 'admin'} />
        )}
      </main>
    </LiveFeedProvider>
  );
}

function Page({ page, rest, query, admin }: { page: string; rest: string[]; query: URLSearchParams; admin: boolean }) {
  switch (page) {
    case 'overview':
      return <OverviewPage query={query} />;
    case 'messages':
      return <MessagesPage query={query} />;
    case 'message':
      return <MessagePage messageId={rest[0] ?? ''} />;
    case 'templates':
      return <TemplatesPage />;
    case 'suppressions':
      return <SuppressionsPage />;
    case 'webhooks':
      return <WebhooksPage endpointId={rest[0]} />;
    case 'settings':
      return <SettingsPage />;
    case 'parked-callbacks':
      return admin ? <ParkedCallbacksPage /> : <p>Only the admin sees the parked callbacks.</p>;
    default:
      return <p>No such page. Choose one above.</p>;
  }
}

function AppChooser({ session, onSession }: { session: Session; onSession: (session: Session) => void }) {
  const [apps, setApps] = useState<{ id: string; name: string }[]>([]);
  const [error, setError] = useState<Error>();
  useEffect(() => {
    api<{ data: { id: string; name: string }[] }>('/admin/apps').then((list) => setApps(list.data), setError);
  }, []);
  const choose = async (appId: string) => {
    try {
      onSession(await api<Session>('/session/app', { method: 'PUT', body: { appId } }));
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new Error(String(caught)));
    }
  };
  return (
    <span class="app-chooser">
      <label>
        App{' '}
        <select value={session.app?.id ?? ''} onChange={(event) => choose((event.currentTarget as HTMLSelectElement).value)}>
          {session.app === null ? <option value="">Choose an app</option> : null}
          {apps.map((app) => (
            <option key={app.id} value={app.id}>
              {app.name}
            </option>
          ))}
        </select>
      </label>
      <ErrorNote error={error} />
    </span>
  );
}
