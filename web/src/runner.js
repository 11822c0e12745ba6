// Runs a job of jobs.js in a Web Worker (dist/worker.js), so long work never
// blocks the page; where workers cannot start (pages opened from file://,
// a worker script that fails to load) it runs the same job on the page's
// thread, yielding between steps. Starting a new job under the same key stops
// the previous one (its worker is terminated). A finished worker is kept for
// the next job, so the core loads once, not once per job. A failed job
// rejects with an error that keeps its name (AttnError, DataError) and code.
import { JOBS } from './jobs.js';
import { DataError } from './data.js';

/** An error posted by the worker as { name, message, code }, rebuilt. */
function rebuild({ name, message, code }) {
  const err = name === 'DataError' ? new DataError(message) : new Error(message);
  err.name = name;
  if (code !== undefined) err.code = code;
  return err;
}

export class JobRunner {
  /** @param {() => Promise<object>} getAttn  @param {string|null} workerUrl */
  constructor(getAttn, workerUrl) {
    this.getAttn = getAttn;
    this.workerUrl = workerUrl;
    this.running = new Map();  // key -> { cancel }
    this.workersWork = Boolean(workerUrl) && typeof Worker !== 'undefined';
    this.idle = [];  // loaded workers waiting for a job
  }

  /** A worker (an idle one if any), or null where workers cannot start. */
  #take() {
    if (!this.workersWork) return null;
    if (this.idle.length) return this.idle.pop();
    try {
      const worker = new Worker(this.workerUrl);
      worker.loaded = false;
      worker.addEventListener('message', ({ data }) => { if (data?.ready) worker.loaded = true; });
      return worker;
    } catch {
      this.workersWork = false;  // file:// and cross-origin scripts: fall back to the page thread
      return null;
    }
  }

  /** Keeps a worker for the next job (two at most: the view's and the upload's). */
  #release(worker) {
    worker.onmessage = worker.onerror = null;
    if (this.idle.length < 2) this.idle.push(worker);
    else worker.terminate();
  }

  /**
   * Whether jobs will run in a worker; starts one (kept for the first job) to
   * find out where that is not known yet. A worker that fails to load is
   * found out only when it runs a job (the job then runs on the page).
   */
  usesWorkers() {
    if (this.workersWork && !this.idle.length) {
      const worker = this.#take();
      if (worker) this.idle.push(worker);
    }
    return this.workersWork;
  }

  /** Stops the job under `key`, if any (its promise resolves with null). */
  cancel(key) {
    this.running.get(key)?.cancel();
  }

  /** Resolves with the job's result, or null if a newer job under `key` replaced it; rejects with the job's error. */
  run(key, name, args, onProgress = () => {}) {
    this.running.get(key)?.cancel();
    let cancelled = false;
    const entry = { cancel: () => { cancelled = true; } };
    this.running.set(key, entry);
    const done = (value) => {
      if (this.running.get(key) === entry) this.running.delete(key);
      return cancelled ? null : value;
    };
    const onPage = async () => {
      const A = await this.getAttn();
      try {
        const result = await JOBS[name](A, args, (p) => { if (!cancelled) onProgress(p); });
        return done(result);
      } catch (err) {
        if (done(true) === null) return null;  // replaced: nobody is waiting for this error
        throw err;
      }
    };
    const worker = this.#take();
    if (!worker) return onPage();
    return new Promise((resolve, reject) => {
      entry.cancel = () => {
        cancelled = true;
        worker.onmessage = worker.onerror = null;
        worker.terminate();
        resolve(done(null));
      };
      worker.onmessage = ({ data }) => {
        if (cancelled || data.ready) return;
        if (data.progress) {
          onProgress(data.progress);
        } else if (data.error) {
          this.#release(worker);
          done(null);
          reject(rebuild(data.error));
        } else {
          this.#release(worker);
          resolve(done(data.result));
        }
      };
      worker.onerror = (event) => {
        event.preventDefault?.();
        worker.onmessage = worker.onerror = null;
        worker.terminate();
        if (cancelled) return;
        if (!worker.loaded) {
          // The script did not load (blocked, missing): the page thread it is.
          this.workersWork = false;
          for (const w of this.idle.splice(0)) w.terminate();
          onPage().then(resolve, reject);
        } else {
          done(null);
          reject(new Error(`worker failed: ${event.message || 'no message'}`));
        }
      };
      worker.postMessage({ name, args });
    });
  }
}
