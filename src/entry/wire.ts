// mikey/wire: the whole codec (RFC 3830 §6 and the extensions' payloads), registry and payload types.
export * from '../wire/index.js';
