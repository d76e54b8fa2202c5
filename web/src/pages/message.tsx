import { api, type Message } from '../api';
import { formatTime } from '../format';
import { LiveIndicator, useLive } from '../live';
import { href } from '../route';
import { ErrorNote, PageTitle, StatusBadge, useLoad } from '../ui';

export function MessagePage({ messageId }: { messageId: string }) {
  const message = useLoad(() => api<Message>(`/v3/messages/${encodeURIComponent(messageId)}`), [messageId]);
  const connected = useLive(
    (event) => {
      if (event.type === 'resync') return message.reload();
      const fresh = event.messages.find((candidate) => candidate.messageId === messageId);
      if (fresh) message.set(fresh);
    },
    [messageId],
  );
  const m = message.data;
  return (
    <>
      <p>
        <a href={href('messages')}>← Messages</a>
      </p>
      <PageTitle>Message {messageId}</PageTitle>
      <ErrorNote error={message.error} />
      {m ? (
        <>
          <LiveIndicator connected={connected} />
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={m.status} />
            </dd>
            <dt>Recipient</dt>
            <dd>{m.recipient}</dd>
            <dt>Phone number</dt>
            <dd>{m.phoneNumber}</dd>
            <dt>Reason</dt>
            <dd>{m.discardReason ? `${m.discardReason.code}: ${m.discardReason.reason}` : '–'}</dd>
            <dt>Request id</dt>
            <dd>{m.requestId ? <a href={href('messages', { requestId: m.requestId })}>{m.requestId}</a> : '–'}</dd>
            <dt>Gupshup message id</dt>
            <dd>{m.providerMessageId ?? '–'}</dd>
            <dt>Template</dt>
            <dd>{m.template ?? '–'}</dd>
            <dt>Category</dt>
            <dd>{m.category ?? '–'}</dd>
          </dl>
          <h2>Timeline</h2>
          <ol class="timeline" aria-label="Timeline">
            {m.timeline.map((entry, index) => (
              <li key={index} class={`timeline-entry status-${entry.status}`}>
                <StatusBadge status={entry.status} />
                <span class="provider-status">{entry.providerStatus ? `Gupshup: ${entry.providerStatus}` : 'this service'}</span>
                <time dateTime={entry.at} title={entry.at}>
                  {formatTime(entry.at)}
                </time>
                <span class="received">received {formatTime(entry.receivedAt)}</span>
                {entry.code || entry.reason ? <span class="failure">{[entry.code, entry.reason].filter(Boolean).join(': ')}</span> : null}
              </li>
            ))}
          </ol>
        </>
      ) : message.loading ? (
        <p class="loading">Loading…</p>
      ) : null}
    </>
  );
}
