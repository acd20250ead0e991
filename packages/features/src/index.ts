export * from './time.js';
export * from './vector.js';
