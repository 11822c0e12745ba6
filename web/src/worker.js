// The lab's Web Worker: one attnlab instance, running the jobs of jobs.js one
// at a time and posting their progress and result (typed arrays transferred,
// not copied). Errors keep their name and AttnError code. It says `ready`
// once loaded, so the page can tell a worker that cannot start from a job
// that failed. serveJobs() starts it: lab-worker.js (web/dist/worker.js) and
// element.js (web/dist/attn-figure.js, loaded in a worker) call it.
import { createAttn } from '../../wasm/attn.js';
import { JOBS } from './jobs.js';

/**
 * What a result can hand over instead of copying: its ImageBitmaps and the
 * buffers of its typed arrays that own their whole buffer (so nothing else,
 * such as the wasm memory, is detached).
 */
function transferables(value, found = new Set()) {
  if (typeof ImageBitmap !== 'undefined' && value instanceof ImageBitmap) {
    found.add(value);
  } else if (ArrayBuffer.isView(value)) {
    const { buffer } = value;
    if (buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buffer.byteLength) found.add(buffer);
  } else if (value && typeof value === 'object') {
    for (const x of Object.values(value)) transferables(x, found);
  }
  return found;
}

/** Runs the jobs posted to this worker scope. */
export function serveJobs(scope = self) {
  let attn = null;
  scope.onmessage = async ({ data: { name, args } }) => {
    try {
      if (!Object.hasOwn(JOBS, name)) throw new Error(`worker: no job named ${name}`);
      attn ??= await createAttn();
      const result = await JOBS[name](attn, args, (progress) => scope.postMessage({ progress }));
      scope.postMessage({ result }, [...transferables(result)]);
    } catch (err) {
      scope.postMessage({ error: { name: err?.name ?? 'Error', message: err?.message ?? String(err), code: err?.code } });
    }
  };
  scope.postMessage({ ready: true });
}
