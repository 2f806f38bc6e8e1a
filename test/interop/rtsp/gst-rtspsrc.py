#!/usr/bin/python3
# GStreamer's rtspsrc as the client of our RTSP server: prints "PAYLOAD <sha256>" for every RTP
# packet its pipeline receives (after its srtpdec), then "DONE <n>". Quits after --packets or
# --lifetime seconds, whatever happens.
import argparse
import hashlib
import sys

import gi

gi.require_version('Gst', '1.0')
from gi.repository import GLib, Gst  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--url', required=True)
ap.add_argument('--protocols', default='udp', choices=['udp', 'tcp'])
ap.add_argument('--packets', type=int, default=30)
ap.add_argument('--lifetime', type=float, default=15.0)
args = ap.parse_args()

Gst.init(None)
pipe = Gst.parse_launch('rtspsrc name=src location=%s protocols=%s latency=0 ! appsink name=sink emit-signals=true sync=false'
                        % (args.url, args.protocols))
loop = GLib.MainLoop()
count = [0]


def on_sample(sink):
    buf = sink.emit('pull-sample').get_buffer()
    ok, info = buf.map(Gst.MapFlags.READ)
    data = bytes(info.data)
    buf.unmap(info)
    n = 12 + 4 * (data[0] & 0x0f)
    if data[0] & 0x10:
        n += 4 + 4 * ((data[n + 2] << 8) | data[n + 3])
    print('PAYLOAD %s' % hashlib.sha256(data[n:]).hexdigest(), flush=True)
    count[0] += 1
    if count[0] >= args.packets:
        GLib.idle_add(loop.quit)
    return Gst.FlowReturn.OK


def on_message(bus, msg):
    if msg.type == Gst.MessageType.ERROR:
        err, dbg = msg.parse_error()
        print('ERROR %s %s' % (err.message, dbg), file=sys.stderr, flush=True)
        loop.quit()


pipe.get_by_name('sink').connect('new-sample', on_sample)
bus = pipe.get_bus()
bus.add_signal_watch()
bus.connect('message', on_message)
GLib.timeout_add(int(args.lifetime * 1000), loop.quit)
pipe.set_state(Gst.State.PLAYING)
loop.run()
pipe.set_state(Gst.State.NULL)
print('DONE %d' % count[0], flush=True)
