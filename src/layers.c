/*
 * layers.c - the layers and the optimizer of a small model, forward and
 * reverse mode (vector-Jacobian products). G denotes the gradient reaching a
 * layer's output (dL/dy); every output is caller-owned.
 *
 *   linear      y = x W^T + b                 x [n, in], W [out, in], b [out]
 *               dx = G W,  dW = G^T x,  db = sum_i G_i
 *   layer norm  mu_i = mean_c x_ic,  var_i = mean_c (x_ic - mu_i)^2 (biased),
 *               r_i = 1 / sqrt(var_i + eps),  h_ic = (x_ic - mu_i) r_i,
 *               y_ic = g_c h_ic + b_c
 *               e = G o g:  dx_i = r_i (e_i - mean(e_i) - h_i mean(e_i o h_i)),
 *               dg = sum_i G_i o h_i,  db = sum_i G_i
 *               (mu, r recomputed from x in double by the backward)
 *   GELU        the tanh form (Hendrycks & Gimpel 2016, as GPT-2 and
 *               PyTorch's approximate='tanh'):
 *               y = x (1 + t) / 2,  t = tanh(u),  u = c (x + 0.044715 x^3),
 *               c = sqrt(2 / pi);
 *               dy/dx = (1 + t) / 2 + x (1 - t^2) c (1 + 3 0.044715 x^2) / 2
 *   cross-entropy over rows, targets y_i (< 0: position ignored),
 *               N = #{i : y_i >= 0},  L = (1/N) sum_{y_i >= 0} (lse(z_i) - z_{i,y_i}),
 *               dz_i = (softmax(z_i) - onehot(y_i)) / N  (0 for ignored rows;
 *               N = 0 gives L = 0 and dz = 0)
 *   embedding   y_i = E[t_i]  (gather);  dE[v] = sum_{i : t_i = v} G_i (scatter-add)
 *
 *   AdamW (Loshchilov & Hutter 2019, decoupled decay; PyTorch's AdamW), step t >= 1:
 *               p <- p (1 - lr wd)
 *               m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2
 *               p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *   clipping    N = sqrt(sum over every tensor of g^2); N > max: g <- g max / (N + 1e-6)
 *   schedule    linear warm-up then cosine decay (see attn.h)
 *   init        normal(0, std^2) from attn_rng
 *
 * Parameter gradients (dW, db, dg, dE) overwrite their output, or add to it
 * with accumulate != 0 (a parameter used twice, a minibatch in pieces); dx
 * always overwrites. Sums of a row are taken in double where a row is
 * reduced (layer norm, cross-entropy); products go through the kernel
 * table's gemm.
 */
#include "internal.h"

#include <math.h>

/* ---- linear ---------------------------------------------------------- */

static attn_status linear_shape(size_t n, size_t in, size_t out) {
    if (n == 0 || in == 0 || out == 0) return ATTN_ERR_SHAPE;
    attn_status st;
    if ((st = attn__matrix_fits(n, in)) || (st = attn__matrix_fits(out, in)) || (st = attn__matrix_fits(n, out)))
        return st;
    return ATTN_OK;
}

attn_status attn_layer_linear_workspace(size_t n, size_t in, size_t out, size_t *floats) {
    if (!floats) return ATTN_ERR_NULL;
    attn_status st = linear_shape(n, in, out);
    if (st == ATTN_OK) *floats = in * out;
    return st;
}

attn_status attn_layer_linear(size_t n, size_t in, size_t out,
                              const float *x,  // [n, in]
                              const float *w,  // [out, in]
                              const float *b,  // [out] or NULL
                              float *y,        // [n, out] output
                              float *work, size_t work_floats) {  // [in, out]
    if (!x || !w || !y || !work) return ATTN_ERR_NULL;
    attn_status st = linear_shape(n, in, out);
    if (st != ATTN_OK) return st;
    if (work_floats < in * out) return ATTN_ERR_WORKSPACE;
    if (!attn__all_finite(x, n * in) || !attn__all_finite(w, out * in) || (b && !attn__all_finite(b, out)))
        return ATTN_ERR_NONFINITE;
    float *wt = work;  // [in, out] W^T
    for (size_t o = 0; o < out; o++)
        for (size_t c = 0; c < in; c++) wt[c * out + o] = w[o * in + c];
    if (b)
        for (size_t i = 0; i < n; i++) memcpy(y + i * out, b, out * sizeof *y);
    attn__kernels_get()->gemm(n, out, in, 1.0f, x, in, wt, out, y, out, b != NULL);
    return attn__all_finite(y, n * out) ? ATTN_OK : ATTN_ERR_OVERFLOW;
}

attn_status attn_layer_linear_backward_workspace(size_t n, size_t in, size_t out, size_t *floats) {
    if (!floats) return ATTN_ERR_NULL;
    attn_status st = linear_shape(n, in, out);
    if (st == ATTN_OK) *floats = out * n;
    return st;
}

attn_status attn_layer_linear_backward(size_t n, size_t in, size_t out,
                                       const float *x,   // [n, in]
                                       const float *w,   // [out, in]
                                       const float *dy,  // [n, out]
                                       float *dx,        // [n, in] output, or NULL
                                       float *dw,        // [out, in] output
                                       float *db,        // [out] output, or NULL
                                       int accumulate,
                                       float *work, size_t work_floats) {  // [out, n]
    if (!x || !w || !dy || !dw || !work) return ATTN_ERR_NULL;
    attn_status st = linear_shape(n, in, out);
    if (st != ATTN_OK) return st;
    if (work_floats < out * n) return ATTN_ERR_WORKSPACE;
    if (!attn__all_finite(x, n * in) || !attn__all_finite(w, out * in) || !attn__all_finite(dy, n * out))
        return ATTN_ERR_NONFINITE;
    const attn__kernels *kern = attn__kernels_get();
    if (dx) kern->gemm(n, in, out, 1.0f, dy, out, w, in, dx, in, 0);  // G [n, out] W [out, in]
    float *gt = work;  // [out, n] G^T
    for (size_t i = 0; i < n; i++)
        for (size_t o = 0; o < out; o++) gt[o * n + i] = dy[i * out + o];
    kern->gemm(out, in, n, 1.0f, gt, n, x, in, dw, in, accumulate);
    if (db)
        for (size_t o = 0; o < out; o++) {
            double s = accumulate ? db[o] : 0.0;
            for (size_t i = 0; i < n; i++) s += gt[o * n + i];
            db[o] = (float)s;
        }
    if ((dx && !attn__all_finite(dx, n * in)) || !attn__all_finite(dw, out * in) || (db && !attn__all_finite(db, out)))
        return ATTN_ERR_OVERFLOW;
    return ATTN_OK;
}

/* ---- layer norm -------------------------------------------------------- */

static attn_status norm_check(size_t n, size_t d, double eps) {
    if (n == 0 || d == 0) return ATTN_ERR_SHAPE;
    attn_status st = attn__matrix_fits(n, d);
    if (st != ATTN_OK) return st;
    if (!(eps > 0) || !isfinite(eps)) return ATTN_ERR_RANGE;
    return ATTN_OK;
}

/* mu and r = 1 / sqrt(var + eps) of one row, in double. */
static void row_stats(size_t d, const float *x, double eps, double *mu, double *r) {  // x [d]
    double s = 0;
    for (size_t c = 0; c < d; c++) s += x[c];
    const double m = s / (double)d;
    double q = 0;
    for (size_t c = 0; c < d; c++) q += ((double)x[c] - m) * ((double)x[c] - m);
    *mu = m;
    *r = 1.0 / sqrt(q / (double)d + eps);
}

attn_status attn_layer_norm(size_t n, size_t d, double eps,
                            const float *x,     // [n, d]
                            const float *gain,  // [d]
                            const float *bias,  // [d] or NULL
                            float *y) {         // [n, d] output
    if (!x || !gain || !y) return ATTN_ERR_NULL;
    attn_status st = norm_check(n, d, eps);
    if (st != ATTN_OK) return st;
    if (!attn__all_finite(x, n * d) || !attn__all_finite(gain, d) || (bias && !attn__all_finite(bias, d)))
        return ATTN_ERR_NONFINITE;
    for (size_t i = 0; i < n; i++) {
        double mu, r;
        row_stats(d, x + i * d, eps, &mu, &r);
        for (size_t c = 0; c < d; c++)
            y[i * d + c] = (float)(gain[c] * (((double)x[i * d + c] - mu) * r) + (bias ? bias[c] : 0.0));
    }
    return attn__all_finite(y, n * d) ? ATTN_OK : ATTN_ERR_OVERFLOW;
}

attn_status attn_layer_norm_backward(size_t n, size_t d, double eps,
                                     const float *x,     // [n, d]
                                     const float *gain,  // [d]
                                     const float *dy,    // [n, d]
                                     float *dx,          // [n, d] output, or NULL
                                     float *dgain,       // [d] output, or NULL
                                     float *dbias,       // [d] output, or NULL
                                     int accumulate) {
    if (!x || !gain || !dy) return ATTN_ERR_NULL;
    attn_status st = norm_check(n, d, eps);
    if (st != ATTN_OK) return st;
    if (!attn__all_finite(x, n * d) || !attn__all_finite(gain, d) || !attn__all_finite(dy, n * d))
        return ATTN_ERR_NONFINITE;
    if (!accumulate) {
        if (dgain) memset(dgain, 0, d * sizeof *dgain);
        if (dbias) memset(dbias, 0, d * sizeof *dbias);
    }
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * d, *gi = dy + i * d;
        double mu, r;
        row_stats(d, xi, eps, &mu, &r);
        double se = 0, seh = 0;
        for (size_t c = 0; c < d; c++) {
            const double h = ((double)xi[c] - mu) * r, e = (double)gi[c] * gain[c];
            se += e;
            seh += e * h;
            if (dgain) dgain[c] += (float)(gi[c] * h);
            if (dbias) dbias[c] += gi[c];
        }
        const double me = se / (double)d, meh = seh / (double)d;
        if (dx)
            for (size_t c = 0; c < d; c++) {
                const double h = ((double)xi[c] - mu) * r, e = (double)gi[c] * gain[c];
                dx[i * d + c] = (float)(r * (e - me - h * meh));
            }
    }
    if ((dx && !attn__all_finite(dx, n * d)) || (dgain && !attn__all_finite(dgain, d)) ||
        (dbias && !attn__all_finite(dbias, d)))
        return ATTN_ERR_OVERFLOW;
    return ATTN_OK;
}

/* ---- GELU (tanh form) --------------------------------------------------- */

#define GELU_C 0.7978845608028654  /* sqrt(2 / pi) */
#define GELU_A 0.044715

attn_status attn_gelu(size_t count,
                      const float *x,  // [count]
                      float *y) {      // [count] output (may be x)
    if (!x || !y) return ATTN_ERR_NULL;
    if (count == 0) return ATTN_ERR_SHAPE;
    if (!attn__all_finite(x, count)) return ATTN_ERR_NONFINITE;
    for (size_t i = 0; i < count; i++) {
        const double v = x[i], t = tanh(GELU_C * (v + GELU_A * v * v * v));
        y[i] = (float)(0.5 * v * (1.0 + t));
    }
    return ATTN_OK;
}

attn_status attn_gelu_backward(size_t count,
                               const float *x,   // [count]
                               const float *dy,  // [count]
                               float *dx) {      // [count] output (may be dy)
    if (!x || !dy || !dx) return ATTN_ERR_NULL;
    if (count == 0) return ATTN_ERR_SHAPE;
    if (!attn__all_finite(x, count) || !attn__all_finite(dy, count)) return ATTN_ERR_NONFINITE;
    for (size_t i = 0; i < count; i++) {
        const double v = x[i], t = tanh(GELU_C * (v + GELU_A * v * v * v));
        const double dv = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * GELU_C * (1.0 + 3.0 * GELU_A * v * v);
        dx[i] = (float)(dy[i] * dv);
    }
    return attn__all_finite(dx, count) ? ATTN_OK : ATTN_ERR_OVERFLOW;
}

/* ---- softmax cross-entropy ------------------------------------------- */

attn_status attn_cross_entropy(size_t n, size_t classes,
                               const float *logits,     // [n, classes]
                               const int32_t *targets,  // [n]; < 0: ignored
                               float *loss,             // [1] output
                               float *dlogits) {        // [n, classes] output, or NULL
    if (!logits || !targets || !loss) return ATTN_ERR_NULL;
    if (n == 0 || classes == 0) return ATTN_ERR_SHAPE;
    attn_status st = attn__matrix_fits(n, classes);
    if (st != ATTN_OK) return st;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (targets[i] >= 0 && (uint64_t)targets[i] >= (uint64_t)classes) return ATTN_ERR_RANGE;
        count += targets[i] >= 0;
    }
    if (!attn__all_finite(logits, n * classes)) return ATTN_ERR_NONFINITE;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * classes;
        float *dz = dlogits ? dlogits + i * classes : NULL;
        if (targets[i] < 0) {
            if (dz) memset(dz, 0, classes * sizeof *dz);
            continue;
        }
        double mx = z[0];
        for (size_t c = 1; c < classes; c++) mx = attn__maxd(mx, z[c]);
        double s = 0;
        for (size_t c = 0; c < classes; c++) s += exp((double)z[c] - mx);
        const double lse = mx + log(s);
        total += lse - z[targets[i]];
        if (dz) {
            for (size_t c = 0; c < classes; c++) dz[c] = (float)(exp((double)z[c] - lse) / (double)count);
            dz[targets[i]] = (float)((exp((double)z[targets[i]] - lse) - 1.0) / (double)count);
        }
    }
    *loss = count ? (float)(total / (double)count) : 0.0f;
    return isfinite(*loss) ? ATTN_OK : ATTN_ERR_OVERFLOW;
}

/* ---- embedding ----------------------------------------------------------- */

static attn_status embedding_check(size_t n, size_t vocab, size_t d, const int32_t *tokens) {
    if (n == 0 || vocab == 0 || d == 0) return ATTN_ERR_SHAPE;
    attn_status st;
    if ((st = attn__matrix_fits(vocab, d)) || (st = attn__matrix_fits(n, d))) return st;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || (uint64_t)tokens[i] >= (uint64_t)vocab) return ATTN_ERR_RANGE;
    return ATTN_OK;
}

attn_status attn_embedding(size_t n, size_t vocab, size_t d,
                           const int32_t *tokens,  // [n], each in [0, vocab)
                           const float *table,     // [vocab, d]
                           float *y) {             // [n, d] output
    if (!tokens || !table || !y) return ATTN_ERR_NULL;
    attn_status st = embedding_check(n, vocab, d, tokens);
    if (st != ATTN_OK) return st;
    for (size_t i = 0; i < n; i++) memcpy(y + i * d, table + (size_t)tokens[i] * d, d * sizeof *y);
    return attn__all_finite(y, n * d) ? ATTN_OK : ATTN_ERR_NONFINITE;
}

attn_status attn_embedding_backward(size_t n, size_t vocab, size_t d,
                                    const int32_t *tokens,  // [n], each in [0, vocab)
                                    const float *dy,        // [n, d]
                                    float *dtable,          // [vocab, d] output
                                    int accumulate) {
    if (!tokens || !dy || !dtable) return ATTN_ERR_NULL;
    attn_status st = embedding_check(n, vocab, d, tokens);
    if (st != ATTN_OK) return st;
    if (!attn__all_finite(dy, n * d)) return ATTN_ERR_NONFINITE;
    if (!accumulate) memset(dtable, 0, vocab * d * sizeof *dtable);
    const attn__kernels *kern = attn__kernels_get();
    for (size_t i = 0; i < n; i++) kern->axpy(d, 1.0f, dy + i * d, dtable + (size_t)tokens[i] * d);
    return attn__all_finite(dtable, vocab * d) ? ATTN_OK : ATTN_ERR_OVERFLOW;
}

/* ---- optimizer ------------------------------------------------------------ */

attn_status attn_adamw_step(size_t count,
                            float *param,       // [count] updated
                            const float *grad,  // [count]
                            float *m,           // [count] first moment, updated (0 before step 1)
                            float *v,           // [count] second moment, updated (0 before step 1)
                            size_t step, double lr, double beta1, double beta2, double eps,
                            double weight_decay) {
    if (!param || !grad || !m || !v) return ATTN_ERR_NULL;
    if (count == 0) return ATTN_ERR_SHAPE;
    if (step == 0 || !(lr >= 0) || !isfinite(lr) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) ||
        !(eps > 0) || !isfinite(eps) || !(weight_decay >= 0) || !isfinite(weight_decay))
        return ATTN_ERR_RANGE;
    if (!attn__all_finite(grad, count) || !attn__all_finite(param, count) || !attn__all_finite(m, count) ||
        !attn__all_finite(v, count))
        return ATTN_ERR_NONFINITE;
    const double c1 = 1.0 - pow(beta1, (double)step), c2 = 1.0 - pow(beta2, (double)step);
    const double decay = 1.0 - lr * weight_decay;
    for (size_t i = 0; i < count; i++) {
        const double g = grad[i];
        const double mi = beta1 * m[i] + (1.0 - beta1) * g;
        const double vi = beta2 * v[i] + (1.0 - beta2) * g * g;
        m[i] = (float)mi;
        v[i] = (float)vi;
        param[i] = (float)(param[i] * decay - lr * (mi / c1) / (sqrt(vi / c2) + eps));
    }
    return attn__all_finite(param, count) ? ATTN_OK : ATTN_ERR_OVERFLOW;
}

attn_status attn_clip_grad_norm(size_t tensors,
                                float *const *grads,   // [tensors] pointers, grads[t] [counts[t]]
                                const size_t *counts,  // [tensors]
                                double max_norm,
                                double *norm) {        // [1] output: the norm before clipping, or NULL
    if (!grads || !counts) return ATTN_ERR_NULL;
    if (tensors == 0) return ATTN_ERR_SHAPE;
    if (!(max_norm > 0) || !isfinite(max_norm)) return ATTN_ERR_RANGE;
    for (size_t t = 0; t < tensors; t++) {
        if (!grads[t]) return ATTN_ERR_NULL;
        if (counts[t] == 0) return ATTN_ERR_SHAPE;
        if (!attn__all_finite(grads[t], counts[t])) return ATTN_ERR_NONFINITE;
    }
    double s = 0;
    for (size_t t = 0; t < tensors; t++)
        for (size_t i = 0; i < counts[t]; i++) s += (double)grads[t][i] * grads[t][i];
    const double total = sqrt(s);
    if (norm) *norm = total;
    if (total > max_norm) {
        const double f = max_norm / (total + 1e-6);
        for (size_t t = 0; t < tensors; t++)
            for (size_t i = 0; i < counts[t]; i++) grads[t][i] = (float)(grads[t][i] * f);
    }
    return ATTN_OK;
}

attn_status attn_lr_schedule(size_t step, size_t warmup, size_t total, double lr_max, double lr_min,
                             double *lr) {  // [1] output
    if (!lr) return ATTN_ERR_NULL;
    if (total == 0 || warmup > total || !isfinite(lr_max) || !isfinite(lr_min) || !(lr_min >= 0) ||
        !(lr_min <= lr_max))
        return ATTN_ERR_RANGE;
    const double pi = 3.14159265358979323846;
    if (step < warmup)
        *lr = lr_max * (double)(step + 1) / (double)warmup;
    else if (step >= total)
        *lr = lr_min;
    else {
        const double p = (double)(step - warmup) / (double)(total - warmup);
        *lr = lr_min + 0.5 * (lr_max - lr_min) * (1.0 + cos(pi * p));
    }
    return ATTN_OK;
}

attn_status attn_init_normal(attn_rng *rng, size_t count, double std,
                             float *out) {  // [count] output
    if (!rng || !out) return ATTN_ERR_NULL;
    if (count == 0) return ATTN_ERR_SHAPE;
    if (!(std >= 0) || !isfinite(std) || std > 1e30) return ATTN_ERR_RANGE;
    for (size_t i = 0; i < count; i++) out[i] = (float)(std * attn_rng_normal(rng));
    return ATTN_OK;
}
