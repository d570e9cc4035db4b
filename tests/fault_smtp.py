"""A small real SMTP server on 127.0.0.1 that misbehaves at one precise point
of the exchange, for the e-mail outcome tests (SPEC 5.2).

It speaks just enough SMTP (greeting, EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
QUIT; AUTH and STARTTLS only to refuse them) over real sockets, one thread per connection. Everything is bounded: the
listener stops by itself after ``lifetime`` seconds, a connection waits at
most ``lifetime`` seconds for a line, and a server told to stay silent after
the final dot waits for :meth:`release` or :meth:`stop` (or that bound).

``replies`` overrides the answer to one verb (``{"MAIL": "550 5.7.1 no"}``;
``"EHLO"`` also answers HELO; ``"GREETING"`` the banner; ``"QUIT"`` the
QUIT). ``after_dot`` says what follows the final dot: ``"250"`` (accept),
``"silent"`` (never answer), ``"close"`` (close the socket without
answering), or a reply line (``"451 4.3.0 later"``); ``after_dot_at`` limits
it to the message of that number (1-based, counted over the server's life),
the others being accepted. ``drop_after_first`` closes the first connection
right after its first accepted message (an idle drop between messages).

What it saw: ``connections`` (accepted), ``messages`` (the DATA of every
message whose final dot arrived, answered or not), ``commands`` (verbs, in
order), and ``reached_dot`` (an Event set when the ``after_dot_at`` message's
dot arrives).
"""
from __future__ import annotations

import email
import email.policy
import socket
import threading
from typing import Optional


class FaultServer:
    def __init__(self, replies: Optional[dict] = None, after_dot: str = "250",
                 after_dot_at: Optional[int] = None, drop_after_first: bool = False,
                 lifetime: float = 120.0):
        self.replies = dict(replies or {})
        self.after_dot = after_dot
        self.after_dot_at = after_dot_at
        self.drop_after_first = drop_after_first
        self.lifetime = lifetime
        self.connections = 0
        self.messages: list[bytes] = []
        self.commands: list[str] = []
        self.reached_dot = threading.Event()
        self._released = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ control

    def release(self) -> None:
        """A connection held silent after a dot may go on (it closes)."""
        self._released.set()

    def stop(self) -> None:
        self._stopped.set()
        self._released.set()
        self._thread.join(10)
        self._listener.close()

    def __enter__(self) -> "FaultServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def documents(self) -> list[str]:
        """The X-Facturier-Document header of each message received."""
        return [str(email.message_from_bytes(m, policy=email.policy.default)["X-Facturier-Document"])
                for m in self.messages]

    # ------------------------------------------------------------------ serving

    def _serve(self) -> None:
        deadline = threading.Timer(self.lifetime, self._stopped.set)
        deadline.daemon = True
        deadline.start()
        try:
            while not self._stopped.is_set():
                try:
                    conn, _ = self._listener.accept()
                except (socket.timeout, OSError):
                    continue
                with self._lock:
                    self.connections += 1
                    first = self.connections == 1
                threading.Thread(target=self._handle, args=(conn, first), daemon=True).start()
        finally:
            deadline.cancel()

    def _handle(self, conn: socket.socket, first: bool) -> None:
        conn.settimeout(self.lifetime)
        reader = conn.makefile("rb")

        def say(line: str) -> None:
            conn.sendall(line.encode() + b"\r\n")

        try:
            say(self.replies.get("GREETING", "220 fault.example ESMTP ready"))
            carried = 0
            while not self._stopped.is_set():
                line = reader.readline(4096)
                if not line:
                    return
                verb = line.split(b" ", 1)[0].strip().upper().decode("ascii", "replace")
                with self._lock:
                    self.commands.append(verb)
                if verb in ("EHLO", "HELO"):
                    say(self.replies.get("EHLO") or ("250-fault.example\r\n250 8BITMIME"
                                                     if verb == "EHLO" else "250 fault.example"))
                elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                    say(self.replies.get(verb, "250 OK"))
                elif verb in ("AUTH", "STARTTLS"):
                    say(self.replies.get(verb, "235 2.7.0 accepted" if verb == "AUTH"
                                         else "454 4.7.0 TLS not available"))
                elif verb == "DATA":
                    answer = self.replies.get("DATA", "354 end with <CRLF>.<CRLF>")
                    say(answer)
                    if not answer.startswith("354"):
                        continue
                    data = b""
                    while True:
                        chunk = reader.readline(65536)
                        if not chunk:
                            return              # the client went away before its dot
                        if chunk == b".\r\n":
                            break
                        data += chunk[1:] if chunk.startswith(b"..") else chunk
                    with self._lock:
                        self.messages.append(data)
                        number = len(self.messages)
                    behaviour = self.after_dot if self.after_dot_at in (None, number) else "250"
                    if self.after_dot_at == number:
                        self.reached_dot.set()
                    if behaviour == "silent":
                        self._released.wait(self.lifetime)
                        return
                    if behaviour == "close":
                        return
                    say("250 2.0.0 queued" if behaviour == "250" else behaviour)
                    carried += 1
                    if self.drop_after_first and first and carried == 1:
                        return
                elif verb == "QUIT":
                    say(self.replies.get("QUIT", "221 bye"))
                    return
                else:
                    say("502 5.5.1 not implemented")
        except OSError:
            return
        finally:
            try:
                reader.close()
                conn.close()
            except OSError:
                pass
