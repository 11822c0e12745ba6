// The views, in tab order.
import matrices from './matrices.js';
import masks from './masks.js';
import fastweights from './fastweights.js';
import capacity from './capacity.js';
import approximation from './approximation.js';
import timing from './timing.js';

export const VIEW_MODULES = { matrices, masks, fastweights, capacity, approximation, timing };
