/*
 * test_layers.c - native tests of the layers and the optimizer
 * (src/layers.c), run under ASan/UBSan and as wasm32 by tests/native/run.sh.
 *
 * Expected values come from float64 forwards written here from the
 * definitions (attn.h), independent of src/: every backward is compared
 * with central differences of L = sum(r o y(inputs)) for a random r (which
 * is passed as dy), every forward with its float64 value. AdamW is checked
 * against a float64 re-derivation of its update, the schedule at points
 * whose values are known in closed form, clipping and initialisation by
 * their properties (norm after clipping, direction kept, sample moments).
 *
 * TOLERANCE. A gradient component is compared against the largest |fd| of
 * its tensor (components that cancel to ~0 have no relative accuracy in
 * float32): |got - fd| <= TOL * scale + FD_ABS. The longest float32 chain
 * is a gemm sum of at most 33 products, within 33 U = 2e-6 of the sum of
 * |terms| (Higham 3.1, U = 2^-24), the rest is in double: TOL = 1e-5, with
 * a factor 5 for terms larger than their sum. Step h = 1e-5 on the float64
 * forward: truncation ~ h^2 |L'''| ~ 1e-10, rounding ~ 1e-16 |L| / h ~
 * 1e-11: FD_ABS = 1e-8. A wrong coefficient of 0.1 % fails.
 *
 * Output: one line per failure, then "N passed, N failed".
 */
#include "../../src/attn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define TOL 1e-5
#define FD_ABS 1e-8
#define H 1e-5

static double worst_ratio;
static uint64_t lcg_state = 12345;

static double uniform(void) { /* in [-1, 1) */
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg_state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* float inputs and their exact double copies */
static void fill(size_t count, float *f, double *d, double amp) {
    for (size_t i = 0; i < count; i++) {
        f[i] = (float)(amp * uniform());
        if (d) d[i] = f[i];
    }
}

static void *xalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* compare got [count] with fd [count], norm-wise as described above */
static void compare(const char *what, size_t count, const float *got, const double *fd, const char *where) {
    double scale = 0;
    for (size_t i = 0; i < count; i++) scale = fmax(scale, fabs(fd[i]));
    const double allowed = TOL * scale + FD_ABS;
    for (size_t i = 0; i < count; i++) {
        const double err = fabs((double)got[i] - fd[i]);
        if (err / allowed > worst_ratio) worst_ratio = err / allowed;
        CHECK(err <= allowed, "%s %s [%zu]: got %.9g, expected %.9g", what, where, i, got[i], fd[i]);
    }
}

/* ---- float64 forwards, L = sum r o y ------------------------------------ */

typedef struct lin_case {
    size_t n, in, out;
    double *x, *w, *b, *r;  // [n, in], [out, in], [out], [n, out]
} lin_case;

static double lin_loss(const lin_case *c) {
    double L = 0;
    for (size_t i = 0; i < c->n; i++)
        for (size_t o = 0; o < c->out; o++) {
            double y = c->b[o];
            for (size_t k = 0; k < c->in; k++) y += c->x[i * c->in + k] * c->w[o * c->in + k];
            L += c->r[i * c->out + o] * y;
        }
    return L;
}

/* central difference of loss(ctx) over each element of p [count] */
static void central(size_t count, double *p, double (*loss)(const void *), const void *ctx, double *fd) {
    for (size_t i = 0; i < count; i++) {
        const double keep = p[i];
        p[i] = keep + H;
        const double lp = loss(ctx);
        p[i] = keep - H;
        const double lm = loss(ctx);
        p[i] = keep;
        fd[i] = (lp - lm) / (2 * H);
    }
}

static double lin_loss_v(const void *c) { return lin_loss(c); }

static void test_linear_case(size_t n, size_t in, size_t out) {
    char where[64];
    snprintf(where, sizeof where, "n=%zu in=%zu out=%zu", n, in, out);
    float *x = xalloc(n * in, 4), *w = xalloc(out * in, 4), *b = xalloc(out, 4), *r = xalloc(n * out, 4);
    lin_case c = {n, in, out, xalloc(n * in, 8), xalloc(out * in, 8), xalloc(out, 8), xalloc(n * out, 8)};
    fill(n * in, x, c.x, 1.0);
    fill(out * in, w, c.w, 0.5);
    fill(out, b, c.b, 0.5);
    fill(n * out, r, c.r, 1.0);
    size_t wf = 0, wb = 0;
    CHECK(attn_layer_linear_workspace(n, in, out, &wf) == ATTN_OK, "workspace");
    CHECK(attn_layer_linear_backward_workspace(n, in, out, &wb) == ATTN_OK, "workspace");
    float *work = xalloc(wf > wb ? wf : wb, 4);
    float *y = xalloc(n * out, 4), *dx = xalloc(n * in, 4), *dw = xalloc(out * in, 4), *db = xalloc(out, 4);
    /* forward: y against float64 */
    CHECK(attn_layer_linear(n, in, out, x, w, b, y, work, wf) == ATTN_OK, "linear %s", where);
    for (size_t i = 0; i < n; i++)
        for (size_t o = 0; o < out; o++) {
            double e = c.b[o], s = fabs(c.b[o]);
            for (size_t k = 0; k < in; k++) {
                e += c.x[i * in + k] * c.w[o * in + k];
                s += fabs(c.x[i * in + k] * c.w[o * in + k]);
            }
            CHECK(fabs(y[i * out + o] - e) <= TOL * s + 1e-12, "linear y %s: %g vs %g", where, y[i * out + o], e);
        }
    /* without bias: y - b */
    float *y0 = xalloc(n * out, 4);
    CHECK(attn_layer_linear(n, in, out, x, w, NULL, y0, work, wf) == ATTN_OK, "linear no bias");
    for (size_t i = 0; i < n * out; i++)
        CHECK(fabs(y0[i] + b[i % out] - y[i]) <= 1e-5 * (1 + fabs(y[i])), "no bias %s", where);
    /* backward */
    CHECK(attn_layer_linear_backward(n, in, out, x, w, r, dx, dw, db, 0, work, wb) == ATTN_OK, "backward %s", where);
    double *fdx = xalloc(n * in, 8), *fdw = xalloc(out * in, 8), *fdb = xalloc(out, 8);
    central(n * in, c.x, lin_loss_v, &c, fdx);
    central(out * in, c.w, lin_loss_v, &c, fdw);
    central(out, c.b, lin_loss_v, &c, fdb);
    compare("linear dx", n * in, dx, fdx, where);
    compare("linear dw", out * in, dw, fdw, where);
    compare("linear db", out, db, fdb, where);
    /* accumulate: a second call adds the same gradient */
    CHECK(attn_layer_linear_backward(n, in, out, x, w, r, NULL, dw, db, 1, work, wb) == ATTN_OK, "accumulate");
    for (size_t i = 0; i < out * in; i++) fdw[i] *= 2;
    for (size_t i = 0; i < out; i++) fdb[i] *= 2;
    compare("linear dw accumulated", out * in, dw, fdw, where);
    compare("linear db accumulated", out, db, fdb, where);
    free(x), free(w), free(b), free(r), free(c.x), free(c.w), free(c.b), free(c.r), free(work);
    free(y), free(y0), free(dx), free(dw), free(db), free(fdx), free(fdw), free(fdb);
}

typedef struct ln_case {
    size_t n, d;
    double eps;
    double *x, *g, *b, *r;
} ln_case;

static double ln_loss(const void *p) {
    const ln_case *c = p;
    double L = 0;
    for (size_t i = 0; i < c->n; i++) {
        const double *xi = c->x + i * c->d;
        double mu = 0, var = 0;
        for (size_t k = 0; k < c->d; k++) mu += xi[k];
        mu /= (double)c->d;
        for (size_t k = 0; k < c->d; k++) var += (xi[k] - mu) * (xi[k] - mu);
        var /= (double)c->d;
        for (size_t k = 0; k < c->d; k++)
            L += c->r[i * c->d + k] * (c->g[k] * (xi[k] - mu) / sqrt(var + c->eps) + c->b[k]);
    }
    return L;
}

static void test_layer_norm_case(size_t n, size_t d) {
    char where[64];
    snprintf(where, sizeof where, "n=%zu d=%zu", n, d);
    float *x = xalloc(n * d, 4), *g = xalloc(d, 4), *b = xalloc(d, 4), *r = xalloc(n * d, 4);
    ln_case c = {n, d, 1e-5, xalloc(n * d, 8), xalloc(d, 8), xalloc(d, 8), xalloc(n * d, 8)};
    fill(n * d, x, c.x, 2.0);
    fill(d, g, c.g, 1.0);
    fill(d, b, c.b, 0.5);
    fill(n * d, r, c.r, 1.0);
    float *y = xalloc(n * d, 4), *dx = xalloc(n * d, 4), *dg = xalloc(d, 4), *db = xalloc(d, 4);
    CHECK(attn_layer_norm(n, d, c.eps, x, g, b, y) == ATTN_OK, "layer norm %s", where);
    /* forward: y_ik = sum over r = onehot(i, k) of L; use the loss with r = e_ik */
    double *rk = c.r;
    c.r = xalloc(n * d, 8);
    for (size_t i = 0; i < n * d; i++) {
        c.r[i] = 1;
        const double e = ln_loss(&c);
        c.r[i] = 0;
        CHECK(fabs(y[i] - e) <= 1e-6 * (1 + fabs(e)), "layer norm y %s [%zu]: %g vs %g", where, i, y[i], e);
    }
    free(c.r);
    c.r = rk;
    CHECK(attn_layer_norm_backward(n, d, c.eps, x, g, r, dx, dg, db, 0) == ATTN_OK, "ln backward %s", where);
    double *fdx = xalloc(n * d, 8), *fdg = xalloc(d, 8), *fdb = xalloc(d, 8);
    central(n * d, c.x, ln_loss, &c, fdx);
    central(d, c.g, ln_loss, &c, fdg);
    central(d, c.b, ln_loss, &c, fdb);
    compare("layer norm dx", n * d, dx, fdx, where);
    compare("layer norm dgain", d, dg, fdg, where);
    compare("layer norm dbias", d, db, fdb, where);
    CHECK(attn_layer_norm_backward(n, d, c.eps, x, g, r, NULL, dg, db, 1) == ATTN_OK, "ln accumulate");
    for (size_t k = 0; k < d; k++) fdg[k] *= 2, fdb[k] *= 2;
    compare("layer norm dgain accumulated", d, dg, fdg, where);
    compare("layer norm dbias accumulated", d, db, fdb, where);
    free(x), free(g), free(b), free(r), free(c.x), free(c.g), free(c.b), free(c.r);
    free(y), free(dx), free(dg), free(db), free(fdx), free(fdg), free(fdb);
}

static double gelu64(double x) { return 0.5 * x * (1 + tanh(sqrt(2 / acos(-1.0)) * (x + 0.044715 * x * x * x))); }

static void test_gelu(void) {
    const size_t count = 33 * 5;
    float x[33 * 5], y[33 * 5], r[33 * 5], dx[33 * 5];
    double fd[33 * 5];
    fill(count, x, NULL, 4.0);
    fill(count, r, NULL, 1.0);
    x[0] = 0.0f, x[1] = -10.0f, x[2] = 10.0f;
    CHECK(attn_gelu(count, x, y) == ATTN_OK, "gelu");
    for (size_t i = 0; i < count; i++)
        CHECK(fabs(y[i] - gelu64(x[i])) <= 1e-6 * (1 + fabs(gelu64(x[i]))), "gelu y[%zu]", i);
    /* known values: gelu(0) = 0, gelu(x) -> x and -> 0 */
    CHECK(y[0] == 0.0f && fabs(y[2] - 10.0) < 1e-5 && fabs(y[1]) < 1e-5, "gelu limits");
    CHECK(attn_gelu_backward(count, x, r, dx) == ATTN_OK, "gelu backward");
    for (size_t i = 0; i < count; i++) fd[i] = r[i] * (gelu64(x[i] + H) - gelu64(x[i] - H)) / (2 * H);
    for (size_t i = 0; i < count; i++) {
        const double allowed = 1e-6 * fabs(r[i]) + FD_ABS;
        CHECK(fabs(dx[i] - fd[i]) <= allowed, "gelu dx[%zu] x=%g: %.9g vs %.9g", i, x[i], dx[i], fd[i]);
    }
    /* in place */
    memcpy(dx, r, sizeof r);
    CHECK(attn_gelu_backward(count, x, dx, dx) == ATTN_OK, "gelu backward in place");
    compare("gelu dx in place", count, dx, fd, "");
}

typedef struct ce_case {
    size_t n, classes;
    double *z;
    const int32_t *t;
} ce_case;

static double ce_loss(const void *p) {
    const ce_case *c = p;
    double L = 0;
    size_t count = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->t[i] < 0) continue;
        count++;
        double s = 0;
        for (size_t k = 0; k < c->classes; k++) s += exp(c->z[i * c->classes + k]);
        L += log(s) - c->z[i * c->classes + c->t[i]];
    }
    return count ? L / (double)count : 0;
}

static void test_cross_entropy_case(size_t n, size_t classes) {
    char where[64];
    snprintf(where, sizeof where, "n=%zu classes=%zu", n, classes);
    float *z = xalloc(n * classes, 4), *dz = xalloc(n * classes, 4);
    int32_t *t = xalloc(n, 4);
    ce_case c = {n, classes, xalloc(n * classes, 8), t};
    fill(n * classes, z, c.z, 3.0);
    for (size_t i = 0; i < n; i++) t[i] = (i % 4 == 2) ? -1 : (int32_t)((i * 7 + 3) % classes);
    float loss = -1;
    CHECK(attn_cross_entropy(n, classes, z, t, &loss, dz) == ATTN_OK, "ce %s", where);
    const double e = ce_loss(&c);
    CHECK(fabs(loss - e) <= 1e-6 * (1 + fabs(e)), "ce loss %s: %g vs %g", where, loss, e);
    double *fd = xalloc(n * classes, 8);
    central(n * classes, c.z, ce_loss, &c, fd);
    compare("ce dlogits", n * classes, dz, fd, where);
    float loss2 = -1;
    CHECK(attn_cross_entropy(n, classes, z, t, &loss2, NULL) == ATTN_OK && loss2 == loss, "ce forward only");
    free(z), free(dz), free(t), free(c.z), free(fd);
}

static void test_cross_entropy_edges(void) {
    /* every target ignored: loss 0, gradient 0 */
    float z[6] = {1, 2, 3, 4, 5, 6}, dz[6], loss = -1;
    int32_t t[2] = {-1, -5};
    CHECK(attn_cross_entropy(2, 3, z, t, &loss, dz) == ATTN_OK && loss == 0, "ce all ignored");
    for (int i = 0; i < 6; i++) CHECK(dz[i] == 0, "ce all ignored dz");
    /* uniform logits: loss = log(classes) */
    float u[4] = {7, 7, 7, 7};
    int32_t t1[1] = {2};
    CHECK(attn_cross_entropy(1, 4, u, t1, &loss, NULL) == ATTN_OK && fabs(loss - log(4.0)) < 1e-6, "ce uniform");
    /* large logits stay finite (log-sum-exp shift) */
    float big[3] = {1e30f, 0, -1e30f};
    int32_t t0[1] = {0};
    CHECK(attn_cross_entropy(1, 3, big, t0, &loss, dz) == ATTN_OK && loss == 0 && dz[0] == 0, "ce large logits");
    int32_t bad[1] = {3};
    CHECK(attn_cross_entropy(1, 3, z, bad, &loss, dz) == ATTN_ERR_RANGE, "ce target >= classes");
    CHECK(attn_cross_entropy(0, 3, z, t0, &loss, dz) == ATTN_ERR_SHAPE, "ce n 0");
    CHECK(attn_cross_entropy(1, 3, NULL, t0, &loss, dz) == ATTN_ERR_NULL, "ce null");
    CHECK(attn_cross_entropy(1, 3, z, t0, NULL, dz) == ATTN_ERR_NULL, "ce null loss");
    float nan3[3] = {0, NAN, 0};
    CHECK(attn_cross_entropy(1, 3, nan3, t0, &loss, dz) == ATTN_ERR_NONFINITE, "ce nan");
}

static void test_embedding_case(size_t n, size_t vocab, size_t d) {
    char where[64];
    snprintf(where, sizeof where, "n=%zu vocab=%zu d=%zu", n, vocab, d);
    float *table = xalloc(vocab * d, 4), *y = xalloc(n * d, 4), *dy = xalloc(n * d, 4), *dt = xalloc(vocab * d, 4);
    int32_t *tok = xalloc(n, 4);
    double *fd = xalloc(vocab * d, 8);
    fill(vocab * d, table, NULL, 1.0);
    fill(n * d, dy, NULL, 1.0);
    for (size_t i = 0; i < n; i++) tok[i] = (int32_t)((i * i + 1) % vocab);  /* repeats when n > vocab */
    CHECK(attn_embedding(n, vocab, d, tok, table, y) == ATTN_OK, "embedding %s", where);
    for (size_t i = 0; i < n; i++)
        CHECK(memcmp(y + i * d, table + (size_t)tok[i] * d, d * 4) == 0, "embedding gather %s row %zu", where, i);
    /* L = sum dy o y is linear in the table: dL/dE[v][k] = sum_{tok_i = v} dy[i][k] */
    for (size_t v = 0; v < vocab * d; v++) fd[v] = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < d; k++) fd[(size_t)tok[i] * d + k] += dy[i * d + k];
    for (size_t v = 0; v < vocab * d; v++) dt[v] = 99.0f;
    CHECK(attn_embedding_backward(n, vocab, d, tok, dy, dt, 0) == ATTN_OK, "embedding backward %s", where);
    compare("embedding dtable", vocab * d, dt, fd, where);
    CHECK(attn_embedding_backward(n, vocab, d, tok, dy, dt, 1) == ATTN_OK, "embedding accumulate");
    for (size_t v = 0; v < vocab * d; v++) fd[v] *= 2;
    compare("embedding dtable accumulated", vocab * d, dt, fd, where);
    free(table), free(y), free(dy), free(dt), free(tok), free(fd);
}

/* ---- optimizer ---------------------------------------------------------- */

static void test_adamw(void) {
    enum { N = 17, STEPS = 6 };
    float p[N], g[N], m[N] = {0}, v[N] = {0};
    double pr[N], mr[N] = {0}, vr[N] = {0};
    fill(N, p, pr, 1.0);
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
    for (size_t t = 1; t <= STEPS; t++) {
        fill(N, g, NULL, 2.0);
        g[0] = 0.0f; /* a zero gradient: only the decay and the momentum move it */
        CHECK(attn_adamw_step(N, p, g, m, v, t, lr, b1, b2, eps, wd) == ATTN_OK, "adamw step %zu", t);
        for (size_t i = 0; i < N; i++) {
            /* decoupled decay: p (1 - lr wd), then the Adam step on bias-corrected moments */
            mr[i] = b1 * mr[i] + (1 - b1) * g[i];
            vr[i] = b2 * vr[i] + (1 - b2) * (double)g[i] * g[i];
            const double mh = mr[i] / (1 - pow(b1, (double)t)), vh = vr[i] / (1 - pow(b2, (double)t));
            pr[i] = pr[i] - lr * wd * pr[i] - lr * mh / (sqrt(vh) + eps);
        }
        for (size_t i = 0; i < N; i++) {
            CHECK(fabs(p[i] - pr[i]) <= 1e-6 * (fabs(pr[i]) + lr * (double)t), "adamw p[%zu] step %zu: %.9g vs %.9g", i,
                  t, p[i], pr[i]);
            CHECK(fabs(m[i] - mr[i]) <= 1e-6 * (fabs(mr[i]) + 1e-3), "adamw m[%zu]", i);
            CHECK(fabs(v[i] - vr[i]) <= 1e-6 * (fabs(vr[i]) + 1e-6), "adamw v[%zu]", i);
        }
    }
    /* first step without decay moves each weight by lr sign(g) (|m_hat| = sqrt(v_hat) = |g|) */
    float q[3] = {1, 1, 1}, gq[3] = {0.5f, -3.0f, 1e-3f}, mq[3] = {0}, vq[3] = {0};
    CHECK(attn_adamw_step(3, q, gq, mq, vq, 1, 0.1, 0.9, 0.99, 1e-12, 0) == ATTN_OK, "adamw first step");
    CHECK(fabs(q[0] - 0.9) < 1e-6 && fabs(q[1] - 1.1) < 1e-6 && fabs(q[2] - 0.9) < 1e-6, "adamw sign step %g %g %g",
          q[0], q[1], q[2]);
    /* weight decay alone (g = 0): p (1 - lr wd) */
    float d1[1] = {2}, z1[1] = {0}, m1[1] = {0}, v1[1] = {0};
    CHECK(attn_adamw_step(1, d1, z1, m1, v1, 1, 0.1, 0.9, 0.999, 1e-8, 0.5) == ATTN_OK && fabs(d1[0] - 1.9) < 1e-6,
          "adamw decay only: %g", d1[0]);
    /* bad arguments; a NaN gradient changes nothing */
    float keep = p[1];
    g[3] = NAN;
    CHECK(attn_adamw_step(N, p, g, m, v, 7, lr, b1, b2, eps, wd) == ATTN_ERR_NONFINITE && p[1] == keep, "adamw nan");
    g[3] = 0;
    CHECK(attn_adamw_step(N, p, g, m, v, 0, lr, b1, b2, eps, wd) == ATTN_ERR_RANGE, "adamw step 0");
    CHECK(attn_adamw_step(N, p, g, m, v, 1, NAN, b1, b2, eps, wd) == ATTN_ERR_RANGE, "adamw NaN lr");
    CHECK(attn_adamw_step(N, p, g, m, v, 1, -1, b1, b2, eps, wd) == ATTN_ERR_RANGE, "adamw negative lr");
    CHECK(attn_adamw_step(N, p, g, m, v, 1, lr, 1.0, b2, eps, wd) == ATTN_ERR_RANGE, "adamw beta1 1");
    CHECK(attn_adamw_step(N, p, g, m, v, 1, lr, b1, -0.1, eps, wd) == ATTN_ERR_RANGE, "adamw beta2 < 0");
    CHECK(attn_adamw_step(N, p, g, m, v, 1, lr, b1, b2, 0, wd) == ATTN_ERR_RANGE, "adamw eps 0");
    CHECK(attn_adamw_step(N, p, g, m, v, 1, lr, b1, b2, eps, INFINITY) == ATTN_ERR_RANGE, "adamw wd inf");
    CHECK(attn_adamw_step(0, p, g, m, v, 1, lr, b1, b2, eps, wd) == ATTN_ERR_SHAPE, "adamw count 0");
    CHECK(attn_adamw_step(N, p, NULL, m, v, 1, lr, b1, b2, eps, wd) == ATTN_ERR_NULL, "adamw null");
}

static void test_clip(void) {
    float a[5], b[33], a0[5], b0[33];
    fill(5, a, NULL, 1.0);
    fill(33, b, NULL, 1.0);
    memcpy(a0, a, sizeof a), memcpy(b0, b, sizeof b);
    double s = 0;
    for (int i = 0; i < 5; i++) s += (double)a[i] * a[i];
    for (int i = 0; i < 33; i++) s += (double)b[i] * b[i];
    const double n0 = sqrt(s);
    float *grads[2] = {a, b};
    size_t counts[2] = {5, 33};
    double norm = -1;
    /* above the threshold: the global norm becomes max_norm, the direction is kept */
    CHECK(attn_clip_grad_norm(2, grads, counts, 0.5, &norm) == ATTN_OK, "clip");
    CHECK(fabs(norm - n0) <= 1e-12 * n0, "clip norm %g vs %g", norm, n0);
    double s2 = 0;
    for (int i = 0; i < 5; i++) s2 += (double)a[i] * a[i];
    for (int i = 0; i < 33; i++) s2 += (double)b[i] * b[i];
    CHECK(fabs(sqrt(s2) - 0.5) <= 1e-5, "clipped norm %g", sqrt(s2));
    for (int i = 0; i < 5; i++) CHECK(fabs(a[i] - a0[i] * 0.5 / n0) <= 1e-6, "clip direction a[%d]", i);
    for (int i = 0; i < 33; i++) CHECK(fabs(b[i] - b0[i] * 0.5 / n0) <= 1e-6, "clip direction b[%d]", i);
    /* below the threshold: unchanged */
    memcpy(a, a0, sizeof a), memcpy(b, b0, sizeof b);
    CHECK(attn_clip_grad_norm(2, grads, counts, n0 * 1.01, NULL) == ATTN_OK, "clip below");
    CHECK(memcmp(a, a0, sizeof a) == 0 && memcmp(b, b0, sizeof b) == 0, "clip below unchanged");
    CHECK(attn_clip_grad_norm(2, grads, counts, 0, &norm) == ATTN_ERR_RANGE, "clip max 0");
    CHECK(attn_clip_grad_norm(2, grads, counts, NAN, &norm) == ATTN_ERR_RANGE, "clip max NaN");
    CHECK(attn_clip_grad_norm(0, grads, counts, 1, &norm) == ATTN_ERR_SHAPE, "clip 0 tensors");
    CHECK(attn_clip_grad_norm(2, NULL, counts, 1, &norm) == ATTN_ERR_NULL, "clip null");
    b[7] = INFINITY;
    CHECK(attn_clip_grad_norm(2, grads, counts, 0.5, &norm) == ATTN_ERR_NONFINITE && a[0] == a0[0], "clip inf");
}

static void test_schedule(void) {
    double lr = -1;
    const double mx = 3e-3, mn = 1e-4;
    /* warm-up 10, total 110: cosine over 100 steps */
    CHECK(attn_lr_schedule(0, 10, 110, mx, mn, &lr) == ATTN_OK && fabs(lr - mx / 10) < 1e-15, "warm-up first %g", lr);
    CHECK(attn_lr_schedule(4, 10, 110, mx, mn, &lr) == ATTN_OK && fabs(lr - mx / 2) < 1e-15, "warm-up middle %g", lr);
    CHECK(attn_lr_schedule(9, 10, 110, mx, mn, &lr) == ATTN_OK && fabs(lr - mx) < 1e-15, "warm-up last %g", lr);
    CHECK(attn_lr_schedule(10, 10, 110, mx, mn, &lr) == ATTN_OK && fabs(lr - mx) < 1e-15, "cosine start %g", lr);
    CHECK(attn_lr_schedule(60, 10, 110, mx, mn, &lr) == ATTN_OK && fabs(lr - (mx + mn) / 2) < 1e-15, "cosine half %g", lr);
    /* a quarter: cos(pi / 4) = sqrt(2) / 2 */
    CHECK(attn_lr_schedule(35, 10, 110, mx, mn, &lr) == ATTN_OK &&
              fabs(lr - (mn + (mx - mn) * (1 + sqrt(0.5)) / 2)) < 1e-15, "cosine quarter %g", lr);
    CHECK(attn_lr_schedule(85, 10, 110, mx, mn, &lr) == ATTN_OK &&
              fabs(lr - (mn + (mx - mn) * (1 - sqrt(0.5)) / 2)) < 1e-15, "cosine three quarters %g", lr);
    CHECK(attn_lr_schedule(110, 10, 110, mx, mn, &lr) == ATTN_OK && lr == mn, "after total %g", lr);
    CHECK(attn_lr_schedule(1000, 10, 110, mx, mn, &lr) == ATTN_OK && lr == mn, "long after total %g", lr);
    /* no warm-up: starts at the peak; warm-up == total: then the floor */
    CHECK(attn_lr_schedule(0, 0, 4, mx, mn, &lr) == ATTN_OK && lr == mx, "no warm-up %g", lr);
    CHECK(attn_lr_schedule(2, 0, 4, mx, mn, &lr) == ATTN_OK && fabs(lr - (mx + mn) / 2) < 1e-15, "no warm-up half");
    CHECK(attn_lr_schedule(3, 4, 4, mx, mn, &lr) == ATTN_OK && lr == mx, "warm-up only");
    CHECK(attn_lr_schedule(4, 4, 4, mx, mn, &lr) == ATTN_OK && lr == mn, "warm-up only, after");
    /* monotone decreasing after the warm-up */
    double prev = INFINITY;
    for (size_t s = 10; s <= 110; s++) {
        CHECK(attn_lr_schedule(s, 10, 110, mx, mn, &lr) == ATTN_OK && lr <= prev && lr >= mn, "monotone at %zu", s);
        prev = lr;
    }
    CHECK(attn_lr_schedule(0, 11, 10, mx, mn, &lr) == ATTN_ERR_RANGE, "warmup > total");
    CHECK(attn_lr_schedule(0, 0, 0, mx, mn, &lr) == ATTN_ERR_RANGE, "total 0");
    CHECK(attn_lr_schedule(0, 1, 10, NAN, mn, &lr) == ATTN_ERR_RANGE, "NaN lr");
    CHECK(attn_lr_schedule(0, 1, 10, mn, mx, &lr) == ATTN_ERR_RANGE, "min > max");
    CHECK(attn_lr_schedule(0, 1, 10, mx, -1, &lr) == ATTN_ERR_RANGE, "negative min");
    CHECK(attn_lr_schedule(0, 1, 10, mx, mn, NULL) == ATTN_ERR_NULL, "null");
}

static void test_init(void) {
    enum { N = 100000 };
    float *a = xalloc(N, 4), *b = xalloc(N, 4);
    attn_rng r1, r2;
    attn_rng_seed(&r1, 7);
    attn_rng_seed(&r2, 7);
    CHECK(attn_init_normal(&r1, N, 0.02, a) == ATTN_OK, "init");
    CHECK(attn_init_normal(&r2, N, 0.02, b) == ATTN_OK, "init again");
    CHECK(memcmp(a, b, N * 4) == 0, "init: same seed, same values");
    double s = 0, q = 0;
    for (int i = 0; i < N; i++) s += a[i], q += (double)a[i] * a[i];
    const double mean = s / N, sd = sqrt(q / N - mean * mean);
    /* sample mean within 5 standard errors (0.02 / sqrt(N) = 6.3e-5), std within 2 % (SE 0.22 %) */
    CHECK(fabs(mean) < 5 * 0.02 / sqrt((double)N), "init mean %g", mean);
    CHECK(fabs(sd - 0.02) < 0.02 * 0.02, "init std %g", sd);
    attn_rng_seed(&r2, 8);
    CHECK(attn_init_normal(&r2, N, 0.02, b) == ATTN_OK && memcmp(a, b, N * 4) != 0, "other seed differs");
    CHECK(attn_init_normal(&r2, 10, 0, b) == ATTN_OK && b[0] == 0 && b[9] == 0, "std 0");
    CHECK(attn_init_normal(&r2, 10, -1, b) == ATTN_ERR_RANGE, "std < 0");
    CHECK(attn_init_normal(&r2, 10, NAN, b) == ATTN_ERR_RANGE, "std NaN");
    CHECK(attn_init_normal(NULL, 10, 1, b) == ATTN_ERR_NULL, "null rng");
    CHECK(attn_init_normal(&r2, 0, 1, b) == ATTN_ERR_SHAPE, "count 0");
    free(a), free(b);
}

/* ---- bad arguments of the layers -------------------------------------- */

static void test_layer_errors(void) {
    float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, w[6] = {1, 1, 1, 1, 1, 1}, y[8], work[64], dx[12], dw[6];
    size_t f;
    CHECK(attn_layer_linear_workspace(0, 3, 2, &f) == ATTN_ERR_SHAPE, "linear ws shape");
    CHECK(attn_layer_linear_workspace(4, 3, 2, NULL) == ATTN_ERR_NULL, "linear ws null");
    CHECK(attn_layer_linear_workspace(SIZE_MAX / 2, SIZE_MAX / 2, 2, &f) == ATTN_ERR_MEMORY, "linear ws memory");
    CHECK(attn_layer_linear(4, 3, 2, x, w, NULL, y, work, 5) == ATTN_ERR_WORKSPACE, "linear workspace small");
    CHECK(attn_layer_linear(4, 3, 2, x, NULL, NULL, y, work, 64) == ATTN_ERR_NULL, "linear null");
    CHECK(attn_layer_linear(4, 0, 2, x, w, NULL, y, work, 64) == ATTN_ERR_SHAPE, "linear shape");
    CHECK(attn_layer_linear_backward(4, 3, 2, x, w, y, dx, dw, NULL, 0, work, 7) == ATTN_ERR_WORKSPACE,
          "linear backward workspace small");
    CHECK(attn_layer_linear_backward(4, 3, 2, x, w, y, dx, NULL, NULL, 0, work, 64) == ATTN_ERR_NULL,
          "linear backward null dw");
    float xn[12];
    memcpy(xn, x, sizeof x);
    xn[5] = NAN;
    CHECK(attn_layer_linear(4, 3, 2, xn, w, NULL, y, work, 64) == ATTN_ERR_NONFINITE, "linear nan");
    float big[6] = {3e38f, 3e38f, 3e38f, 3e38f, 3e38f, 3e38f};
    CHECK(attn_layer_linear(4, 3, 2, x, big, NULL, y, work, 64) == ATTN_ERR_OVERFLOW, "linear overflow");
    float g[3] = {1, 1, 1};
    CHECK(attn_layer_norm(4, 3, 0, x, g, NULL, x) == ATTN_ERR_RANGE, "ln eps 0");
    CHECK(attn_layer_norm(4, 3, NAN, x, g, NULL, dx) == ATTN_ERR_RANGE, "ln eps NaN");
    CHECK(attn_layer_norm(4, 3, 1e-5, x, NULL, NULL, dx) == ATTN_ERR_NULL, "ln null");
    CHECK(attn_layer_norm(0, 3, 1e-5, x, g, NULL, dx) == ATTN_ERR_SHAPE, "ln shape");
    CHECK(attn_layer_norm(4, 3, 1e-5, xn, g, NULL, dx) == ATTN_ERR_NONFINITE, "ln nan");
    CHECK(attn_layer_norm_backward(4, 3, 1e-5, x, g, xn, dx, NULL, NULL, 0) == ATTN_ERR_NONFINITE, "ln bw nan");
    CHECK(attn_layer_norm_backward(4, 3, -1, x, g, x, dx, NULL, NULL, 0) == ATTN_ERR_RANGE, "ln bw eps");
    CHECK(attn_gelu(0, x, y) == ATTN_ERR_SHAPE && attn_gelu(3, NULL, y) == ATTN_ERR_NULL, "gelu errors");
    CHECK(attn_gelu(12, xn, dx) == ATTN_ERR_NONFINITE && attn_gelu_backward(12, x, xn, dx) == ATTN_ERR_NONFINITE,
          "gelu nan");
    int32_t tok[2] = {0, 3};
    float table[9] = {0};
    CHECK(attn_embedding(2, 3, 3, tok, table, y) == ATTN_ERR_RANGE, "embedding token >= vocab");
    tok[1] = -1;
    CHECK(attn_embedding_backward(2, 3, 3, tok, x, table, 0) == ATTN_ERR_RANGE, "embedding token < 0");
    tok[1] = 1;
    CHECK(attn_embedding(2, 0, 3, tok, table, y) == ATTN_ERR_SHAPE, "embedding vocab 0");
    CHECK(attn_embedding(2, 3, 3, NULL, table, y) == ATTN_ERR_NULL, "embedding null");
    CHECK(attn_embedding_backward(2, 3, 3, tok, xn, table, 0) == ATTN_ERR_NONFINITE, "embedding bw nan");
}

int main(void) {
    static const size_t sizes[][3] = {{1, 1, 1}, {3, 4, 5}, {5, 3, 4}, {4, 17, 5}, {17, 5, 33},
                                      {33, 33, 3}, {1, 33, 17}, {5, 1, 3}};
    const int tables[2] = {ATTN_KERNELS_SCALAR, ATTN_KERNELS_SIMD};
    for (int t = 0; t < 2; t++) {
        CHECK(attn_use_kernels(tables[t]) == ATTN_OK, "kernels %d", tables[t]);
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            test_linear_case(sizes[i][0], sizes[i][1], sizes[i][2]);
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            test_embedding_case(sizes[i][0], sizes[i][1] + 1, sizes[i][2]);
    }
    static const size_t ln_sizes[][2] = {{1, 1}, {3, 4}, {4, 5}, {5, 17}, {17, 33}, {33, 3}, {1, 2}};
    for (size_t i = 0; i < sizeof ln_sizes / sizeof ln_sizes[0]; i++) test_layer_norm_case(ln_sizes[i][0], ln_sizes[i][1]);
    static const size_t ce_sizes[][2] = {{1, 1}, {3, 4}, {4, 5}, {5, 17}, {17, 33}, {33, 3}, {1, 2}};
    for (size_t i = 0; i < sizeof ce_sizes / sizeof ce_sizes[0]; i++)
        test_cross_entropy_case(ce_sizes[i][0], ce_sizes[i][1]);
    test_cross_entropy_edges();
    test_gelu();
    test_adamw();
    test_clip();
    test_schedule();
    test_init();
    test_layer_errors();
    printf("worst error / allowed: %.3g\n", worst_ratio);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
