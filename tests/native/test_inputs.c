/*
 * test_inputs.c - native tests of the structured input generators
 * (src/inputs.c), run under AddressSanitizer and UBSan by tests/native/run.sh.
 * Determinism, finiteness, shapes, argument checks, and the structure each
 * kind promises, measured on softmax weights computed here in float64 from
 * the generated q and k (independently of src/).
 *
 * Output: one line per failure, then "N passed, N failed".
 */
#include "../../src/attn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* One generated set of inputs, with its own memory. */
typedef struct gen {
    size_t n, d, dv;
    float *q, *k, *v;  // [n, d], [n, d], [n, dv]
    int32_t *cluster;  // [n]
    attn_status status;
} gen;

static gen generate(int kind, size_t n, size_t d, size_t dv, uint64_t seed, double scale,
                    size_t width, size_t clusters, size_t tokens) {
    gen g = {n, d, dv, NULL, NULL, NULL, NULL, ATTN_OK};
    attn_inputs_spec spec;
    attn_inputs_spec_set(&spec, kind, seed, scale, width, clusters, tokens);
    size_t floats = 0;
    g.status = attn_inputs_workspace(&spec, n, d, &floats);
    if (g.status != ATTN_OK) return g;
    g.q = malloc(n * d * sizeof(float));
    g.k = malloc(n * d * sizeof(float));
    g.v = malloc(n * dv * sizeof(float));
    g.cluster = malloc(n * sizeof(int32_t));
    float *work = floats ? malloc(floats * sizeof(float)) : NULL;
    g.status = attn_inputs(&spec, n, d, dv, g.q, g.k, g.v, g.cluster, work, floats);
    free(work);
    return g;
}

static void release(gen *g) {
    free(g->q);
    free(g->k);
    free(g->v);
    free(g->cluster);
}

static int all_finite(const float *x, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* Softmax weights at scale 1/sqrt(d) in double: p [n, n]. */
static double *weights(const gen *g) {
    size_t n = g->n, d = g->d;
    double *p = malloc(n * n * sizeof(double));
    double scale = 1 / sqrt((double)d);
    for (size_t i = 0; i < n; i++) {
        double mx = -INFINITY, sum = 0;
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t l = 0; l < d; l++) s += (double)g->q[i * d + l] * g->k[j * d + l];
            p[i * n + j] = s * scale;
            if (p[i * n + j] > mx) mx = p[i * n + j];
        }
        for (size_t j = 0; j < n; j++) sum += (p[i * n + j] = exp(p[i * n + j] - mx));
        for (size_t j = 0; j < n; j++) p[i * n + j] /= sum;
    }
    return p;
}

static void test_names(void) {
    int count = 0;
    while (attn_input_kind_name(count)) count++;
    CHECK(count == ATTN_INPUT_KIND_COUNT, "%d names, %d kinds", count, (int)ATTN_INPUT_KIND_COUNT);
    CHECK(attn_input_kind_name(-1) == NULL, "name of -1");
    CHECK(strcmp(attn_input_kind_name(ATTN_INPUT_MIXTURE), "mixture") == 0, "mixture");
    CHECK(strcmp(attn_input_kind_name(ATTN_INPUT_PREVIOUS_TOKEN), "previous-token") == 0, "previous-token");
    for (int a = 0; a < count; a++)
        for (int b = a + 1; b < count; b++)
            CHECK(strcmp(attn_input_kind_name(a), attn_input_kind_name(b)) != 0, "names %d %d", a, b);
}

/* Every kind at small and tile-boundary sizes: ATTN_OK, finite, the same bits
 * for the same seed, other bits for another seed, clusters balanced. */
static void test_shapes_determinism(void) {
    static const size_t sizes[] = {1, 3, 4, 5, 17, 64, 129};
    const size_t count = sizeof sizes / sizeof sizes[0];
    for (int kind = 0; kind < ATTN_INPUT_KIND_COUNT; kind++)
        for (size_t a = 0; a < count; a++)
            for (size_t b = 0; b < count; b++) {
                size_t n = sizes[a], d = sizes[b], dv = sizes[(a + b) % count];
                if (n * d > 64 * 129 && (a + b) % 2) continue;  /* keep the run short */
                gen g1 = generate(kind, n, d, dv, 7, 0, 0, 0, 0);
                gen g2 = generate(kind, n, d, dv, 7, 0, 0, 0, 0);
                gen g3 = generate(kind, n, d, dv, 8, 0, 0, 0, 0);
                CHECK(g1.status == ATTN_OK && g2.status == ATTN_OK && g3.status == ATTN_OK,
                      "kind %d n %zu d %zu: status %d", kind, n, d, g1.status);
                if (g1.status == ATTN_OK && g3.status == ATTN_OK) {
                    CHECK(all_finite(g1.q, n * d) && all_finite(g1.k, n * d) && all_finite(g1.v, n * dv),
                          "kind %d n %zu d %zu: not finite", kind, n, d);
                    CHECK(!memcmp(g1.q, g2.q, n * d * 4) && !memcmp(g1.k, g2.k, n * d * 4) &&
                              !memcmp(g1.v, g2.v, n * dv * 4) && !memcmp(g1.cluster, g2.cluster, n * 4),
                          "kind %d n %zu d %zu: same seed differs", kind, n, d);
                    CHECK(memcmp(g1.q, g3.q, n * d * 4) || memcmp(g1.k, g3.k, n * d * 4),
                          "kind %d n %zu d %zu: another seed gives the same q, k", kind, n, d);
                    if (kind == ATTN_INPUT_CLUSTERED) {
                        size_t clusters = n < 4 ? n : 4, sizes_seen[4] = {0, 0, 0, 0}, bad = 0;
                        for (size_t t = 0; t < n; t++) {
                            if (g1.cluster[t] < 0 || (size_t)g1.cluster[t] >= clusters) bad++;
                            else sizes_seen[g1.cluster[t]]++;
                        }
                        CHECK(bad == 0, "n %zu: cluster out of range", n);
                        for (size_t z = 0; z < clusters; z++)
                            CHECK(sizes_seen[z] == n / clusters || sizes_seen[z] == n / clusters + 1,
                                  "n %zu: cluster %zu has %zu tokens", n, z, sizes_seen[z]);
                    } else {
                        size_t bad = 0;
                        for (size_t t = 0; t < n; t++) bad += g1.cluster[t] != -1;
                        CHECK(bad == 0, "kind %d: cluster not -1", kind);
                    }
                }
                release(&g1);
                release(&g2);
                release(&g3);
            }
}

/* The same seed gives the same V whatever the kind; a larger scale
 * multiplies Q and K exactly up to rounding. */
static void test_values_and_scale(void) {
    gen base = generate(ATTN_INPUT_RANDOM, 17, 5, 3, 11, 0, 0, 0, 0);
    for (int kind = 1; kind < ATTN_INPUT_KIND_COUNT; kind++) {
        gen g = generate(kind, 17, 5, 3, 11, 0, 0, 0, 0);
        CHECK(g.status == ATTN_OK && !memcmp(g.v, base.v, 17 * 3 * 4), "kind %d: V differs", kind);
        release(&g);
    }
    release(&base);
    for (int kind = 0; kind < ATTN_INPUT_KIND_COUNT; kind++) {
        gen one = generate(kind, 33, 16, 2, 3, 1, 0, 0, 0), two = generate(kind, 33, 16, 2, 3, 2, 0, 0, 0);
        double worst = 0;
        for (size_t t = 0; t < 33 * 16; t++) {
            double e = fabs(two.q[t] - 2.0 * one.q[t]) + fabs(two.k[t] - 2.0 * one.k[t]);
            if (e > worst) worst = e;
        }
        CHECK(worst < 1e-4, "kind %d: scale 2 is not twice scale 1 (%g)", kind, worst);
        release(&one);
        release(&two);
    }
}

/* The structure each kind promises, on float64 weights. */
static void test_structure(void) {
    size_t n = 129, d = 64;
    for (uint64_t seed = 1; seed <= 2; seed++) {
        /* local: mean mass within |i - j| <= width above 0.8; random: far below. */
        for (int kind = ATTN_INPUT_RANDOM; kind <= ATTN_INPUT_LOCAL; kind++) {
            gen g = generate(kind, n, d, 4, seed, 0, 6, 0, 0);
            double *p = weights(&g), mass = 0;
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++)
                    if ((i > j ? i - j : j - i) <= 6) mass += p[i * n + j] / (double)n;
            if (kind == ATTN_INPUT_LOCAL) CHECK(mass > 0.8, "local: window mass %g", mass);
            else CHECK(mass < 0.3, "random: window mass %g", mass);
            free(p);
            release(&g);
        }
        /* previous-token: argmax i - 1 in at least 90 % of the rows i >= 1. */
        gen g = generate(ATTN_INPUT_PREVIOUS_TOKEN, n, d, 4, seed, 0, 0, 0, 0);
        double *p = weights(&g);
        size_t hits = 0;
        for (size_t i = 1; i < n; i++) {
            size_t best = 0;
            for (size_t j = 1; j < n; j++)
                if (p[i * n + j] > p[i * n + best]) best = j;
            hits += best == i - 1;
        }
        CHECK(hits >= 0.9 * (double)(n - 1), "previous-token: %zu of %zu rows", hits, n - 1);
        free(p);
        release(&g);
        /* global: the 3 sinks hold at least 80 % of every row. */
        g = generate(ATTN_INPUT_GLOBAL, n, d, 4, seed, 0, 0, 0, 3);
        p = weights(&g);
        double least = 1;
        for (size_t i = 0; i < n; i++) {
            double m = p[i * n] + p[i * n + 1] + p[i * n + 2];
            if (m < least) least = m;
        }
        CHECK(least > 0.8, "global: least sink mass %g", least);
        free(p);
        release(&g);
        /* clustered: at least 80 % of every row inside its own cluster, also
         * with more clusters than dimensions. */
        for (size_t dd = 8; dd <= 64; dd += 56) {
            size_t clusters = dd == 8 ? 12 : 5;
            gen h = generate(ATTN_INPUT_CLUSTERED, n, dd, 4, seed, 0, 0, clusters, 0);
            p = weights(&h);
            least = 1;
            double mean = 0;
            for (size_t i = 0; i < n; i++) {
                double m = 0;
                for (size_t j = 0; j < n; j++)
                    if (h.cluster[j] == h.cluster[i]) m += p[i * n + j];
                if (m < least) least = m;
                mean += m / (double)n;
            }
            if (dd == 64) CHECK(least > 0.8, "clustered: least own-cluster mass %g", least);
            else CHECK(mean > 0.8, "clustered, 12 clusters in d = 8: mean own-cluster mass %g", mean);
            free(p);
            release(&h);
        }
        /* mixture: sinks plus window hold 80 % of every row, both a share. */
        g = generate(ATTN_INPUT_MIXTURE, n, d, 4, seed, 0, 0, 0, 0);
        p = weights(&g);
        least = 1;
        double sinks = 0, window = 0;
        for (size_t i = 0; i < n; i++) {
            double s = p[i * n] + p[i * n + 1], w = 0;
            for (size_t j = 2; j < n; j++)
                if ((i > j ? i - j : j - i) <= 4) w += p[i * n + j];
            if (s + w < least) least = s + w;
            sinks += s / (double)n;
            window += w / (double)n;
        }
        CHECK(least > 0.8, "mixture: least sink + window mass %g", least);
        CHECK(sinks > 0.15 && sinks < 0.75 && window > 0.2, "mixture: sinks %g, window %g", sinks, window);
        free(p);
        release(&g);
    }
}

static void test_arguments(void) {
    attn_inputs_spec spec;
    float q[64], k[64], v[64], work[4096];
    int32_t cluster[16];
    size_t floats = 0;
    attn_inputs_spec_set(&spec, ATTN_INPUT_LOCAL, 1, 0, 0, 0, 0);
    CHECK(attn_inputs_workspace(&spec, 4, 4, &floats) == ATTN_OK && floats == 16 + 33 * 4, "workspace %zu", floats);
    CHECK(attn_inputs(&spec, 4, 4, 4, q, k, v, NULL, work, floats - 1) == ATTN_ERR_WORKSPACE, "small workspace");
    CHECK(attn_inputs(&spec, 4, 4, 4, q, k, v, NULL, NULL, floats) == ATTN_ERR_NULL, "NULL workspace");
    CHECK(attn_inputs(&spec, 4, 4, 4, NULL, k, v, NULL, work, floats) == ATTN_ERR_NULL, "NULL q");
    CHECK(attn_inputs(&spec, 4, 4, 4, q, k, NULL, NULL, work, floats) == ATTN_ERR_NULL, "NULL v");
    CHECK(attn_inputs(NULL, 4, 4, 4, q, k, v, NULL, work, floats) == ATTN_ERR_NULL, "NULL spec");
    CHECK(attn_inputs_spec_set(NULL, 0, 0, 0, 0, 0, 0) == ATTN_ERR_NULL, "set NULL");
    CHECK(attn_inputs(&spec, 0, 4, 4, q, k, v, NULL, work, floats) == ATTN_ERR_SHAPE, "n 0");
    CHECK(attn_inputs(&spec, 4, 0, 4, q, k, v, NULL, work, floats) == ATTN_ERR_SHAPE, "d 0");
    CHECK(attn_inputs(&spec, 4, 4, 0, q, k, v, NULL, work, floats) == ATTN_ERR_SHAPE, "dv 0");
    CHECK(attn_inputs_workspace(&spec, (size_t)INT32_MAX + 1, 1, &floats) == ATTN_ERR_MEMORY, "n too large");
    CHECK(attn_inputs_workspace(&spec, 4, SIZE_MAX / 2, &floats) == ATTN_ERR_MEMORY, "d too large");
    attn_inputs_spec_set(&spec, ATTN_INPUT_KIND_COUNT, 1, 0, 0, 0, 0);
    CHECK(attn_inputs_workspace(&spec, 4, 4, &floats) == ATTN_ERR_KIND, "kind past the end");
    attn_inputs_spec_set(&spec, -1, 1, 0, 0, 0, 0);
    CHECK(attn_inputs(&spec, 4, 4, 4, q, k, v, NULL, work, 4096) == ATTN_ERR_KIND, "kind -1");
    const double bad_scales[] = {-1, NAN, INFINITY, -INFINITY};
    for (size_t t = 0; t < 4; t++) {
        attn_inputs_spec_set(&spec, ATTN_INPUT_RANDOM, 1, bad_scales[t], 0, 0, 0);
        CHECK(attn_inputs(&spec, 4, 4, 4, q, k, v, NULL, work, 4096) == ATTN_ERR_RANGE, "scale %g", bad_scales[t]);
    }
    attn_inputs_spec_set(&spec, ATTN_INPUT_CLUSTERED, 1, 0, 0, 5, 0);
    CHECK(attn_inputs(&spec, 4, 4, 4, q, k, v, cluster, work, 4096) == ATTN_ERR_RANGE, "clusters > n");
    attn_inputs_spec_set(&spec, ATTN_INPUT_CLUSTERED, 1, 0, 0, 4, 0);
    CHECK(attn_inputs(&spec, 4, 4, 4, q, k, v, NULL, work, 4096) == ATTN_ERR_NULL, "clustered without cluster");
    attn_inputs_spec_set(&spec, ATTN_INPUT_GLOBAL, 1, 0, 0, 0, 5);
    CHECK(attn_inputs(&spec, 4, 4, 4, q, k, v, NULL, work, 4096) == ATTN_ERR_RANGE, "tokens > n");
    attn_inputs_spec_set(&spec, ATTN_INPUT_LOCAL, 1, 0, 1000, 0, 0);
    CHECK(attn_inputs(&spec, 4, 4, 4, q, k, v, NULL, work, 4096) == ATTN_OK, "width > n is clamped");
    for (int kind = 0; kind < ATTN_INPUT_KIND_COUNT; kind++) {
        attn_inputs_spec_set(&spec, kind, 1, 1e39, 0, 0, 0);
        CHECK(attn_inputs(&spec, 4, 4, 4, q, k, v, cluster, work, 4096) == ATTN_ERR_OVERFLOW, "kind %d: scale 1e39", kind);
        attn_inputs_spec_set(&spec, kind, 1, 1.7e308, 0, 0, 0);
        CHECK(attn_inputs(&spec, 4, 4, 4, q, k, v, cluster, work, 4096) == ATTN_ERR_OVERFLOW, "kind %d: scale 1.7e308", kind);
    }
}

int main(void) {
    test_names();
    test_shapes_determinism();
    test_values_and_scale();
    test_structure();
    test_arguments();
    printf("test_inputs: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
