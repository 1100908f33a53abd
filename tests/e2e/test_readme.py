"""The README is a test: its curl walkthrough runs, block by block, against a fresh `nexod up`.

Every command of the `## The API with curl` section runs in one bash session (variables and functions
carry over, as in a reader's terminal). A command must exit 0 and must not print an error envelope, and
where the README says `# → X` (`·` separates several), some line it prints must be exactly X, where `…`
stands for any text. Only the port and
the data folder differ from what a reader types: the README's `:8000` becomes this server's port, and
`nexod dev-token` finds this server through NEXOD_URL and NEXOD_STATE_DIR.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .launcher import ROOT, Process, free_port

pytestmark = pytest.mark.e2e
EXPECT = re.compile(r"#\s*→\s*(.+?)\s*$")
SECTIONS = {ROOT / "README.md": "## The API with curl"}


@dataclass
class Step:
    source: str
    line: int
    command: str
    expect: list[str]


def bash_blocks(text: str, heading: str) -> Iterator[tuple[int, str]]:
    """The ```bash blocks under `heading` (until the next `## `), with the line each starts on."""
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    section = text[start : end if end > 0 else len(text)]
    first_line = text[:start].count("\n") + 1
    for match in re.finditer(r"```bash\n(.*?)```", section, re.S):
        yield first_line + section[: match.start()].count("\n") + 1, match.group(1)


def complete(command: str) -> bool:
    """Whether bash would run `command` as it is (a heredoc, quote or brace still open says no)."""
    checked = subprocess.run(["bash", "-n"], input=command, capture_output=True, text=True, check=False)
    return checked.returncode == 0 and "here-document" not in checked.stderr


def steps(path: Path, heading: str) -> list[Step]:
    found: list[Step] = []
    for first, block in bash_blocks(path.read_text(), heading):
        pending: list[str] = []
        begins = 0
        for offset, line in enumerate(block.splitlines()):
            stripped = line.strip()
            if not pending and (not stripped or stripped.startswith("#")):
                expect = EXPECT.search(stripped)
                if expect and found:  # an expectation on a line of its own belongs to the command above
                    found[-1].expect += expect.group(1).split(" · ")
                continue
            if not pending:
                begins = first + offset
            pending.append(line)
            text = "\n".join(pending)
            if text.rstrip().endswith("\\") or not complete(text + "\n"):
                continue
            expect = EXPECT.search(pending[-1])
            found.append(Step(path.name, begins, text, expect.group(1).split(" · ") if expect else []))
            pending = []
        assert not pending, f"{path.name}:{begins}: an unfinished command: {pending}"
    return found


class Shell:
    """One bash session fed a command at a time, like a reader pasting into a terminal."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="readme-"))
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            text=True,
        )
        self.count = 0

    def run(self, command: str) -> tuple[int, str]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.count += 1
        script = self.folder / f"step{self.count}.sh"
        output = self.folder / f"step{self.count}.out"
        script.write_text(command + "\n")
        marker = f"__step_{self.count}_rc__"
        self.proc.stdin.write(f"source {script} > {output} 2>&1; echo {marker}=$?\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()  # blocks until the step ends; pytest-timeout bounds the test
        while line and not line.startswith(marker):
            line = self.proc.stdout.readline()
        assert line, f"bash exited while running: {command}"
        return int(line.strip().split("=", 1)[1]), output.read_text()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.kill()
        self.proc.wait()


def localise(command: str, url: str) -> str:
    port = url.rsplit(":", 1)[1]
    return command.replace("127.0.0.1:8000", f"127.0.0.1:{port}").replace("localhost:8000", f"localhost:{port}")


@pytest.mark.timeout(900)
def test_the_readme_walkthrough_does_what_it_says(local_process: Process):
    # Given a fresh `nexod up` (offline model, seeded demo workspace) and the README's commands
    walkthrough = [step for path, heading in SECTIONS.items() for step in steps(path, heading)]
    assert len(walkthrough) > 20 and sum(bool(s.expect) for s in walkthrough) > 15
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env |= {"NEXOD_URL": local_process.url, "NEXOD_STATE_DIR": str(local_process.state_dir)}
    shell = Shell(ROOT, env)
    try:
        for step in walkthrough:
            # When each command runs in the reader's shell
            code, output = shell.run(localise(step.command, local_process.url))
            where = f"{step.source}:{step.line}: {step.command}\n--- printed ---\n{output}"
            # Then it succeeds, prints no error envelope, and prints what the README says it prints
            assert code == 0, f"exit {code} at {where}"
            if "pick error" not in step.command:
                assert '"error": {' not in output and '"error":{' not in output, f"an error answer at {where}"
            lines = [line.strip() for line in output.splitlines()]
            for expected in step.expect:
                pattern = re.compile(".*".join(re.escape(part) for part in expected.split("…")))
                assert any(pattern.fullmatch(line) for line in lines), f"expected {expected!r} at {where}"
    finally:
        shell.close()


@pytest.mark.timeout(600)
def test_the_console_readme_commands_work(local_process: Process):
    # Given the console's README and a running `nexod up` for the dev server to proxy to
    folder = ROOT / "frontend"
    text = (folder / "README.md").read_text()
    (_, block), *_ = bash_blocks(text, "# Nexod console")
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines() if line.split("#", 1)[0].strip()]
    assert commands == ["npm ci", "npm run dev", "npm run build", "npm test", "npm run gen:api"], commands
    env = {**os.environ, "NEXOD_API": local_process.url}
    for command in commands:
        if command == "npm run dev":
            # When the dev server runs (on a free port rather than 5173, which a developer may be using)
            port = free_port()
            dev = subprocess.Popen(
                ["npm", "run", "dev", "--", "--port", str(port), "--strictPort", "--host", "127.0.0.1"],
                cwd=folder,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                # Then it serves the console and proxies the API to NEXOD_API
                page = wait_http(f"http://127.0.0.1:{port}/", timeout=60)
                assert '<div id="root">' in page
                assert json.loads(wait_http(f"http://127.0.0.1:{port}/v1/health", timeout=10))["status"] == "ready"
            finally:
                os.killpg(dev.pid, signal.SIGTERM)
                dev.wait(timeout=20)
            continue
        # When each other command runs / Then it succeeds
        done = subprocess.run(command.split(), cwd=folder, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"`{command}` failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert (folder / "dist" / "index.html").exists()
    # And regenerating the API types leaves the committed file as it was (it is current)
    diff = subprocess.run(
        ["git", "diff", "--exit-code", "--", "src/lib/api-schema.d.ts"], cwd=folder, capture_output=True, text=True
    )
    assert diff.returncode == 0, diff.stdout[-2000:]


def wait_http(url: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return str(resp.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
