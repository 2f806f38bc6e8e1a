// RTSP with SRTP keyed by MIKEY (RFC 2326, RFC 4567, the ONVIF profile): client, server, vendor profiles.
export * from './message.js';
export { parseChallenges, authorize, RtspAuthenticator, type Credentials, type Challenge, type ServerAuthOptions } from './auth.js';
export * from './profiles.js';
export * from './media.js';
export * from './source.js';
export * from './pcap.js';
export { RtspServer, type RtspServerOptions, type RtspServerEvent, type RtspServerStats, type RtspMulticastOptions } from './server.js';
export { RtspClient, RtspKeyManagementError, RtspStatusError, parseSdpMedia, type RtspClientOptions, type ClientStream, type SdpMedia, type KeyMgmtMode } from './client.js';
export { probe, formatProbe, probeCapture, type ProbeOptions, type ProbeReport, type ProbeStream } from './probe.js';
export { decryptCapture, formatDecryptReport, INTERLEAVED_UDP_BASE, type DecryptOptions, type DecryptReport, type DirectKey, type KeyMessageReport, type StreamReport } from './decrypt.js';
