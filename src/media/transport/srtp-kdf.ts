// SRTP key derivation (RFC 3711 §4.3, AES-CM PRF, key derivation rate 0; RFC 7714 §11 for AES-GCM): turns
// one direction's DTLS-SRTP master key and salt into its RTP and SRTCP session keys and salts, once per
// session, with the per-key cipher and HMAC objects set up for the profile.
// What it must not do: derive anything per packet (kdr 0 only: keys never change within a session), touch
// packets, indices or replay state, or know which direction is local (the caller passes the master key).
import { createCipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { AesCm } from './srtp-aes-cm.js';
import { SrtpError } from './srtp-error.js';
import { HmacSha1 } from './srtp-hmac.js';

// RFC 3711 §4.3.2 / RFC 7714 §11 key derivation labels.
const LABEL_RTP_ENCRYPTION = 0;
const LABEL_RTP_AUTH = 1;
const LABEL_RTP_SALT = 2;
const LABEL_RTCP_ENCRYPTION = 3;
const LABEL_RTCP_AUTH = 4;
const LABEL_RTCP_SALT = 5;

/**
 * RFC 3711 §4.3.1/§4.3.3 key derivation with kdr 0: `length` bytes of the AES-CM keystream under the
 * master key, starting at IV = (label·2^48 XOR master salt)·2^16. A 12-byte (GCM) master salt is
 * zero-padded on the right to 112 bits, as libsrtp does.
 */
export function deriveSessionKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  if (masterKey.length !== 16) throw new SrtpError(`master key must be 16 bytes, got ${masterKey.length}`);
  if (masterSalt.length !== 14 && masterSalt.length !== 12) throw new SrtpError(`master salt must be 12 or 14 bytes, got ${masterSalt.length}`);
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0);
  iv[7] ^= label;
  const cipher = createCipheriv('aes-128-ctr', masterKey, iv);
  return cipher.update(Buffer.alloc(length));
}

/** The session keys of one direction (local = what we send, remote = what we receive). */
export class DirectionKeys {
  readonly rtpKey: KeyObject;
  readonly rtcpKey: KeyObject;
  readonly rtpSalt: Buffer;
  readonly rtcpSalt: Buffer;
  /** AES-CM only. */
  readonly rtpCm: AesCm | undefined;
  readonly rtcpCm: AesCm | undefined;
  readonly rtpAuth: HmacSha1 | undefined;
  readonly rtcpAuth: HmacSha1 | undefined;

  constructor(gcm: boolean, masterKey: Buffer, masterSalt: Buffer) {
    const k = deriveSessionKeys(gcm, masterKey, masterSalt);
    this.rtpKey = createSecretKey(k.rtpKey);
    this.rtcpKey = createSecretKey(k.rtcpKey);
    this.rtpSalt = k.rtpSalt;
    this.rtcpSalt = k.rtcpSalt;
    if (k.rtpAuthKey && k.rtcpAuthKey) {
      this.rtpCm = new AesCm(this.rtpKey);
      this.rtcpCm = new AesCm(this.rtcpKey);
      this.rtpAuth = new HmacSha1(k.rtpAuthKey);
      this.rtcpAuth = new HmacSha1(k.rtcpAuthKey);
    }
  }
}

/** One direction's session keys as bytes (the native plane takes these; DirectionKeys wraps them). */
export interface SessionKeyBytes {
  rtpKey: Buffer;
  rtpSalt: Buffer;
  rtcpKey: Buffer;
  rtcpSalt: Buffer;
  /** AES-CM only: the 20-byte HMAC-SHA1 keys. */
  rtpAuthKey?: Buffer;
  rtcpAuthKey?: Buffer;
}

/** Derives one direction's session keys for the profile (GCM: 12-byte salts, no auth keys). */
export function deriveSessionKeys(gcm: boolean, masterKey: Buffer, masterSalt: Buffer): SessionKeyBytes {
  const saltLen = gcm ? 12 : 14;
  if (masterSalt.length !== saltLen) throw new SrtpError(`master salt must be ${saltLen} bytes for this profile, got ${masterSalt.length}`);
  const keys: SessionKeyBytes = {
    rtpKey: deriveSessionKey(masterKey, masterSalt, LABEL_RTP_ENCRYPTION, 16),
    rtcpKey: deriveSessionKey(masterKey, masterSalt, LABEL_RTCP_ENCRYPTION, 16),
    rtpSalt: deriveSessionKey(masterKey, masterSalt, LABEL_RTP_SALT, saltLen),
    rtcpSalt: deriveSessionKey(masterKey, masterSalt, LABEL_RTCP_SALT, saltLen),
  };
  if (!gcm) {
    keys.rtpAuthKey = deriveSessionKey(masterKey, masterSalt, LABEL_RTP_AUTH, 20);
    keys.rtcpAuthKey = deriveSessionKey(masterKey, masterSalt, LABEL_RTCP_AUTH, 20);
  }
  return keys;
}
