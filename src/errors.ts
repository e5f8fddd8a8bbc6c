// Errors that cross module boundaries. Domain code throws ShoalError with a kind; the REST layer maps
// kinds to HTTP statuses and the message to Fishjam's `{"errors": "<message>"}` body. No I/O here.
export type ShoalErrorKind = 'bad_request' | 'not_found' | 'unavailable';

export class ShoalError extends Error {
  constructor(
    readonly kind: ShoalErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ShoalError';
  }
}

export const badRequest = (message: string) => new ShoalError('bad_request', message);
export const notFound = (message: string) => new ShoalError('not_found', message);
export const unavailable = (message: string) => new ShoalError('unavailable', message);
