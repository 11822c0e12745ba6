/*
 * inputs.c - structured Q, K, V: inputs whose softmax attention has the
 * structure real heads have (local, clustered, global sinks, previous token,
 * a mixture), beside plain Gaussian inputs. Definitions: attn.h, section
 * "structured inputs".
 *
 * Order of the draws from one PCG32 stream seeded by spec->seed:
 *   V (n dv normals); RANDOM: Q, K (n d normals each), done;
 *   R (d Gaussian rows, Gram-Schmidt); the kind's own draws (frequencies,
 *   or the cluster shuffle and centres); the noise of Q, then of K.
 *
 * Coordinates x (queries) and y (keys) are built for a block of 32 rows and
 * multiplied by R with an axpy loop per coordinate (the same order of
 * float operations whatever the kernel table, so the SIMD and scalar
 * instances give the same bits).
 */
#include "internal.h"

#include <float.h>
#include <math.h>

#define ATTN__INPUTS_BLOCK 32

/* x as a float, or 0 with *overflow set when it is beyond float32 (a double
 * beyond FLT_MAX has no float value to convert to). */
static float to_float(double x, int *overflow) {
    if (!(fabs(x) <= FLT_MAX)) {
        *overflow = 1;
        return 0;
    }
    return (float)x;
}

const char *attn_input_kind_name(int id) {
    switch (id) {
#define ATTN__INPUT_NAME(name, value, text) case value: return text;
        ATTN_INPUT_KIND_LIST(ATTN__INPUT_NAME)
#undef ATTN__INPUT_NAME
    default: return NULL;
    }
}

size_t attn_inputs_spec_size(void) { return sizeof(attn_inputs_spec); }

attn_status attn_inputs_spec_set(attn_inputs_spec *spec, int kind, uint64_t seed, double scale,
                                 size_t width, size_t clusters, size_t tokens) {
    if (!spec) return ATTN_ERR_NULL;
    *spec = (attn_inputs_spec){kind, seed, scale, width, clusters, tokens};
    return ATTN_OK;
}

/* The spec with its defaults filled in, checked against n and d. */
struct inputs_plan;
static attn_status plan_inputs(const attn_inputs_spec *spec, size_t n, size_t d, struct inputs_plan *p);
typedef struct inputs_plan {
    int kind;
    double scale;
    size_t width, clusters, tokens;
    size_t work;  /* floats of workspace */
} inputs_plan;

static attn_status plan_inputs(const attn_inputs_spec *spec, size_t n, size_t d, inputs_plan *p) {
    if (!spec) return ATTN_ERR_NULL;
    if (n == 0 || d == 0) return ATTN_ERR_SHAPE;
    if (spec->kind < 0 || spec->kind >= ATTN_INPUT_KIND_COUNT) return ATTN_ERR_KIND;
    if (!isfinite(spec->scale) || spec->scale < 0) return ATTN_ERR_RANGE;
    if (spec->clusters > n || spec->tokens > n) return ATTN_ERR_RANGE;
    if (n > INT32_MAX) return ATTN_ERR_MEMORY;
    attn_status st = attn__matrix_fits(n, d);
    if (st != ATTN_OK) return st;
    p->kind = spec->kind;
    p->scale = spec->scale == 0 ? attn_default_value(ATTN_DEFAULT_INPUTS_SCALE) : spec->scale;
    p->width = attn__min(spec->width == 0 ? (size_t)attn_default_value(ATTN_DEFAULT_INPUTS_WIDTH) : spec->width, n);
    p->clusters = spec->clusters == 0 ? attn__min((size_t)attn_default_value(ATTN_DEFAULT_INPUTS_CLUSTERS), n)
                                      : spec->clusters;
    p->tokens = spec->tokens == 0 ? attn__min((size_t)attn_default_value(ATTN_DEFAULT_INPUTS_TOKENS), n) : spec->tokens;
    p->work = 0;
    if (p->kind == ATTN_INPUT_RANDOM) return ATTN_OK;
    size_t dd, rows, total;
    if (!attn__mul(d, d, &dd) || !attn__mul(d, ATTN__INPUTS_BLOCK + 1, &rows) ||
        !attn__add(dd, rows, &total))
        return ATTN_ERR_MEMORY;
    if (p->kind == ATTN_INPUT_CLUSTERED && p->clusters > d) {
        size_t centres;
        if (!attn__mul(p->clusters, d, &centres) || !attn__add(total, centres, &total))
            return ATTN_ERR_MEMORY;
    }
    st = attn__matrix_fits(total, 1);
    if (st != ATTN_OK) return st;
    p->work = total;
    return ATTN_OK;
}

attn_status attn_inputs_workspace(const attn_inputs_spec *spec, size_t n, size_t d,
                                  size_t *floats) {
    if (!floats) return ATTN_ERR_NULL;
    inputs_plan p;
    attn_status st = plan_inputs(spec, n, d, &p);
    if (st != ATTN_OK) return st;
    *floats = p.work;
    return ATTN_OK;
}

/* The standard normal quantile, Acklam's rational approximation (relative
 * error below 1.2e-9), for p in (0, 1). */
static double normal_quantile(double p) {
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                -2.759285104469687e+02, 1.383577518672690e+02,
                                -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                -1.556989798598866e+02, 6.680131188771972e+01,
                                -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                -2.400758277161838e+00, -2.549671461536260e+00,
                                4.374664141464968e+00, 2.938163982698783e+00};
    static const double e[4] = {7.784695709041462e-03, 3.224671290700398e-01,
                                2.445134137142996e+00, 3.754408661907416e+00};
    const double low = 0.02425;
    if (p < low || p > 1 - low) {
        double t = sqrt(-2 * log(p < low ? p : 1 - p));
        double x = (((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5]) /
                   ((((e[0] * t + e[1]) * t + e[2]) * t + e[3]) * t + 1);
        return p < low ? x : -x;
    }
    double t = p - 0.5, r = t * t;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * t /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/* A uniform double in (0, 1), never 0 or 1. */
static double open_uniform(attn_rng *rng) {
    return ((double)attn_rng_u32(rng) + 0.5) * (1.0 / 4294967296.0);
}

/* The coordinates of one row: position pos (query or key) of token t. */
typedef struct inputs_rows {
    const inputs_plan *p;
    size_t d;
    size_t pairs, first;     /* rotary pairs from coordinate `first` */
    double pair_amplitude;   /* a, with F a^2 = sqrt(d) beta */
    double amplitude;        /* g, with g^2 = sqrt(d) beta */
    const float *freq;       /* [pairs] */
    const int32_t *cluster;  /* [n] */
    const float *centres;    /* [clusters, d] or NULL (one-hot) */
} inputs_rows;

static void coordinates(const inputs_rows *c, int key, size_t t,
                        float *x) {  // [d]
    size_t d = c->d;
    for (size_t l = 0; l < d; l++) x[l] = 0;
    int kind = c->p->kind;
    if (kind == ATTN_INPUT_GLOBAL || kind == ATTN_INPUT_MIXTURE) {
        if (!key || t < c->p->tokens) x[0] = (float)c->amplitude;
    }
    if (kind == ATTN_INPUT_CLUSTERED) {
        size_t z = (size_t)c->cluster[t];
        if (c->centres)
            for (size_t l = 0; l < d; l++) x[l] = (float)(c->amplitude * c->centres[z * d + l]);
        else
            x[z] = (float)c->amplitude;
    }
    /* A sink's key is the sink direction alone (MIXTURE): with position
     * features too, its logit would carry the far-key estimation noise of
     * LOCAL (beta / sqrt(2F)), different for every query. */
    if (c->pairs && !(kind == ATTN_INPUT_MIXTURE && key && t < c->p->tokens)) {
        double pos = (double)t - (kind == ATTN_INPUT_PREVIOUS_TOKEN && !key ? 1.0 : 0.0);
        for (size_t f = 0; f < c->pairs; f++) {
            double angle = (double)c->freq[f] * pos;
            x[c->first + 2 * f] = (float)(c->pair_amplitude * cos(angle));
            x[c->first + 2 * f + 1] = (float)(c->pair_amplitude * sin(angle));
        }
    }
}

/* out = the coordinates of every row times rot, 32 rows at a time. */
static void rotate_rows(const inputs_rows *c, int key, size_t n, const float *rot,  // [d, d]
                        float *block,  // [32, d]
                        float *out) {  // [n, d]
    size_t d = c->d;
    for (size_t i0 = 0; i0 < n; i0 += ATTN__INPUTS_BLOCK) {
        size_t rows = attn__min(ATTN__INPUTS_BLOCK, n - i0);
        for (size_t r = 0; r < rows; r++) coordinates(c, key, i0 + r, block + r * d);
        for (size_t r = 0; r < rows; r++) {
            float *o = out + (i0 + r) * d;
            const float *x = block + r * d;
            for (size_t col = 0; col < d; col++) o[col] = 0;
            for (size_t l = 0; l < d; l++) {
                float xl = x[l];
                if (xl == 0) continue;
                const float *rl = rot + l * d;
                for (size_t col = 0; col < d; col++) o[col] += xl * rl[col];
            }
        }
    }
}

attn_status attn_inputs(const attn_inputs_spec *spec, size_t n, size_t d, size_t dv,
                        float *q,          // [n, d] output
                        float *k,          // [n, d] output
                        float *v,          // [n, dv] output
                        int32_t *cluster,  // [n] output, or NULL
                        float *work, size_t work_floats) {  // [work_floats]
    inputs_plan p;
    attn_status st = plan_inputs(spec, n, d, &p);
    if (st != ATTN_OK) return st;
    if (dv == 0) return ATTN_ERR_SHAPE;
    if ((st = attn__matrix_fits(n, dv)) != ATTN_OK) return st;
    if (!q || !k || !v) return ATTN_ERR_NULL;
    if (p.kind == ATTN_INPUT_CLUSTERED && !cluster) return ATTN_ERR_NULL;
    if (p.work && !work) return ATTN_ERR_NULL;
    if (work_floats < p.work) return ATTN_ERR_WORKSPACE;

    attn_rng rng;
    attn_rng_seed(&rng, spec->seed);
    size_t nd = n * d, ndv = n * dv;
    for (size_t t = 0; t < ndv; t++) v[t] = (float)attn_rng_normal(&rng);
    if (cluster && p.kind != ATTN_INPUT_CLUSTERED)
        for (size_t t = 0; t < n; t++) cluster[t] = -1;

    int overflow = 0;
    if (p.kind == ATTN_INPUT_RANDOM) {
        for (size_t t = 0; t < nd; t++) q[t] = to_float(p.scale * attn_rng_normal(&rng), &overflow);
        for (size_t t = 0; t < nd; t++) k[t] = to_float(p.scale * attn_rng_normal(&rng), &overflow);
    } else {
        float *rot = work;                                   // [d, d]
        float *block = rot + d * d;                          // [32, d]
        float *freq = block + (size_t)ATTN__INPUTS_BLOCK * d;  // [d]
        float *centres = freq + d;                           // [clusters, d] if clusters > d
        attn__orthonormal_rows(&rng, d, d, rot);  // a random rotation

        double beta = ATTN_INPUTS_BETA, root_d = sqrt((double)d);
        inputs_rows c = {&p, d, 0, 0, 0, sqrt(root_d * beta), freq, cluster, NULL};
        if (p.kind == ATTN_INPUT_LOCAL || p.kind == ATTN_INPUT_PREVIOUS_TOKEN ||
            p.kind == ATTN_INPUT_MIXTURE) {
            c.first = p.kind == ATTN_INPUT_MIXTURE ? 1 : 0;
            c.pairs = (d - c.first) / 2;
            double tau = p.kind == ATTN_INPUT_PREVIOUS_TOKEN ? 0.4 : (double)p.width / 2.5;
            double sigma = tau * sqrt(beta);
            for (size_t f = 0; f < c.pairs; f++) {
                double u = ((double)f + open_uniform(&rng)) / (double)c.pairs;
                freq[f] = (float)(normal_quantile(u) / sigma);
            }
            if (c.pairs) c.pair_amplitude = sqrt(root_d * beta / (double)c.pairs);
        }
        if (p.kind == ATTN_INPUT_CLUSTERED) {
            for (size_t t = 0; t < n; t++) cluster[t] = (int32_t)(t % p.clusters);
            for (size_t t = n - 1; t > 0; t--) {  /* Fisher-Yates */
                size_t j = (size_t)(attn_rng_uniform(&rng) * (double)(t + 1));
                int32_t tmp = cluster[t];
                cluster[t] = cluster[j];
                cluster[j] = tmp;
            }
            if (p.clusters > d) {
                for (size_t z = 0; z < p.clusters; z++) {
                    float *row = centres + z * d;
                    double norm = 0;
                    while (norm < 1e-12) {
                        norm = 0;
                        for (size_t l = 0; l < d; l++) {
                            row[l] = (float)attn_rng_normal(&rng);
                            norm += (double)row[l] * row[l];
                        }
                    }
                    double inv = 1 / sqrt(norm);
                    for (size_t l = 0; l < d; l++) row[l] = (float)(row[l] * inv);
                }
                c.centres = centres;
            }
        }
        rotate_rows(&c, 0, n, rot, block, q);
        rotate_rows(&c, 1, n, rot, block, k);
        for (size_t t = 0; t < nd; t++)
            q[t] = to_float(p.scale * (q[t] + ATTN_INPUTS_NOISE * attn_rng_normal(&rng)), &overflow);
        for (size_t t = 0; t < nd; t++)
            k[t] = to_float(p.scale * (k[t] + ATTN_INPUTS_NOISE * attn_rng_normal(&rng)), &overflow);
    }
    return overflow ? ATTN_ERR_OVERFLOW : ATTN_OK;
}

attn_status attn_inputs_resolved(const attn_inputs_spec *spec, size_t n, size_t d,
                                 double *scale, size_t *width, size_t *clusters, size_t *tokens) {
    if (!scale || !width || !clusters || !tokens) return ATTN_ERR_NULL;
    inputs_plan p;
    attn_status st = plan_inputs(spec, n, d, &p);
    if (st != ATTN_OK) return st;
    *scale = p.scale;
    *width = p.width;
    *clusters = p.clusters;
    *tokens = p.tokens;
    return ATTN_OK;
}
