import { prepareEmbeddedTemplate } from './store/embedded.js';

/**
 * Run by `npm run build`: prepares the embedded store's template data
 * directory in a process of its own, so that the gateway never runs initdb.
 */
await prepareEmbeddedTemplate();
