export * from './registry.js';
export * from './types.js';
export { MikeyDecodeError, MikeyEncodeError } from './errors.js';
export {
  decodeMessage, decodeKeyDataChain, decodeIbakeData, decodeEskData, tryDecodeMessage, tryDecodeKeyDataChain, tryDecodeIbakeData, tryDecodeEskData,
} from './decode.js';
export type { DecodeOptions, DecodedMessage } from './decode.js';
export { encodeMessage, encodeMessageInto, encodeMessageWithSpans, encodePayloads, encodedSize, spanOf, spannedMessage } from './encode.js';
export type { EncodedMessage } from './encode.js';
export { policyParams, policyParam } from './sp.js';
export { payloadOf, payloadsOf, type Spanned } from './lookup.js';
