"""What the run harnesses (.ci/helm-run.py, .ci/tf-run.py) share: network
namespaces on a private bridge (nothing in them has a route out), and a
target server that records the address of every client that asks it."""
import os
import shutil
import signal
import subprocess
import sys


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def bridge(br):
    """Namespace BR holding the bridge br0 the others are plugged into."""
    sh("ip", "netns", "add", br)
    sh("ip", "-n", br, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", br, "link", "set", "br0", "up")


def netns(br, name, ip):
    """Namespace NAME with address IP/24 on BR's bridge."""
    sh("ip", "netns", "add", name)
    sh("ip", "-n", name, "link", "set", "lo", "up")
    a, b = f"v{name[3:12]}a", f"v{name[3:12]}b"
    sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
    sh("ip", "link", "set", a, "netns", br)
    sh("ip", "link", "set", b, "netns", name)
    sh("ip", "-n", br, "link", "set", a, "master", "br0", "up")
    sh("ip", "-n", name, "addr", "add", f"{ip}/24", "dev", b)
    sh("ip", "-n", name, "link", "set", b, "up")


def start_target(ns, ip, counts):
    """An HTTP server on IP:8080 in NS; each GET appends its client's
    address to the file COUNTS."""
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", TARGET, ip, counts])


def hits(counts):
    """Requests per client address, from start_target's file."""
    out = {}
    try:
        with open(counts) as f:
            for line in f:
                out[line.strip()] = out.get(line.strip(), 0) + 1
    except FileNotFoundError:
        pass
    return out


TARGET = r'''
import sys, http.server
ip, counts = sys.argv[1], sys.argv[2]
out = open(counts, "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        out.write(self.client_address[0] + "\n")
        self.send_response(200); self.send_header("Content-Length", "3"); self.end_headers(); self.wfile.write(b"ok\n")
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer((ip, 8080), H).serve_forever()
'''


def cleanup(procs, names, work):
    """Kill what a harness started (procs: (name, Popen) pairs), delete its
    namespaces and their /etc/netns files, and remove its work folder."""
    for _, p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()
    for n in names:
        sh("ip", "netns", "del", n, check=False)
        shutil.rmtree(os.path.join("/etc/netns", n), ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
