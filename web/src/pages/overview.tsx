import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { api, queryString } from '../api';
import { percent, utcDay } from '../format';
import { navigate } from '../route';
import { Table, type Column } from '../table';
import { ErrorNote, Field, PageTitle, useLoad } from '../ui';

interface Stats {
  sent: number;
  delivered: number;
  seen: number;
  discarded: number;
  deliveryRate: number | null;
  seenRate: number | null;
}

interface Analytics {
  from: string;
  to: string;
  days: (Stats & { date: string })[];
  totals: Stats;
  breakdown?: (Stats & { value: string | null })[];
}

interface DiscardReasons {
  data: { code: string; reason: string; count: number }[];
}

export function OverviewPage({ query }: { query: URLSearchParams }) {
  const from = query.get('from') ?? utcDay(29);
  const to = query.get('to') ?? utcDay(0);
  const period = queryString({ from, to });
  const loaded = useLoad(
    () =>
      Promise.all([
        api<Analytics>(`/v3/analytics/whatsapp${period}`),
        api<Analytics>(`/v3/analytics/whatsapp${period}&groupBy=template`),
        api<Analytics>(`/v3/analytics/whatsapp${period}&groupBy=category`),
        api<DiscardReasons>(`/v3/analytics/whatsapp/discard-reasons${period}`),
      ]),
    [period],
  );
  const choose = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    navigate('overview', { from: String(form.get('from') ?? ''), to: String(form.get('to') ?? '') });
  };
  const [analytics, byTemplate, byCategory, discards] = loaded.data ?? [];
  return (
    <>
      <PageTitle>Overview</PageTitle>
      <form class="filters" onSubmit={choose} aria-label="Period">
        <Field label="From">
          <input name="from" type="date" value={from} required />
        </Field>
        <Field label="To">
          <input name="to" type="date" value={to} required />
        </Field>
        <div class="actions">
          <button type="submit">Show period</button>
        </div>
      </form>
      <ErrorNote error={loaded.error} />
      {analytics ? (
        <>
          <Funnel totals={analytics.totals} />
          <section aria-labelledby="per-day">
            <h2 id="per-day">Per day</h2>
            <DailyChart days={analytics.days} />
          </section>
          <div class="columns">
            <section aria-labelledby="discards">
              <h2 id="discards">Discard reasons</h2>
              <Table
                caption="Messages discarded in the period, by discard code"
                columns={DISCARD_COLUMNS}
                rows={discards?.data ?? []}
                rowKey={(row) => row.code}
                empty="Nothing was discarded in this period."
              />
            </section>
            <Breakdown title="Per template" id="per-template" rows={byTemplate?.breakdown} none="(no template)" />
            <Breakdown title="Per category" id="per-category" rows={byCategory?.breakdown} none="(no category)" />
          </div>
        </>
      ) : loaded.loading ? (
        <p class="loading">Loading…</p>
      ) : null}
    </>
  );
}

function Funnel({ totals }: { totals: Stats }) {
  const steps = [
    ['Sent', totals.sent],
    ['Delivered', totals.delivered],
    ['Seen', totals.seen],
  ] as const;
  const widest = Math.max(totals.sent, 1);
  return (
    <section aria-labelledby="funnel">
      <h2 id="funnel">Funnel: sent → delivered → seen</h2>
      <ol class="funnel">
        {steps.map(([label, count]) => (
          <li key={label}>
            <span class="funnel-label">{label}</span>
            <span class="funnel-bar" style={{ width: `${Math.max(2, (count / widest) * 100)}%` }} aria-hidden="true" />
            <span class="funnel-count">
              {count} ({percent(count, totals.sent)} of sent)
            </span>
          </li>
        ))}
        <li>
          <span class="funnel-label">Discarded</span>
          <span class="funnel-bar discarded" style={{ width: `${Math.max(2, (totals.discarded / widest) * 100)}%` }} aria-hidden="true" />
          <span class="funnel-count">{totals.discarded}</span>
        </li>
      </ol>
    </section>
  );
}

type BreakdownRow = Stats & { value: string | null };

function Breakdown({ title, id, rows, none }: { title: 'Per template' | 'Per category'; id: string; rows?: BreakdownRow[]; none: string }) {
  const name = title === 'Per template' ? 'Template' : 'Category';
  const columns: Column<BreakdownRow>[] = [{ header: name, cell: (row) => row.value ?? none }, ...COUNT_COLUMNS];
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <Table caption={`Messages in the period, per ${name.toLowerCase()}`} columns={columns} rows={rows ?? []} rowKey={(row) => row.value ?? ''} empty="No messages in this period." />
    </section>
  );
}

const DISCARD_COLUMNS: Column<DiscardReasons['data'][number]>[] = [
  { header: 'Code', cell: (row) => <a href={`#/messages?status=discarded&discardCode=${encodeURIComponent(row.code)}`}>{row.code}</a> },
  { header: 'Reason', cell: (row) => row.reason },
  { header: 'Messages', cell: (row) => row.count, numeric: true },
];

const SERIES = [
  ['sent', 'Sent', '#2563eb'],
  ['delivered', 'Delivered', '#16a34a'],
  ['seen', 'Seen', '#9333ea'],
  ['discarded', 'Discarded', '#dc2626'],
] as const;

const COUNT_COLUMNS: Column<Stats>[] = SERIES.map(([key, header]) => ({ header, cell: (row: Stats) => row[key], numeric: true }));

const DAY_COLUMNS: Column<Stats & { date: string }>[] = [{ header: 'Day', cell: (day) => day.date }, ...COUNT_COLUMNS];

function DailyChart({ days }: { days: (Stats & { date: string })[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    const data: uPlot.AlignedData = [days.map((day) => Date.parse(`${day.date}T00:00:00Z`) / 1000), ...SERIES.map(([key]) => days.map((day) => day[key]))];
    const chart = new uPlot(
      {
        width: Math.max(320, box.current.clientWidth),
        height: 260,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        series: [{}, ...SERIES.map(([, label, stroke]) => ({ label, stroke, width: 2 }))],
        axes: [{}, { label: 'Messages' }],
      },
      data,
      box.current,
    );
    return () => chart.destroy();
  }, [days]);
  return (
    <figure class="chart">
      <div ref={box} role="img" aria-label={`Messages sent, delivered, seen and discarded per day, ${days[0]?.date} to ${days[days.length - 1]?.date}`} />
      <figcaption>
        <details>
          <summary>The same figures as a table</summary>
          <Table caption="Messages per day" columns={DAY_COLUMNS} rows={days} rowKey={(day) => day.date} empty="No days in this period." />
        </details>
      </figcaption>
    </figure>
  );
}
