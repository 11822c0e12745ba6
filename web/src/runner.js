// Runs a job of jobs.js in a Web Worker (dist/worker.js), so long work never
// blocks the page; where workers cannot start (pages opened from file://) it
// runs the same job on the page's thread, yielding between steps. Starting a
// new job under the same key stops the previous one.
import * as jobs from './jobs.js';

export class JobRunner {
  /** @param {() => Promise<object>} getAttn  @param {string|null} workerUrl */
  constructor(getAttn, workerUrl) {
    this.getAttn = getAttn;
    this.workerUrl = workerUrl;
    this.running = new Map();  // key -> { cancel }
    this.workersWork = Boolean(workerUrl) && typeof Worker !== 'undefined';
  }

  /** Resolves with the job's result, or null if a newer job under `key` replaced it. */
  run(key, name, args, onProgress) {
    this.running.get(key)?.cancel();
    let cancelled = false;
    const entry = { cancel: () => { cancelled = true; } };
    this.running.set(key, entry);
    const done = (value) => {
      if (this.running.get(key) === entry) this.running.delete(key);
      return cancelled ? null : value;
    };
    if (this.workersWork) {
      let worker;
      try {
        worker = new Worker(this.workerUrl);
      } catch {
        this.workersWork = false;  // file:// and friends: fall back below
      }
      if (worker) {
        return new Promise((resolve, reject) => {
          entry.cancel = () => { cancelled = true; worker.terminate(); resolve(done(null)); };
          worker.onmessage = ({ data }) => {
            if (cancelled) return;
            if (data.progress) onProgress(data.progress);
            else {
              worker.terminate();
              if (data.error) reject(new Error(data.error));
              else resolve(done(data.result));
            }
          };
          worker.onerror = (event) => { worker.terminate(); reject(new Error(event.message || 'worker failed')); };
          worker.postMessage({ name, args });
        });
      }
    }
    return (async () => {
      const A = await this.getAttn();
      const result = await jobs[name](A, args, (p) => { if (!cancelled) onProgress(p); });
      return done(result);
    })();
  }
}
