// Per-packet IVs (nonces) of the two SRTP profiles, written into a caller's reused buffer: the AES-CM IV
// (RFC 3711 §4.1.1) for profile 1 and the 12-byte AES-GCM IVs for SRTP and SRTCP (RFC 7714 §8.1/§9.1)
// for profile 7, each from the session salt, SSRC and packet index.
// What it must not do: allocate (it only writes into the buffer it is given), estimate or track the ROC
// or SRTCP index (the caller passes them), or encrypt anything.

/**
 * Writes the AES-CM IV (RFC 3711 §4.1.1): (salt·2^16) XOR (SSRC·2^64) XOR (index·2^16), with
 * index = ROC·2^16 + SEQ (for SRTCP, the 31-bit SRTCP index split the same way).
 */
export function writeCmIv(iv: Buffer, salt: Buffer, ssrc: number, roc: number, seq: number): void {
  writeSaltedIndex(iv, salt, 4, ssrc, roc, seq);
  iv[14] = 0;
  iv[15] = 0;
}

/** Writes the 12-byte AES-GCM RTP IV (RFC 7714 §8.1): (00 00 | SSRC | ROC | SEQ) XOR session salt. */
export function writeGcmRtpIv(iv: Buffer, salt: Buffer, ssrc: number, roc: number, seq: number): void {
  writeSaltedIndex(iv, salt, 2, ssrc, roc, seq);
}

/** iv[0, at) = salt; then SSRC (4 bytes), ROC (4) and SEQ (2), each XORed with the salt bytes at their place. */
function writeSaltedIndex(iv: Buffer, salt: Buffer, at: number, ssrc: number, roc: number, seq: number): void {
  for (let i = 0; i < at; i++) iv[i] = salt[i];
  iv[at] = salt[at] ^ (ssrc >>> 24);
  iv[at + 1] = salt[at + 1] ^ ((ssrc >>> 16) & 0xff);
  iv[at + 2] = salt[at + 2] ^ ((ssrc >>> 8) & 0xff);
  iv[at + 3] = salt[at + 3] ^ (ssrc & 0xff);
  iv[at + 4] = salt[at + 4] ^ (roc >>> 24);
  iv[at + 5] = salt[at + 5] ^ ((roc >>> 16) & 0xff);
  iv[at + 6] = salt[at + 6] ^ ((roc >>> 8) & 0xff);
  iv[at + 7] = salt[at + 7] ^ (roc & 0xff);
  iv[at + 8] = salt[at + 8] ^ (seq >>> 8);
  iv[at + 9] = salt[at + 9] ^ (seq & 0xff);
}

/** Writes the 12-byte AES-GCM RTCP IV (RFC 7714 §9.1): (00 00 | SSRC | 00 00 | 0 + 31-bit SRTCP index) XOR session salt. */
export function writeGcmRtcpIv(iv: Buffer, salt: Buffer, ssrc: number, index: number): void {
  iv[0] = salt[0];
  iv[1] = salt[1];
  iv[2] = salt[2] ^ (ssrc >>> 24);
  iv[3] = salt[3] ^ ((ssrc >>> 16) & 0xff);
  iv[4] = salt[4] ^ ((ssrc >>> 8) & 0xff);
  iv[5] = salt[5] ^ (ssrc & 0xff);
  iv[6] = salt[6];
  iv[7] = salt[7];
  iv[8] = salt[8] ^ (index >>> 24);
  iv[9] = salt[9] ^ ((index >>> 16) & 0xff);
  iv[10] = salt[10] ^ ((index >>> 8) & 0xff);
  iv[11] = salt[11] ^ (index & 0xff);
}
