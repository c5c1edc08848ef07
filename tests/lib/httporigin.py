"""HTTP origins for the tests of tftpd's --origin: a scripted one that
misbehaves on demand, and the real nginx.

Origin: a threaded http.server on 127.0.0.1 (or another loopback address)
and a port of its own. Every request is recorded (method, path as sent,
headers, body); each path is told how to answer:

    with Origin() as o:
        o.set("/a.bin", body)                         # 200, Content-Length
        o.set("/c.bin", body, chunked=True)           # no Content-Length
        o.set("/s.bin", body, step=20000, pause=1.5)  # 20000 bytes, wait, ...
        o.set("/h.bin", body, stall=30)               # headers, then silence
        o.set("/cut", body, cut_at=50000)             # Content-Length, fewer
                                                      # bytes, a pause, close
        o.set("/short", body, length=len(body) + 99)  # announced more, close
        o.set("/e", status=503)                       # 503 and a short text
        o.set("/loop", location="/loop")              # 302 to itself
        o.set("/v", body, etag='"v1"', last_modified=o.HTTP_DATE)
                                                      # 304 on a match
        o.set("/u", put_status=500, put_delay=1.0)    # how a PUT is answered
        ... o.url("/a.bin"), o.gets("/a.bin"), o.requests, o.uploads ...

A path with no set() answers 404 to GET and 201 to PUT (the body kept in
o.uploads[path]). stop() closes the listening socket and every open
connection (an origin that went away: new connections are refused).

Blackhole: a TCP port that never completes a connection (its accept queue
is full), to test connect timeouts.

Nginx(root_dir, dav=True, tls=False): the real nginx (Debian's nginx-light
has the dav module) on 127.0.0.1 and a port of its own, serving root_dir;
with dav, PUT creates files (and missing directories) there. Everything it
writes (pid, logs, temporary bodies) is in a temporary prefix, so it runs
as any user. access() parses its access log: one Access per request
(method, uri as sent, status, bytes, If-None-Match, If-Modified-Since).
tls=True makes it https with a certificate for 127.0.0.1 signed by a
throwaway CA (the file nginx.ca). Raises unittest.SkipTest if nginx is not
installed (CI installs it).

Every wait is bounded; only loopback addresses are used."""
import email.utils
import os
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tftptest import free_tcp_port, scaled


def wait_port(host, port, timeout, proc=None):
    """Until host:port accepts a TCP connection (True), the process exits
    or timeout seconds pass (False)."""
    end = time.monotonic() + scaled(timeout)
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)  # polling a port being opened by another process
    return False


# ---- the scripted origin -------------------------------------------------------

class Route:
    """How one path answers (see the module's docstring)."""

    def __init__(self, body=b"", status=200, chunked=False, chunk=4096,
                 step=None, pause=0.0, stall=0.0, cut_at=None, cut_pause=0.5,
                 length=None, etag=None, last_modified=None, location=None,
                 headers=None, put_status=201, put_delay=0.0):
        self.body = bytes(body)
        self.status = status
        self.chunked = chunked
        self.chunk = chunk
        self.step = step          # bytes between pauses (None: all at once)
        self.pause = pause        # seconds between steps
        self.stall = stall        # seconds between the headers and the body
        self.cut_at = cut_at      # send only body[:cut_at], then close
        self.cut_pause = cut_pause  # seconds between the last byte and close
        self.length = length      # Content-Length to announce (None: real)
        self.etag = etag
        self.last_modified = last_modified
        self.location = location  # answer 302 with this Location
        self.headers = dict(headers or {})
        self.put_status = put_status
        self.put_delay = put_delay  # seconds between a PUT's body and answer


class Request:
    """One request as the origin saw it. path: as sent (percent-encoded);
    headers: names in lower case; answered: time.monotonic() when the
    response began to be sent (None before)."""

    def __init__(self, method, path, headers):
        self.method, self.path, self.headers = method, path, headers
        self.body = b""
        self.time = time.monotonic()
        self.answered = None

    def __repr__(self):
        return "%s %s" % (self.method, self.path)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked, as origins do

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.server.origin._conns.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.origin._conns.discard(self.connection)

    # -- helpers
    def _record(self):
        r = Request(self.command, self.path,
                    {k.lower(): v for k, v in self.headers.items()})
        self.server.origin._add(r)
        return r

    def _pause(self, seconds):
        """Sleep, or less if the origin is being stopped."""
        self.server.origin._stopping.wait(scaled(seconds))

    def _simple(self, code, text=b"", extra=None):
        self.send_response(code)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if code in (204, 304):
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(text)

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ConnectionError("request body cut")
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(out)
                out += self.rfile.read(n)
                self.rfile.readline(16)
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        if len(data) != n:
            raise ConnectionError("request body cut")
        return data

    def _not_modified(self, route):
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = [t.strip() for t in inm.split(",")]
            return route.etag is not None and (route.etag in tags or "*" in tags)
        ims = self.headers.get("If-Modified-Since")
        return ims is not None and route.last_modified is not None and \
            ims.strip() == route.last_modified

    # -- methods
    def do_GET(self):
        req = self._record()
        route = self.server.origin.routes.get(self.path.split("?")[0])
        req.answered = time.monotonic()
        try:
            self._answer_get(route)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_HEAD = do_GET

    def _answer_get(self, route):
        if route is None:
            self._simple(404, b"not found\n")
            return
        if route.location is not None:
            self._simple(302, b"", {"Location": route.location})
            return
        if route.status != 200:
            self._simple(route.status, b"status %d\n" % route.status)
            return
        validators = dict(route.headers)
        if route.etag:
            validators["ETag"] = route.etag
        if route.last_modified:
            validators["Last-Modified"] = route.last_modified
        if self._not_modified(route):
            self.send_response(304)
            for k, v in validators.items():
                self.send_header(k, v)
            self.end_headers()
            return
        body = route.body if route.cut_at is None else route.body[:route.cut_at]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        for k, v in validators.items():
            self.send_header(k, v)
        if route.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(
                route.length if route.length is not None else len(route.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        self.wfile.flush()
        if route.stall:
            self._pause(route.stall)
        step = route.step or max(len(body), 1)
        for i in range(0, len(body), step):
            if i and route.pause:
                self.wfile.flush()
                self._pause(route.pause)
            if self.server.origin._stopping.is_set():
                self.close_connection = True
                return
            piece = body[i:i + step]
            if route.chunked:
                for j in range(0, len(piece), route.chunk):
                    c = piece[j:j + route.chunk]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
            else:
                self.wfile.write(piece)
        self.wfile.flush()
        short = route.cut_at is not None or \
            (route.length is not None and route.length > len(route.body))
        if short:
            # Fewer bytes than announced: hold on a moment (the transfer
            # is under way), then close the connection.
            if route.cut_at is not None:
                self._pause(route.cut_pause)
            self.close_connection = True
            return
        if route.chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def do_PUT(self):
        req = self._record()
        route = self.server.origin.routes.get(self.path.split("?")[0], Route())
        try:
            req.body = self._read_body()
        except (ConnectionError, ValueError):
            self.close_connection = True
            return
        if route.put_delay:
            self._pause(route.put_delay)
        if 200 <= route.put_status < 300:
            self.server.origin.uploads[self.path] = req.body
        req.answered = time.monotonic()
        try:
            self._simple(route.put_status, b"" if route.put_status in (201, 204)
                         else b"status %d\n" % route.put_status)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_POST(self):
        self._record()
        self._simple(405, b"no\n")

    do_DELETE = do_POST


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self):
        # Not HTTPServer's: that one asks the resolver for our name.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class Origin:
    """The scripted HTTP origin (see the module's docstring)."""

    # A fixed date for Last-Modified.
    HTTP_DATE = email.utils.formatdate(1700000000, usegmt=True)

    def __init__(self, host="127.0.0.1"):
        self.host = host
        self.routes = {}
        self.uploads = {}
        self.requests = []
        self._lock = threading.Lock()
        self._conns = set()
        self._stopping = threading.Event()
        self._httpd = None
        self._thread = None
        self.port = None

    def set(self, path, body=b"", **kw):
        """How path answers from now on (keywords: Route's)."""
        self.routes[path] = Route(body, **kw)
        return self.routes[path]

    def url(self, path="/"):
        return "http://%s:%d%s" % (self.host, self.port, path)

    def _add(self, req):
        with self._lock:
            self.requests.append(req)

    def seen(self, method=None, path=None):
        """The requests so far, of method and path (as sent) if given."""
        with self._lock:
            return [r for r in self.requests
                    if (method is None or r.method == method)
                    and (path is None or r.path == path)]

    def gets(self, path):
        return len(self.seen("GET", path))

    def start(self):
        self._stopping.clear()
        self._httpd = _Server((self.host, self.port or 0), _Handler)
        self._httpd.origin = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Close the listening socket and every connection: from now on
        connections to the port are refused. start() again reopens the
        same port."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        for c in list(self._conns):
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(scaled(10))
        self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Blackhole:
    """A TCP port on host whose accept queue is full (listen backlog 0 and
    a few connections that are never accepted): a new connection's SYN is
    dropped, so connecting there hangs until the connector's timeout."""

    def __init__(self, host="127.0.0.1"):
        self.host = host
        self._l = socket.socket()
        self._l.bind((host, 0))
        self._l.listen(0)
        self.port = self._l.getsockname()[1]
        self._held = []
        for _ in range(3):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect((host, self.port))
            except BlockingIOError:
                pass
            self._held.append(s)

    def url(self, path="/"):
        return "http://%s:%d%s" % (self.host, self.port, path)

    def close(self):
        for s in self._held:
            s.close()
        self._l.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- nginx -----------------------------------------------------------------------

def nginx_path():
    return shutil.which("nginx") or \
        (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx") or None


class Access:
    """One line of nginx's access log."""

    def __init__(self, line):
        f = line.rstrip("\n").split("\t")
        self.method, self.uri = f[0], f[1]
        self.status, self.bytes = int(f[2]), int(f[3])
        self.if_none_match = f[4] if f[4] != "-" else None
        self.if_modified_since = f[5] if f[5] != "-" else None

    def __repr__(self):
        return "%s %s %d" % (self.method, self.uri, self.status)


def make_tls(dirpath, host="127.0.0.1"):
    """A throwaway CA and a certificate for IP host signed by it, in
    dirpath: returns (ca.pem, cert.pem, key.pem)."""
    if not shutil.which("openssl"):
        raise unittest.SkipTest("openssl is not installed")
    ca, cakey = os.path.join(dirpath, "ca.pem"), os.path.join(dirpath, "ca.key")
    cert, key = os.path.join(dirpath, "cert.pem"), os.path.join(dirpath, "key.pem")
    csr, ext = os.path.join(dirpath, "cert.csr"), os.path.join(dirpath, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n" % host)
    for argv in (
            ["req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
             "-subj", "/CN=tftpd test CA", "-keyout", cakey, "-out", ca],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-subj", "/CN=%s" % host, "-keyout", key, "-out", csr],
            ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey,
             "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert]):
        subprocess.run(["openssl"] + argv, check=True, capture_output=True,
                       timeout=scaled(30))
    return ca, cert, key


class Nginx:
    """The real nginx serving root on 127.0.0.1:port (see the module's
    docstring). url(path), access(), gets(uri), stop()."""

    CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 1024; }}
http {{
    types {{ application/octet-stream bin; text/plain txt; }}
    default_type application/octet-stream;
    log_format tabs escape=none '$request_method\\t$request_uri\\t$status\\t$body_bytes_sent\\t$http_if_none_match\\t$http_if_modified_since';
    access_log {prefix}/access.log tabs;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    sendfile on;
    etag on;
    server {{
        listen {host}:{port}{ssl};
        server_name localhost;
        root {root};
{tls}
        location / {{
{dav}
        }}
    }}
}}
"""

    def __init__(self, root, dav=True, tls=False, host="127.0.0.1"):
        self.root = os.path.abspath(root)
        self.dav = dav
        self.tls = tls
        self.host = host
        self.port = None
        self.proc = None
        self.prefix = None
        self.ca = None

    def url(self, path="/"):
        return "%s://%s:%d%s" % ("https" if self.tls else "http",
                                 self.host, self.port, path)

    def _conf(self):
        dav = ""
        if self.dav:
            dav = ("            dav_methods PUT;\n"
                   "            create_full_put_path on;\n"
                   "            dav_access user:rw group:r all:r;\n"
                   "            client_max_body_size 0;\n")
        tls = ""
        if self.tls:
            tls = ("        ssl_certificate %s;\n"
                   "        ssl_certificate_key %s;\n" % (self.cert, self.key))
        return self.CONF.format(prefix=self.prefix, host=self.host,
                                port=self.port, root=self.root, dav=dav,
                                tls=tls, ssl=" ssl" if self.tls else "")

    def start(self):
        exe = nginx_path()
        if exe is None:
            raise unittest.SkipTest("nginx is not installed (Debian: nginx-light)")
        self.prefix = tempfile.mkdtemp(prefix="nginx-")
        if self.tls:
            self.ca, self.cert, self.key = make_tls(self.prefix, self.host)
        for _ in range(5):
            self.port = free_tcp_port(self.host)
            conf = os.path.join(self.prefix, "nginx.conf")
            with open(conf, "w") as f:
                f.write(self._conf())
            errlog = os.path.join(self.prefix, "error.log")
            self._out = open(os.path.join(self.prefix, "stderr"), "wb")
            self.proc = subprocess.Popen(
                [exe, "-p", self.prefix + "/", "-c", conf, "-e", errlog],
                stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._out)
            if wait_port(self.host, self.port, 10, self.proc):
                return self
            self._kill()
            text = self.error_log()
            if "in use" not in text:
                raise AssertionError("nginx did not start:\n" + text[-3000:])
        raise AssertionError("nginx: no free port after 5 attempts")

    def error_log(self):
        out = ""
        for n in ("error.log", "stderr"):
            try:
                with open(os.path.join(self.prefix, n), errors="replace") as f:
                    out += f.read()
            except OSError:
                pass
        return out

    def access(self):
        """Every request so far, in order (nginx writes a line when the
        response has been sent)."""
        try:
            with open(os.path.join(self.prefix, "access.log")) as f:
                return [Access(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []

    def seen(self, method=None, uri=None):
        return [a for a in self.access()
                if (method is None or a.method == method)
                and (uri is None or a.uri == uri)]

    def gets(self, uri):
        """How many GETs of uri (as sent, percent-encoded) nginx answered."""
        return len(self.seen("GET", uri))

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(scaled(10))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(scaled(10))
        if self.proc is not None:
            self._out.close()
        self.proc = None

    def stop(self):
        """Stop nginx (its port then refuses connections); the logs stay
        readable until cleanup()."""
        self._kill()

    def cleanup(self):
        self._kill()
        if self.prefix:
            shutil.rmtree(self.prefix, ignore_errors=True)
            self.prefix = None

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()
