/*
 * libsrtp2 as an SRTP peer for the tests: protect / unprotect one RTP or RTCP packet per
 * input line with a fresh session built from the given profile, master key, master salt,
 * SSRC, ROC and optional MKI.
 *
 * Input (stdin), one command per line, fields separated by single spaces:
 *   version
 *   <op> <profile> <master-key-hex> <master-salt-hex> <ssrc> <roc> <mki-hex or -> <packet-hex>
 *   op: rtp-protect | rtp-unprotect | rtcp-protect | rtcp-unprotect
 * Output (stdout), one JSON object per line:
 *   {"ok":true,"packet":"<hex>"}  or  {"ok":false,"status":<srtp_err_status_t>,"where":"..."}
 */
#include <srtp2/srtp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PACKET 8192
#define MAX_LINE (4 * MAX_PACKET + 1024)

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* returns the number of bytes, or -1 */
static int unhex(const char *s, uint8_t *out, size_t cap) {
    size_t n = strlen(s);
    if (n % 2 != 0 || n / 2 > cap) return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(n / 2);
}

static void print_hex(const uint8_t *b, int n) {
    for (int i = 0; i < n; i++) printf("%02x", b[i]);
}

static void fail(const char *where, int status) {
    printf("{\"ok\":false,\"status\":%d,\"where\":\"%s\"}\n", status, where);
}

/* returns 0 if the profile is known */
static int set_profile(const char *name, srtp_crypto_policy_t *rtp, srtp_crypto_policy_t *rtcp) {
    if (strcmp(name, "AES_CM_128_HMAC_SHA1_80") == 0) {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtcp);
    } else if (strcmp(name, "AES_CM_128_HMAC_SHA1_32") == 0) {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtcp); /* SRTCP keeps the 80-bit tag */
    } else if (strcmp(name, "AES_192_CM_HMAC_SHA1_80") == 0) {
        srtp_crypto_policy_set_aes_cm_192_hmac_sha1_80(rtp);
        srtp_crypto_policy_set_aes_cm_192_hmac_sha1_80(rtcp);
    } else if (strcmp(name, "AES_256_CM_HMAC_SHA1_80") == 0) {
        srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(rtp);
        srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(rtcp);
    } else if (strcmp(name, "AEAD_AES_128_GCM") == 0) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(rtcp);
    } else if (strcmp(name, "AEAD_AES_256_GCM") == 0) {
        srtp_crypto_policy_set_aes_gcm_256_16_auth(rtp);
        srtp_crypto_policy_set_aes_gcm_256_16_auth(rtcp);
    } else if (strcmp(name, "NULL_HMAC_SHA1_80") == 0) {
        srtp_crypto_policy_set_null_cipher_hmac_sha1_80(rtp);
        srtp_crypto_policy_set_null_cipher_hmac_sha1_80(rtcp);
    } else {
        return -1;
    }
    return 0;
}

static void run(char *line) {
    char *save = NULL;
    char *op = strtok_r(line, " \r\n", &save);
    if (!op) return;
    if (strcmp(op, "version") == 0) {
        printf("{\"ok\":true,\"version\":\"%s\"}\n", srtp_get_version_string());
        return;
    }
    char *f[7];
    for (int i = 0; i < 7; i++) {
        f[i] = strtok_r(NULL, " \r\n", &save);
        if (!f[i]) { fail("fields", -1); return; }
    }
    srtp_policy_t policy;
    memset(&policy, 0, sizeof policy);
    if (set_profile(f[0], &policy.rtp, &policy.rtcp) != 0) { fail("profile", -1); return; }

    uint8_t keysalt[64];
    int klen = unhex(f[1], keysalt, sizeof keysalt);
    int slen = klen < 0 ? -1 : unhex(f[2], keysalt + klen, sizeof keysalt - (size_t)klen);
    if (klen < 0 || slen < 0) { fail("key", -1); return; }
    /* libsrtp takes key || salt and knows the split from the profile */
    if (klen + slen != policy.rtp.cipher_key_len) { fail("key-length", -1); return; }

    uint32_t ssrc = (uint32_t)strtoul(f[3], NULL, 10);
    uint32_t roc = (uint32_t)strtoul(f[4], NULL, 10);

    uint8_t mki[SRTP_MAX_MKI_LEN];
    int mki_len = 0;
    srtp_master_key_t mk;
    srtp_master_key_t *mks[1] = { &mk };
    if (strcmp(f[5], "-") != 0) {
        mki_len = unhex(f[5], mki, sizeof mki);
        if (mki_len <= 0) { fail("mki", -1); return; }
        mk.key = keysalt;
        mk.mki_id = mki;
        mk.mki_size = (unsigned)mki_len;
        policy.keys = mks;
        policy.num_master_keys = 1;
        policy.key = NULL;
    } else {
        policy.key = keysalt;
    }
    policy.ssrc.type = ssrc_specific;
    policy.ssrc.value = ssrc;
    policy.window_size = 128;
    policy.allow_repeat_tx = 0;
    policy.next = NULL;

    static uint8_t pkt[MAX_PACKET + SRTP_MAX_TRAILER_LEN + 64];
    int len = unhex(f[6], pkt, MAX_PACKET);
    if (len < 0) { fail("packet", -1); return; }

    srtp_t session;
    srtp_err_status_t st = srtp_create(&session, &policy);
    if (st != srtp_err_status_ok) { fail("create", st); return; }
    if (roc != 0) {
        st = srtp_set_stream_roc(session, ssrc, roc);
        if (st != srtp_err_status_ok) { srtp_dealloc(session); fail("roc", st); return; }
    }
    unsigned use_mki = mki_len > 0;
    if (strcmp(op, "rtp-protect") == 0) st = srtp_protect_mki(session, pkt, &len, use_mki, 0);
    else if (strcmp(op, "rtp-unprotect") == 0) st = srtp_unprotect_mki(session, pkt, &len, use_mki);
    else if (strcmp(op, "rtcp-protect") == 0) st = srtp_protect_rtcp_mki(session, pkt, &len, use_mki, 0);
    else if (strcmp(op, "rtcp-unprotect") == 0) st = srtp_unprotect_rtcp_mki(session, pkt, &len, use_mki);
    else { srtp_dealloc(session); fail("op", -1); return; }
    srtp_dealloc(session);
    if (st != srtp_err_status_ok) { fail(op, st); return; }
    printf("{\"ok\":true,\"packet\":\"");
    print_hex(pkt, len);
    printf("\"}\n");
}

int main(void) {
    if (srtp_init() != srtp_err_status_ok) { fail("init", -1); return 1; }
    static char line[MAX_LINE];
    while (fgets(line, sizeof line, stdin)) {
        run(line);
        fflush(stdout);
    }
    srtp_shutdown();
    return 0;
}
