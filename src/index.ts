// mikey: the MIKEY key-management family (RFC 3830 and its extensions) for Node.js.
export * from './wire/index.js';
