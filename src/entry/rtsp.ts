// mikey/rtsp: RTSP client and server with SRTP keyed by MIKEY, vendor profiles, captures, the RTSP KeyMgmt requests.
export * from '../rtsp/index.js';
export { buildRtspRequest, parseRtspResponse, keyMgmtOf, keyMgmtOfParameters, setupRequest, rekeyRequest, type RtspRequest, type RtspResponse } from '../sdp/rtsp.js';
