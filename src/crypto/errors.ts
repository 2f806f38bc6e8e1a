// Typed failures of the crypto layer. Messages never carry key material or secret scalars.
export type CryptoErrorCode =
  | 'invalid-length'
  | 'invalid-point'
  | 'invalid-key'
  | 'invalid-parameter'
  | 'bad-signature'
  | 'decapsulation-failed'
  | 'decryption-failed'
  | 'random-failure';

export class CryptoError extends Error {
  readonly code: CryptoErrorCode;
  constructor(code: CryptoErrorCode, message: string) {
    super(message);
    this.name = 'CryptoError';
    this.code = code;
  }
}

// Failures of the RFC 3830 symmetric, RSA and DH primitives (prf, kemac, rsa, dh, srtp-kdf).
// A separate class from CryptoError so that callers can tell the two families apart.
export type MikeyCryptoErrorCode =
  | 'bad-length' // an input has a length the algorithm does not allow (public information only)
  | 'bad-parameter' // an out-of-range integer or an unknown option
  | 'unsupported-algorithm'
  | 'mac-mismatch' // KEMAC / V MAC did not verify (RFC 3830 §4.2.4)
  | 'unwrap-failed' // AES key wrap integrity check failed (RFC 3394 §2.2.3)
  | 'decryption-failed' // RSA-OAEP decryption error, RSA ciphertext representative out of range
  | 'signature-invalid'
  | 'dh-out-of-range'; // peer DH value not in 1 < y < p-1, or of the wrong length

export class MikeyCryptoError extends Error {
  readonly code: MikeyCryptoErrorCode;
  constructor(code: MikeyCryptoErrorCode, message: string) {
    super(message);
    this.name = 'MikeyCryptoError';
    this.code = code;
  }
}
