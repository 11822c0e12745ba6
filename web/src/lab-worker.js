// The lab page's worker script (web/dist/worker.js): the jobs of worker.js.
import { serveJobs } from './worker.js';

serveJobs();
