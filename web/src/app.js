// The lab page: tabs for the views, the state in the URL hash (written on
// every change, read on load and on hashchange), long work in a worker.
import { createAttn } from '../../wasm/attn.js';
import { VIEWS, parseState, formatHash } from './state.js';
import { VIEW_MODULES } from './views/index.js';
import { renderView } from './render.js';
import { JobRunner } from './runner.js';
import { h } from './ui.js';

async function main() {
  const root = document.documentElement;
  const $ = (id) => document.getElementById(id);
  try {
    const attn = createAttn();
    const A = await attn;
    $('version').textContent = `attnlab ${A.version}${A.simd ? ' · wasm SIMD' : ''}`;
    const runner = new JobRunner(() => attn, 'dist/worker.js');
    let state = parseState(location.hash);
    let user = {};  // bring-your-own matrices (Matrices view); not in the hash

    const tabs = $('tabs');
    tabs.replaceChildren(...VIEWS.map((id) => h('button', {
      type: 'button', role: 'tab', id: `tab-${id}`, 'aria-controls': 'view',
      onclick: () => set({ view: id }),
    }, VIEW_MODULES[id].title)));

    const render = () => {
      root.dataset.state = 'rendering';
      for (const b of tabs.children) b.setAttribute('aria-selected', String(b.id === `tab-${state.view}`));
      document.body.classList.toggle('no-controls', !state.controls);
      document.body.classList.toggle('no-text', !state.text);
      renderView($('view'), {
        A, state, set, runner, user,
        setUser: (u) => { user = u; render(); },
        onDone: () => { root.dataset.state = 'ready'; },
      });
    };
    function set(partial) {
      state = parseState(formatHash({ ...state, ...partial }));  // clamp through the hash rules
      const hash = formatHash(state);
      if (hash !== location.hash) history.replaceState(null, '', hash);
      render();
    }
    window.addEventListener('hashchange', () => {
      state = parseState(location.hash);
      history.replaceState(null, '', formatHash(state));
      render();
    });
    if (formatHash(state) !== location.hash) history.replaceState(null, '', formatHash(state));
    render();
  } catch (err) {
    root.dataset.state = 'error';
    $('view').replaceChildren(h('p', { class: 'message error', role: 'alert' }, `The lab could not start: ${err.message}`));
    throw err;
  }
}

main();
