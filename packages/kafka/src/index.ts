export { ensureTopics, TopicCreationError, whileTopicsPropagate } from './topics.js';
