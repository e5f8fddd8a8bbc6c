// The process-wide DTLS certificate (ECDSA P-256, self-signed, via werift) and its SHA-256
// fingerprint for SDP. Generated once, lazily; never written to disk.
import { createHash, X509Certificate } from 'node:crypto';
import { CipherContext, HashAlgorithm, NamedCurveAlgorithm, SignatureAlgorithm, type SignatureHash } from 'werift';

export interface DtlsCertificate {
  certPem: string;
  keyPem: string;
  signatureHash: SignatureHash;
  /** `AB:CD:...` uppercase hex of SHA-256 over the DER certificate. */
  fingerprint: string;
}

let pending: Promise<DtlsCertificate> | undefined;

export function fingerprintOf(der: Buffer, algorithm = 'sha256'): string {
  return createHash(algorithm)
    .update(der)
    .digest('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
}

export function dtlsCertificate(): Promise<DtlsCertificate> {
  pending ??= (async () => {
    const { certPem, keyPem, signatureHash } = await CipherContext.createSelfSignedCertificateWithKey(
      { signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 },
      NamedCurveAlgorithm.secp256r1_23,
    );
    const der = new X509Certificate(certPem).raw;
    return { certPem, keyPem, signatureHash, fingerprint: fingerprintOf(der) };
  })();
  return pending;
}
