import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import { BASE, type Message } from './api';

type LiveListener = (event: { type: 'messages'; messages: Message[] } | { type: 'resync' }) => void;

interface LiveFeed {
  connected: boolean;
  listen(listener: LiveListener): () => void;
}

const LiveFeedContext = createContext<LiveFeed>({ connected: false, listen: () => () => undefined });

/**
 * One server-sent event stream per signed-in page: the server pushes changed messages as the
 * service records them; the browser never asks in a loop. EventSource reconnects by itself, and a
 * reconnection reads the page again (changes may have been missed meanwhile).
 */
export function LiveFeedProvider({ enabled, children }: { enabled: boolean; children: ComponentChildren }) {
  const listeners = useRef(new Set<LiveListener>());
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    if (!enabled) return;
    const source = new EventSource(`${BASE}/events`);
    let opened = false;
    const emit = (event: Parameters<LiveListener>[0]) => listeners.current.forEach((listener) => listener(event));
    source.addEventListener('ready', () => {
      setConnected(true);
      if (opened) emit({ type: 'resync' });
      opened = true;
    });
    source.addEventListener('messages', (event) => emit({ type: 'messages', messages: JSON.parse((event as MessageEvent<string>).data) as Message[] }));
    source.addEventListener('resync', () => emit({ type: 'resync' }));
    source.onerror = () => setConnected(false);
    return () => source.close();
  }, [enabled]);
  const feed = useRef<LiveFeed>({ connected, listen: (listener) => (listeners.current.add(listener), () => listeners.current.delete(listener)) });
  feed.current = { ...feed.current, connected };
  return <LiveFeedContext.Provider value={feed.current}>{children}</LiveFeedContext.Provider>;
}

export function useLive(listener: LiveListener, deps: unknown[]): boolean {
  const feed = useContext(LiveFeedContext);
  useEffect(() => feed.listen(listener), deps);
  return feed.connected;
}

export function LiveIndicator({ connected }: { connected: boolean }) {
  return (
    <p class={`live ${connected ? 'on' : 'off'}`} role="status">
      {connected ? 'Live: statuses update as they change' : 'Live updates: connecting…'}
    </p>
  );
}
