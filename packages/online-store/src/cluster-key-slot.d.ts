// cluster-key-slot ships no types; the one function this package calls.
declare module 'cluster-key-slot' {
  /** Redis Cluster hash slot (0..16383) of a key, honouring {hash tags}. */
  export default function calculateSlot(key: string | Buffer): number;
}
