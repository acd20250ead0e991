export class ServingError extends Error {
  override readonly name = 'ServingError';
}
