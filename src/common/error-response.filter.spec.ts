import type { HttpServer } from '@nestjs/common';
import { ErrorResponseFilter } from './error-response.filter';

describe('ErrorResponseFilter', () => {
  const filter = new ErrorResponseFilter({} as HttpServer, 1024);

  it('answers 503 for contention that outlasted the retries (serialization failure, deadlock), not 500', () => {
    for (const code of ['40001', '40P01']) {
      const error = Object.assign(new Error('stream x was appended to by a later transaction; retry'), { code });
      expect(filter.toBody(error)).toEqual({
        statusCode: 503,
        message: expect.stringMatching(/same data at the same moment.*send it again/),
        error: 'Service Unavailable',
      });
    }
  });

  it('answers 500 for any other fault, saying nothing of it', () => {
    expect(filter.toBody(Object.assign(new Error('relation "x" does not exist'), { code: '42P01' }))).toEqual({
      statusCode: 500,
      message: 'Internal server error',
      error: 'Internal Server Error',
    });
  });
});
