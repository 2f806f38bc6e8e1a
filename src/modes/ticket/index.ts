// MIKEY-TICKET (RFC 6043): the Initiator, the Responder, the KMS, ticket policies, the MIKEY base
// ticket and the key derivations.
export {
  TicketInitiator, type TicketInitiatorOptions, type TicketGrant, type PendingRequest, type PendingTransfer, type TransferAwaitingResponse, type TransferEstablished, type TransferOptions,
} from './initiator.js';
export { buildTicketKmsRequest, readTicketKmsResponse, type TicketPartyOptions, type KmsCredentials, type TicketKmsRequest } from './kms-exchange.js';
export { TicketResponder, type TicketResponderOptions, type ResolveTransport, type TransferAccepted } from './responder.js';
export {
  TicketKms, encodeTicketAlone, type TicketKmsOptions, type KmsDirectory, type KmsPrepared, type IssuedTicket, type Resolution,
  type PskCandidate, type SignerCandidate, type Tpk, type TicketCodec,
} from './kms.js';
export { TicketSession, genericMap, type TicketSessionOffer, type UpdateOffer } from './session.js';
export {
  completeFlags, checkFlags, flagViolation, readPolicy, tpPayload, checkValidity, type TicketPolicy, type ReadPolicy, type KeyRequest,
} from './policy.js';
export { buildBaseTicket, openBaseTicket, isBaseTicket, ticketLayout, TICKET_CSB_ID, type TicketKeys } from './base-ticket.js';
export { deriveTicketBundle } from './bundle.js';
export * from './labels.js';
export type { TicketSigner } from './messages.js';
