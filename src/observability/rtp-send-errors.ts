// RTP and RTCP datagrams the OS refused to send (ENOBUFS under load, EHOSTUNREACH, EACCES to a
// broadcast address): each is 20 ms of audio the caller never hears. RtpSession logs the first
// of each kind per call; this counts them for the thread (grok_sip_rtp_send_errors_total), so a
// send failure shows in the metrics while the call is still up, not only in one log line.
class RtpSendErrors {
  #count = 0;

  record(): void {
    this.#count++;
  }

  get count(): number {
    return this.#count;
  }
}

/** One per thread (module state): a worker reports its own count with its thread label. */
export const rtpSendErrors = new RtpSendErrors();
