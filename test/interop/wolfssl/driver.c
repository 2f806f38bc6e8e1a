/* wolfSSL ECCSI (RFC 6507) / SAKKE (RFC 6508) peer for the interop tests and the benchmark.
 *
 * Usage: driver <command> [hex args...]; results are printed as hex on stdout, one value per
 * line. Exit status 0 on success, 1 on a rejected input (bad signature, failed decapsulation,
 * invalid key), 2 on usage or library errors.
 *
 *   eccsi-kms                          -> KSAK, KPAK (04||x||y)
 *   eccsi-issue KSAK KPAK ID           -> SSK, PVT
 *   eccsi-validate KPAK ID SSK PVT     -> "valid" / exit 1
 *   eccsi-sign KPAK ID SSK PVT MSG     -> SIG (r||s||PVT)
 *   eccsi-verify KPAK ID MSG SIG       -> "valid" / exit 1
 *   sakke-kms                          -> z, Z (04||x||y)
 *   sakke-issue z ID                   -> RSK (04||x||y)
 *   sakke-validate Z ID RSK            -> "valid" / exit 1
 *   sakke-encap Z ID SSV               -> R||H (04||Rx||Ry||H)
 *   sakke-decap Z ID RSK R||H          -> SSV / exit 1
 *   bench [ms batches]                 -> "<name> <median ns>" lines
 *   serve                              -> "ready <op names>", then for each stdin line
 *                                         "<op> <n>": runs op n times, prints elapsed ns
 *                                         (so a caller can interleave batches with its own)
 *
 * Build with the library's digit size: Debian's libwolfssl is SP math with 64-bit digits, which
 * needs HAVE___UINT128_T here too (wolfssl-peer.ts passes it); main() checks it at run time.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/eccsi.h>
#include <wolfssl/wolfcrypt/sakke.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if !defined(WOLFCRYPT_HAVE_ECCSI) || !defined(WOLFCRYPT_HAVE_SAKKE)
#error "wolfSSL was built without ECCSI/SAKKE"
#endif

#define SAKKE_L 128
#define SAKKE_N 16
#define SAKKE_AUTH (1 + 2 * SAKKE_L)

static WC_RNG rng;

static void die(const char* what, int err)
{
    fprintf(stderr, "%s failed: %d\n", what, err);
    exit(2);
}
#define CHECK(call) do { int _e = (call); if (_e != 0) die(#call, _e); } while (0)

static size_t unhex(const char* s, unsigned char* out, size_t cap)
{
    size_t n = strlen(s);
    if (n % 2 != 0 || n / 2 > cap) {
        fprintf(stderr, "bad hex argument\n");
        exit(2);
    }
    for (size_t i = 0; i < n / 2; i++) {
        unsigned int b;
        if (sscanf(s + 2 * i, "%2x", &b) != 1) {
            fprintf(stderr, "bad hex argument\n");
            exit(2);
        }
        out[i] = (unsigned char)b;
    }
    return n / 2;
}

static void puthex(const unsigned char* b, size_t n)
{
    for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
    printf("\n");
}

/* ---- ECCSI ---- */

static void eccsi_init(EccsiKey* key)
{
    CHECK(wc_InitEccsiKey_ex(key, 32, ECC_SECP256R1, NULL, INVALID_DEVID));
}

static void eccsi_load_kpak(EccsiKey* key, const char* hex)
{
    unsigned char b[65];
    size_t n = unhex(hex, b, sizeof(b));
    CHECK(wc_ImportEccsiPublicKey(key, b, (word32)n, 0));
}

static int cmd_eccsi_kms(void)
{
    EccsiKey key;
    unsigned char ksak[32], kpak[65];
    word32 sz;
    eccsi_init(&key);
    CHECK(wc_MakeEccsiKey(&key, &rng));
    sz = sizeof(ksak);
    CHECK(wc_ExportEccsiPrivateKey(&key, ksak, &sz));
    puthex(ksak, sz);
    sz = sizeof(kpak);
    CHECK(wc_ExportEccsiPublicKey(&key, kpak, &sz, 0));
    puthex(kpak, sz);
    wc_FreeEccsiKey(&key);
    return 0;
}

static int cmd_eccsi_issue(const char* ksakHex, const char* kpakHex, const char* idHex)
{
    EccsiKey key;
    unsigned char ksak[32 + 64], kpak[65], id[256], out[65];
    size_t idSz;
    word32 sz;
    mp_int ssk;
    ecc_point* pvt = wc_ecc_new_point();
    if (pvt == NULL) die("wc_ecc_new_point", -1);
    eccsi_init(&key);
    /* wolfSSL's KMS key export/import format: KSAK || KPAK.x || KPAK.y */
    if (unhex(ksakHex, ksak, 32) != 32 || unhex(kpakHex, kpak, sizeof(kpak)) != 65 || kpak[0] != 4)
        die("eccsi-issue key lengths", -1);
    memcpy(ksak + 32, kpak + 1, 64);
    idSz = unhex(idHex, id, sizeof(id));
    CHECK(wc_ImportEccsiKey(&key, ksak, sizeof(ksak)));
    CHECK(mp_init(&ssk));
    CHECK(wc_MakeEccsiPair(&key, &rng, WC_HASH_TYPE_SHA256, id, (word32)idSz, &ssk, pvt));
    sz = 32;
    CHECK(wc_EncodeEccsiSsk(&key, &ssk, out, &sz));
    puthex(out, sz);
    sz = sizeof(out);
    CHECK(wc_EncodeEccsiPvt(&key, pvt, out, &sz, 0));
    puthex(out, sz);
    mp_free(&ssk);
    wc_ecc_del_point(pvt);
    wc_FreeEccsiKey(&key);
    return 0;
}

/* Loads the signer's pair and the identity hash HS into key. Returns 0, or 1 if invalid. */
static int eccsi_load_signer(EccsiKey* key, const char* kpakHex, const char* idHex,
        const char* sskHex, const char* pvtHex, mp_int* ssk, ecc_point* pvt, int validate)
{
    unsigned char id[256], b[65], hs[WC_MAX_DIGEST_SIZE];
    byte hsSz = sizeof(hs);
    size_t idSz, n;
    int valid = 0;
    eccsi_load_kpak(key, kpakHex);
    idSz = unhex(idHex, id, sizeof(id));
    n = unhex(sskHex, b, sizeof(b));
    CHECK(wc_DecodeEccsiSsk(key, b, (word32)n, ssk));
    n = unhex(pvtHex, b, sizeof(b));
    if (wc_DecodeEccsiPvt(key, b, (word32)n, pvt) != 0) return 1;
    if (validate) {
        if (wc_ValidateEccsiPair(key, WC_HASH_TYPE_SHA256, id, (word32)idSz, ssk, pvt, &valid) != 0 || !valid)
            return 1;
    }
    CHECK(wc_HashEccsiId(key, WC_HASH_TYPE_SHA256, id, (word32)idSz, pvt, hs, &hsSz));
    CHECK(wc_SetEccsiHash(key, hs, hsSz));
    CHECK(wc_SetEccsiPair(key, ssk, pvt));
    return 0;
}

static int cmd_eccsi_validate(char** a)
{
    EccsiKey key;
    mp_int ssk;
    ecc_point* pvt = wc_ecc_new_point();
    int r;
    eccsi_init(&key);
    CHECK(mp_init(&ssk));
    r = eccsi_load_signer(&key, a[0], a[1], a[2], a[3], &ssk, pvt, 1);
    if (r == 0) printf("valid\n");
    mp_free(&ssk);
    wc_ecc_del_point(pvt);
    wc_FreeEccsiKey(&key);
    return r;
}

static int cmd_eccsi_sign(char** a)
{
    EccsiKey key;
    mp_int ssk;
    ecc_point* pvt = wc_ecc_new_point();
    unsigned char msg[4096], sig[129];
    word32 sigSz = sizeof(sig);
    size_t msgSz;
    eccsi_init(&key);
    CHECK(mp_init(&ssk));
    if (eccsi_load_signer(&key, a[0], a[1], a[2], a[3], &ssk, pvt, 0) != 0) return 1;
    msgSz = unhex(a[4], msg, sizeof(msg));
    CHECK(wc_SignEccsiHash(&key, &rng, WC_HASH_TYPE_SHA256, msg, (word32)msgSz, sig, &sigSz));
    puthex(sig, sigSz);
    mp_free(&ssk);
    wc_ecc_del_point(pvt);
    wc_FreeEccsiKey(&key);
    return 0;
}

static int eccsi_verify(EccsiKey* key, const unsigned char* id, size_t idSz,
        const unsigned char* msg, size_t msgSz, const unsigned char* sig, size_t sigSz,
        ecc_point* pvt)
{
    unsigned char hs[WC_MAX_DIGEST_SIZE];
    byte hsSz = sizeof(hs);
    int verified = 0;
    if (wc_DecodeEccsiPvtFromSig(key, sig, (word32)sigSz, pvt) != 0) return 1;
    if (wc_HashEccsiId(key, WC_HASH_TYPE_SHA256, id, (word32)idSz, pvt, hs, &hsSz) != 0) return 1;
    CHECK(wc_SetEccsiHash(key, hs, hsSz));
    if (wc_VerifyEccsiHash(key, WC_HASH_TYPE_SHA256, msg, (word32)msgSz, sig, (word32)sigSz,
            &verified) != 0)
        return 1;
    return verified ? 0 : 1;
}

static int cmd_eccsi_verify(char** a)
{
    EccsiKey key;
    ecc_point* pvt = wc_ecc_new_point();
    unsigned char id[256], msg[4096], sig[512];
    size_t idSz, msgSz, sigSz;
    int r;
    eccsi_init(&key);
    eccsi_load_kpak(&key, a[0]);
    idSz = unhex(a[1], id, sizeof(id));
    msgSz = unhex(a[2], msg, sizeof(msg));
    sigSz = unhex(a[3], sig, sizeof(sig));
    r = eccsi_verify(&key, id, idSz, msg, msgSz, sig, sigSz, pvt);
    if (r == 0) printf("valid\n");
    wc_ecc_del_point(pvt);
    wc_FreeEccsiKey(&key);
    return r;
}

/* ---- SAKKE ---- */

static void sakke_init(SakkeKey* key)
{
    CHECK(wc_InitSakkeKey_ex(key, 128, ECC_SAKKE_1, NULL, INVALID_DEVID));
}

static void sakke_load_z(SakkeKey* key, const char* hex)
{
    unsigned char b[SAKKE_AUTH];
    size_t n = unhex(hex, b, sizeof(b));
    CHECK(wc_ImportSakkePublicKey(key, b, (word32)n, 0));
}

static int cmd_sakke_kms(void)
{
    SakkeKey key;
    unsigned char z[SAKKE_L], pub[SAKKE_AUTH];
    word32 sz;
    sakke_init(&key);
    CHECK(wc_MakeSakkeKey(&key, &rng));
    sz = sizeof(z);
    CHECK(wc_ExportSakkePrivateKey(&key, z, &sz));
    puthex(z, sz);
    sz = sizeof(pub);
    CHECK(wc_ExportSakkePublicKey(&key, pub, &sz, 0));
    puthex(pub, sz);
    wc_FreeSakkeKey(&key);
    return 0;
}

static int cmd_sakke_issue(const char* zHex, const char* idHex)
{
    SakkeKey key;
    unsigned char z[SAKKE_L], id[SAKKE_ID_MAX_SIZE], out[SAKKE_AUTH];
    size_t zSz, idSz;
    word32 sz = sizeof(out);
    ecc_point* rsk = wc_ecc_new_point();
    sakke_init(&key);
    zSz = unhex(zHex, z, sizeof(z));
    idSz = unhex(idHex, id, sizeof(id));
    CHECK(wc_ImportSakkePrivateKey(&key, z, (word32)zSz));
    CHECK(wc_MakeSakkeRsk(&key, id, (word16)idSz, rsk));
    CHECK(wc_EncodeSakkeRsk(&key, rsk, out, &sz, 0));
    puthex(out, sz);
    wc_ecc_del_point(rsk);
    wc_FreeSakkeKey(&key);
    return 0;
}

static int sakke_load_rsk(SakkeKey* key, const char* hex, ecc_point* rsk)
{
    unsigned char b[SAKKE_AUTH];
    size_t n = unhex(hex, b, sizeof(b));
    return wc_DecodeSakkeRsk(key, b, (word32)n, rsk) != 0;
}

static int cmd_sakke_validate(char** a)
{
    SakkeKey key;
    unsigned char id[SAKKE_ID_MAX_SIZE];
    size_t idSz;
    int valid = 0;
    ecc_point* rsk = wc_ecc_new_point();
    sakke_init(&key);
    sakke_load_z(&key, a[0]);
    idSz = unhex(a[1], id, sizeof(id));
    if (sakke_load_rsk(&key, a[2], rsk) != 0) return 1;
    if (wc_ValidateSakkeRsk(&key, id, (word16)idSz, rsk, &valid) != 0 || !valid) return 1;
    printf("valid\n");
    wc_ecc_del_point(rsk);
    wc_FreeSakkeKey(&key);
    return 0;
}

/* wolfSSL keeps R (auth) and H (the masked SSV, written over the SSV buffer) apart;
 * the RFC 6508 §4 Encapsulated Data is R || H. */
static int cmd_sakke_encap(char** a)
{
    SakkeKey key;
    unsigned char id[SAKKE_ID_MAX_SIZE], ssv[SAKKE_N], auth[SAKKE_AUTH];
    word16 authSz = sizeof(auth);
    size_t idSz;
    sakke_init(&key);
    sakke_load_z(&key, a[0]);
    idSz = unhex(a[1], id, sizeof(id));
    if (unhex(a[2], ssv, sizeof(ssv)) != SAKKE_N) die("ssv length", -1);
    CHECK(wc_SetSakkeIdentity(&key, id, (word16)idSz));
    CHECK(wc_MakeSakkeEncapsulatedSSV(&key, WC_HASH_TYPE_SHA256, ssv, SAKKE_N, auth, &authSz));
    for (int i = 0; i < authSz; i++) printf("%02x", auth[i]);
    puthex(ssv, SAKKE_N);
    wc_FreeSakkeKey(&key);
    return 0;
}

static int cmd_sakke_decap(char** a)
{
    SakkeKey key;
    unsigned char id[SAKKE_ID_MAX_SIZE], ed[SAKKE_AUTH + SAKKE_N + 1], ssv[SAKKE_N];
    size_t idSz, edSz;
    ecc_point* rsk = wc_ecc_new_point();
    sakke_init(&key);
    sakke_load_z(&key, a[0]);
    idSz = unhex(a[1], id, sizeof(id));
    if (sakke_load_rsk(&key, a[2], rsk) != 0) return 1;
    edSz = unhex(a[3], ed, sizeof(ed));
    if (edSz != SAKKE_AUTH + SAKKE_N) return 1;
    CHECK(wc_SetSakkeIdentity(&key, id, (word16)idSz));
    CHECK(wc_SetSakkeRsk(&key, rsk, NULL, 0));
    memcpy(ssv, ed + SAKKE_AUTH, SAKKE_N);
    if (wc_DeriveSakkeSSV(&key, WC_HASH_TYPE_SHA256, ssv, SAKKE_N, ed, SAKKE_AUTH) != 0) return 1;
    puthex(ssv, SAKKE_N);
    wc_ecc_del_point(rsk);
    wc_FreeSakkeKey(&key);
    return 0;
}

/* ---- bench: median ns per operation over timed batches ---- */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void* x, const void* y)
{
    double a = *(const double*)x, b = *(const double*)y;
    return (a > b) - (a < b);
}

typedef void (*op_fn)(void*);

static void bench_op(const char* name, op_fn fn, void* ctx, double batchMs, int batches)
{
    double t0, dt, per[64];
    long n = 1;
    for (;;) {
        t0 = now_ns();
        for (long i = 0; i < n; i++) fn(ctx);
        dt = now_ns() - t0;
        if (dt >= batchMs * 1e6 / 4) break;
        n *= 2;
    }
    n = (long)(n * batchMs * 1e6 / dt);
    if (n < 1) n = 1;
    if (batches > 64) batches = 64;
    for (int b = 0; b < batches; b++) {
        t0 = now_ns();
        for (long i = 0; i < n; i++) fn(ctx);
        per[b] = (now_ns() - t0) / (double)n;
    }
    qsort(per, (size_t)batches, sizeof(double), cmp_double);
    printf("%s %.0f\n", name, per[batches / 2]);
    fflush(stdout);
}

#define NCYCLE 32

typedef struct {
    EccsiKey signer, verifier;
    ecc_point* pvtTmp;
    unsigned char id[64], msg[100], sig[129];
    word32 idSz, sigSz;
    SakkeKey sender, senderTab, receiver, receiverTab, validator;
    unsigned char ssv[SAKKE_N], h[SAKKE_N], auth[SAKKE_AUTH];
    word16 authSz;
    ecc_point* rsk;
    byte* iTable;
    byte* rskTable;
    mp_int ssk;
    ecc_point* pvt;
    SakkeKey pointI;
    /* NCYCLE signers and identifiers, one per call of the *-first operations: more than
     * wolfSSL's fixed-point cache holds (FP_ECC, FP_ENTRIES 15), so a PVT or a point I is
     * never met twice while cached, as on a first contact */
    unsigned char cid[NCYCLE][40];
    word32 cidSz[NCYCLE];
    unsigned char csig[NCYCLE][129];
    word32 csigSz[NCYCLE];
    mp_int cssk[NCYCLE];
    ecc_point* cpvt[NCYCLE];
    SakkeKey senderCycle;
    /* a receiver per identifier: its RSK and an Encapsulated Data (R, H) for it */
    ecc_point* crsk[NCYCLE];
    unsigned char cauth[NCYCLE][SAKKE_AUTH], ch[NCYCLE][SAKKE_N];
    SakkeKey receiverCycle;
    unsigned next;
} BenchCtx;

static void op_eccsi_sign(void* c)
{
    BenchCtx* x = c;
    word32 sz = sizeof(x->sig);
    CHECK(wc_SignEccsiHash(&x->signer, &rng, WC_HASH_TYPE_SHA256, x->msg, sizeof(x->msg), x->sig, &sz));
}

static void op_eccsi_verify(void* c)
{
    BenchCtx* x = c;
    if (eccsi_verify(&x->verifier, x->id, x->idSz, x->msg, sizeof(x->msg), x->sig, x->sigSz, x->pvtTmp) != 0)
        die("verify", 1);
}

/* a new signer on every call (NCYCLE of them in turn) */
static void op_eccsi_verify_first(void* c)
{
    BenchCtx* x = c;
    unsigned i = x->next++ % NCYCLE;
    if (eccsi_verify(&x->verifier, x->cid[i], x->cidSz[i], x->msg, sizeof(x->msg), x->csig[i], x->csigSz[i], x->pvtTmp) != 0)
        die("verify", 1);
}

static void op_eccsi_validate_first(void* c)
{
    BenchCtx* x = c;
    unsigned i = x->next++ % NCYCLE;
    int valid = 0;
    CHECK(wc_ValidateEccsiPair(&x->verifier, WC_HASH_TYPE_SHA256, x->cid[i], x->cidSz[i], &x->cssk[i], x->cpvt[i], &valid));
    if (!valid) die("ssk validation", 1);
}

static void encap_with(SakkeKey* key, BenchCtx* x)
{
    unsigned char s[SAKKE_N];
    word16 sz = sizeof(x->auth);
    memcpy(s, x->ssv, SAKKE_N);
    CHECK(wc_MakeSakkeEncapsulatedSSV(key, WC_HASH_TYPE_SHA256, s, SAKKE_N, x->auth, &sz));
}
static void op_sakke_encap(void* c) { encap_with(&((BenchCtx*)c)->sender, c); }
static void op_sakke_encap_tab(void* c) { encap_with(&((BenchCtx*)c)->senderTab, c); }
/* a new identifier on every call: the key's point I = [b]P + Z is recomputed */
static void op_sakke_encap_first(void* c)
{
    BenchCtx* x = c;
    unsigned i = x->next++ % NCYCLE;
    CHECK(wc_SetSakkeIdentity(&x->senderCycle, x->cid[i], (word16)x->cidSz[i]));
    encap_with(&x->senderCycle, x);
}

static void decap_with(SakkeKey* key, BenchCtx* x)
{
    unsigned char s[SAKKE_N];
    memcpy(s, x->h, SAKKE_N);
    CHECK(wc_DeriveSakkeSSV(key, WC_HASH_TYPE_SHA256, s, SAKKE_N, x->auth, x->authSz));
    if (memcmp(s, x->ssv, SAKKE_N) != 0) die("decap mismatch", 1);
}
static void op_sakke_decap(void* c) { decap_with(&((BenchCtx*)c)->receiver, c); }
/* a new receiver on every call (identifier and RSK; the key's point I is recomputed) */
static void op_sakke_decap_first(void* c)
{
    BenchCtx* x = c;
    unsigned i = x->next++ % NCYCLE;
    unsigned char s[SAKKE_N];
    CHECK(wc_SetSakkeIdentity(&x->receiverCycle, x->cid[i], (word16)x->cidSz[i]));
    CHECK(wc_SetSakkeRsk(&x->receiverCycle, x->crsk[i], NULL, 0));
    memcpy(s, x->ch[i], SAKKE_N);
    CHECK(wc_DeriveSakkeSSV(&x->receiverCycle, WC_HASH_TYPE_SHA256, s, SAKKE_N, x->cauth[i], SAKKE_AUTH));
    if (memcmp(s, x->ssv, SAKKE_N) != 0) die("decap mismatch", 1);
}
static void op_sakke_decap_tab(void* c) { decap_with(&((BenchCtx*)c)->receiverTab, c); }

static void op_sakke_validate(void* c)
{
    BenchCtx* x = c;
    int valid = 0;
    CHECK(wc_ValidateSakkeRsk(&x->validator, x->id, (word16)x->idSz, x->rsk, &valid));
    if (!valid) die("rsk validation", 1);
}

static void op_eccsi_validate(void* c)
{
    BenchCtx* x = c;
    int valid = 0;
    CHECK(wc_ValidateEccsiPair(&x->verifier, WC_HASH_TYPE_SHA256, x->id, x->idSz, &x->ssk, x->pvt, &valid));
    if (!valid) die("ssk validation", 1);
}

/* I = [a]P + Z: the point arithmetic of RSK validation (the rest is one pairing) */
static void op_sakke_point_i(void* c)
{
    BenchCtx* x = c;
    CHECK(wc_MakeSakkePointI(&x->pointI, x->id, (word16)x->idSz));
}

static BenchCtx x;
static word32 iTableLen, rskTableLen;

static void bench_setup(void)
{
    mp_int* ssk = &x.ssk;
    ecc_point* pvt = wc_ecc_new_point();
    unsigned char kpak[65];
    word32 sz, len, iLen;
    unsigned char hs[WC_MAX_DIGEST_SIZE];
    byte hsSz = sizeof(hs);
    unsigned char zPub[SAKKE_AUTH], zPriv[SAKKE_L];
    word32 zPubSz = sizeof(zPub), zPrivSz = sizeof(zPriv);

    memcpy(x.id, "2011-02\0tel:+447700900123\0", 26);
    x.idSz = 26;
    for (size_t i = 0; i < sizeof(x.msg); i++) x.msg[i] = (unsigned char)i;
    for (int i = 0; i < SAKKE_N; i++) x.ssv[i] = (unsigned char)(0x40 + i);
    x.pvtTmp = wc_ecc_new_point();

    /* ECCSI: KMS issues a pair, the signer installs it, the verifier holds KPAK. */
    eccsi_init(&x.signer);
    CHECK(wc_MakeEccsiKey(&x.signer, &rng));
    x.pvt = pvt;
    CHECK(mp_init(ssk));
    CHECK(wc_MakeEccsiPair(&x.signer, &rng, WC_HASH_TYPE_SHA256, x.id, x.idSz, ssk, pvt));
    CHECK(wc_HashEccsiId(&x.signer, WC_HASH_TYPE_SHA256, x.id, x.idSz, pvt, hs, &hsSz));
    CHECK(wc_SetEccsiHash(&x.signer, hs, hsSz));
    CHECK(wc_SetEccsiPair(&x.signer, ssk, pvt));
    sz = sizeof(kpak);
    CHECK(wc_ExportEccsiPublicKey(&x.signer, kpak, &sz, 0));
    eccsi_init(&x.verifier);
    CHECK(wc_ImportEccsiPublicKey(&x.verifier, kpak, sz, 0));
    x.sigSz = sizeof(x.sig);
    CHECK(wc_SignEccsiHash(&x.signer, &rng, WC_HASH_TYPE_SHA256, x.msg, sizeof(x.msg), x.sig, &x.sigSz));
    for (int i = 0; i < NCYCLE; i++) {
        unsigned char chs[WC_MAX_DIGEST_SIZE];
        byte chsSz = sizeof(chs);
        x.cidSz[i] = (word32)snprintf((char*)x.cid[i], sizeof(x.cid[i]), "2011-02%ctel:+4477009%05d", 0, i) + 1;
        x.cpvt[i] = wc_ecc_new_point();
        CHECK(mp_init(&x.cssk[i]));
        CHECK(wc_MakeEccsiPair(&x.signer, &rng, WC_HASH_TYPE_SHA256, x.cid[i], x.cidSz[i], &x.cssk[i], x.cpvt[i]));
        CHECK(wc_HashEccsiId(&x.signer, WC_HASH_TYPE_SHA256, x.cid[i], x.cidSz[i], x.cpvt[i], chs, &chsSz));
        CHECK(wc_SetEccsiHash(&x.signer, chs, chsSz));
        CHECK(wc_SetEccsiPair(&x.signer, &x.cssk[i], x.cpvt[i]));
        x.csigSz[i] = sizeof(x.csig[i]);
        CHECK(wc_SignEccsiHash(&x.signer, &rng, WC_HASH_TYPE_SHA256, x.msg, sizeof(x.msg), x.csig[i], &x.csigSz[i]));
    }
    /* the signer signs as x.id again */
    CHECK(wc_SetEccsiHash(&x.signer, hs, hsSz));
    CHECK(wc_SetEccsiPair(&x.signer, ssk, pvt));

    /* SAKKE: one KMS; sender and receiver objects with and without precomputed tables. */
    sakke_init(&x.validator);
    CHECK(wc_MakeSakkeKey(&x.validator, &rng));
    x.rsk = wc_ecc_new_point();
    CHECK(wc_MakeSakkeRsk(&x.validator, x.id, (word16)x.idSz, x.rsk));
    CHECK(wc_ExportSakkePublicKey(&x.validator, zPub, &zPubSz, 0));
    CHECK(wc_ExportSakkePrivateKey(&x.validator, zPriv, &zPrivSz));

    sakke_init(&x.sender);
    CHECK(wc_ImportSakkePublicKey(&x.sender, zPub, zPubSz, 0));
    CHECK(wc_SetSakkeIdentity(&x.sender, x.id, (word16)x.idSz));

    sakke_init(&x.senderCycle);
    CHECK(wc_ImportSakkePublicKey(&x.senderCycle, zPub, zPubSz, 0));
    sakke_init(&x.receiverCycle);
    CHECK(wc_ImportSakkePublicKey(&x.receiverCycle, zPub, zPubSz, 0));
    for (int i = 0; i < NCYCLE; i++) {
        unsigned char s[SAKKE_N];
        word16 aSz = SAKKE_AUTH;
        x.crsk[i] = wc_ecc_new_point();
        CHECK(wc_MakeSakkeRsk(&x.validator, x.cid[i], (word16)x.cidSz[i], x.crsk[i]));
        CHECK(wc_SetSakkeIdentity(&x.senderCycle, x.cid[i], (word16)x.cidSz[i]));
        memcpy(s, x.ssv, SAKKE_N);
        CHECK(wc_MakeSakkeEncapsulatedSSV(&x.senderCycle, WC_HASH_TYPE_SHA256, s, SAKKE_N, x.cauth[i], &aSz));
        memcpy(x.ch[i], s, SAKKE_N);
    }

    sakke_init(&x.senderTab);
    CHECK(wc_ImportSakkePublicKey(&x.senderTab, zPub, zPubSz, 0));
    CHECK(wc_MakeSakkePointI(&x.senderTab, x.id, (word16)x.idSz));
    len = 0;
    wc_GenerateSakkePointITable(&x.senderTab, NULL, &len);
    iLen = len;
    x.iTable = malloc(len ? len : 1);
    if (len > 0) {
        CHECK(wc_GenerateSakkePointITable(&x.senderTab, x.iTable, &len));
        CHECK(wc_SetSakkePointITable(&x.senderTab, x.iTable, len));
    }
    CHECK(wc_SetSakkeIdentity(&x.senderTab, x.id, (word16)x.idSz));

    sakke_init(&x.pointI);
    CHECK(wc_ImportSakkePublicKey(&x.pointI, zPub, zPubSz, 0));

    sakke_init(&x.receiver);
    CHECK(wc_ImportSakkePublicKey(&x.receiver, zPub, zPubSz, 0));
    CHECK(wc_SetSakkeIdentity(&x.receiver, x.id, (word16)x.idSz));
    CHECK(wc_SetSakkeRsk(&x.receiver, x.rsk, NULL, 0));

    sakke_init(&x.receiverTab);
    CHECK(wc_ImportSakkePublicKey(&x.receiverTab, zPub, zPubSz, 0));
    CHECK(wc_SetSakkeIdentity(&x.receiverTab, x.id, (word16)x.idSz));
    len = 0;
    wc_GenerateSakkeRskTable(&x.receiverTab, x.rsk, NULL, &len);
    x.rskTable = malloc(len ? len : 1);
    if (len > 0) CHECK(wc_GenerateSakkeRskTable(&x.receiverTab, x.rsk, x.rskTable, &len));
    CHECK(wc_SetSakkeRsk(&x.receiverTab, x.rsk, len > 0 ? x.rskTable : NULL, len));
    iTableLen = iLen;
    rskTableLen = len;

    {
        unsigned char s[SAKKE_N];
        memcpy(s, x.ssv, SAKKE_N);
        x.authSz = sizeof(x.auth);
        CHECK(wc_MakeSakkeEncapsulatedSSV(&x.sender, WC_HASH_TYPE_SHA256, s, SAKKE_N, x.auth, &x.authSz));
        memcpy(x.h, s, SAKKE_N);
    }
    /* start every operation from an empty fixed-point cache: the set-up above met the 32 cycle
     * points (I of each receiver) and could leave the cache in a state that keeps a later point
     * (a signer's PVT) from being cached; the "same again" operations warm it themselves */
    wc_ecc_fp_free();
}

typedef struct {
    const char* name;
    op_fn fn;
} NamedOp;

static const NamedOp ops[] = {
    { "eccsi-sign", op_eccsi_sign },
    { "eccsi-verify", op_eccsi_verify },
    { "eccsi-validate-ssk", op_eccsi_validate },
    { "eccsi-verify-first", op_eccsi_verify_first },
    { "eccsi-validate-ssk-first", op_eccsi_validate_first },
    { "sakke-encap-first", op_sakke_encap_first },
    { "sakke-encap", op_sakke_encap },
    { "sakke-encap-table", op_sakke_encap_tab },
    { "sakke-decap", op_sakke_decap },
    { "sakke-decap-first", op_sakke_decap_first },
    { "sakke-decap-table", op_sakke_decap_tab },
    { "sakke-validate-rsk", op_sakke_validate },
    { "sakke-point-i", op_sakke_point_i },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static int cmd_serve(void)
{
    char line[256], name[64];
    long n;
    bench_setup();
    printf("ready");
    for (size_t i = 0; i < NOPS; i++) printf(" %s", ops[i].name);
    printf("\n");
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin) != NULL) {
        size_t i;
        if (sscanf(line, "%63s %ld", name, &n) != 2 || n < 0) {
            printf("error bad request\n");
            fflush(stdout);
            continue;
        }
        for (i = 0; i < NOPS && strcmp(ops[i].name, name) != 0; i++) {}
        if (i == NOPS) {
            printf("error unknown op\n");
            fflush(stdout);
            continue;
        }
        double t0 = now_ns();
        for (long k = 0; k < n; k++) ops[i].fn(&x);
        printf("%.0f\n", now_ns() - t0);
        fflush(stdout);
    }
    return 0;
}

static int cmd_bench(double batchMs, int batches)
{
    bench_setup();
    bench_op("eccsi-sign", op_eccsi_sign, &x, batchMs, batches);
    bench_op("eccsi-verify", op_eccsi_verify, &x, batchMs, batches);
    bench_op("eccsi-validate-ssk", op_eccsi_validate, &x, batchMs, batches);
    bench_op("eccsi-verify-first", op_eccsi_verify_first, &x, batchMs, batches);
    bench_op("eccsi-validate-ssk-first", op_eccsi_validate_first, &x, batchMs, batches);
    bench_op("sakke-encap-first", op_sakke_encap_first, &x, batchMs, batches);
    bench_op("sakke-encap", op_sakke_encap, &x, batchMs, batches);
    bench_op("sakke-encap-table", op_sakke_encap_tab, &x, batchMs, batches);
    bench_op("sakke-decap", op_sakke_decap, &x, batchMs, batches);
    bench_op("sakke-decap-first", op_sakke_decap_first, &x, batchMs, batches);
    bench_op("sakke-decap-table", op_sakke_decap_tab, &x, batchMs, batches);
    bench_op("sakke-validate-rsk", op_sakke_validate, &x, batchMs, batches);
    bench_op("sakke-point-i", op_sakke_point_i, &x, batchMs, batches);
    /* 0 when this build of wolfSSL has no precomputed tables (no SP 1024-bit code) */
    printf("table-bytes point-I %u rsk %u\n", iTableLen, rskTableLen);
    return 0;
}

int main(int argc, char** argv)
{
    int r = 2;
    if (argc < 2) {
        fprintf(stderr, "usage: driver <command> [args]\n");
        return 2;
    }
    CHECK(wolfCrypt_Init());
    CHECK(wc_InitRng(&rng));
    {
        /* 2^64 takes 2 digits of 64 bits, 3 of 32: the library must agree with this build */
        static const unsigned char two64[9] = { 1 };
        mp_int t;
        CHECK(mp_init(&t));
        CHECK(mp_read_unsigned_bin(&t, two64, sizeof(two64)));
        if (t.used != (SP_WORD_SIZE == 64 ? 2 : 3)) {
            fprintf(stderr, "driver built with %d-bit digits, libwolfssl uses others\n", SP_WORD_SIZE);
            return 2;
        }
        mp_clear(&t);
    }
#define NEED(k) if (argc != 2 + (k)) { fprintf(stderr, "%s takes %d arguments\n", argv[1], k); return 2; }
    if (strcmp(argv[1], "eccsi-kms") == 0) { NEED(0); r = cmd_eccsi_kms(); }
    else if (strcmp(argv[1], "eccsi-issue") == 0) { NEED(3); r = cmd_eccsi_issue(argv[2], argv[3], argv[4]); }
    else if (strcmp(argv[1], "eccsi-validate") == 0) { NEED(4); r = cmd_eccsi_validate(argv + 2); }
    else if (strcmp(argv[1], "eccsi-sign") == 0) { NEED(5); r = cmd_eccsi_sign(argv + 2); }
    else if (strcmp(argv[1], "eccsi-verify") == 0) { NEED(4); r = cmd_eccsi_verify(argv + 2); }
    else if (strcmp(argv[1], "sakke-kms") == 0) { NEED(0); r = cmd_sakke_kms(); }
    else if (strcmp(argv[1], "sakke-issue") == 0) { NEED(2); r = cmd_sakke_issue(argv[2], argv[3]); }
    else if (strcmp(argv[1], "sakke-validate") == 0) { NEED(3); r = cmd_sakke_validate(argv + 2); }
    else if (strcmp(argv[1], "sakke-encap") == 0) { NEED(3); r = cmd_sakke_encap(argv + 2); }
    else if (strcmp(argv[1], "sakke-decap") == 0) { NEED(4); r = cmd_sakke_decap(argv + 2); }
    else if (strcmp(argv[1], "serve") == 0) { NEED(0); r = cmd_serve(); }
    else if (strcmp(argv[1], "bench") == 0) {
        double ms = argc > 2 ? atof(argv[2]) : 40.0;
        int batches = argc > 3 ? atoi(argv[3]) : 15;
        r = cmd_bench(ms, batches);
    }
    else fprintf(stderr, "unknown command %s\n", argv[1]);
    fflush(stdout);
    wc_FreeRng(&rng);
    wolfCrypt_Cleanup();
    return r;
}
