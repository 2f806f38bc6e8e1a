#!/usr/bin/python3
# gst-rtsp-server for the interop tests: serves one test stream with the SRTP profile (RTP/SAVP)
# on 127.0.0.1, with the master key given on the command line (key || salt, hex) so the test
# can check that the a=key-mgmt of DESCRIBE and the SRTP sent carry it. Prints "PORT <n>" when
# listening, and quits by itself after --lifetime seconds whatever happens.
import argparse
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtsp', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--key', required=True, help='srtp-key: master key || master salt, hex')
ap.add_argument('--cipher', default='aes-128-icm')
ap.add_argument('--auth', default='hmac-sha1-80')
ap.add_argument('--lifetime', type=float, default=25.0)
ap.add_argument('--media', default='audio', choices=['audio', 'video'])
ap.add_argument('--wave', default='ticks', help='audiotestsrc wave (silence: a known pattern, every mu-law byte 0xff)')
ap.add_argument('--tls', help='PEM file with certificate and key: serve rtsps')
ap.add_argument('--protocols', default='udp', choices=['udp', 'tcp', 'udp+tcp'])
args = ap.parse_args()

Gst.init(None)
key = Gst.Buffer.new_wrapped(bytes.fromhex(args.key))

if args.media == 'audio':
    launch = '( audiotestsrc is-live=true wave=%s ! audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay name=pay0 pt=0 )' % args.wave
else:
    launch = '( videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=10/1 ! jpegenc ! rtpjpegpay name=pay0 pt=26 )'


def on_new_stream(media, stream):
    def on_encoder(stream, enc):
        # a fixed key instead of srtpenc's random one
        enc.set_property('random-key', False)
        enc.set_property('key', key)
        enc.set_property('rtp-cipher', args.cipher)
        enc.set_property('rtcp-cipher', args.cipher)
        enc.set_property('rtp-auth', args.auth)
        enc.set_property('rtcp-auth', args.auth)
    stream.connect('new-rtp-encoder', on_encoder)


def on_media_configure(factory, media):
    # the streams exist by now (new-stream has already been emitted)
    for i in range(media.n_streams()):
        on_new_stream(media, media.get_stream(i))


server = GstRtspServer.RTSPServer()
server.set_address('127.0.0.1')
server.set_service('0')
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(launch)
factory.set_shared(False)
factory.set_profiles(GstRtsp.RTSPProfile.SAVP)
factory.set_protocols({'udp': GstRtsp.RTSPLowerTrans.UDP, 'tcp': GstRtsp.RTSPLowerTrans.TCP,
                       'udp+tcp': GstRtsp.RTSPLowerTrans.UDP | GstRtsp.RTSPLowerTrans.TCP}[args.protocols])
if args.tls:
    from gi.repository import Gio  # noqa: E402
    auth = GstRtspServer.RTSPAuth()
    auth.set_tls_certificate(Gio.TlsCertificate.new_from_file(args.tls))
    # everyone may use the media: the default token carries the role the factory allows
    tok = GstRtspServer.RTSPToken()
    tok.set_string('media.factory.role', 'anonymous')
    auth.set_default_token(tok)
    factory.add_role_from_structure(Gst.Structure.from_string(
        'anonymous, media.factory.access=(boolean)true, media.factory.construct=(boolean)true')[0])
    server.set_auth(auth)
factory.connect('media-configure', on_media_configure)
server.get_mount_points().add_factory('/test', factory)
if server.attach(None) == 0:
    print('ERROR attach failed', flush=True)
    sys.exit(2)

loop = GLib.MainLoop()
GLib.timeout_add(int(args.lifetime * 1000), loop.quit)
print('PORT %d' % server.get_bound_port(), flush=True)
loop.run()
