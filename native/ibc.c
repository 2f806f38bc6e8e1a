/* Optional native field core for src/crypto/pairing (loaded by src/crypto/native.ts).
 *
 * Montgomery arithmetic over F_p for odd p of up to 1024 bits (64-bit limbs, CIOS), and on it
 * the operations whose BigInt versions dominate SAKKE (RFC 6508): the SAKKE-shaped Miller loop
 * (tate.ts millerSakke), the cached-line Miller evaluation (SakkeLines.miller), F_p^2 powers
 * and scalar multiplication on y^2 = x^3 - 3x + b in Jacobian coordinates. Every function
 * computes exactly what its TypeScript twin computes (same formulas, Montgomery form is an
 * isomorphism), so both paths are checked against the same vectors and against each other.
 *
 * Values cross the boundary as big-endian byte strings of the field's length.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t limb;
typedef unsigned __int128 dlimb;
#define MAXN 16

typedef struct {
    int n;                 /* limbs */
    size_t len;            /* octets of p */
    limb p[MAXN];
    limb pinv;             /* -p^-1 mod 2^64 */
    limb r2[MAXN];         /* R^2 mod p, R = 2^(64n) */
    limb one[MAXN];        /* R mod p */
    unsigned char key[MAXN * 8];
} field;

typedef limb fe[MAXN];

/* ---- F_p in Montgomery form ---- */

static void fe_copy(const field* F, limb* r, const limb* a) { memcpy(r, a, sizeof(limb) * F->n); }

static int fe_is_zero(const field* F, const limb* a)
{
    limb z = 0;
    for (int i = 0; i < F->n; i++) z |= a[i];
    return z == 0;
}

static int fe_eq(const field* F, const limb* a, const limb* b)
{
    limb z = 0;
    for (int i = 0; i < F->n; i++) z |= a[i] ^ b[i];
    return z == 0;
}

/* r = a - p if a >= p (a given with its carry bit), constant time */
static void fe_reduce_once(const field* F, limb* r, const limb* a, limb carry)
{
    limb t[MAXN];
    limb borrow = 0;
    for (int i = 0; i < F->n; i++) {
        dlimb d = (dlimb)a[i] - F->p[i] - borrow;
        t[i] = (limb)d;
        borrow = (limb)(d >> 64) & 1;
    }
    /* keep t when carry = 1 or no borrow */
    limb keep = (limb)0 - ((carry | (borrow ^ 1)) & 1);
    for (int i = 0; i < F->n; i++) r[i] = (t[i] & keep) | (a[i] & ~keep);
}

static void fe_add(const field* F, limb* r, const limb* a, const limb* b)
{
    limb s[MAXN];
    limb c = 0;
    for (int i = 0; i < F->n; i++) {
        dlimb d = (dlimb)a[i] + b[i] + c;
        s[i] = (limb)d;
        c = (limb)(d >> 64);
    }
    fe_reduce_once(F, r, s, c);
}

static void fe_sub(const field* F, limb* r, const limb* a, const limb* b)
{
    limb s[MAXN];
    limb borrow = 0;
    for (int i = 0; i < F->n; i++) {
        dlimb d = (dlimb)a[i] - b[i] - borrow;
        s[i] = (limb)d;
        borrow = (limb)(d >> 64) & 1;
    }
    limb mask = (limb)0 - borrow;
    limb c = 0;
    for (int i = 0; i < F->n; i++) {
        dlimb d = (dlimb)s[i] + (F->p[i] & mask) + c;
        r[i] = (limb)d;
        c = (limb)(d >> 64);
    }
}

static void fe_neg(const field* F, limb* r, const limb* a)
{
    limb z[MAXN] = { 0 };
    fe_sub(F, r, z, a);
}

/* OpenSSL's bn_mul_mont (assembly on x86_64 and arm64), when the node binary exports it:
 * rp = ap*bp*R^-1 mod np, fully reduced; returns 0 when it declines the size */
typedef int (*bn_mul_mont_fn)(limb* rp, const limb* ap, const limb* bp, const limb* np, const limb* n0, int num);
static bn_mul_mont_fn openssl_mul_mont;

static void fe_mul_c(const field* F, limb* r, const limb* a, const limb* b);

static void fe_mul(const field* F, limb* r, const limb* a, const limb* b)
{
    /* OpenSSL's callers pass rp == ap == bp (BN_mod_exp_mont): aliasing is allowed */
    if (openssl_mul_mont != NULL && F->n >= 4 && openssl_mul_mont(r, a, b, F->p, &F->pinv, F->n)) return;
    fe_mul_c(F, r, a, b);
}

/* r = a*b*R^-1 mod p (CIOS) */
static void fe_mul_c(const field* F, limb* r, const limb* a, const limb* b)
{
    const int n = F->n;
    limb t[MAXN + 2];
    memset(t, 0, sizeof(limb) * (n + 2));
    for (int i = 0; i < n; i++) {
        limb c = 0;
        const limb ai = a[i];
        for (int j = 0; j < n; j++) {
            dlimb d = (dlimb)ai * b[j] + t[j] + c;
            t[j] = (limb)d;
            c = (limb)(d >> 64);
        }
        dlimb d = (dlimb)t[n] + c;
        t[n] = (limb)d;
        t[n + 1] = (limb)(d >> 64);
        const limb m = t[0] * F->pinv;
        d = (dlimb)m * F->p[0] + t[0];
        c = (limb)(d >> 64);
        for (int j = 1; j < n; j++) {
            d = (dlimb)m * F->p[j] + t[j] + c;
            t[j - 1] = (limb)d;
            c = (limb)(d >> 64);
        }
        d = (dlimb)t[n] + c;
        t[n - 1] = (limb)d;
        t[n] = t[n + 1] + (limb)(d >> 64);
    }
    fe_reduce_once(F, r, t, t[n]);
}

static void fe_sqr(const field* F, limb* r, const limb* a) { fe_mul(F, r, a, a); }

static void fe_dbl(const field* F, limb* r, const limb* a) { fe_add(F, r, a, a); }

static void fe_to_mont(const field* F, limb* r, const limb* a) { fe_mul(F, r, a, F->r2); }

static void fe_from_mont(const field* F, limb* r, const limb* a)
{
    limb one[MAXN] = { 1 };
    fe_mul(F, r, a, one);
}

/* big-endian octets (len <= F->len, value < p checked by the caller's contract) -> limbs */
static void be_to_limbs(const field* F, limb* r, const unsigned char* b, size_t len)
{
    memset(r, 0, sizeof(limb) * F->n);
    for (size_t i = 0; i < len; i++) {
        size_t bit = (len - 1 - i) * 8;
        if (bit / 64 < (size_t)F->n) r[bit / 64] |= (limb)b[i] << (bit % 64);
    }
}

static void limbs_to_be(const field* F, unsigned char* b, const limb* a)
{
    for (size_t i = 0; i < F->len; i++) {
        size_t bit = (F->len - 1 - i) * 8;
        b[i] = (unsigned char)(a[bit / 64] >> (bit % 64));
    }
}

static int limbs_lt_p(const field* F, const limb* a)
{
    for (int i = F->n - 1; i >= 0; i--) {
        if (a[i] != F->p[i]) return a[i] < F->p[i];
    }
    return 0;
}

#define NFIELDS 4
static field fields[NFIELDS];
static int nfields = 0;

static const field* field_for(const unsigned char* pb, size_t len)
{
    if (len == 0 || len > MAXN * 8 || (pb[len - 1] & 1) == 0) return NULL;
    for (int i = 0; i < nfields; i++) {
        if (fields[i].len == len && memcmp(fields[i].key, pb, len) == 0) return &fields[i];
    }
    field* F = &fields[nfields < NFIELDS ? nfields++ : NFIELDS - 1];
    memset(F, 0, sizeof(*F));
    F->len = len;
    F->n = (int)((len + 7) / 8);
    memcpy(F->key, pb, len);
    be_to_limbs(F, F->p, pb, len);
    limb inv = 1; /* Newton: inv = p0^-1 mod 2^64 */
    for (int i = 0; i < 7; i++) inv *= 2 - F->p[0] * inv;
    F->pinv = (limb)0 - inv;
    /* R mod p by doubling 1 (64n times), then R^2 = R * 2^(64n) by 64n more doublings */
    limb x[MAXN] = { 1 };
    for (int i = 0; i < 64 * F->n; i++) fe_add(F, x, x, x);
    memcpy(F->one, x, sizeof(x));
    for (int i = 0; i < 64 * F->n; i++) fe_add(F, x, x, x);
    memcpy(F->r2, x, sizeof(x));
    return F;
}

/* ---- F_p^2 = F_p[i], i^2 = -1 ---- */

static void fp2_mul(const field* F, limb* r0, limb* r1, const limb* a0, const limb* a1, const limb* b0, const limb* b1)
{
    fe t0, t1, s, u;
    fe_mul(F, t0, a0, b0);
    fe_mul(F, t1, a1, b1);
    fe_add(F, s, a0, a1);
    fe_add(F, u, b0, b1);
    fe_mul(F, s, s, u);
    fe_sub(F, s, s, t0);
    fe_sub(F, r1, s, t1);
    fe_sub(F, r0, t0, t1);
}

static void fp2_sqr(const field* F, limb* r0, limb* r1, const limb* a0, const limb* a1)
{
    fe s, d, m;
    fe_add(F, s, a0, a1);
    fe_sub(F, d, a0, a1);
    fe_mul(F, m, a0, a1);
    fe_mul(F, r0, s, d);
    fe_dbl(F, r1, m);
}

/* ---- the SAKKE Miller loop (tate.ts millerSakke), all in Montgomery form ---- */

static int miller_sakke(const field* F, const signed char* steps, size_t nsteps, const limb* Ax, const limb* Ay,
                        const limb* Qx, const limb* Qy, limb* f0, limb* f1)
{
    fe X, Y, Z, QxA, yNeg, ZZ, M, YY, Z3, re, im, s0, s1, t0, t1, S, X3, tmp, tmp2;
    fe_add(F, QxA, Qx, Ax);
    fe_neg(F, yNeg, Ay);
    fe_copy(F, f0, F->one);
    memset(f1, 0, sizeof(limb) * F->n);
    fe_copy(F, X, Ax);
    fe_copy(F, Y, Ay);
    fe_copy(F, Z, F->one);
    for (size_t k = 0; k < nsteps; k++) {
        fe_sqr(F, ZZ, Z);
        fe_sub(F, tmp, X, ZZ);
        fe_add(F, tmp2, X, ZZ);
        fe_mul(F, M, tmp, tmp2);
        fe_add(F, tmp, M, M);
        fe_add(F, M, tmp, M); /* M = 3(X - ZZ)(X + ZZ) */
        fe_sqr(F, YY, Y);
        fe_mul(F, Z3, Y, Z);
        fe_dbl(F, Z3, Z3);
        fe_mul(F, tmp, ZZ, Qx);
        fe_add(F, tmp, tmp, X);
        fe_mul(F, re, M, tmp);
        fe_dbl(F, tmp, YY);
        fe_sub(F, re, re, tmp);
        fe_mul(F, tmp, Z3, ZZ);
        fe_mul(F, im, tmp, Qy);
        /* f = f^2 * (re + i im) */
        fp2_sqr(F, s0, s1, f0, f1);
        fe_mul(F, t0, s0, re);
        fe_mul(F, t1, s1, im);
        fe_add(F, tmp, s0, s1);
        fe_add(F, tmp2, re, im);
        fe_mul(F, tmp, tmp, tmp2);
        fe_sub(F, tmp, tmp, t0);
        fe_sub(F, f1, tmp, t1);
        fe_sub(F, f0, t0, t1);
        /* doubling */
        fe_mul(F, S, X, YY);
        fe_dbl(F, S, S);
        fe_dbl(F, S, S);
        fe_sqr(F, X3, M);
        fe_dbl(F, tmp, S);
        fe_sub(F, X3, X3, tmp);
        fe_sub(F, tmp, S, X3);
        fe_mul(F, tmp, M, tmp);
        fe_sqr(F, tmp2, YY);
        fe_dbl(F, tmp2, tmp2);
        fe_dbl(F, tmp2, tmp2);
        fe_dbl(F, tmp2, tmp2);
        fe_sub(F, Y, tmp, tmp2);
        fe_copy(F, X, X3);
        fe_copy(F, Z, Z3);
        int d = steps[k];
        if (d != 0) {
            const limb* yK = d > 0 ? Ay : yNeg;
            fe Z1Z1, U2, S2, H, r, Zn, lre, lim, u0, u1, HH, HHH, V, Xn;
            fe_sqr(F, Z1Z1, Z);
            fe_mul(F, U2, Ax, Z1Z1);
            fe_mul(F, tmp, yK, Z);
            fe_mul(F, S2, tmp, Z1Z1);
            fe_sub(F, H, U2, X);
            fe_sub(F, r, S2, Y);
            if (fe_is_zero(F, H)) return -1;
            fe_mul(F, Zn, Z, H);
            fe_mul(F, lre, r, QxA);
            fe_mul(F, tmp, yK, Zn);
            fe_sub(F, lre, lre, tmp);
            fe_mul(F, lim, Zn, Qy);
            fe_mul(F, u0, f0, lre);
            fe_mul(F, u1, f1, lim);
            fe_add(F, tmp, f0, f1);
            fe_add(F, tmp2, lre, lim);
            fe_mul(F, tmp, tmp, tmp2);
            fe_sub(F, tmp, tmp, u0);
            fe_sub(F, f1, tmp, u1);
            fe_sub(F, f0, u0, u1);
            fe_sqr(F, HH, H);
            fe_mul(F, HHH, H, HH);
            fe_mul(F, V, X, HH);
            fe_sqr(F, Xn, r);
            fe_sub(F, Xn, Xn, HHH);
            fe_dbl(F, tmp, V);
            fe_sub(F, Xn, Xn, tmp);
            fe_sub(F, tmp, V, Xn);
            fe_mul(F, tmp, r, tmp);
            fe_mul(F, tmp2, Y, HHH);
            fe_sub(F, Y, tmp, tmp2);
            fe_copy(F, X, Xn);
            fe_copy(F, Z, Zn);
        }
    }
    /* [q-1]A = -A: Z != 0, X = xA ZZ, Y = -yA ZZ Z */
    if (fe_is_zero(F, Z)) return -1;
    fe_sqr(F, ZZ, Z);
    fe_mul(F, tmp, Ax, ZZ);
    if (!fe_eq(F, tmp, X)) return -1;
    fe_mul(F, tmp, yNeg, ZZ);
    fe_mul(F, tmp, tmp, Z);
    if (!fe_eq(F, tmp, Y)) return -1;
    return 0;
}

/* f_A([i]Q) from cached lines lambda*Qx + mu + i*Qy (SakkeLines.miller) */
static void miller_lines(const field* F, const limb* lines, const unsigned char* sq, size_t n, const limb* Qx,
                         const limb* Qy, limb* f0, limb* f1)
{
    fe re, t0, t1, tmp, tmp2;
    fe_copy(F, f0, F->one);
    memset(f1, 0, sizeof(limb) * F->n);
    for (size_t k = 0; k < n; k++) {
        if (sq[k]) fp2_sqr(F, f0, f1, f0, f1);
        const limb* lam = lines + (2 * k) * F->n;
        const limb* mu = lines + (2 * k + 1) * F->n;
        fe_mul(F, re, lam, Qx);
        fe_add(F, re, re, mu);
        fe_mul(F, t0, f0, re);
        fe_mul(F, t1, f1, Qy);
        fe_add(F, tmp, f0, f1);
        fe_add(F, tmp2, re, Qy);
        fe_mul(F, tmp, tmp, tmp2);
        fe_sub(F, tmp, tmp, t0);
        fe_sub(F, f1, tmp, t1);
        fe_sub(F, f0, t0, t1);
    }
}

/* (a0 + i a1)^e, left to right over the bits of e (public exponents) */
static void fp2_pow(const field* F, limb* r0, limb* r1, const limb* a0, const limb* a1, const unsigned char* e, size_t elen)
{
    fe x0, x1;
    int started = 0;
    fe_copy(F, x0, F->one);
    memset(x1, 0, sizeof(x1));
    for (size_t i = 0; i < elen; i++) {
        for (int b = 7; b >= 0; b--) {
            if (started) fp2_sqr(F, x0, x1, x0, x1);
            if ((e[i] >> b) & 1) {
                fp2_mul(F, x0, x1, x0, x1, a0, a1);
                started = 1;
            }
        }
    }
    fe_copy(F, r0, x0);
    fe_copy(F, r1, x1);
}

/* ---- Jacobian points on y^2 = x^3 - 3x + b (b unused by the formulas) ---- */

typedef struct {
    fe X, Y, Z;
} jac;

static void jac_double(const field* F, jac* r, const jac* A)
{
    /* dbl-2001-b for a = -3 */
    fe delta, gamma, beta, alpha, t, u;
    if (fe_is_zero(F, A->Z)) {
        *r = *A;
        return;
    }
    fe_sqr(F, delta, A->Z);
    fe_sqr(F, gamma, A->Y);
    fe_mul(F, beta, A->X, gamma);
    fe_sub(F, t, A->X, delta);
    fe_add(F, u, A->X, delta);
    fe_mul(F, alpha, t, u);
    fe_add(F, t, alpha, alpha);
    fe_add(F, alpha, t, alpha);
    fe_add(F, t, A->Y, A->Z);
    fe_sqr(F, t, t);
    fe_sub(F, t, t, gamma);
    fe_sub(F, r->Z, t, delta);
    fe_dbl(F, u, beta);
    fe_dbl(F, u, u); /* 4 beta */
    fe_sqr(F, t, alpha);
    fe_sub(F, t, t, u);
    fe_sub(F, r->X, t, u); /* X3 = alpha^2 - 8 beta */
    fe_sub(F, u, u, r->X);
    fe_mul(F, u, alpha, u);
    fe_sqr(F, t, gamma);
    fe_dbl(F, t, t);
    fe_dbl(F, t, t);
    fe_dbl(F, t, t);
    fe_sub(F, r->Y, u, t);
}

/* r = A + B (add-2007-bl); the doubling and infinity cases by branches on the points */
static void jac_add(const field* F, jac* r, const jac* A, const jac* B)
{
    fe Z1Z1, Z2Z2, U1, U2, S1, S2, H, I, J, rr, V, t;
    if (fe_is_zero(F, A->Z)) {
        *r = *B;
        return;
    }
    if (fe_is_zero(F, B->Z)) {
        *r = *A;
        return;
    }
    fe_sqr(F, Z1Z1, A->Z);
    fe_sqr(F, Z2Z2, B->Z);
    fe_mul(F, U1, A->X, Z2Z2);
    fe_mul(F, U2, B->X, Z1Z1);
    fe_mul(F, t, A->Y, B->Z);
    fe_mul(F, S1, t, Z2Z2);
    fe_mul(F, t, B->Y, A->Z);
    fe_mul(F, S2, t, Z1Z1);
    fe_sub(F, H, U2, U1);
    fe_sub(F, rr, S2, S1);
    if (fe_is_zero(F, H)) {
        if (fe_is_zero(F, rr)) {
            jac_double(F, r, A);
        } else {
            memset(r, 0, sizeof(*r));
            fe_copy(F, r->X, F->one);
            fe_copy(F, r->Y, F->one);
        }
        return;
    }
    fe_dbl(F, I, H);
    fe_sqr(F, I, I);
    fe_mul(F, J, H, I);
    fe_dbl(F, rr, rr);
    fe_mul(F, V, U1, I);
    jac out;
    fe_sqr(F, t, rr);
    fe_sub(F, t, t, J);
    fe_sub(F, t, t, V);
    fe_sub(F, out.X, t, V);
    fe_sub(F, t, V, out.X);
    fe_mul(F, t, rr, t);
    fe_mul(F, S1, S1, J);
    fe_dbl(F, S1, S1);
    fe_sub(F, out.Y, t, S1);
    fe_add(F, t, A->Z, B->Z);
    fe_sqr(F, t, t);
    fe_sub(F, t, t, Z1Z1);
    fe_sub(F, t, t, Z2Z2);
    fe_mul(F, out.Z, t, H);
    *r = out;
}

/* r = A + (x, y) with (x, y) affine (madd-2007-bl); infinity and doubling by branches */
static void jac_add_affine(const field* F, jac* r, const jac* A, const limb* x, const limb* y)
{
    fe Z1Z1, U2, S2, H, HH, I, J, rr, V, t;
    if (fe_is_zero(F, A->Z)) {
        fe_copy(F, r->X, x);
        fe_copy(F, r->Y, y);
        fe_copy(F, r->Z, F->one);
        return;
    }
    fe_sqr(F, Z1Z1, A->Z);
    fe_mul(F, U2, x, Z1Z1);
    fe_mul(F, t, y, A->Z);
    fe_mul(F, S2, t, Z1Z1);
    fe_sub(F, H, U2, A->X);
    fe_sub(F, rr, S2, A->Y);
    if (fe_is_zero(F, H)) {
        if (fe_is_zero(F, rr)) {
            jac B;
            fe_copy(F, B.X, x);
            fe_copy(F, B.Y, y);
            fe_copy(F, B.Z, F->one);
            jac_double(F, r, &B);
        } else {
            fe_copy(F, r->X, F->one);
            fe_copy(F, r->Y, F->one);
            memset(r->Z, 0, sizeof(r->Z));
        }
        return;
    }
    jac out;
    fe_sqr(F, HH, H);
    fe_dbl(F, I, HH);
    fe_dbl(F, I, I);
    fe_mul(F, J, H, I);
    fe_dbl(F, rr, rr);
    fe_mul(F, V, A->X, I);
    fe_sqr(F, t, rr);
    fe_sub(F, t, t, J);
    fe_sub(F, t, t, V);
    fe_sub(F, out.X, t, V);
    fe_sub(F, t, V, out.X);
    fe_mul(F, t, rr, t);
    fe_mul(F, U2, A->Y, J);
    fe_dbl(F, U2, U2);
    fe_sub(F, out.Y, t, U2);
    fe_add(F, t, A->Z, H);
    fe_sqr(F, t, t);
    fe_sub(F, t, t, Z1Z1);
    fe_sub(F, out.Z, t, HH);
    *r = out;
}

/* [k]B from a fixed-base table (curve.ts FixedBaseTable): rows[j][d-1] = d * 2^(w j) * B
 * affine, signed digits; one mixed addition per window whatever the digit (zero adds and drops) */
static void jac_fixed_mul(const field* F, jac* r, const limb* rows, size_t half, const int32_t* digits, size_t count)
{
    jac acc, sum;
    fe y;
    memset(&acc, 0, sizeof(acc));
    fe_copy(F, acc.X, F->one);
    fe_copy(F, acc.Y, F->one);
    for (size_t j = 0; j < count; j++) {
        int32_t d = digits[j];
        int32_t ad = d < 0 ? -d : d == 0 ? 1 : d;
        const limb* pt = rows + ((j * half) + (size_t)(ad - 1)) * 2 * F->n;
        if (d < 0) fe_neg(F, y, pt + F->n);
        else fe_copy(F, y, pt + F->n);
        jac_add_affine(F, &sum, &acc, pt, y);
        if (d != 0) acc = sum;
    }
    *r = acc;
}

/* [k]A over `bits` bits of k in fixed 4-bit windows: four doublings and one addition per
 * window whatever the digit (a zero digit adds and discards), the table read by a masked scan */
static void jac_mul(const field* F, jac* r, const limb* Ax, const limb* Ay, const unsigned char* k, size_t klen)
{
    jac tab[16], acc, t, sel;
    memset(&tab[0], 0, sizeof(jac));
    fe_copy(F, tab[0].X, F->one);
    fe_copy(F, tab[0].Y, F->one);
    fe_copy(F, tab[1].X, Ax);
    fe_copy(F, tab[1].Y, Ay);
    fe_copy(F, tab[1].Z, F->one);
    for (int i = 2; i < 16; i++) jac_add(F, &tab[i], &tab[i - 1], &tab[1]);
    acc = tab[0];
    for (size_t i = 0; i < klen; i++) {
        for (int half = 1; half >= 0; half--) {
            unsigned d = (k[i] >> (4 * half)) & 15;
            for (int s = 0; s < 4; s++) jac_double(F, &acc, &acc);
            memset(&sel, 0, sizeof(sel));
            for (unsigned j = 0; j < 16; j++) {
                limb m = (limb)0 - (limb)(j == d);
                limb* o = (limb*)&sel;
                const limb* src = (const limb*)&tab[j];
                for (size_t w = 0; w < sizeof(jac) / sizeof(limb); w++) o[w] |= src[w] & m;
            }
            jac_add(F, &t, &acc, &sel);
            limb keep = (limb)0 - (limb)(d != 0);
            limb* o = (limb*)&acc;
            const limb* src = (const limb*)&t;
            for (size_t w = 0; w < sizeof(jac) / sizeof(limb); w++) o[w] = (src[w] & keep) | (o[w] & ~keep);
        }
    }
    *r = acc;
}

/* a^(p-2) = a^-1 (0 for 0), fixed 4-bit windows: the same operations for every a */
static void fe_inv(const field* F, limb* r, const limb* a)
{
    fe t, tab[16], acc;
    unsigned char e[MAXN * 8];
    limb pm2[MAXN], borrow = 2;
    for (int i = 0; i < F->n; i++) {
        dlimb dd = (dlimb)F->p[i] - borrow;
        pm2[i] = (limb)dd;
        borrow = (limb)(dd >> 64) & 1;
    }
    limbs_to_be(F, e, pm2);
    fe_copy(F, tab[0], F->one);
    for (int i = 1; i < 16; i++) fe_mul(F, tab[i], tab[i - 1], a);
    fe_copy(F, acc, F->one);
    for (size_t i = 0; i < F->len; i++) {
        for (int h = 1; h >= 0; h--) {
            unsigned d = (e[i] >> (4 * h)) & 15;
            for (int s = 0; s < 4; s++) fe_sqr(F, acc, acc);
            memset(t, 0, sizeof(t));
            for (unsigned j = 0; j < 16; j++) {
                limb m = (limb)0 - (limb)(j == d);
                for (int w = 0; w < F->n; w++) t[w] |= tab[j][w] & m;
            }
            fe_mul(F, acc, acc, t);
        }
    }
    memset(tab, 0, sizeof(tab));
    fe_copy(F, r, acc);
}

/* affine (x, y) of n Jacobian points into out[2i], out[2i+1] (n limbs each) with one inversion
 * (Montgomery's trick); -1 when a point is at infinity */
static int batch_affine(const field* F, limb* out, const jac* pts, size_t n, limb* scratch)
{
    fe acc, inv, zi, zi2;
    fe_copy(F, acc, F->one);
    for (size_t i = 0; i < n; i++) {
        if (fe_is_zero(F, pts[i].Z)) return -1;
        fe_copy(F, scratch + i * F->n, acc);
        fe_mul(F, acc, acc, pts[i].Z);
    }
    fe_inv(F, inv, acc);
    for (size_t i = n; i-- > 0;) {
        fe_mul(F, zi, inv, scratch + i * F->n);
        fe_mul(F, inv, inv, pts[i].Z);
        fe_sqr(F, zi2, zi);
        limb* o = out + 2 * i * F->n;
        fe_mul(F, o, pts[i].X, zi2);
        fe_mul(F, zi2, zi2, zi);
        fe_mul(F, o + F->n, pts[i].Y, zi2);
    }
    return 0;
}

/* ---- comb tables (Lim-Lee) for [k]B with B fixed: a per-recipient table of SAKKE's
 * I = [b]P + Z (RFC 6508 §6.2.1 step 3), built in the time of about two scalar multiplications
 * and then [k]B in e doublings and s e mixed additions (wolfSSL's FP_ECC cache: one table) ----
 *
 * COMB_T teeth, d = ceil(bits / COMB_T) rounded up to a multiple of s, e = d / s; table j
 * (j < s) holds, for u = 1..255, sum over the set bits i of u of [2^(i d + j e)]B, affine.
 * [k]B: for c = e-1 .. 0: double; for j = s-1 .. 0: add T_j[u] where bit i of u is bit
 * i d + j e + c of k. One doubling per column and one mixed addition per (column, table)
 * whatever k (u = 0 adds T_j[1] and drops the sum), as jac_fixed_mul. */
#define COMB_T 8
#define COMB_U 255

static size_t comb_spacing(size_t bits, unsigned s) { size_t d = (bits + COMB_T - 1) / COMB_T; return (d + s - 1) / s * s; }

static int comb_build(const field* F, limb* out, const limb* Bx, const limb* By, size_t bits, unsigned s)
{
    size_t d = comb_spacing(bits, s), e = d / s, nb = (size_t)COMB_T * s, n = (size_t)s * COMB_U;
    jac* bases = malloc(sizeof(jac) * nb);
    jac* pts = malloc(sizeof(jac) * n);
    limb* baff = malloc(sizeof(limb) * 2 * F->n * nb);
    limb* scratch = malloc(sizeof(limb) * F->n * n);
    int rc = -1;
    if (!bases || !pts || !baff || !scratch) goto done;
    /* bases[i s + j] = [2^((i s + j) e)]B = [2^(i d + j e)]B */
    jac c;
    fe_copy(F, c.X, Bx);
    fe_copy(F, c.Y, By);
    fe_copy(F, c.Z, F->one);
    for (size_t m = 0; m < nb; m++) {
        bases[m] = c;
        if (m + 1 < nb)
            for (size_t k = 0; k < e; k++) jac_double(F, &c, &c);
    }
    if (batch_affine(F, baff, bases, nb, scratch) != 0) goto done;
    for (unsigned j = 0; j < s; j++) {
        jac* T = pts + (size_t)j * COMB_U; /* T[u - 1] */
        for (unsigned u = 1; u <= COMB_U; u++) {
            unsigned i = (unsigned)__builtin_ctz(u), rest = u & (u - 1);
            const limb* b = baff + 2 * (i * s + j) * F->n;
            if (rest == 0) {
                fe_copy(F, T[u - 1].X, b);
                fe_copy(F, T[u - 1].Y, b + F->n);
                fe_copy(F, T[u - 1].Z, F->one);
            } else {
                jac_add_affine(F, &T[u - 1], &T[rest - 1], b, b + F->n);
            }
        }
    }
    rc = batch_affine(F, out, pts, n, scratch);
done:
    free(bases);
    free(pts);
    free(baff);
    free(scratch);
    return rc;
}

static unsigned scalar_bit(const unsigned char* k, size_t klen, size_t pos)
{
    return pos / 8 < klen ? (k[klen - 1 - pos / 8] >> (pos % 8)) & 1 : 0;
}

static void comb_mul(const field* F, jac* r, const limb* table, size_t bits, unsigned s, const unsigned char* k, size_t klen)
{
    size_t d = comb_spacing(bits, s), e = d / s;
    jac acc, sum;
    memset(&acc, 0, sizeof(acc));
    fe_copy(F, acc.X, F->one);
    fe_copy(F, acc.Y, F->one);
    for (size_t c = e; c-- > 0;) {
        jac_double(F, &acc, &acc);
        for (unsigned j = s; j-- > 0;) {
            unsigned u = 0;
            for (unsigned i = 0; i < COMB_T; i++) u |= scalar_bit(k, klen, i * d + j * e + c) << i;
            unsigned idx = u == 0 ? 1 : u;
            const limb* pt = table + 2 * ((size_t)j * COMB_U + idx - 1) * F->n;
            jac_add_affine(F, &sum, &acc, pt, pt + F->n);
            limb keep = (limb)0 - (limb)(u != 0);
            limb* o = (limb*)&acc;
            const limb* src = (const limb*)&sum;
            for (size_t w = 0; w < sizeof(jac) / sizeof(limb); w++) o[w] = (src[w] & keep) | (o[w] & ~keep);
        }
    }
    *r = acc;
}

/* ---- N-API glue ---- */



#define THROW(env, msg)                        \
    do {                                       \
        napi_throw_error(env, NULL, msg);      \
        return NULL;                           \
    } while (0)

static int get_bytes(napi_env env, napi_value v, unsigned char** data, size_t* len)
{
    bool is;
    if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return -1;
    napi_typedarray_type type;
    napi_value ab;
    size_t off;
    if (napi_get_typedarray_info(env, v, &type, len, (void**)data, &ab, &off) != napi_ok) return -1;
    if (type != napi_uint8_array && type != napi_int8_array) return -1;
    return 0;
}

static int get_i32(napi_env env, napi_value v, const int32_t** data, size_t* len)
{
    bool is;
    if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return -1;
    napi_typedarray_type type;
    napi_value ab;
    size_t off;
    if (napi_get_typedarray_info(env, v, &type, len, (void**)data, &ab, &off) != napi_ok) return -1;
    return type == napi_int32_array ? 0 : -1;
}

/* ---- P-256 by OpenSSL's EC API in the node binary (ECCSI, RFC 6507) ----
 *
 * Resolved with dlsym like bn_mul_mont: when the node binary (or the libcrypto it links) does
 * not export them, p256 stays NULL, the addon reports p256: false and eccsi.ts keeps its own
 * path. EC_POINT_mul with the generator alone is constant time in OpenSSL (nistz256 tables or
 * the Montgomery ladder): it takes the secret scalars. EC_POINTs_mul (several points) takes
 * public scalars only. Points are 0x04 || x || y (65 octets), scalars 32 octets big-endian.
 * A fixed-base table of a point B is a copy of the group with generator B, precomputed. */

typedef struct ossl_group OSSL_GROUP;
typedef struct ossl_point OSSL_POINT;
typedef struct ossl_bn OSSL_BN;
typedef struct ossl_ctx OSSL_CTX;

static struct {
    OSSL_GROUP* (*group_new_by_curve_name)(int nid);
    OSSL_GROUP* (*group_dup)(const OSSL_GROUP*);
    void (*group_free)(OSSL_GROUP*);
    int (*group_set_generator)(OSSL_GROUP*, const OSSL_POINT*, const OSSL_BN*, const OSSL_BN*);
    const OSSL_BN* (*group_order)(const OSSL_GROUP*);
    const OSSL_BN* (*group_cofactor)(const OSSL_GROUP*);
    int (*group_precompute)(OSSL_GROUP*, OSSL_CTX*);
    OSSL_POINT* (*point_new)(const OSSL_GROUP*);
    void (*point_free)(OSSL_POINT*);
    void (*point_clear_free)(OSSL_POINT*);
    int (*oct2point)(const OSSL_GROUP*, OSSL_POINT*, const unsigned char*, size_t, OSSL_CTX*);
    size_t (*point2oct)(const OSSL_GROUP*, const OSSL_POINT*, int form, unsigned char*, size_t, OSSL_CTX*);
    int (*mul)(const OSSL_GROUP*, OSSL_POINT*, const OSSL_BN*, const OSSL_POINT*, const OSSL_BN*, OSSL_CTX*);
    int (*muls)(const OSSL_GROUP*, OSSL_POINT*, const OSSL_BN*, size_t, const OSSL_POINT* [], const OSSL_BN* [], OSSL_CTX*);
    int (*add)(const OSSL_GROUP*, OSSL_POINT*, const OSSL_POINT*, const OSSL_POINT*, OSSL_CTX*);
    int (*is_at_infinity)(const OSSL_GROUP*, const OSSL_POINT*);
    OSSL_BN* (*bin2bn)(const unsigned char*, int, OSSL_BN*);
    void (*bn_free)(OSSL_BN*);
    void (*bn_clear_free)(OSSL_BN*);
    OSSL_CTX* (*ctx_new)(void);
    void (*ctx_free)(OSSL_CTX*);
    void (*err_clear)(void);
    int (*sha256_init)(void*);
    int (*sha256_update)(void*, const void*, size_t);
    int (*sha256_final)(unsigned char*, void*);
} ossl;
static OSSL_GROUP* p256;

#define NID_X9_62_prime256v1 415
#define POINT_CONVERSION_UNCOMPRESSED 4

static void p256_init(void)
{
    if (p256 != NULL) return;
#define SYM(field, name)                                  \
    *(void**)(&ossl.field) = dlsym(RTLD_DEFAULT, name);   \
    if (ossl.field == NULL) return;
    SYM(group_new_by_curve_name, "EC_GROUP_new_by_curve_name");
    SYM(group_dup, "EC_GROUP_dup");
    SYM(group_free, "EC_GROUP_free");
    SYM(group_set_generator, "EC_GROUP_set_generator");
    SYM(group_order, "EC_GROUP_get0_order");
    SYM(group_cofactor, "EC_GROUP_get0_cofactor");
    SYM(group_precompute, "EC_GROUP_precompute_mult");
    SYM(point_new, "EC_POINT_new");
    SYM(point_free, "EC_POINT_free");
    SYM(point_clear_free, "EC_POINT_clear_free");
    SYM(oct2point, "EC_POINT_oct2point");
    SYM(point2oct, "EC_POINT_point2oct");
    SYM(mul, "EC_POINT_mul");
    SYM(muls, "EC_POINTs_mul");
    SYM(add, "EC_POINT_add");
    SYM(is_at_infinity, "EC_POINT_is_at_infinity");
    SYM(bin2bn, "BN_bin2bn");
    SYM(bn_free, "BN_free");
    SYM(bn_clear_free, "BN_clear_free");
    SYM(ctx_new, "BN_CTX_new");
    SYM(ctx_free, "BN_CTX_free");
    SYM(err_clear, "ERR_clear_error");
    SYM(sha256_init, "SHA256_Init");
    SYM(sha256_update, "SHA256_Update");
    SYM(sha256_final, "SHA256_Final");
#undef SYM
    p256 = ossl.group_new_by_curve_name(NID_X9_62_prime256v1);
}

/* a point of P-256 from 65 octets 0x04 || x || y: coordinates below p and on the curve
 * (EC_POINT_oct2point checks both); NULL otherwise */
static OSSL_POINT* p256_point(const unsigned char* b, size_t len, OSSL_CTX* ctx)
{
    if (len != 65 || b[0] != 4) return NULL;
    OSSL_POINT* P = ossl.point_new(p256);
    if (P == NULL) return NULL;
    if (ossl.oct2point(p256, P, b, len, ctx) != 1) {
        ossl.point_free(P);
        return NULL;
    }
    return P;
}

/* 65 octets for a finite point; JS null for the point at infinity */
static napi_value p256_out(napi_env env, const OSSL_POINT* R, OSSL_CTX* ctx)
{
    napi_value v;
    void* data;
    if (ossl.is_at_infinity(p256, R)) {
        napi_get_null(env, &v);
        return v;
    }
    napi_create_buffer(env, 65, &data, &v);
    if (ossl.point2oct(p256, R, POINT_CONVERSION_UNCOMPRESSED, data, 65, ctx) != 65) {
        napi_throw_error(env, NULL, "point encoding failed");
        return NULL;
    }
    return v;
}

#define P256_ARGS(k)                                                   \
    size_t argc = k;                                                   \
    napi_value argv[k];                                                \
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);              \
    if (argc != k) THROW(env, "wrong number of arguments");            \
    if (p256 == NULL) THROW(env, "P-256 not available");

/* p256Check(point) -> true when 0x04 || x || y is a point of P-256 */
static napi_value js_p256_check(napi_env env, napi_callback_info info)
{
    P256_ARGS(1);
    unsigned char* b;
    size_t len;
    napi_value v;
    if (get_bytes(env, argv[0], &b, &len) != 0) THROW(env, "bad point");
    OSSL_CTX* ctx = ossl.ctx_new();
    OSSL_POINT* P = ctx ? p256_point(b, len, ctx) : NULL;
    napi_get_boolean(env, P != NULL, &v);
    if (P) ossl.point_free(P);
    else ossl.err_clear();
    if (ctx) ossl.ctx_free(ctx);
    return v;
}

/* p256MulG(k) -> [k]G (null for infinity); k secret, 32 octets: constant time */
static napi_value js_p256_mul_g(napi_env env, napi_callback_info info)
{
    P256_ARGS(1);
    unsigned char* k;
    size_t klen;
    if (get_bytes(env, argv[0], &k, &klen) != 0 || klen != 32) THROW(env, "bad scalar");
    OSSL_CTX* ctx = ossl.ctx_new();
    OSSL_BN* n = ossl.bin2bn(k, 32, NULL);
    OSSL_POINT* R = ossl.point_new(p256);
    napi_value v = NULL;
    if (ctx == NULL || n == NULL || R == NULL || ossl.mul(p256, R, n, NULL, NULL, ctx) != 1) {
        ossl.err_clear();
        napi_throw_error(env, NULL, "P-256 multiplication failed");
    } else v = p256_out(env, R, ctx);
    if (R) ossl.point_clear_free(R);
    if (n) ossl.bn_clear_free(n);
    if (ctx) ossl.ctx_free(ctx);
    return v;
}

static void table_free(napi_env env, void* data, void* hint) { ossl.group_free((OSSL_GROUP*)data); }

/* p256Table(point) -> opaque fixed-base table of the point (a precomputed group copy) */
static napi_value js_p256_table(napi_env env, napi_callback_info info)
{
    P256_ARGS(1);
    unsigned char* b;
    size_t len;
    napi_value v = NULL;
    if (get_bytes(env, argv[0], &b, &len) != 0) THROW(env, "bad point");
    OSSL_CTX* ctx = ossl.ctx_new();
    OSSL_POINT* B = ctx ? p256_point(b, len, ctx) : NULL;
    OSSL_GROUP* g = B ? ossl.group_dup(p256) : NULL;
    if (g != NULL && ossl.group_set_generator(g, B, ossl.group_order(p256), ossl.group_cofactor(p256)) == 1 &&
        ossl.group_precompute(g, ctx) == 1 && napi_create_external(env, g, table_free, NULL, &v) == napi_ok) {
        g = NULL;
    } else {
        ossl.err_clear();
        napi_throw_error(env, NULL, B == NULL ? "bad point" : "P-256 table failed");
        v = NULL;
    }
    if (g) ossl.group_free(g);
    if (B) ossl.point_free(B);
    if (ctx) ossl.ctx_free(ctx);
    return v;
}

static int is_one(const unsigned char* s)
{
    for (int i = 0; i < 31; i++)
        if (s[i] != 0) return 0;
    return s[31] == 1;
}

/* p256Lin(g, points, scalars, table, t) -> [g]G + sum [s_i]P_i + [t]T (null for infinity).
 * Public scalars only. g and t: 32 octets or empty (no term); points: m * 65 octets, each
 * checked to lie on the curve (throws "bad point" otherwise); scalars: m * 32 octets; table:
 * from p256Table (T its point) or null. A scalar 1 is an addition. */
static napi_value js_p256_lin(napi_env env, napi_callback_info info)
{
    P256_ARGS(5);
    unsigned char *g, *pts, *sc, *t = NULL;
    size_t glen, plen, slen, tlen = 0;
    OSSL_GROUP* tab = NULL;
    napi_valuetype tt;
    if (get_bytes(env, argv[0], &g, &glen) != 0 || (glen != 0 && glen != 32)) THROW(env, "bad scalar");
    if (get_bytes(env, argv[1], &pts, &plen) != 0 || plen % 65 != 0 || plen / 65 > 4) THROW(env, "bad point");
    if (get_bytes(env, argv[2], &sc, &slen) != 0 || slen != (plen / 65) * 32) THROW(env, "bad scalar");
    if (napi_typeof(env, argv[3], &tt) != napi_ok) THROW(env, "bad table");
    if (tt == napi_external) {
        if (napi_get_value_external(env, argv[3], (void**)&tab) != napi_ok) THROW(env, "bad table");
        if (get_bytes(env, argv[4], &t, &tlen) != 0 || tlen != 32) THROW(env, "bad scalar");
    } else if (tt != napi_null) THROW(env, "bad table");
    size_t m = plen / 65, k = 0;
    const OSSL_POINT* P[4] = { NULL };
    const OSSL_BN* S[4] = { NULL };
    OSSL_POINT* A[5] = { NULL }; /* terms added after the multiplication */
    size_t na = 0;
    OSSL_BN *gn = NULL, *tn = NULL;
    OSSL_POINT* R = NULL;
    napi_value v = NULL;
    const char* problem = NULL;
    const char* failed = "P-256 multiplication failed";
    OSSL_CTX* ctx = ossl.ctx_new();
    if (ctx == NULL || (R = ossl.point_new(p256)) == NULL) problem = failed;
    for (size_t i = 0; problem == NULL && i < m; i++) {
        OSSL_POINT* Pi = p256_point(pts + 65 * i, 65, ctx);
        if (Pi == NULL) problem = "bad point";
        else if (is_one(sc + 32 * i)) A[na++] = Pi;
        else {
            P[k] = Pi;
            if ((S[k++] = ossl.bin2bn(sc + 32 * i, 32, NULL)) == NULL) problem = failed;
        }
    }
    if (problem == NULL && glen == 32 && (gn = ossl.bin2bn(g, 32, NULL)) == NULL) problem = failed;
    if (problem == NULL && tab != NULL) {
        /* [t]T by the table's group, carried over as octets */
        unsigned char o[65];
        OSSL_POINT* T = ossl.point_new(tab);
        if (T == NULL || (tn = ossl.bin2bn(t, 32, NULL)) == NULL || ossl.mul(tab, T, tn, NULL, NULL, ctx) != 1) problem = failed;
        else if (!ossl.is_at_infinity(tab, T)) {
            if (ossl.point2oct(tab, T, POINT_CONVERSION_UNCOMPRESSED, o, 65, ctx) != 65 || (A[na] = p256_point(o, 65, ctx)) == NULL) problem = failed;
            else na++;
        }
        if (T) ossl.point_free(T);
    }
    if (problem == NULL && ossl.muls(p256, R, gn, k, P, S, ctx) != 1) problem = failed;
    for (size_t i = 0; problem == NULL && i < na; i++)
        if (ossl.add(p256, R, R, A[i], ctx) != 1) problem = failed;
    if (problem != NULL) {
        ossl.err_clear();
        napi_throw_error(env, NULL, problem);
    } else v = p256_out(env, R, ctx);
    for (size_t i = 0; i < k; i++) {
        if (P[i]) ossl.point_free((OSSL_POINT*)P[i]);
        if (S[i]) ossl.bn_free((OSSL_BN*)S[i]);
    }
    for (size_t i = 0; i < na; i++) ossl.point_free(A[i]);
    if (gn) ossl.bn_free(gn);
    if (tn) ossl.bn_free(tn);
    if (R) ossl.point_free(R);
    if (ctx) ossl.ctx_free(ctx);
    return v;
}

/* HMAC-SHA-256 (RFC 2104) on OpenSSL's SHA-256 compression (no EVP fetch per call) */
typedef union {
    unsigned char b[256]; /* SHA256_CTX is 112 octets */
    uint64_t align;
} sha256_ctx;

static void hmac_sha256(const unsigned char* k, size_t klen, const unsigned char* d, size_t dlen, unsigned char out[32])
{
    unsigned char key[64] = { 0 }, pad[64], inner[32];
    sha256_ctx c;
    if (klen > 64) {
        ossl.sha256_init(&c);
        ossl.sha256_update(&c, k, klen);
        ossl.sha256_final(key, &c);
    } else if (klen > 0) memcpy(key, k, klen);
    for (int i = 0; i < 64; i++) pad[i] = key[i] ^ 0x36;
    ossl.sha256_init(&c);
    ossl.sha256_update(&c, pad, 64);
    ossl.sha256_update(&c, d, dlen);
    ossl.sha256_final(inner, &c);
    for (int i = 0; i < 64; i++) pad[i] = key[i] ^ 0x5c;
    ossl.sha256_init(&c);
    ossl.sha256_update(&c, pad, 64);
    ossl.sha256_update(&c, inner, 32);
    ossl.sha256_final(out, &c);
    memset(key, 0, sizeof(key));
    memset(pad, 0, sizeof(pad));
    memset(&c, 0, sizeof(c));
}

/* hmacSha256(key, data) -> HMAC-SHA-256, 32 octets */
static napi_value js_hmac_sha256(napi_env env, napi_callback_info info)
{
    P256_ARGS(2);
    unsigned char *k, *d;
    size_t klen, dlen;
    napi_value v;
    void* data;
    if (get_bytes(env, argv[0], &k, &klen) != 0) THROW(env, "bad key");
    if (get_bytes(env, argv[1], &d, &dlen) != 0) THROW(env, "bad data");
    napi_create_buffer(env, 32, &data, &v);
    hmac_sha256(k, klen, d, dlen, data);
    return v;
}

/* p256() -> whether the P-256 functions (and hmacSha256) are available */
static napi_value js_p256(napi_env env, napi_callback_info info)
{
    napi_value v;
    napi_get_boolean(env, p256 != NULL, &v);
    return v;
}

/* an element of F_p given as big-endian octets, < p, into Montgomery form */
static int get_fe(napi_env env, const field* F, napi_value v, limb* out)
{
    unsigned char* b;
    size_t len;
    fe t;
    if (get_bytes(env, v, &b, &len) != 0 || len > F->len) return -1;
    be_to_limbs(F, t, b, len);
    if (!limbs_lt_p(F, t)) return -1;
    fe_to_mont(F, out, t);
    return 0;
}

static napi_value fe_out(napi_env env, const field* F, const limb* a)
{
    fe t;
    napi_value buf;
    void* data;
    fe_from_mont(F, t, a);
    napi_create_buffer(env, F->len, &data, &buf);
    limbs_to_be(F, data, t);
    return buf;
}

static napi_value pair_out(napi_env env, const field* F, const limb* a, const limb* b)
{
    napi_value arr;
    napi_create_array_with_length(env, 2, &arr);
    napi_set_element(env, arr, 0, fe_out(env, F, a));
    napi_set_element(env, arr, 1, fe_out(env, F, b));
    return arr;
}

/* a Jacobian point as [X, Y, Z] */
static napi_value jac_out(napi_env env, const field* F, const jac* R)
{
    napi_value arr;
    napi_create_array_with_length(env, 3, &arr);
    napi_set_element(env, arr, 0, fe_out(env, F, R->X));
    napi_set_element(env, arr, 1, fe_out(env, F, R->Y));
    napi_set_element(env, arr, 2, fe_out(env, F, R->Z));
    return arr;
}

static const field* get_field(napi_env env, napi_value v)
{
    unsigned char* b;
    size_t len;
    if (get_bytes(env, v, &b, &len) != 0) return NULL;
    return field_for(b, len);
}

#define ARGS(k)                                                        \
    size_t argc = k;                                                   \
    napi_value argv[k];                                                \
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);              \
    if (argc != k) THROW(env, "wrong number of arguments");            \
    const field* F = get_field(env, argv[0]);                          \
    if (F == NULL) THROW(env, "bad modulus");

/* sha256(data) -> SHA-256 (P-256 functions' helper; no EVP fetch per call) */
static napi_value js_sha256(napi_env env, napi_callback_info info)
{
    P256_ARGS(1);
    unsigned char* d;
    size_t dlen;
    napi_value v;
    void* data;
    sha256_ctx c;
    if (get_bytes(env, argv[0], &d, &dlen) != 0) THROW(env, "bad data");
    napi_create_buffer(env, 32, &data, &v);
    ossl.sha256_init(&c);
    ossl.sha256_update(&c, d, dlen);
    ossl.sha256_final(data, &c);
    return v;
}

/* hmacDrbgInit(seed) -> K || V after RFC 6979 §3.2 steps b-g with SHA-256, where seed is
 * int2octets(x) || bits2octets(h1) || k' (§3.6), at most 256 octets */
static napi_value js_hmac_drbg_init(napi_env env, napi_callback_info info)
{
    P256_ARGS(1);
    unsigned char* seed;
    size_t slen;
    unsigned char K[32], V[32], buf[33 + 256];
    napi_value v;
    void* data;
    if (get_bytes(env, argv[0], &seed, &slen) != 0 || slen > 256) THROW(env, "bad seed");
    memset(V, 1, 32);                   /* b) */
    memset(K, 0, 32);                   /* c) */
    memcpy(buf, V, 32);
    buf[32] = 0;
    memcpy(buf + 33, seed, slen);
    hmac_sha256(K, 32, buf, 33 + slen, K); /* d) */
    hmac_sha256(K, 32, V, 32, V);          /* e) */
    memcpy(buf, V, 32);
    buf[32] = 1;
    hmac_sha256(K, 32, buf, 33 + slen, K); /* f) */
    hmac_sha256(K, 32, V, 32, V);          /* g) */
    napi_create_buffer(env, 64, &data, &v);
    memcpy(data, K, 32);
    memcpy((unsigned char*)data + 32, V, 32);
    memset(K, 0, 32);
    memset(buf, 0, sizeof(buf));
    return v;
}

/* fpInv(p, a) -> a^(p-2) mod p, the inverse modulo a prime p (0 for 0): Montgomery arithmetic
 * over fixed 4-bit windows of the public exponent, the same operations whatever a is */
static napi_value js_fp_inv(napi_env env, napi_callback_info info)
{
    ARGS(2);
    fe a, r;
    if (get_fe(env, F, argv[1], a)) THROW(env, "bad field element");
    fe_inv(F, r, a);
    return fe_out(env, F, r);
}

/* millerSakke(p, steps: Int8Array, Ax, Ay, Qx, Qy) -> [f0, f1] or null (A not of order q) */
static napi_value js_miller_sakke(napi_env env, napi_callback_info info)
{
    ARGS(6);
    unsigned char* steps;
    size_t nsteps;
    fe Ax, Ay, Qx, Qy, f0, f1;
    if (get_bytes(env, argv[1], &steps, &nsteps) != 0) THROW(env, "bad steps");
    if (get_fe(env, F, argv[2], Ax) || get_fe(env, F, argv[3], Ay) || get_fe(env, F, argv[4], Qx) || get_fe(env, F, argv[5], Qy))
        THROW(env, "bad field element");
    if (miller_sakke(F, (const signed char*)steps, nsteps, Ax, Ay, Qx, Qy, f0, f1) != 0) {
        napi_value nul;
        napi_get_null(env, &nul);
        return nul;
    }
    return pair_out(env, F, f0, f1);
}

/* linesPack(p, values: Uint8Array of 2n big-endian elements) -> Buffer of Montgomery limbs */
static napi_value js_lines_pack(napi_env env, napi_callback_info info)
{
    ARGS(2);
    unsigned char* b;
    size_t len;
    if (get_bytes(env, argv[1], &b, &len) != 0 || len % F->len != 0) THROW(env, "bad lines");
    size_t count = len / F->len;
    napi_value buf;
    void* data;
    napi_create_buffer(env, count * F->n * sizeof(limb), &data, &buf);
    limb* out = data;
    for (size_t i = 0; i < count; i++) {
        fe t;
        be_to_limbs(F, t, b + i * F->len, F->len);
        if (!limbs_lt_p(F, t)) THROW(env, "bad field element");
        fe_to_mont(F, out + i * F->n, t);
    }
    return buf;
}

/* millerLines(p, packed, sq: Uint8Array, Qx, Qy) -> [f0, f1] */
static napi_value js_miller_lines(napi_env env, napi_callback_info info)
{
    ARGS(5);
    unsigned char *packed, *sq;
    size_t plen, n;
    fe Qx, Qy, f0, f1;
    if (get_bytes(env, argv[1], &packed, &plen) != 0 || get_bytes(env, argv[2], &sq, &n) != 0) THROW(env, "bad lines");
    if (plen != n * 2 * F->n * sizeof(limb) || ((uintptr_t)packed % sizeof(limb)) != 0) THROW(env, "bad lines");
    if (get_fe(env, F, argv[3], Qx) || get_fe(env, F, argv[4], Qy)) THROW(env, "bad field element");
    miller_lines(F, (const limb*)packed, sq, n, Qx, Qy, f0, f1);
    return pair_out(env, F, f0, f1);
}

/* fp2Pow(p, a0, a1, e) -> [r0, r1] */
static napi_value js_fp2_pow(napi_env env, napi_callback_info info)
{
    ARGS(4);
    fe a0, a1, r0, r1;
    unsigned char* e;
    size_t elen;
    if (get_fe(env, F, argv[1], a0) || get_fe(env, F, argv[2], a1)) THROW(env, "bad field element");
    if (get_bytes(env, argv[3], &e, &elen) != 0) THROW(env, "bad exponent");
    fp2_pow(F, r0, r1, a0, a1, e, elen);
    return pair_out(env, F, r0, r1);
}

/* fp2Mul(p, a0, a1, b0, b1) -> [r0, r1] */
static napi_value js_fp2_mul(napi_env env, napi_callback_info info)
{
    ARGS(5);
    fe a0, a1, b0, b1, r0, r1;
    if (get_fe(env, F, argv[1], a0) || get_fe(env, F, argv[2], a1) || get_fe(env, F, argv[3], b0) || get_fe(env, F, argv[4], b1))
        THROW(env, "bad field element");
    fp2_mul(F, r0, r1, a0, a1, b0, b1);
    return pair_out(env, F, r0, r1);
}

/* ecMul(p, Ax, Ay, k) -> [X, Y, Z] Jacobian (Z = 0 for the point at infinity), a = -3 */
static napi_value js_ec_mul(napi_env env, napi_callback_info info)
{
    ARGS(4);
    fe Ax, Ay;
    unsigned char* k;
    size_t klen;
    jac R;
    if (get_fe(env, F, argv[1], Ax) || get_fe(env, F, argv[2], Ay)) THROW(env, "bad field element");
    if (get_bytes(env, argv[3], &k, &klen) != 0) THROW(env, "bad scalar");
    jac_mul(F, &R, Ax, Ay, k, klen);
    return jac_out(env, F, &R);
}

/* ecMul2(p, Ax, Ay, k, Bx, By, l) -> [k]A + [l]B, Jacobian */
static napi_value js_ec_mul2(napi_env env, napi_callback_info info)
{
    ARGS(7);
    fe Ax, Ay, Bx, By;
    unsigned char *k, *l;
    size_t klen, llen;
    jac R, S;
    if (get_fe(env, F, argv[1], Ax) || get_fe(env, F, argv[2], Ay) || get_fe(env, F, argv[4], Bx) || get_fe(env, F, argv[5], By))
        THROW(env, "bad field element");
    if (get_bytes(env, argv[3], &k, &klen) != 0 || get_bytes(env, argv[6], &l, &llen) != 0) THROW(env, "bad scalar");
    jac_mul(F, &R, Ax, Ay, k, klen);
    jac_mul(F, &S, Bx, By, l, llen);
    jac_add(F, &R, &R, &S);
    return jac_out(env, F, &R);
}

/* ecFixedMul(p, packedRows, half, digits: Int32Array) -> Jacobian [k]B */
static napi_value js_ec_fixed_mul(napi_env env, napi_callback_info info)
{
    ARGS(4);
    unsigned char* packed;
    size_t plen, count;
    const int32_t* digits;
    uint32_t half;
    if (get_bytes(env, argv[1], &packed, &plen) != 0 || ((uintptr_t)packed % sizeof(limb)) != 0) THROW(env, "bad table");
    if (napi_get_value_uint32(env, argv[2], &half) != napi_ok || half == 0) THROW(env, "bad table");
    if (get_i32(env, argv[3], &digits, &count) != 0) THROW(env, "bad digits");
    if (plen != count * half * 2 * F->n * sizeof(limb)) THROW(env, "table and digits disagree");
    for (size_t j = 0; j < count; j++)
        if (digits[j] > (int32_t)half || digits[j] < -(int32_t)half) THROW(env, "digit out of range");
    jac R;
    jac_fixed_mul(F, &R, (const limb*)packed, half, digits, count);
    return jac_out(env, F, &R);
}

/* the size of the comb tables of one point */
static size_t comb_table_bytes(const field* F, uint32_t s)
{
    return (size_t)s * COMB_U * 2 * F->n * sizeof(limb);
}

/* ecCombTable(p, Bx, By, bits, s) -> Buffer: the comb tables of B (affine, Montgomery limbs),
 * or null when a table point is at infinity (B of small order) */
static napi_value js_ec_comb_table(napi_env env, napi_callback_info info)
{
    ARGS(5);
    fe Bx, By;
    uint32_t bits, s;
    if (get_fe(env, F, argv[1], Bx) || get_fe(env, F, argv[2], By)) THROW(env, "bad field element");
    if (napi_get_value_uint32(env, argv[3], &bits) != napi_ok || bits == 0 || bits > 8 * F->len) THROW(env, "bad bit length");
    if (napi_get_value_uint32(env, argv[4], &s) != napi_ok || s == 0 || s > 8) THROW(env, "bad table count");
    napi_value buf;
    void* data;
    napi_create_buffer(env, comb_table_bytes(F, s), &data, &buf);
    if (comb_build(F, data, Bx, By, bits, s) != 0) napi_get_null(env, &buf);
    return buf;
}

/* ecCombMul(p, table, bits, s, k) -> Jacobian [k]B; k below 2^(8 d) */
static napi_value js_ec_comb_mul(napi_env env, napi_callback_info info)
{
    ARGS(5);
    unsigned char *table, *k;
    size_t tlen, klen;
    uint32_t bits, s;
    if (get_bytes(env, argv[1], &table, &tlen) != 0 || ((uintptr_t)table % sizeof(limb)) != 0) THROW(env, "bad table");
    if (napi_get_value_uint32(env, argv[2], &bits) != napi_ok || bits == 0 || bits > 8 * F->len) THROW(env, "bad bit length");
    if (napi_get_value_uint32(env, argv[3], &s) != napi_ok || s == 0 || s > 8) THROW(env, "bad table count");
    if (tlen != comb_table_bytes(F, s)) THROW(env, "bad table");
    if (get_bytes(env, argv[4], &k, &klen) != 0) THROW(env, "bad scalar");
    size_t top = COMB_T * comb_spacing(bits, s);
    for (size_t pos = top; pos < 8 * klen; pos++)
        if (scalar_bit(k, klen, pos)) THROW(env, "scalar too long for the table");
    jac R;
    comb_mul(F, &R, (const limb*)table, bits, s, k, klen);
    return jac_out(env, F, &R);
}

/* fp2FixedPow(p, packedRows, entries, digits) -> product of rows[j][|d|] (conjugated for d < 0):
 * fp2.ts PfpFixedBase.pow, one F_p^2 product per window whatever the digit */
static napi_value js_fp2_fixed_pow(napi_env env, napi_callback_info info)
{
    ARGS(4);
    unsigned char* packed;
    size_t plen, count;
    const int32_t* digits;
    uint32_t entries;
    if (get_bytes(env, argv[1], &packed, &plen) != 0 || ((uintptr_t)packed % sizeof(limb)) != 0) THROW(env, "bad table");
    if (napi_get_value_uint32(env, argv[2], &entries) != napi_ok || entries == 0) THROW(env, "bad table");
    if (get_i32(env, argv[3], &digits, &count) != 0) THROW(env, "bad digits");
    if (plen != count * entries * 2 * F->n * sizeof(limb)) THROW(env, "table and digits disagree");
    const limb* rows = (const limb*)packed;
    fe a0, a1, t1;
    fe_copy(F, a0, F->one);
    memset(a1, 0, sizeof(a1));
    for (size_t j = 0; j < count; j++) {
        int32_t d = digits[j];
        int32_t ad = d < 0 ? -d : d;
        if (ad >= (int32_t)entries) THROW(env, "digit out of range");
        const limb* t = rows + (j * entries + (size_t)ad) * 2 * F->n;
        if (d < 0) fe_neg(F, t1, t + F->n);
        else fe_copy(F, t1, t + F->n);
        fp2_mul(F, a0, a1, a0, a1, t, t1);
    }
    return pair_out(env, F, a0, a1);
}

/* mulMod(p, a, b) -> a*b mod p (for tests and the bench) */
static napi_value js_mul_mod(napi_env env, napi_callback_info info)
{
    ARGS(3);
    fe a, b, r;
    if (get_fe(env, F, argv[1], a) || get_fe(env, F, argv[2], b)) THROW(env, "bad field element");
    fe_mul(F, r, a, b);
    return fe_out(env, F, r);
}

/* which Montgomery multiplication is in use: "openssl" or "c" */
static napi_value js_backend(napi_env env, napi_callback_info info)
{
    napi_value v;
    napi_create_string_utf8(env, openssl_mul_mont != NULL ? "openssl" : "c", NAPI_AUTO_LENGTH, &v);
    return v;
}

/* setBackend("c" | "openssl") -> the backend now in use (for the tests of both) */
static napi_value js_set_backend(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    char name[16] = { 0 };
    size_t len;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc == 1 && napi_get_value_string_utf8(env, argv[0], name, sizeof(name), &len) == napi_ok) {
        if (strcmp(name, "c") == 0) openssl_mul_mont = NULL;
        else if (strcmp(name, "openssl") == 0) openssl_mul_mont = (bn_mul_mont_fn)dlsym(RTLD_DEFAULT, "bn_mul_mont");
    }
    return js_backend(env, info);
}

static napi_value init(napi_env env, napi_value exports)
{
    if (getenv("MIKEY_NATIVE_BACKEND") == NULL || strcmp(getenv("MIKEY_NATIVE_BACKEND"), "c") != 0)
        openssl_mul_mont = (bn_mul_mont_fn)dlsym(RTLD_DEFAULT, "bn_mul_mont");
    if (getenv("MIKEY_NATIVE_P256") == NULL || strcmp(getenv("MIKEY_NATIVE_P256"), "0") != 0) p256_init();
    napi_property_descriptor d[] = {
        { "millerSakke", NULL, js_miller_sakke, NULL, NULL, NULL, napi_default, NULL },
        { "linesPack", NULL, js_lines_pack, NULL, NULL, NULL, napi_default, NULL },
        { "millerLines", NULL, js_miller_lines, NULL, NULL, NULL, napi_default, NULL },
        { "fp2Pow", NULL, js_fp2_pow, NULL, NULL, NULL, napi_default, NULL },
        { "fp2Mul", NULL, js_fp2_mul, NULL, NULL, NULL, napi_default, NULL },
        { "ecMul", NULL, js_ec_mul, NULL, NULL, NULL, napi_default, NULL },
        { "ecMul2", NULL, js_ec_mul2, NULL, NULL, NULL, napi_default, NULL },
        { "mulMod", NULL, js_mul_mod, NULL, NULL, NULL, napi_default, NULL },
        { "ecFixedMul", NULL, js_ec_fixed_mul, NULL, NULL, NULL, napi_default, NULL },
        { "fp2FixedPow", NULL, js_fp2_fixed_pow, NULL, NULL, NULL, napi_default, NULL },
        { "ecCombTable", NULL, js_ec_comb_table, NULL, NULL, NULL, napi_default, NULL },
        { "ecCombMul", NULL, js_ec_comb_mul, NULL, NULL, NULL, napi_default, NULL },
        { "backend", NULL, js_backend, NULL, NULL, NULL, napi_default, NULL },
        { "setBackend", NULL, js_set_backend, NULL, NULL, NULL, napi_default, NULL },
        { "p256", NULL, js_p256, NULL, NULL, NULL, napi_default, NULL },
        { "p256Check", NULL, js_p256_check, NULL, NULL, NULL, napi_default, NULL },
        { "p256MulG", NULL, js_p256_mul_g, NULL, NULL, NULL, napi_default, NULL },
        { "p256Lin", NULL, js_p256_lin, NULL, NULL, NULL, napi_default, NULL },
        { "p256Table", NULL, js_p256_table, NULL, NULL, NULL, napi_default, NULL },
        { "hmacSha256", NULL, js_hmac_sha256, NULL, NULL, NULL, napi_default, NULL },
        { "fpInv", NULL, js_fp_inv, NULL, NULL, NULL, napi_default, NULL },
        { "sha256", NULL, js_sha256, NULL, NULL, NULL, napi_default, NULL },
        { "hmacDrbgInit", NULL, js_hmac_drbg_init, NULL, NULL, NULL, napi_default, NULL },
    };
    napi_define_properties(env, exports, sizeof(d) / sizeof(d[0]), d);
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
