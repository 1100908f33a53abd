"""A child process for supervisor tests: `python -m tests.support.fake_child MODE PORT`.

Modes: `ok` serves GET /health; `sigill` kills itself with SIGILL as its first request arrives (what
the llama.cpp source build did on CPUs that advertise instructions the VM refuses); `hang` serves, then
stops answering after the first request; `exit3` prints a line and exits with code 3.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def main() -> None:
    mode, port = sys.argv[1], int(sys.argv[2])
    print(f"fake child {mode} starting on {port}", flush=True)
    if mode == "exit3":
        print("fatal: could not load the model file", flush=True)
        sys.exit(3)
    served = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def do_GET(self) -> None:
            served["n"] += 1
            if mode == "sigill":
                print("about to run an instruction this CPU refuses", flush=True)
                os.kill(os.getpid(), signal.SIGILL)
            if mode == "hang" and served["n"] > 1:
                time.sleep(3600)
            body = b'{"status": "ok"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    HTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
