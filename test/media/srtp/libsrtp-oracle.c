/* libsrtp2 as an oracle for test/media/srtp-libsrtp-oracle.test.ts: one SRTP context (one master key,
 * one direction), fed a batch of requests on stdin, one response each on stdout.
 *   usage: libsrtp-oracle 80|32 in|out <60 hex digits: key || salt>
 *   request:  op (1 byte: 'p' protect RTP, 'u' unprotect RTP, 'P' protect RTCP, 'U' unprotect RTCP),
 *             length (u32 LE), bytes
 *   response: status (i32 LE: libsrtp's srtp_err_status_t, 0 = ok), length (u32 LE), bytes
 * Replay window 64 as ours; SRTCP always HMAC-SHA1-80 (RFC 4568 6.2.2). Compiled by the test with
 * `cc ... -lsrtp2` (Debian libsrtp2-dev). */
#include <srtp2/srtp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_all(void *buf, size_t n) { return fread(buf, 1, n, stdin) == n; }

int main(int argc, char **argv) {
  if (argc != 4 || strlen(argv[3]) != 60) {
    fprintf(stderr, "usage: libsrtp-oracle 80|32 in|out <60 hex digits>\n");
    return 2;
  }
  unsigned char key[30];
  for (int i = 0; i < 30; i++) sscanf(argv[3] + 2 * i, "%2hhx", &key[i]);
  if (srtp_init() != srtp_err_status_ok) return 3;
  srtp_policy_t policy;
  memset(&policy, 0, sizeof policy);
  if (strcmp(argv[1], "32") == 0)
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
  else
    srtp_crypto_policy_set_rtp_default(&policy.rtp);
  srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
  policy.ssrc.type = strcmp(argv[2], "in") == 0 ? ssrc_any_inbound : ssrc_any_outbound;
  policy.key = key;
  policy.window_size = 64;
  policy.allow_repeat_tx = 0;
  srtp_t session;
  if (srtp_create(&session, &policy) != srtp_err_status_ok) return 4;
  static unsigned char buf[65536 + SRTP_MAX_TRAILER_LEN + 4];
  unsigned char op;
  uint32_t len;
  while (read_all(&op, 1)) {
    if (!read_all(&len, 4) || len > 65536 || !read_all(buf, len)) return 5;
    int n = (int)len;
    srtp_err_status_t status;
    switch (op) {
      case 'p': status = srtp_protect(session, buf, &n); break;
      case 'u': status = srtp_unprotect(session, buf, &n); break;
      case 'P': status = srtp_protect_rtcp(session, buf, &n); break;
      case 'U': status = srtp_unprotect_rtcp(session, buf, &n); break;
      default: return 6;
    }
    int32_t s = (int32_t)status;
    uint32_t out = status == srtp_err_status_ok ? (uint32_t)n : 0;
    fwrite(&s, 4, 1, stdout);
    fwrite(&out, 4, 1, stdout);
    fwrite(buf, 1, out, stdout);
  }
  srtp_dealloc(session);
  srtp_shutdown();
  return 0;
}
