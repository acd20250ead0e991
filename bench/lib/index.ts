export * from './stats.js';
export * from './report.js';
export * from './args.js';
export * from './machine.js';
export * from './pit-data.js';
export * from './interleave.js';
