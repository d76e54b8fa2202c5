import { useState } from 'preact/hooks';
import { api } from '../api';
import { formatTime } from '../format';
import { href } from '../route';
import { ErrorNote, Field, isNotFound, PageTitle, useAction, useLoad } from '../ui';

interface Provider {
  provider: string;
  enabled: boolean;
  config: { API_KEY?: string; SOURCE?: string; SRC_NAME?: string };
  callbackUrl: string;
  acceptLegacyCallbackUrl?: boolean;
  enforceSessionWindow?: boolean;
  paused?: { since: string; code: string; reason: string } | null;
  updatedAt?: string;
}

const ROUTE = '/v3/channels/whatsapp/providers/gupshup_whatsapp';

export function SettingsPage() {
  const provider = useLoad(() => api<Provider>(ROUTE), []);
  const action = useAction();
  const [notice, setNotice] = useState<string>();
  const configured = provider.data;
  const notConfigured = isNotFound(provider.error);

  const save = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const config: Record<string, string> = {};
    for (const key of ['API_KEY', 'SOURCE', 'SRC_NAME']) {
      const value = String(form.get(key) ?? '').trim();
      if (value) config[key] = value;
    }
    const body = {
      enabled: form.get('enabled') === 'on',
      config,
      acceptLegacyCallbackUrl: form.get('acceptLegacyCallbackUrl') === 'on',
      enforceSessionWindow: form.get('enforceSessionWindow') === 'on',
    };
    await action.run(async () => {
      provider.set(await api<Provider>(ROUTE, { method: 'PUT', body }));
      setNotice('Provider saved.');
    });
  };
  const rotate = () =>
    action.run(async () => {
      const { callbackUrl } = await api<{ callbackUrl: string }>(`${ROUTE}/rotate-callback-token`, { method: 'POST' });
      if (configured) provider.set({ ...configured, callbackUrl });
      setNotice('Callback token rotated: set the new callback URL in Gupshup. The previous one keeps working for the grace period.');
    });
  const [resuming, setResuming] = useState(false);
  const resume = () =>
    action.run(async () => {
      setResuming(true);
      try {
        const { lifted } = await api<{ resumed: boolean; lifted: Provider['paused'] }>(`${ROUTE}/resume`, { method: 'POST' });
        setNotice(lifted ? `Dispatch resumed: the messages held since ${formatTime(lifted.since)} are being sent.` : 'Dispatch was not paused: nothing to resume.');
        provider.reload();
      } finally {
        setResuming(false);
      }
    });

  return (
    <>
      <PageTitle>Settings</PageTitle>
      <ErrorNote error={(notConfigured ? undefined : provider.error) ?? action.error} />
      {notice ? <p role="status">{notice}</p> : null}
      <section aria-labelledby="provider">
        <h2 id="provider">Provider: gupshup_whatsapp</h2>
        {notConfigured ? <p class="empty">Not configured yet: enter the Gupshup credentials below.</p> : null}
        {configured ? (
          <dl class="facts">
            <dt>Enabled</dt>
            <dd>{configured.enabled ? 'yes' : 'no'}</dd>
            <dt>API key</dt>
            <dd>{configured.config.API_KEY ?? '–'}</dd>
            <dt>Source number</dt>
            <dd>{configured.config.SOURCE ?? '–'}</dd>
            <dt>App name (SRC_NAME)</dt>
            <dd>{configured.config.SRC_NAME ?? '–'}</dd>
            <dt>Callbacks without the token</dt>
            <dd>{configured.acceptLegacyCallbackUrl ? 'accepted (the old callback URL still works)' : 'refused'}</dd>
            <dt>24-hour session window</dt>
            <dd>{configured.enforceSessionWindow ? 'enforced: messages other than templates go only to numbers that wrote in the last 24 hours' : 'not enforced'}</dd>
          </dl>
        ) : null}
      </section>
      {configured ? (
        <section aria-labelledby="dispatch">
          <h2 id="dispatch">Dispatch</h2>
          {configured.paused ? (
            <>
              <p class="warning" role="alert">
                Paused since {formatTime(configured.paused.since)}: Gupshup answered {configured.paused.code}, {configured.paused.reason.replace(/[.\s]+$/, '')}. The
                app's messages stay queued, none lost and none sent, until dispatch is resumed.
              </p>
              <p>
                Fix the cause at Gupshup first (top up the wallet, wait out the rate limit), then resume: the held messages are sent.{' '}
                <a href={href('messages', { status: 'queued' })}>Held messages</a>
              </p>
              <button type="button" onClick={resume} disabled={resuming}>
                Resume dispatch
              </button>
            </>
          ) : (
            <p>Running: messages are sent as they are queued.</p>
          )}
        </section>
      ) : null}
      {configured ? (
        <section aria-labelledby="callback">
          <h2 id="callback">Callback URL</h2>
          <Field label="Callback URL" hint="Set it as the Gupshup app's callback URL. It holds a secret token.">
            <input readOnly value={configured.callbackUrl} class="wide" onFocus={(event) => (event.currentTarget as HTMLInputElement).select()} />
          </Field>
          <button type="button" onClick={rotate}>
            Rotate callback token
          </button>
        </section>
      ) : null}
      {configured || notConfigured ? (
        <form class="card" onSubmit={save} aria-labelledby="provider-form">
          <h2 id="provider-form">Change the provider</h2>
          <label class="check">
            <input type="checkbox" name="enabled" defaultChecked={configured?.enabled ?? true} /> Enabled
          </label>
          <Field label="Gupshup API key" hint={configured?.config.API_KEY ? `Leave empty to keep ${configured.config.API_KEY}` : undefined}>
            <input name="API_KEY" type="password" autoComplete="off" />
          </Field>
          <Field label="Source number (SOURCE)">
            <input name="SOURCE" defaultValue={configured?.config.SOURCE ?? ''} />
          </Field>
          <Field label="App name (SRC_NAME)">
            <input name="SRC_NAME" defaultValue={configured?.config.SRC_NAME ?? ''} />
          </Field>
          <label class="check">
            <input type="checkbox" name="acceptLegacyCallbackUrl" defaultChecked={configured?.acceptLegacyCallbackUrl ?? false} /> Accept callbacks on the old
            callback URL, without its token (only while moving an older Gupshup app to the new URL: anyone who knows the API key could post them)
          </label>
          <label class="check">
            <input type="checkbox" name="enforceSessionWindow" defaultChecked={configured?.enforceSessionWindow ?? false} /> Send messages other than
            templates only to numbers that wrote in the last 24 hours (others are discarded as outside_session_window, without calling Gupshup)
          </label>
          <button type="submit">Save provider</button>
        </form>
      ) : null}
    </>
  );
}
