import './request-queue-patch.js';
export { ensureTopics } from './topics.js';
