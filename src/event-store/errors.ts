export type ExpectedVersion = number | 'no_stream' | 'any';

/** The stream's version was not the one the caller expected: someone else appended first. */
export class StreamVersionConflictError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number,
  ) {
    super(`Stream ${streamId} is at version ${actual}, expected ${expected === 'no_stream' ? 'no stream' : expected}`);
    this.name = 'StreamVersionConflictError';
  }
}
