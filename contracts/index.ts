export * from './common.js';
export * from './run.js';
export * from './events.js';
