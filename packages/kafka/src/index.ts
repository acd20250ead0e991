export { ensureTopics, TopicCreationError } from './topics.js';
