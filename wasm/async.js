// createAttnWorker: the same methods as createAttn, as promises that run in a
// worker (worker_threads in Node, a module Web Worker in browsers), so long
// calls leave the caller's event loop free.
//
// - Inputs are copied to the worker (the caller keeps its arrays); results
//   come back transferred, not copied.
// - Calls run one at a time, in the order made. An options object may carry
//   `onProgress` (called with what the method reports) and `signal` (an
//   AbortSignal): aborting a queued call drops it; aborting the running call
//   ends the worker at once and starts a fresh one for the calls after it.
//   Either way the promise rejects with the signal's reason (an AbortError).
// - dispose() ends the worker and frees its memory; later calls reject with
//   AttnError 'ERR_DISPOSED'.
import { AttnError } from './attn.js';

/** A started worker behind one interface: post, listen, and end. */
async function startWorker() {
  const url = new URL('./attn-worker.js', import.meta.url);  // here, not at load: classic-script bundles have no import.meta
  if (typeof globalThis.Worker === 'function') {
    const w = new globalThis.Worker(url, { type: 'module' });
    return {
      post: (m) => w.postMessage(m),
      listen: (fn, onError) => {
        w.onmessage = (e) => fn(e.data);
        w.onerror = (e) => onError(new AttnError('ERR_WORKER', `createAttnWorker: the worker failed: ${e.message ?? e}`));
      },
      end: () => w.terminate(),
    };
  }
  const threads = 'node:worker_threads';  // a variable, so bundlers for browsers leave it alone
  const { Worker } = await import(threads);
  const w = new Worker(url);
  return {
    post: (m) => w.postMessage(m),
    listen: (fn, onError) => {
      w.on('message', fn);
      w.on('error', (e) => onError(new AttnError('ERR_WORKER', `createAttnWorker: the worker failed: ${e.message}`)));
    },
    end: () => w.terminate(),
  };
}

const errorFrom = ({ name, code, message }) => {
  const error = code ? new AttnError(code, message) : new Error(message);
  if (!code && name) error.name = name;
  return error;
};

const isOptions = (x) => x !== null && typeof x === 'object' && !Array.isArray(x) && !ArrayBuffer.isView(x) &&
  ('onProgress' in x || 'signal' in x);

/**
 * An attnlab instance in a worker: every method of createAttn's instance,
 * returning a promise, plus dispose().
 * @param {{ kernels?: 'simd' | 'scalar' }} [options] as for createAttn
 */
export async function createAttnWorker(options = {}) {
  let worker = null;           // the live worker, or null until needed again
  let info = null;             // { methods, props } from the first worker
  let running = null;          // the call in the worker now
  const queue = [];            // calls waiting their turn
  let disposed = false;

  /** Starts a worker and waits for its instance. */
  const boot = () => new Promise((resolve, reject) => {
    startWorker().then((w) => {
      w.listen((message) => {
        if (message.type === 'ready') { worker = w; resolve(message); return; }
        if (message.type === 'failed') { w.end(); reject(errorFrom(message.error)); return; }
        onMessage(message);
      }, (error) => {
        if (worker !== w) { reject(error); return; }
        // A crashed worker fails the running call; the next call starts a new one.
        worker = null;
        w.end();
        if (running) { running.reject(error); running = null; }
        pump();
      });
      w.post({ type: 'init', options });
    }, reject);
  });

  function onMessage(message) {
    const call = running;
    if (!call || message.id !== call.id) return;
    if (message.type === 'progress') { call.onProgress?.(message.value); return; }
    running = null;
    call.signal?.removeEventListener('abort', call.onAbort);
    if (message.type === 'result') call.resolve(message.value);
    else call.reject(errorFrom(message.error));
    pump();
  }

  let starting = null;
  async function pump() {
    if (running || queue.length === 0 || disposed) return;
    if (!worker) {
      starting ??= boot().finally(() => { starting = null; });
      try {
        await starting;
      } catch (error) {
        for (const call of queue.splice(0)) call.reject(error);
        return;
      }
      if (running || queue.length === 0 || disposed) return;
    }
    running = queue.shift();
    const { id, method, args, progress } = running;
    worker.post({ type: 'call', id, method, args, progress });
  }

  let nextId = 1;
  function call(method, args) {
    if (disposed) return Promise.reject(new AttnError('ERR_DISPOSED', `${method}: this instance was disposed`));
    return new Promise((resolve, reject) => {
      const entry = { id: nextId++, method, resolve, reject, progress: null };
      // Functions and signals cannot cross threads: keep them here, send the rest.
      entry.args = args.map((arg, index) => {
        if (!isOptions(arg)) return arg;
        const { onProgress, signal, ...rest } = arg;
        if (typeof onProgress === 'function') { entry.onProgress = onProgress; entry.progress = { index }; }
        if (signal) entry.signal = signal;
        return rest;
      });
      if (entry.signal?.aborted) { reject(entry.signal.reason); return; }
      entry.onAbort = () => {
        const queued = queue.indexOf(entry);
        if (queued >= 0) queue.splice(queued, 1);
        else if (running === entry) {
          running = null;
          worker?.end();
          worker = null;
        }
        reject(entry.signal.reason);
        pump();
      };
      entry.signal?.addEventListener('abort', entry.onAbort, { once: true });
      queue.push(entry);
      pump();
    });
  }

  info = await boot();
  const api = { ...info.props };
  for (const method of info.methods) api[method] = (...args) => call(method, args);
  /** Ends the worker; pending and later calls reject with ERR_DISPOSED. */
  api.dispose = () => {
    if (disposed) return;
    disposed = true;
    worker?.end();
    worker = null;
    const error = () => new AttnError('ERR_DISPOSED', 'this instance was disposed');
    if (running) { running.reject(error()); running = null; }
    for (const pending of queue.splice(0)) pending.reject(error());
  };
  return api;
}
