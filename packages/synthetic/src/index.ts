export { Random } from './random.js';
export { MinHeap } from './heap.js';
export { PendingEvents } from './pending.js';
export { isoWithOffset } from './time.js';
