import { databaseUrlTarget, DatabaseConnectError, describeConnectFailure, maskedDatabaseUrl, urlSecrets } from './database-connect-error';

describe('maskedDatabaseUrl', () => {
  it.each([
    ['postgres://app:s3cret@db.internal:5433/notify', 'postgres://app:****@db.internal:5433/notify'],
    ['postgres://app@db/notify?sslmode=require', 'postgres://app@db/notify?sslmode=require'],
    ['postgresql://app@db/notify?password=s3cret&sslmode=require', 'postgresql://app@db/notify?password=****&sslmode=require'],
  ])('masks the password of %s', (url, masked) => expect(maskedDatabaseUrl(url)).toBe(masked));
});

describe('describeConnectFailure', () => {
  const url = 'postgres://app:p%40ss@db.internal:5433/notify';
  const target = databaseUrlTarget(url, 5000);

  it('names DATABASE_URL (masked), the address and the cause of a refused connection', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:5433'), { code: 'ECONNREFUSED', address: '10.0.0.7', port: 5433 });
    expect(describeConnectFailure(refused, target, urlSecrets(url))).toBe(
      'Cannot connect to the database at DATABASE_URL=postgres://app:****@db.internal:5433/notify: connection refused by 10.0.0.7:5433: check that PostgreSQL runs there and that DATABASE_URL names the right host and port',
    );
  });

  it('says how long it waited when the server does not answer', () => {
    expect(describeConnectFailure(new Error('timeout exceeded when trying to connect'), target)).toContain(
      'no answer from db.internal:5433 within DATABASE_CONNECT_TIMEOUT_MS=5000',
    );
  });

  it('never repeats the password, even one the cause carries (written or decoded)', () => {
    const line = describeConnectFailure(Object.assign(new Error('password "p@ss" rejected'), { code: 'XX000' }), target, urlSecrets(url));
    expect(line).not.toContain('p@ss');
    expect(line).not.toContain('p%40ss');
  });

  it('exits 69 when the server cannot be reached, 78 when it refuses the settings', () => {
    expect(new DatabaseConnectError('x', Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })).exitCode).toBe(69);
    expect(new DatabaseConnectError('x', Object.assign(new Error('password authentication failed'), { code: '28P01' })).exitCode).toBe(78);
  });
});
