/** Every rejection of bad input or corrupt stored data surfaces as this type, with a message naming the culprit. */
export class OnlineStoreError extends Error {
  override readonly name = 'OnlineStoreError';
}
