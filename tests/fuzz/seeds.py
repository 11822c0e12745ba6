#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/corpus/<target>/: for every variant a
target's first bytes select (mask kind, feature map, rule, gallery function,
causal, mask, tile-crossing sizes), one input with that header and pseudo-random
bytes after it, so that every run starts from every path. Deterministic:
rerunning it rewrites the same files. Byte layouts: the readers in fuzz_*.c."""
import os
import random

here = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(12)


def write(target, name, header, tail=64):
    d = os.path.join(here, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    body = bytes(header) + bytes(rng.randrange(256) for _ in range(tail))
    with open(os.path.join(d, name), 'wb') as f:
        f.write(body)


def clear(target):
    d = os.path.join(here, 'corpus', target)
    if os.path.isdir(d):
        for f in os.listdir(d):
            os.remove(os.path.join(d, f))


for t in ('softmax', 'masks', 'linear', 'fastweight', 'gallery'):
    clear(t)

# softmax: kernels, flags (1 causal, 2 mask, 4 non-finite, 0x40 m up to 140), n, m, d, dv, scale
ONE = 7  # fz_float class 7: 1.0
for name, flags, n, m, d, dv in [('plain', 0, 7, 9, 7, 3), ('causal', 1, 12, 12, 4, 2), ('mask', 2, 9, 20, 5, 5),
                                 ('causal-mask', 3, 33, 30, 8, 8), ('tiles', 0x40, 40, 135, 3, 9),
                                 ('tiles-causal', 0x41, 47, 139, 2, 1), ('nonfinite', 4, 3, 3, 2, 2)]:
    for kern in (0, 1):
        write('softmax', f'{name}-{"scalar" if kern else "simd"}', [kern, flags, n - 1, m - 1, d - 1, dv - 1, ONE])
# a CSR row listing key 0 twice beside key 1 (n = 1, m = 2, d = dv = 1)
write('softmax', 'csr-duplicate', [0, 0, 0, 1, 0, 0, 7, 0, 7, 1, 2, 3, 4, 0, 0, 7, 5, 6, 7, 8, 0, 0, 7, 9, 10, 11, 12, 0,
                                   0, 3, 0, 0, 1], tail=0)

# masks: kernels, part (0 spec, 1 dense + layers, 2 clusterings), then part A: kind + 1, n, fields
for kind in range(12):
    n = 16 if kind == 10 else 13 + kind
    write('masks', f'spec-kind{kind}', [0, 0, kind + 1, n, 0x00, 0x00, 0x1f, 0xff])
write('masks', 'spec-bad-kind', [0, 0, 13, 8, 0x80, 0, 0, 0])
write('masks', 'dense-layers', [0, 1, 20, 1, 60])
write('masks', 'dense-rect', [1, 1, 30, 0, 11, 200])
write('masks', 'lsh', [0, 2, 30, 7, 0, 0x00])
write('masks', 'kmeans', [0, 2, 40, 5, 0, 0x01])

# linear: kernels, flags (1 causal, 2 non-finite, 4 eps = 1e-6), n, keys, d, dv, then the spec:
# feature, m, nu, kernel_eps (odd: 1e-3), stabilize | normalize << 1
for feature in range(9):
    for causal in (0, 1):
        stab_norm = (feature % 2) | ((feature + causal) % 3) << 1
        write('linear', f'feature{feature}-causal{causal}', [feature & 1, 4 | causal, 9, 17, 5, 3, feature, 6, 2, 1, stab_norm])
write('linear', 'bad-feature', [0, 4, 3, 3, 2, 2, 9, 1, 1, 1, 0])

# fastweight: kernels, flags (1 non-finite, 2 queries, 4 states, 8 errors, 0x10 capacity), T, d, dv, rule, spec
for rule in range(3):
    for feature in (0, 1, 2, 5, 8):
        write('fastweight', f'rule{rule}-feature{feature}', [0, 0x1e, 11, 4, 3, rule, feature, 4, 2, 1, (rule % 3) << 1])
write('fastweight', 'bad-rule', [0, 0x0c, 4, 2, 2, 3, 0, 1, 1, 1, 0])

# gallery: kernels, which (0 matmul, 1 matmul_nt, 2 pool, 3 softmax rows, 4 sinkhorn), flags, n, k, m
for which, name in enumerate(['matmul', 'matmul-nt', 'pool', 'softmax-rows', 'sinkhorn']):
    for flags in (2, 6):
        write('gallery', f'{name}-{flags}', [0, which, flags, 13, 20, 9])

# ---------------------------------------------------------------- regressions
# tests/fuzz/regressions/<target>/<name>: one input per finding of the first
# runs (issue 12 and after), written out byte by byte so each reads as the call
# it makes. run.sh runs each once with the oracle on: each must pass once the
# core is fixed. F_* are fz_float encodings, const() a constant matrix.
F_ONE, F_MINUS_ONE, F_ZERO = [7], [0x87], [6]
F_MAX, F_1E20, F_1E30, F_1E38_NEG_EXP, F_SUBNORMAL = [11], [10], [12], [8], [9]


def small(k, negative=False):  # k / 32
    return [0x80 if negative else 0, k]


def const(f):  # every entry f
    return [0x09] + f + [0, 0, 0, 0, 0]


def const_with(f, pos, g):  # every entry f but entry pos, which is g
    return [0x09] + f + [0, 0, 0, 0, 1] + list(pos.to_bytes(4, 'big')) + g


def lcg(seed):  # uniform in [-1, 1)
    return [0x00] + F_ONE + list(seed.to_bytes(4, 'big')) + [0]


def regression(target, name, data):
    d = os.path.join(here, 'regressions', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(bytes(data))


for t in ('softmax', 'masks', 'linear', 'fastweight', 'gallery'):
    d = os.path.join(here, 'regressions', t)
    if os.path.isdir(d):
        for f in os.listdir(d):
            os.remove(os.path.join(d, f))

# softmax, n = m = d = dv = 1 unless said: kernels, flags, n-1, m-1, d-1, dv-1, scale, Q, K, V, CSR
regression('softmax', 'scale-max-logit-minus-inf',  # scale FLT_MAX, q = -3, k = 1: weights row 0, y 0 (answer 1)
           [0, 0, 0, 0, 0, 0] + F_MAX + const(small(96, True)) + const(F_ONE) + const(F_ONE) + [0, 1, 0])
regression('softmax', 'weights-nan-1e20',  # softmaxWeights([[1e20]], [[1e20], [1]]) -> NaN
           [0, 0, 0, 1, 0, 0] + F_ONE + const(F_1E20) + const_with(F_ONE, 0, F_1E20) + const(F_ONE) + [0, 2, 0, 1])
regression('softmax', 'csr-duplicate-key',  # row 0 lists key 0 twice beside key 1: counted twice
           [0, 0, 0, 1, 0, 0, 7, 0, 7, 1, 2, 3, 4, 0, 0, 7, 5, 6, 7, 8, 0, 0, 7, 9, 10, 11, 12, 0, 0, 3, 0, 0, 1])
# masks part A: kernels, 0, kind + 1, n, fields (u32 bit mask), values, arrays
regression('masks', 'causal-2pow32',  # local, n = 8, causal = 2^32: double -> int out of range (UB)
           [0, 0, 3, 8, 0, 0, 0, 1, 8, 2, 3])
# linear: kernels, flags (1 causal, 4 eps 1e-6), n-1, keys-1, d-1, dv-1, [eps], feature, m, nu, kernel_eps, stab|norm<<1
regression('linear', 'efficient-causal-reads-future',  # efficient + causal: phi(K) is a softmax over all positions
           [0, 5, 2, 2, 1, 0, 4, 0, 0, 1, 0] + lcg(1) + lcg(5) + lcg(9) + small(200) + small(100, True) + F_ONE)
regression('linear', 'relu-kernel-eps-0-eps-0',  # relu, kernelEps 0, eps 0, q = k = -1: 0 / 0
           [0, 0, 0, 0, 0, 0] + F_ZERO + [2, 0, 0, 0] + F_ZERO + [0] + const(F_MINUS_ONE) + const(F_MINUS_ONE) + const(F_ONE))
regression('linear', 'identity-denominator-zero',  # identity, q = -1, k = 1, eps = 1: D + eps = 0, w = -inf
           [0, 0, 0, 0, 0, 0] + F_ONE + [0, 0, 0, 1, 0] + const(F_MINUS_ONE) + const(F_ONE) + const(F_ONE))
regression('linear', 'normalize-subnormal-row',  # identity, normalize sum, q = 1e-45: 1 / sum overflows float
           [0, 0, 0, 0, 0, 0] + F_ONE + [0, 0, 0, 1, 2] + const(F_SUBNORMAL) + const(F_ONE) + const(F_ONE))
regression('linear', 'performer-stabilized-large-row',  # favor_pos m = 2, stabilize, q = 1e20: h overflows float, phi = 0
           [0, 4, 0, 0, 0, 0, 5, 2, 0, 1, 1] + lcg(3) + const(F_1E20) + const(F_ONE) + const(F_ONE))
# fastweight: kernels, flags, T-1, d-1, dv-1, rule, feature, m, nu, kernel_eps, stab|norm<<1, K, V, beta, alpha
BETA_1, ALPHA_1 = [3, 255], [3, 255]  # scalars 1
regression('fastweight', 'normalize-subnormal-key',  # sum rule, identity, normalize sum, key 1e-45
           [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2] + const(F_SUBNORMAL) + const(F_ONE) + BETA_1 + ALPHA_1)
regression('fastweight', 'relu-kernel-eps-1e30',  # relu features 1e30: the read W phi = 1e60 overflows
           [0, 0, 1, 0, 0, 0, 2, 0, 0, 0] + F_1E30 + [0] + const(F_ONE) + const(F_ONE) + BETA_1 + ALPHA_1)
regression('fastweight', 'delta-identity-diverges',  # delta rule, identity, |k|^2 = 256, 24 steps: W grows 255x a step
           [0, 0, 23, 0, 0, 1, 0, 0, 0, 1, 0] + const([13, 130]) + const(F_ONE) + BETA_1 + ALPHA_1)
# gallery: kernels, which, flags, n-1, k-1, m-1, then per function
regression('gallery', 'sinkhorn-tau-1e-38',  # logits 4, tau 1e-38: 4e38 overflows, inf - inf
           [0, 4, 0, 0, 0, 0, 1] + F_1E38_NEG_EXP + const(small(128)))
regression('gallery', 'sinkhorn-no-iterations-exp-overflow',  # iterations 0: S = exp(100) = inf
           [0, 4, 0, 0, 0, 0, 0] + F_ONE + const([5, 24]))
regression('gallery', 'matmul-1e30-cancel',  # matmul([[1e30, 1e30]], [[1e30], [-1e30]]) -> NaN
           [0, 0, 2, 0, 1, 0] + const(F_1E30) + const_with(F_1E30, 1, [0x8c]))
