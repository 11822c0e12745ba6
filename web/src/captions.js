// Captions for one figure, for <attn-figure>: an embedded figure speaks of
// what it shows (a BigBird mask of BigBird, FAVOR+ of FAVOR+), with the
// numbers of its own attributes, where the lab page's caption introduces the
// whole view. Pure functions of the state: no DOM.

const MASKS = {
  full: () => 'Full attention: every query i attends to every key j, all n² cells. The sparse patterns are measured against this.',
  causal: (s) => `Causal attention: query i attends to keys j ≤ i only, the ${(s.n * (s.n + 1)) / 2} cells on and below the ` +
    'diagonal: the most a decoder can use, so causal coverage is measured against it.',
  local: (s) => `Local (sliding window) attention: each query attends to the ${s.window} keys on each side of it, a band of ` +
    `${2 * s.window + 1} cells per row. Information crosses the sequence only through stacked layers, ${s.window} positions per layer.`,
  strided: (s) => `Strided attention: query i attends to keys j with i − j a multiple of ${s.stride}, so a row reaches the whole ` +
    'sequence in steps of the stride but never its neighbours; combined with a local window it becomes the Sparse Transformer.',
  dilated: (s) => `Dilated window: ${s.window} keys on each side, ${s.dilation} positions apart, so the same number of cells ` +
    `spans ${s.dilation}× the distance of a plain window, skipping the keys in between.`,
  fixed: (s) => `Fixed pattern (Child et al.): causal attention within blocks of ${s.block}, plus the last ${s.summary} ` +
    'column(s) of every earlier block, which summarise it for the later ones.',
  'sparse-transformer': (s) => `Sparse Transformer (Child et al.): the previous ${s.stride} keys (local) plus every ` +
    `${s.stride}-th earlier key (strided): two layers connect every pair j ≤ i with about 2√n cells per row.`,
  global: (s) => `Global tokens: ${Math.min(s.tokens, s.n)} token(s) that attend to every key and that every query attends to ` +
    '(a full row and column each): any two tokens are two steps apart.',
  random: (s) => `Random attention: ${s.perRow} keys per query drawn at random. Random graphs connect quickly, so a few ` +
    'layers reach most pairs, but no key is guaranteed.',
  longformer: (s) => `Longformer: a sliding window of ${s.window} keys on each side${s.dilation > 1 ? ` (dilation ${s.dilation})` : ''} ` +
    `plus ${Math.min(s.tokens, s.n)} global token(s) with full rows and columns: local detail, and a hub through which every ` +
    'token reaches every other in two layers.',
  bigbird: (s) => `BigBird: the sequence in blocks of ${s.block}; each block of queries attends to ${s.windowBlocks} ` +
    `neighbouring blocks (window), to ${s.globalBlocks} global block(s) at each end (which see and are seen by every token) ` +
    `and to ${s.randomBlocks} random block(s). Cells grow like n, not n².`,
  lsh: (s) => `Reformer LSH attention: tokens hashed into ${s.buckets} buckets by random rotations (${s.hashes} round(s)); ` +
    'a query attends to the keys in its bucket, so similar tokens meet. Sorting by bucket shows the buckets as diagonal blocks.',
  kmeans: (s) => `Routing Transformer: tokens grouped into ${s.clusters} k-means clusters; a query attends to the keys ` +
    'of its cluster. Sorting by cluster shows the clusters as diagonal blocks.',
};

const FEATURE_TEXT = {
  'favor+': (s) => `FAVOR+ positive random features (m = ${s.features}${s.orthogonal ? ', orthogonal' : ''}): an unbiased, ` +
    'non-negative estimate of exp(q·k/√d), accurate where the kernel is small, converging to softmax as m grows; ' +
    'large input scales make its variance explode.',
  'favor-trig': (s) => `FAVOR trigonometric features (m = ${s.features}): sin/cos random features estimate exp(q·k/√d) ` +
    'without bias but with large variance where the kernel is small, so weights can come out negative.',
  'favor-hyp': (s) => `FAVOR+ hyperbolic features (m = ${s.features}): positive features built from exp(±w·x), a lower ` +
    'variance than the plain positive ones.',
  'elu+1': () => 'elu(x) + 1 features (Katharopoulos et al.): a positive similarity that is not exp(q·k), so the weights ' +
    'are smoother and flatter than softmax.',
  relu: () => 'ReLU features: a non-negative similarity; rows whose features are all zero get no weight at all.',
  taylor: () => 'Taylor features 1 + q̂·k̂: the first two terms of exp, a linear kernel that flattens sharp softmax rows.',
  efficient: () => 'Efficient Attention: softmax over the features of each query and over the positions of each key, ' +
    'a different normalisation rather than an approximation of softmax.',
  dpfp: (s) => `DPFP-${s.nu} features: deterministic, sparse, non-negative projections of dimension ${2 * s.nu}d.`,
  identity: () => 'Identity features: plain linear attention q·k, which can be negative and is not a softmax at all.',
};

const MATRICES = {
  kernel: (s) => `Kernel (linear) attention: weights φ(q)·φ(k) normalised by row, computed in O(n) without forming them. ` +
    `${(FEATURE_TEXT[s.feature] ?? (() => ''))(s)} Left: softmax; middle: the n×n matrix the kernel applies; right: their difference.`,
  linformer: (s) => `Linformer: keys and values projected from n rows to k = ${s.rank}, so each query's weights live in a ` +
    'k-dimensional space; the effective n×n matrix (middle) can have negative entries. Right: its difference from softmax.',
  compressed: (s) => `Memory-compressed attention: keys and values pooled into slots of ${s.factor}, so a query sees the ` +
    'average of each slot: blocky weights (middle) against softmax (left).',
  synthesizer: (s) => `Synthesizer (${s.synthMode}): attention logits that do not come from query–key dot products` +
    `${s.mix > 0 ? `, mixed with ${Math.round(s.mix * 100)}% dot products` : ''}: the middle picture ignores what the tokens say to each other.`,
  sinkhorn: (s) => `Sinkhorn attention: blocks of ${s.sBlock} keys sorted by a doubly stochastic matrix (${s.iterations} ` +
    'Sinkhorn iterations), so each block of queries attends to the block sorted next to it.',
  sortcut: (s) => `SortCut: after sorting blocks of ${s.sBlock}, every query attends to the first ${s.sortcut} sorted ` +
    'block(s) only: a fixed budget of keys.',
  funnel: () => 'Funnel pooling: the queries pooled in pairs, so the sequence halves while every key stays available; ' +
    'the middle picture is the n/2 × n matrix of the pooled queries, compared with the average of the softmax rows each stands for.',
};

/**
 * A caption for the figure a state shows, or null where the view's own text
 * is already about that one figure (Fast weights, Capacity, Approximation,
 * Timing).
 */
export function figureCaption(state) {
  if (state.view === 'masks') return MASKS[state.kind]?.(state) ?? null;
  if (state.view === 'matrices') {
    const text = MATRICES[state.mechanism]?.(state);
    return text ? `${text} Inputs: ${state.inputs}, n = ${state.n}, d = ${state.d}.` : null;
  }
  return null;
}
