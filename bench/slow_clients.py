#!/usr/bin/env python3
# Slow clients against a running server: python3 bench/slow_clients.py HOST PORT SERVER_PID
# (e.g. with STS_MAX_IN_FLIGHT=64); prints the server RSS before, at peak and after, and the replies.
# 600 clients each send a head announcing 1 MiB and all of it but the last byte, then stall.
import socket, sys, time, threading, urllib.request
host, port = sys.argv[1], int(sys.argv[2]); pid = sys.argv[3]
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"): return l.split()[1] + " kB"
N, SIZE = 600, 1 << 20
body = b"x" * (SIZE - 1)
head = (f"POST /sts/soap-username-transformer HTTP/1.1\r\nHost: sts\r\nContent-Type: text/xml\r\n"
        f"Content-Length: {SIZE}\r\n\r\n").encode()
print("RSS before:", rss())
socks, statuses = [], {}
lock = threading.Lock()
def client(i):
    s = socket.create_connection((host, port)); s.settimeout(120)
    socks.append(s)
    try:
        s.sendall(head + body)
    except OSError as e:
        pass
    try:
        data = s.recv(64)
        st = data[9:12].decode() if data else "closed"
    except OSError as e:
        st = type(e).__name__
    with lock: statuses[st] = statuses.get(st, 0) + 1
ts = [threading.Thread(target=client, args=(i,)) for i in range(N)]
t0 = time.time()
for t in ts: t.start()
peak = 0
while any(t.is_alive() for t in ts):
    r = int(rss().split()[0]); peak = max(peak, r)
    time.sleep(0.2)
    if time.time() - t0 > 5 and not hasattr(sys, "_probed"):
        sys._probed = True
        try:
            urllib.request.urlopen(f"http://{host}:{port}/health", timeout=5); print("health during: 200")
        except Exception as e: print("health during:", e)
print("peak RSS during:", peak, "kB; replies:", statuses, "after %.1f s" % (time.time() - t0))
for s in socks: s.close()
time.sleep(1)
print("RSS after:", rss())
req = urllib.request.Request(f"http://{host}:{port}/sts/soap-username-transformer", data=b"<x/>", headers={"Content-Type": "text/xml"})
try:
    urllib.request.urlopen(req, timeout=10)
except urllib.error.HTTPError as e:
    print("normal request afterwards:", e.code, e.read()[:120])
