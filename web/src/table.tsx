import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/** One column: its header (the name a screen reader gives each of its cells) and what a row shows in it. */
export interface Column<T> {
  header: string;
  cell: (row: T) => ComponentChildren;
  /** Counts: aligned right, in figures of one width. */
  numeric?: boolean;
}

/** A list read page by page: the first page, then "More" while the service has a next one. */
export interface PagedRows<T> {
  /** Undefined until the first page is read. */
  rows?: T[];
  error?: Error;
  /** Reading the first page, or again after a change. */
  loading: boolean;
  /** Reading the next page; the rows shown stay. */
  loadingMore: boolean;
  /** Adds the next page's rows below; absent on the last page. */
  more?: () => void;
  /** Reads the first page again (after a change made on the page, or a missed live update). */
  reload: () => void;
  /** Changes the rows shown in place (live updates), keeping the place in the list. */
  update: (change: (rows: T[]) => T[]) => void;
}

/** A page of a list as the API answers it; lists that are never paged have no nextCursor. */
export interface ListAnswer<T> {
  data: T[];
  nextCursor?: string | null;
}

/**
 * Reads a keyset-paged list: `load(undefined)` is the first page, `load(cursor)` the page after.
 * The first page is read again when `deps` change; an answer to an older read is dropped, so a
 * "More" still in flight never adds rows to a list read again meanwhile.
 */
export function usePagedRows<T>(load: (cursor?: string) => Promise<ListAnswer<T>>, deps: unknown[]): PagedRows<T> {
  const [state, setState] = useState<{ rows?: T[]; nextCursor: string | null; error?: Error; loading: boolean; loadingMore: boolean }>({
    nextCursor: null,
    loading: true,
    loadingMore: false,
  });
  const [tick, setTick] = useState(0);
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const mine = ++generation.current;
    setState((previous) => ({ ...previous, error: undefined, loading: true, loadingMore: false }));
    load().then(
      (page) => mine === generation.current && setState({ rows: page.data, nextCursor: page.nextCursor ?? null, loading: false, loadingMore: false }),
      (error: Error) => mine === generation.current && setState((previous) => ({ ...previous, error, loading: false })),
    );
  }, [...deps, tick]);

  // The state as last rendered, for "More": read outside setState, whose updaters must not start work.
  const current = useRef(state);
  current.current = state;
  const more = useCallback(() => {
    const { nextCursor, loading, loadingMore } = current.current;
    if (!nextCursor || loading || loadingMore) return;
    const mine = generation.current;
    // A second click before the next render finds it busy already.
    current.current = { ...current.current, loadingMore: true };
    setState((previous) => ({ ...previous, error: undefined, loadingMore: true }));
    loadRef.current(nextCursor).then(
      (page) =>
        mine === generation.current &&
        setState((previous) => ({ ...previous, rows: [...(previous.rows ?? []), ...page.data], nextCursor: page.nextCursor ?? null, loadingMore: false })),
      (error: Error) => mine === generation.current && setState((previous) => ({ ...previous, error, loadingMore: false })),
    );
  }, []);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  const update = useCallback((change: (rows: T[]) => T[]) => setState((previous) => (previous.rows ? { ...previous, rows: change(previous.rows) } : previous)), []);

  return {
    rows: state.rows,
    error: state.error,
    loading: state.loading,
    loadingMore: state.loadingMore,
    more: state.nextCursor ? more : undefined,
    reload,
    update,
  };
}

export interface TableProps<T> {
  /** What the table lists, e.g. "Messages, newest first": its accessible name, not shown. */
  caption: string;
  columns: readonly Column<T>[];
  /** Undefined while the first rows are read. */
  rows?: readonly T[];
  rowKey: (row: T) => string;
  /** Attributes of a row's <tr> (data-* ids, aria-current). */
  rowAttributes?: (row: T) => Record<string, string | undefined>;
  /** Said in place of the table when there is no row. */
  empty: string;
  /** The rows are being read again: the table says it is busy. */
  loading?: boolean;
  class?: string;
  /** Keyset paging, from usePagedRows. */
  paging?: Pick<PagedRows<T>, 'more' | 'loadingMore'>;
  /** Ends the "More" button's accessible name: "More messages". */
  moreOf?: string;
}

/**
 * The dashboard's one table: a caption, column headers with their scope, one row per item; the
 * empty state said in words instead of an empty grid; and "More" under it, which adds the next
 * page's rows below those already read (keyset paging: no row twice, none skipped).
 */
export function Table<T>(props: TableProps<T>) {
  const { caption, columns, rows, rowKey, rowAttributes, empty, loading = false, paging } = props;
  if (!rows) return loading ? <p class="loading">Loading…</p> : null;
  if (rows.length === 0) return <p class="empty">{empty}</p>;
  return (
    <>
      <table class={props.class} aria-busy={loading}>
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column.header} class={column.numeric ? 'number' : undefined}>
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} {...rowAttributes?.(row)}>
              {columns.map((column) => (
                <td key={column.header} class={column.numeric ? 'number' : undefined}>
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {paging?.more ? (
        <p class="more">
          <button type="button" onClick={paging.more} disabled={paging.loadingMore} aria-busy={paging.loadingMore}>
            More{props.moreOf ? <span class="visually-hidden"> {props.moreOf}</span> : null}
          </button>
        </p>
      ) : null}
    </>
  );
}
