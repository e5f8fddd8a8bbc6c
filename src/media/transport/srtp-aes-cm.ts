// AES-CM (AES in counter mode, RFC 3711 §4.1.1) keystream for one SRTP/SRTCP session key, as profile 1
// (SRTP_AES128_CM_HMAC_SHA1_80) uses it: XORs the keystream for the IV the caller wrote into a buffer
// range, in place.
// What it must not do: create a cipher per packet (one long-lived AES-ECB cipher per key turns a reused
// buffer of counter blocks into keystream), allocate per packet beyond that cipher's output, form the IV
// itself (srtp-iv.ts does), or know about RTP/RTCP layout, authentication or replay.
import { createCipheriv, type Cipher, type KeyObject } from 'node:crypto';
import { SrtpError } from './srtp-error.js';

/**
 * AES-CM (RFC 3711 §4.1.1) keystream generator for one session key: a long-lived AES-ECB cipher
 * encrypts a reused buffer of counter blocks. Bytes 14..15 of block j hold j (big-endian) permanently;
 * per packet only bytes 0..13 (the IV, whose low 16 bits are zero) are written, in native words.
 */
export class AesCm {
  private readonly ecb: Cipher;
  /** The IV of the next packet (16 bytes, the last two zero), written by the caller. */
  readonly ivBytes: Buffer;
  private readonly iv32: Uint32Array;
  private readonly iv16: Uint16Array;
  private blocks = 0;
  private ctr32 = new Uint32Array(0);
  private ctr16 = new Uint16Array(0);

  constructor(key: KeyObject) {
    this.ecb = createCipheriv('aes-128-ecb', key, null);
    this.ecb.setAutoPadding(false);
    this.iv32 = new Uint32Array(4);
    this.iv16 = new Uint16Array(this.iv32.buffer);
    this.ivBytes = Buffer.from(this.iv32.buffer);
  }

  private grow(blocks: number): void {
    let n = Math.max(this.blocks, 64);
    while (n < blocks) n *= 2;
    this.ctr32 = new Uint32Array(n * 4);
    this.ctr16 = new Uint16Array(this.ctr32.buffer);
    const bytes = new Uint8Array(this.ctr32.buffer);
    for (let j = 0; j < n; j++) {
      bytes[j * 16 + 14] = (j >>> 8) & 0xff;
      bytes[j * 16 + 15] = j & 0xff;
    }
    this.blocks = n;
  }

  /**
   * XORs the keystream for the current IV into `out[start, end)` (in place). `out` must already hold
   * the data to encrypt or decrypt there.
   */
  xor(out: Buffer, start: number, end: number): void {
    const len = end - start;
    if (len <= 0) return;
    const nBlocks = (len + 15) >>> 4;
    if (nBlocks > 0x10000) throw new SrtpError('packet too large for AES-CM');
    if (nBlocks > this.blocks) this.grow(nBlocks);
    const c32 = this.ctr32;
    const c16 = this.ctr16;
    const w0 = this.iv32[0];
    const w1 = this.iv32[1];
    const w2 = this.iv32[2];
    const h6 = this.iv16[6];
    for (let j = 0, k = 0; j < nBlocks; j++, k += 4) {
      c32[k] = w0;
      c32[k + 1] = w1;
      c32[k + 2] = w2;
      c16[k * 2 + 6] = h6;
    }
    const ks = this.ecb.update(Buffer.from(c32.buffer, 0, nBlocks << 4));
    let i = 0;
    const outOff = out.byteOffset + start;
    if ((outOff & 3) === 0 && (ks.byteOffset & 3) === 0) {
      const words = len >>> 2;
      const o32 = new Int32Array(out.buffer, outOff, words);
      const k32 = new Int32Array(ks.buffer, ks.byteOffset, words);
      for (let w = 0; w < words; w++) o32[w] ^= k32[w];
      i = words << 2;
    }
    for (; i < len; i++) out[start + i] ^= ks[i];
  }
}
