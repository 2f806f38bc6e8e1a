// Signed Diffie-Hellman method (RFC 3830 §3.3) and its updates (§4.5).
//   I_MESSAGE = HDR, T, RAND, [IDi|CERTi], [IDr], {SP}, DHi, SIGNi
//   R_MESSAGE = HDR, T, [IDr|CERTr], IDi, DHr, DHi, SIGNr        (always sent)
// TGK = g^(xi*xr), as a big-endian number of the group's prime length.
import type { Identity } from '../../session/identity.js';
import { identityOfCertificate, toCert, type SigningCredentials } from '../kit/signature.js';

export function ourIdentity(o: { idi?: Identity; certificate?: SigningCredentials['certificate'] }): Identity | undefined {
  return o.idi ?? (o.certificate ? identityOfCertificate(toCert(o.certificate)) : undefined);
}
