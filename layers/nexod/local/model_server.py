"""The offline model's process: llama.cpp's OpenAI-compatible server from `xllamacpp`'s prebuilt wheel.

Run by `nexod up` as a supervised child (`python -m nexod.local.model_server --gguf ... --port ...`), never
in the `nexod up` process itself: a model that crashes (a CPU refusing an instruction, out of memory)
must take down nothing but itself. The process also exits when its parent goes away, so a killed
`nexod up` leaves no model server behind.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nexod.local.model_server")
    parser.add_argument("--gguf", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--alias", default="smollm2-135m-instruct")
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args(argv)

    import xllamacpp

    started = time.monotonic()
    params = xllamacpp.CommonParams()
    params.model.path = args.gguf
    params.model_alias = args.alias
    params.n_ctx = args.ctx
    params.n_parallel = args.parallel
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.use_jinja = True  # the GGUF's own chat template
    server = xllamacpp.Server(params)  # loads the model and listens on a thread of its own
    print(
        f"nexod model server: {args.alias} on {server.listening_address} (loaded in {time.monotonic() - started:.2f}s)",
        flush=True,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    parent = os.getppid()
    while not stop.wait(1.0):
        if os.getppid() != parent:  # orphaned: whoever supervised us is gone
            print("nexod model server: parent exited, stopping", flush=True)
            break
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
