"""``python -m webapp``: start the Streamlit page on a local port."""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from edge_runtime.cli import HelpFormatter, _number

APP = Path(__file__).resolve().parent / "app.py"
#: Largest upload in MB (10 minutes of 48 kHz 16-bit mono WAV is 55 MB); the page says so.
MAX_UPLOAD_MB = 100


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="python -m webapp", description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (0.0.0.0 exposes it to the network)")
    p.add_argument("--port", type=_number(int, 1, 65535, "--port"), default=8501, help="TCP port, 1-65535")
    p.add_argument("--max-upload-mb", type=_number(int, 1, 2000, "--max-upload-mb"), default=MAX_UPLOAD_MB,
                   help="largest upload Streamlit accepts, 1-2000 MB")
    return p


def streamlit_command(host: str, port: int, max_upload_mb: int = MAX_UPLOAD_MB) -> list[str]:
    """The ``streamlit run`` command line: headless, no telemetry, no tracebacks in the page."""
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            f"--server.address={host}", f"--server.port={port}", "--server.headless=true",
            f"--server.maxUploadSize={max_upload_mb}", "--browser.gatherUsageStats=false",
            "--client.showErrorDetails=none", "--client.toolbarMode=minimal",
            "--global.developmentMode=false"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Replace this process by the Streamlit server; returns an exit code only on error."""
    args = parser().parse_args(argv)
    if importlib.util.find_spec("streamlit") is None:
        print('error: the web app needs Streamlit: pip install -e ".[app]"', file=sys.stderr)
        return 2
    print(f"serving on http://{args.host}:{args.port} (Ctrl-C stops it)", file=sys.stderr, flush=True)
    root = str(APP.parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    # Each page visit runs in a thread; glibc gives threads arenas of their own that keep freed memory, so a
    # server that served ten long uploads would hold their peak for good. Two arenas return it.
    env.setdefault("MALLOC_ARENA_MAX", "2")
    cmd = streamlit_command(args.host, args.port, args.max_upload_mb)
    os.execve(cmd[0], cmd, env)
    return 0  # not reached
