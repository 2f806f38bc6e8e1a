// mikey/ibake: MIKEY-IBAKE (RFC 6267) in full: the exchange, private-key requests and key rings, our profile.
export * from '../modes/ibake/index.js';
