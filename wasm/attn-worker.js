// The worker side of createAttnWorker (wasm/async.js): one attnlab instance in
// a worker_threads Worker (Node) or a module Web Worker (browsers), running
// the calls the client sends one at a time. Results go back transferred, not
// copied; errors go back as { name, code, message }.
import { createAttn } from './attn.js';

/** The channel to the client: parentPort in Node, the worker scope in browsers. */
async function channel() {
  if (typeof globalThis.WorkerGlobalScope === 'function' && globalThis instanceof globalThis.WorkerGlobalScope) {
    return { post: (m, t) => globalThis.postMessage(m, t), listen: (fn) => globalThis.addEventListener('message', (e) => fn(e.data)) };
  }
  const threads = 'node:worker_threads';  // a variable, so bundlers for browsers leave it alone
  const { parentPort } = await import(threads);
  return { post: (m, t) => parentPort.postMessage(m, t), listen: (fn) => parentPort.on('message', fn) };
}

/** The ArrayBuffers under a result (typed arrays in objects and arrays), to transfer. */
function buffersOf(value, found = new Set(), depth = 0) {
  if (ArrayBuffer.isView(value)) found.add(value.buffer);
  else if (value && typeof value === 'object' && depth < 4) {
    for (const v of Array.isArray(value) ? value : Object.values(value)) buffersOf(v, found, depth + 1);
  }
  return [...found];
}

const port = await channel();
let attn = null;

port.listen(async (message) => {
  if (message.type === 'init') {
    try {
      attn = await createAttn(message.options);
      const methods = Object.keys(attn).filter((name) => name !== 'dispose' && typeof attn[name] === 'function');
      const props = Object.fromEntries(Object.entries(attn).filter(([, v]) => typeof v !== 'function'));
      port.post({ type: 'ready', methods, props });
    } catch (error) {
      port.post({ type: 'failed', error: { name: error.name, code: error.code, message: error.message } });
    }
    return;
  }
  const { id, method, args, progress } = message;
  try {
    if (progress) {
      // The client removed its onProgress callback (functions cannot cross threads); put one back that reports.
      const options = args[progress.index] ?? (args[progress.index] = {});
      options.onProgress = (value) => port.post({ type: 'progress', id, value });
    }
    const value = attn[method](...args);
    port.post({ type: 'result', id, value }, buffersOf(value));
  } catch (error) {
    port.post({ type: 'error', id, error: { name: error.name, code: error.code, message: error.message } });
  }
});
