/** What a page shows while the service has no such API (an older version answering 404). */
export function NotAvailable({ what, route }: { what: string; route: string }) {
  return (
    <p class="empty" role="status">
      {what} are not available on this service yet: it has no {route} API. Nothing to show.
    </p>
  );
}
