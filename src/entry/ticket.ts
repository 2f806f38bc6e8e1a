// mikey/ticket: MIKEY-TICKET (RFC 6043) in full: the parties, the KMS, ticket policies, the MIKEY base
// ticket (App. A) and the §5.1 key derivations (their labels stay inside).
export {
  TicketInitiator, buildTicketKmsRequest, readTicketKmsResponse, type TicketInitiatorOptions, type TicketPartyOptions, type KmsCredentials,
  type TicketGrant, type PendingRequest, type PendingTransfer, type TransferAwaitingResponse, type TransferEstablished, type TransferOptions,
  TicketResponder, type TicketResponderOptions, type ResolveTransport, type TransferAccepted,
  TicketKms, encodeTicketAlone, type TicketKmsOptions, type KmsDirectory, type KmsPrepared, type IssuedTicket, type Resolution,
  type PskCandidate, type SignerCandidate, type Tpk, type TicketCodec,
  TicketSession, genericMap, type TicketSessionOffer, type UpdateOffer,
  completeFlags, checkFlags, flagViolation, readPolicy, tpPayload, checkValidity, type TicketPolicy, type ReadPolicy, type KeyRequest,
  buildBaseTicket, openBaseTicket, isBaseTicket, ticketLayout, TICKET_CSB_ID, type TicketKeys,
  deriveTicketBundle, type TicketSigner,
} from '../modes/ticket/index.js';
export { ticketMessageKeys, initiatorDataAuthKey, tpkKeys, deriveMpks, forkKey, ticketTek, ticketSalt, LabelForm } from '../modes/ticket/labels.js';
