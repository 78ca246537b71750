"""A bare git 'origin' and a working clone that commits and pushes to it, like a developer would."""

from __future__ import annotations

from pathlib import Path

import git


class Remote:
    """`bare` is the repository a source reads; `work` the clone that changes it."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "origin.git"
        git.Repo.init(self.bare, bare=True, initial_branch="main")
        self.work = git.Repo.clone_from(str(self.bare), root / "work")
        with self.work.config_writer() as config:
            config.set_value("user", "name", "Test")
            config.set_value("user", "email", "test@example.com")
        self.work.git.checkout("-b", "main")

    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        """Write (or, for None, remove) `files` and commit them on the current branch; the new SHA."""
        for name, text in files.items():
            path = Path(self.work.working_dir) / name
            if text is None:
                self.work.index.remove([name], working_tree=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            self.work.index.add([name])
        return self.work.index.commit(message).hexsha

    def push(self, *refs: str, force: bool = False) -> None:
        self.work.git.push(*(["--force"] if force else []), "origin", *refs)

    def publish(self, files: dict[str, str | None], message: str = "change") -> str:
        """Commit `files` and push `main`; the new SHA."""
        sha = self.commit(files, message)
        self.push("main")
        return sha


class GitHttpServer:
    """`git http-backend` behind a small HTTP server that wants basic auth, serving `root`'s repositories.

    `requests` records (method, path, whether the request carried the right credentials).
    """

    def __init__(self, root: Path, username: str, password: str) -> None:
        import base64

        self.root = root
        self.expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.requests: list[tuple[str, str, bool]] = []
        self.port = 0

    def __enter__(self) -> GitHttpServer:
        import threading
        from http.server import ThreadingHTTPServer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)

    def _handler(self) -> type:
        import os
        import subprocess
        from http.server import BaseHTTPRequestHandler

        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                authorized = self.headers.get("Authorization") == owner.expected
                owner.requests.append((self.command, self.path, authorized))
                if not authorized:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path, _, query = self.path.partition("?")
                env = {
                    "PATH": os.environ["PATH"],
                    "GIT_PROJECT_ROOT": str(owner.root),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "PATH_INFO": path,
                    "QUERY_STRING": query,
                    "REQUEST_METHOD": self.command,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)),
                    "REMOTE_USER": "git",
                    "REMOTE_ADDR": "127.0.0.1",
                }
                for header in ("Content-Encoding", "Git-Protocol"):
                    if header in self.headers:
                        env["HTTP_" + header.upper().replace("-", "_")] = self.headers[header]
                out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
                head, _, payload = out.partition(b"\r\n\r\n")
                status, headers = 200, []
                for line in head.decode().split("\r\n"):
                    name, _, value = line.partition(": ")
                    if name.lower() == "status":
                        status = int(value.split()[0])
                    elif name:
                        headers.append((name, value))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
