/* GStreamer MIKEY peer for the interop tests (see test/interop/gst.ts).
 *
 *   mikey-gst parse            stdin: one hex message per line; stdout: {"ready":true}, then one
 *                              JSON line per message
 *   mikey-gst build            stdin: one JSON spec per line (GstBuildSpec); stdout: hex or {"error":..}
 *   mikey-gst bench N [B]      stdin: one hex message; N ops per batch, B batches (default 15)
 *   mikey-gst serve            stdin: `load HEX...` (the messages), then `run WORK N` per timed
 *                              batch; stdout: one JSON line per command, {"ns":..} for a batch.
 *                              WORK: `dse` (parse + read every SP parameter + to_bytes, cycling
 *                              through the messages) or `enc` (to_bytes of the parsed messages)
 *
 * Output is flushed after every line so that the caller can tell which message a hang is in:
 * GStreamer's parser spins forever on payloads it does not handle.
 */
#include <gst/gst.h>
#include <gst/sdp/gstmikey.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------- output helpers ---------- */

static GString *out;

static void put_hex (const guint8 * d, gsize n)
{
  static const char digits[] = "0123456789abcdef";
  g_string_append_c (out, '"');
  for (gsize i = 0; i < n; i++) {
    g_string_append_c (out, digits[d[i] >> 4]);
    g_string_append_c (out, digits[d[i] & 15]);
  }
  g_string_append_c (out, '"');
}

static void put_str (const char *s)
{
  g_string_append_c (out, '"');
  for (; *s; s++) {
    unsigned char c = (unsigned char) *s;
    if (c == '"' || c == '\\')
      g_string_append_printf (out, "\\%c", c);
    else if (c < 0x20)
      g_string_append_printf (out, "\\u%04x", c);
    else
      g_string_append_c (out, c);
  }
  g_string_append_c (out, '"');
}

static void emit (void)
{
  g_string_append_c (out, '\n');
  fwrite (out->str, 1, out->len, stdout);
  fflush (stdout);
  g_string_truncate (out, 0);
}

static void emit_error (const char *msg)
{
  g_string_append (out, "{\"error\":");
  put_str (msg);
  g_string_append_c (out, '}');
  emit ();
}

static guint8 *from_hex (const char *s, gsize * len)
{
  gsize n = strlen (s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
    n--;
  if (n % 2)
    return NULL;
  guint8 *d = g_malloc (n / 2 + 1);
  for (gsize i = 0; i < n / 2; i++) {
    int hi = g_ascii_xdigit_value (s[2 * i]), lo = g_ascii_xdigit_value (s[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      g_free (d);
      return NULL;
    }
    d[i] = (guint8) (hi << 4 | lo);
  }
  *len = n / 2;
  return d;
}

static guint ts_len (guint type)
{
  return type == GST_MIKEY_TS_TYPE_NTP_UTC || type == GST_MIKEY_TS_TYPE_NTP ? 8 :
      type == GST_MIKEY_TS_TYPE_COUNTER ? 4 : 0;
}

/* ---------- parse ---------- */

static void put_payloads (const GstMIKEYPayload * const *pl, guint n);

static void put_payload (const GstMIKEYPayload * p)
{
  g_string_append_printf (out, "{\"type\":%d", (int) p->type);
  switch (p->type) {
    case GST_MIKEY_PT_KEMAC:{
      const GstMIKEYPayloadKEMAC *k = (const GstMIKEYPayloadKEMAC *) p;
      guint n = gst_mikey_payload_kemac_get_n_sub (p);
      const GstMIKEYPayload **subs = g_newa (const GstMIKEYPayload *, n + 1);
      for (guint i = 0; i < n; i++)
        subs[i] = gst_mikey_payload_kemac_get_sub (p, i);
      g_string_append_printf (out, ",\"encAlg\":%d,\"macAlg\":%d,\"sub\":", (int) k->enc_alg,
          (int) k->mac_alg);
      put_payloads (subs, n);
      break;
    }
    case GST_MIKEY_PT_T:{
      const GstMIKEYPayloadT *t = (const GstMIKEYPayloadT *) p;
      g_string_append_printf (out, ",\"tsType\":%d,\"tsValue\":", (int) t->type);
      put_hex (t->ts_value, ts_len (t->type));
      break;
    }
    case GST_MIKEY_PT_PKE:{
      const GstMIKEYPayloadPKE *k = (const GstMIKEYPayloadPKE *) p;
      g_string_append_printf (out, ",\"c\":%d,\"data\":", (int) k->C);
      put_hex (k->data, k->data_len);
      break;
    }
    case GST_MIKEY_PT_SP:{
      const GstMIKEYPayloadSP *s = (const GstMIKEYPayloadSP *) p;
      guint n = gst_mikey_payload_sp_get_n_params (p);
      g_string_append_printf (out, ",\"policy\":%u,\"proto\":%d,\"params\":[", s->policy,
          (int) s->proto);
      for (guint i = 0; i < n; i++) {
        const GstMIKEYPayloadSPParam *prm = gst_mikey_payload_sp_get_param (p, i);
        g_string_append_printf (out, "%s{\"type\":%u,\"len\":%u,\"value\":", i ? "," : "",
            prm->type, prm->len);
        put_hex (prm->val, prm->len);
        g_string_append_c (out, '}');
      }
      g_string_append_c (out, ']');
      break;
    }
    case GST_MIKEY_PT_RAND:{
      const GstMIKEYPayloadRAND *r = (const GstMIKEYPayloadRAND *) p;
      g_string_append (out, ",\"rand\":");
      put_hex (r->rand, r->len);
      break;
    }
    case GST_MIKEY_PT_KEY_DATA:{
      const GstMIKEYPayloadKeyData *k = (const GstMIKEYPayloadKeyData *) p;
      g_string_append_printf (out, ",\"keyType\":%d,\"kvType\":%d,\"key\":", (int) k->key_type,
          (int) k->kv_type);
      put_hex (k->key_data, k->key_len);
      if (k->salt_len) {
        g_string_append (out, ",\"salt\":");
        put_hex (k->salt_data, k->salt_len);
      }
      if (k->kv_type == GST_MIKEY_KV_SPI) {
        g_string_append (out, ",\"spi\":");
        put_hex (k->kv_data[0], k->kv_len[0]);
      } else if (k->kv_type == GST_MIKEY_KV_INTERVAL) {
        g_string_append (out, ",\"validFrom\":");
        put_hex (k->kv_data[0], k->kv_len[0]);
        g_string_append (out, ",\"validTo\":");
        put_hex (k->kv_data[1], k->kv_len[1]);
      }
      break;
    }
    default:
      break;                    /* GStreamer keeps nothing else */
  }
  g_string_append_c (out, '}');
}

static void put_payloads (const GstMIKEYPayload * const *pl, guint n)
{
  g_string_append_c (out, '[');
  for (guint i = 0; i < n; i++) {
    if (i)
      g_string_append_c (out, ',');
    put_payload (pl[i]);
  }
  g_string_append_c (out, ']');
}

static void put_message (GstMIKEYMessage * m)
{
  guint n_cs = gst_mikey_message_get_n_cs (m), n = gst_mikey_message_get_n_payloads (m);
  g_string_append_printf (out,
      "{\"version\":%u,\"type\":%d,\"v\":%s,\"prfFunc\":%d,\"csbId\":%u,\"mapType\":%d,\"cs\":[",
      m->version, (int) m->type, m->V ? "true" : "false", (int) m->prf_func, m->CSB_id,
      (int) m->map_type);
  for (guint i = 0; i < n_cs; i++) {
    const GstMIKEYMapSRTP *cs = gst_mikey_message_get_cs_srtp (m, i);
    g_string_append_printf (out, "%s{\"policy\":%u,\"ssrc\":%u,\"roc\":%u}", i ? "," : "",
        cs->policy, cs->ssrc, cs->roc);
  }
  g_string_append (out, "],\"payloads\":");
  const GstMIKEYPayload **pl = g_new (const GstMIKEYPayload *, n + 1);
  for (guint i = 0; i < n; i++)
    pl[i] = gst_mikey_message_get_payload (m, i);
  put_payloads (pl, n);
  g_free (pl);
}

static int do_parse (void)
{
  char *line = NULL;
  size_t cap = 0;
  g_string_append (out, "{\"ready\":true}");   /* start-up done: from here on, silence is a hang */
  emit ();
  while (getline (&line, &cap, stdin) > 0) {
    gsize len = 0;
    guint8 *d = from_hex (line, &len);
    if (!d) {
      emit_error ("bad hex");
      continue;
    }
    GError *err = NULL;
    GstMIKEYMessage *m = gst_mikey_message_new_from_data (d, len, NULL, &err);
    if (!m) {
      emit_error (err ? err->message : "gst_mikey_message_new_from_data returned NULL");
      g_clear_error (&err);
      g_free (d);
      continue;
    }
    put_message (m);
    GBytes *b = gst_mikey_message_to_bytes (m, NULL, &err);
    if (b) {
      gsize bl;
      const guint8 *bd = g_bytes_get_data (b, &bl);
      g_string_append (out, ",\"reencoded\":");
      put_hex (bd, bl);
      g_bytes_unref (b);
    } else {
      g_string_append (out, ",\"reencodeError\":");
      put_str (err ? err->message : "gst_mikey_message_to_bytes returned NULL");
      g_clear_error (&err);
    }
    g_string_append_c (out, '}');
    emit ();
    gst_mikey_message_unref (m);
    g_free (d);
  }
  free (line);
  return 0;
}

/* ---------- a small JSON reader for build specs ---------- */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } JType;
typedef struct JVal JVal;
struct JVal {
  JType t;
  double num;
  char *str;                    /* J_STR */
  GPtrArray *items;             /* J_ARR: JVal*, J_OBJ: alternating key (char*) and JVal* */
};

static void jfree (JVal * v)
{
  if (!v)
    return;
  g_free (v->str);
  if (v->items) {
    for (guint i = 0; i < v->items->len; i++) {
      if (v->t == J_OBJ && i % 2 == 0)
        g_free (v->items->pdata[i]);
      else
        jfree (v->items->pdata[i]);
    }
    g_ptr_array_free (v->items, TRUE);
  }
  g_free (v);
}

static void jws (const char **p)
{
  while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
    (*p)++;
}

static char *jstring (const char **p)
{
  if (**p != '"')
    return NULL;
  (*p)++;
  GString *s = g_string_new (NULL);
  while (**p && **p != '"') {
    char c = *(*p)++;
    if (c == '\\') {
      char e = *(*p)++;
      switch (e) {
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'u':{
          char hex[5] = { 0 };
          for (int i = 0; i < 4 && **p; i++)
            hex[i] = *(*p)++;
          g_string_append_unichar (s, (gunichar) strtoul (hex, NULL, 16));
          continue;
        }
        case 0: g_string_free (s, TRUE); return NULL;
        default: c = e;
      }
    }
    g_string_append_c (s, c);
  }
  if (**p != '"') {
    g_string_free (s, TRUE);
    return NULL;
  }
  (*p)++;
  return g_string_free (s, FALSE);
}

static JVal *jparse (const char **p, int depth)
{
  if (depth > 32)
    return NULL;
  jws (p);
  JVal *v = g_new0 (JVal, 1);
  if (**p == '{' || **p == '[') {
    gboolean obj = **p == '{';
    char close = obj ? '}' : ']';
    v->t = obj ? J_OBJ : J_ARR;
    v->items = g_ptr_array_new ();
    (*p)++;
    jws (p);
    if (**p == close) {
      (*p)++;
      return v;
    }
    for (;;) {
      if (obj) {
        jws (p);
        char *k = jstring (p);
        if (!k)
          goto fail;
        g_ptr_array_add (v->items, k);
        jws (p);
        if (**p != ':') {
          g_ptr_array_add (v->items, NULL);
          goto fail;
        }
        (*p)++;
      }
      JVal *item = jparse (p, depth + 1);
      g_ptr_array_add (v->items, item);
      if (!item)
        goto fail;
      jws (p);
      if (**p == ',') {
        (*p)++;
        continue;
      }
      if (**p == close) {
        (*p)++;
        return v;
      }
      goto fail;
    }
  } else if (**p == '"') {
    v->t = J_STR;
    if (!(v->str = jstring (p)))
      goto fail;
  } else if (!strncmp (*p, "true", 4) || !strncmp (*p, "false", 5)) {
    v->t = J_BOOL;
    v->num = **p == 't';
    *p += v->num ? 4 : 5;
  } else if (!strncmp (*p, "null", 4)) {
    v->t = J_NULL;
    *p += 4;
  } else {
    char *end;
    v->t = J_NUM;
    v->num = g_ascii_strtod (*p, &end);
    if (end == *p)
      goto fail;
    *p = end;
  }
  return v;
fail:
  jfree (v);
  return NULL;
}

static JVal *jget (JVal * o, const char *key)
{
  if (!o || o->t != J_OBJ)
    return NULL;
  for (guint i = 0; i + 1 < o->items->len; i += 2)
    if (!strcmp (o->items->pdata[i], key))
      return o->items->pdata[i + 1];
  return NULL;
}

static double jnum (JVal * o, const char *key, double dflt)
{
  JVal *v = jget (o, key);
  return v && (v->t == J_NUM || v->t == J_BOOL) ? v->num : dflt;
}

static guint jlen (JVal * a)
{
  return a && a->t == J_ARR ? a->items->len : 0;
}

static JVal *jat (JVal * a, guint i)
{
  return a->items->pdata[i];
}

/* hex field of o; NULL if absent; sets *bad on malformed hex */
static guint8 *jhex (JVal * o, const char *key, gsize * len, gboolean * bad)
{
  JVal *v = jget (o, key);
  *len = 0;
  if (!v || v->t == J_NULL)
    return NULL;
  guint8 *d = v->t == J_STR ? from_hex (v->str, len) : NULL;
  if (!d)
    *bad = TRUE;
  return d;
}

/* ---------- build ---------- */

/* Builds a PSK I_MESSAGE: HDR, T, [RAND], {SP}, KEMAC. Returns NULL and sets *why on failure. */
static GstMIKEYMessage *build (JVal * spec, const char **why)
{
  gboolean bad = FALSE;
  gsize n;
  GstMIKEYMessage *m = gst_mikey_message_new ();
  *why = NULL;

  if (!gst_mikey_message_set_info (m, GST_MIKEY_VERSION, (GstMIKEYType) jnum (spec, "type", 0),
          jnum (spec, "v", 0) != 0, (GstMIKEYPRFFunc) jnum (spec, "prfFunc", 0),
          (guint32) jnum (spec, "csbId", 0), GST_MIKEY_MAP_TYPE_SRTP)) {
    *why = "set_info failed";
    goto fail;
  }
  JVal *cs = jget (spec, "cs");
  for (guint i = 0; i < jlen (cs); i++) {
    JVal *c = jat (cs, i);
    if (!gst_mikey_message_add_cs_srtp (m, (guint8) jnum (c, "policy", 0),
            (guint32) jnum (c, "ssrc", 0), (guint32) jnum (c, "roc", 0))) {
      *why = "add_cs_srtp failed";
      goto fail;
    }
  }

  JVal *t = jget (spec, "t");
  if (t && t->t == J_STR && !strcmp (t->str, "now")) {
    if (!gst_mikey_message_add_t_now_ntp_utc (m)) {
      *why = "add_t_now_ntp_utc failed";
      goto fail;
    }
  } else if (t && t->t == J_OBJ) {
    guint type = (guint) jnum (t, "type", 0);
    guint8 *tv = jhex (t, "value", &n, &bad);
    if (bad || !tv || n != ts_len (type)) {
      g_free (tv);
      *why = "bad t.value for its type";
      goto fail;
    }
    gboolean ok = gst_mikey_message_add_t (m, (GstMIKEYTSType) type, tv);
    g_free (tv);
    if (!ok) {
      *why = "add_t failed";
      goto fail;
    }
  }

  guint8 *rand = jhex (spec, "rand", &n, &bad);
  if (bad || (rand && (n == 0 || n > 255))) {
    g_free (rand);
    *why = "bad rand";
    goto fail;
  }
  if (rand) {
    gboolean ok = gst_mikey_message_add_rand (m, (guint8) n, rand);
    g_free (rand);
    if (!ok) {
      *why = "add_rand failed";
      goto fail;
    }
  }

  JVal *sps = jget (spec, "sp");
  for (guint i = 0; i < jlen (sps); i++) {
    JVal *sp = jat (sps, i);
    GstMIKEYPayload *p = gst_mikey_payload_new (GST_MIKEY_PT_SP);
    gst_mikey_payload_sp_set (p, (guint) jnum (sp, "policy", 0),
        (GstMIKEYSecProto) jnum (sp, "proto", 0));
    JVal *params = jget (sp, "params");
    for (guint j = 0; j < jlen (params); j++) {
      JVal *prm = jat (params, j);
      guint8 *val = jhex (prm, "value", &n, &bad);
      if (bad || n > 255) {
        g_free (val);
        gst_mikey_payload_unref (p);
        *why = "bad sp param value";
        goto fail;
      }
      gst_mikey_payload_sp_add_param (p, (guint8) jnum (prm, "type", 0), (guint8) n, val);
      g_free (val);
    }
    gst_mikey_message_add_payload (m, p);
  }

  JVal *kemac = jget (spec, "kemac");
  if (kemac) {
    GstMIKEYPayload *p = gst_mikey_payload_new (GST_MIKEY_PT_KEMAC);
    gst_mikey_payload_kemac_set (p, (GstMIKEYEncAlg) jnum (kemac, "encAlg", 0),
        (GstMIKEYMacAlg) jnum (kemac, "macAlg", 0));
    JVal *keys = jget (kemac, "keys");
    for (guint i = 0; i < jlen (keys); i++) {
      JVal *k = jat (keys, i);
      gsize kl = 0, sl = 0, spil = 0, fl = 0, tl = 0;
      guint8 *key = jhex (k, "key", &kl, &bad);
      guint8 *salt = jhex (k, "salt", &sl, &bad);
      guint8 *spi = jhex (k, "spi", &spil, &bad);
      guint8 *vf = jhex (k, "validFrom", &fl, &bad);
      guint8 *vt = jhex (k, "validTo", &tl, &bad);
      GstMIKEYPayload *kd = gst_mikey_payload_new (GST_MIKEY_PT_KEY_DATA);
      gboolean ok = !bad && key && kl <= 0xffff && sl <= 0xffff && spil <= 255 && fl <= 255
          && tl <= 255 && !(spi && (vf || vt))
          && gst_mikey_payload_key_data_set_key (kd,
          (GstMIKEYKeyDataType) jnum (k, "type", GST_MIKEY_KD_TEK), (guint16) kl, key);
      if (ok && salt)
        ok = gst_mikey_payload_key_data_set_salt (kd, (guint16) sl, salt);
      if (ok && spi)
        ok = gst_mikey_payload_key_data_set_spi (kd, (guint8) spil, spi);
      if (ok && (vf || vt))
        ok = gst_mikey_payload_key_data_set_interval (kd, (guint8) fl, vf, (guint8) tl, vt);
      g_free (key);
      g_free (salt);
      g_free (spi);
      g_free (vf);
      g_free (vt);
      if (!ok) {
        gst_mikey_payload_unref (kd);
        gst_mikey_payload_unref (p);
        *why = "bad key data";
        goto fail;
      }
      gst_mikey_payload_kemac_add_sub (p, kd);
    }
    gst_mikey_message_add_payload (m, p);
  }
  return m;
fail:
  gst_mikey_message_unref (m);
  return NULL;
}

static int do_build (void)
{
  char *line = NULL;
  size_t cap = 0;
  while (getline (&line, &cap, stdin) > 0) {
    const char *p = line;
    JVal *spec = jparse (&p, 0);
    if (!spec || spec->t != J_OBJ) {
      jfree (spec);
      emit_error ("bad JSON spec");
      continue;
    }
    const char *why;
    GstMIKEYMessage *m = build (spec, &why);
    jfree (spec);
    if (!m) {
      emit_error (why);
      continue;
    }
    GError *err = NULL;
    GBytes *b = gst_mikey_message_to_bytes (m, NULL, &err);
    if (!b) {
      emit_error (err ? err->message : "gst_mikey_message_to_bytes returned NULL");
      g_clear_error (&err);
    } else {
      gsize bl;
      const guint8 *bd = g_bytes_get_data (b, &bl);
      g_string_append (out, "{\"hex\":");
      put_hex (bd, bl);
      g_string_append_c (out, '}');
      emit ();
      g_bytes_unref (b);
    }
    gst_mikey_message_unref (m);
  }
  free (line);
  return 0;
}

/* ---------- bench ---------- */

static gint64 now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CPU time of this (single-threaded) process: what a batch costs on a loaded machine, without
 * the time spent waiting for a core */
static gint64 cpu_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* median CPU ns per op over `batches` batches of `iters` ops; encode adds to_bytes */
static double time_ops (const guint8 * d, gsize len, long iters, int batches, gboolean encode)
{
  double *per = g_new (double, batches);
  for (int b = -1; b < batches; b++) {  /* batch -1 warms up */
    gint64 t0 = cpu_ns ();
    for (long i = 0; i < iters; i++) {
      GstMIKEYMessage *m = gst_mikey_message_new_from_data (d, len, NULL, NULL);
      if (encode) {
        GBytes *bytes = gst_mikey_message_to_bytes (m, NULL, NULL);
        g_bytes_unref (bytes);
      }
      gst_mikey_message_unref (m);
    }
    if (b >= 0)
      per[b] = (double) (cpu_ns () - t0) / (double) iters;
  }
  qsort (per, batches, sizeof (double), cmp_double);
  double med = per[batches / 2];
  g_free (per);
  return med;
}

static int do_bench (long iters, int batches)
{
  char *line = NULL;
  size_t cap = 0;
  gsize len = 0;
  guint8 *d = getline (&line, &cap, stdin) > 0 ? from_hex (line, &len) : NULL;
  free (line);
  if (!d || iters <= 0 || batches <= 0) {
    emit_error ("usage: bench ITERATIONS [BATCHES] with one hex message on stdin");
    return 2;
  }
  GstMIKEYMessage *m = gst_mikey_message_new_from_data (d, len, NULL, NULL);
  if (!m) {
    emit_error ("GStreamer cannot parse the message");
    return 1;
  }
  gst_mikey_message_unref (m);
  double pe = time_ops (d, len, iters, batches, TRUE);
  double p = time_ops (d, len, iters, batches, FALSE);
  g_string_append_printf (out,
      "{\"parseEncodeNs\":%.1f,\"parseNs\":%.1f,\"iterations\":%ld,\"batches\":%d}", pe, p,
      iters, batches);
  emit ();
  g_free (d);
  return 0;
}

/* ---------- serve: timed batches on request, for benches that interleave with ours ---------- */

static volatile guint sink;

/* read every SP parameter, as a receiver checking the policy does */
static guint read_sp (const GstMIKEYMessage * m)
{
  guint acc = 0, n = gst_mikey_message_get_n_payloads (m);
  for (guint i = 0; i < n; i++) {
    const GstMIKEYPayload *p = gst_mikey_message_get_payload (m, i);
    if (p->type != GST_MIKEY_PT_SP)
      continue;
    const GstMIKEYPayloadSP *sp = (const GstMIKEYPayloadSP *) p;
    acc += sp->policy + sp->proto;
    guint np = gst_mikey_payload_sp_get_n_params (p);
    for (guint k = 0; k < np; k++) {
      const GstMIKEYPayloadSPParam *q = gst_mikey_payload_sp_get_param (p, k);
      acc += q->type + q->len + (q->len ? q->val[0] : 0);
    }
  }
  return acc;
}

static int do_serve (void)
{
  char *line = NULL;
  size_t cap = 0;
  GPtrArray *data = g_ptr_array_new_with_free_func (g_free);
  GArray *lens = g_array_new (FALSE, FALSE, sizeof (gsize));
  GPtrArray *parsed = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_mikey_message_unref);
  while (getline (&line, &cap, stdin) > 0) {
    g_strchomp (line);
    if (!strncmp (line, "load ", 5)) {
      gchar **hex = g_strsplit (line + 5, " ", -1);
      for (int i = 0; hex[i]; i++) {
        if (!*hex[i])
          continue;
        gsize len;
        guint8 *d = from_hex (hex[i], &len);
        GstMIKEYMessage *m = d ? gst_mikey_message_new_from_data (d, len, NULL, NULL) : NULL;
        if (!m) {
          g_free (d);
          g_strfreev (hex);
          emit_error ("GStreamer cannot parse a loaded message");
          return 1;
        }
        g_ptr_array_add (data, d);
        g_array_append_val (lens, len);
        g_ptr_array_add (parsed, m);
      }
      g_strfreev (hex);
      g_string_append_printf (out, "{\"loaded\":%u}", data->len);
      emit ();
    } else if (!strncmp (line, "run ", 4)) {
      char work[8];
      long n;
      if (sscanf (line + 4, "%7s %ld", work, &n) != 2 || n <= 0 || data->len == 0) {
        emit_error ("usage: run dse|enc N, after load");
        continue;
      }
      gboolean dse = !strcmp (work, "dse");
      if (!dse && strcmp (work, "enc")) {
        emit_error ("unknown work (dse or enc)");
        continue;
      }
      guint k = 0, acc = 0;
      gint64 c0 = cpu_ns ();
      gint64 t0 = now_ns ();
      for (long i = 0; i < n; i++) {
        if (dse) {
          GstMIKEYMessage *m = gst_mikey_message_new_from_data (data->pdata[k],
              g_array_index (lens, gsize, k), NULL, NULL);
          acc += read_sp (m);
          GBytes *b = gst_mikey_message_to_bytes (m, NULL, NULL);
          acc += g_bytes_get_size (b);
          g_bytes_unref (b);
          gst_mikey_message_unref (m);
        } else {
          GBytes *b = gst_mikey_message_to_bytes (parsed->pdata[k], NULL, NULL);
          acc += g_bytes_get_size (b);
          g_bytes_unref (b);
        }
        if (++k == data->len)
          k = 0;
      }
      gint64 dt = now_ns () - t0;
      gint64 dc = cpu_ns () - c0;
      sink += acc;
      g_string_append_printf (out, "{\"ns\":%" G_GINT64_FORMAT ",\"cpuNs\":%" G_GINT64_FORMAT ",\"check\":%u}", dt, dc, acc);
      emit ();
    } else {
      emit_error ("unknown command (load, run)");
    }
  }
  free (line);
  g_ptr_array_free (parsed, TRUE);
  g_ptr_array_free (data, TRUE);
  g_array_free (lens, TRUE);
  return 0;
}

int main (int argc, char **argv)
{
  gst_init (NULL, NULL);
  out = g_string_new (NULL);
  if (argc >= 2 && !strcmp (argv[1], "parse"))
    return do_parse ();
  if (argc >= 2 && !strcmp (argv[1], "build"))
    return do_build ();
  if (argc >= 2 && !strcmp (argv[1], "serve"))
    return do_serve ();
  if (argc >= 3 && !strcmp (argv[1], "bench"))
    return do_bench (atol (argv[2]), argc >= 4 ? atoi (argv[3]) : 15);
  fprintf (stderr, "usage: %s parse | build | bench ITERATIONS [BATCHES] | serve\n", argv[0]);
  return 2;
}
