export { ensureTopics } from './topics.js';
