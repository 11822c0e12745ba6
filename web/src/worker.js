// The lab's Web Worker: one attnlab instance, running the jobs of jobs.js and
// posting their progress and result.
import { createAttn } from '../../wasm/attn.js';
import * as jobs from './jobs.js';

let attn = null;

self.onmessage = async ({ data: { name, args } }) => {
  try {
    attn ??= await createAttn();
    const result = await jobs[name](attn, args, (progress) => self.postMessage({ progress }));
    self.postMessage({ result });
  } catch (err) {
    self.postMessage({ error: err.message });
  }
};
