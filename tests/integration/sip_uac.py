"""A minimal SIP UAC over UDP on loopback for tests that drive one call by hand:
INVITE (SIPREC-flavoured, an SDP body), ACK of the 2xx, BYE. Bounded in time."""
import re
import socket
import time
import uuid


class Uac:
    def __init__(self, port, timeout=5.0):
        self.port = port
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(timeout)
        self.lport = self.s.getsockname()[1]
        self.cid, self.tag = uuid.uuid4().hex, uuid.uuid4().hex[:8]
        self.to = "<sip:srs@127.0.0.1>"
        self.cseq = 0

    def _head(self, method):
        self.cseq += 1 if method != "ACK" else 0
        return (f"{method} sip:srs@127.0.0.1 SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{self.lport};branch=z9hG4bK{uuid.uuid4().hex[:10]};rport\r\n"
                f"From: <sip:src@127.0.0.1>;tag={self.tag}\r\nTo: {self.to}\r\nCall-ID: {self.cid}\r\n"
                f"CSeq: {self.cseq} {method}\r\nMax-Forwards: 70\r\n")

    def _final(self, deadline=None):
        end = time.monotonic() + (deadline or max(10.0, self.s.gettimeout() or 0))
        while time.monotonic() < end:
            resp = self.s.recv(65535).decode(errors="replace")
            if resp.startswith("SIP/2.0 ") and not resp.startswith("SIP/2.0 1"):
                return int(resp.split(" ", 2)[1]), resp
        raise AssertionError("no final response")

    def invite(self, sdp, extra=""):
        """Send the INVITE (extra: more header lines, CRLF-ended); ACK a 2xx. Returns
        (status, response text)."""
        body = sdp.replace("\r\n", "\n").replace("\n", "\r\n")
        self.s.sendto((self._head("INVITE") + f"Contact: <sip:src@127.0.0.1:{self.lport}>;+sip.src\r\n"
                       f"Require: siprec\r\n{extra}Content-Type: application/sdp\r\n"
                       f"Content-Length: {len(body)}\r\n\r\n{body}").encode(), ("127.0.0.1", self.port))
        code, resp = self._final()
        if code < 300:
            self.to = re.search(r"^To: (.*)$", resp, re.M | re.I).group(1).strip()
            self.s.sendto((self._head("ACK") + "Content-Length: 0\r\n\r\n").encode(),
                          ("127.0.0.1", self.port))
        return code, resp

    def update(self, body=None, ctype="application/sdp", method="UPDATE", extra=""):
        """An in-dialog UPDATE (or re-INVITE, ACKed) with an optional body."""
        body = (body or "").replace("\r\n", "\n").replace("\n", "\r\n")
        head = self._head(method) + f"Contact: <sip:src@127.0.0.1:{self.lport}>;+sip.src\r\n{extra}"
        if body:
            head += f"Content-Type: {ctype}\r\n"
        self.s.sendto((head + f"Content-Length: {len(body)}\r\n\r\n{body}").encode(),
                      ("127.0.0.1", self.port))
        code, resp = self._final()
        if method == "INVITE" and code < 300:
            self.s.sendto((self._head("ACK") + "Content-Length: 0\r\n\r\n").encode(),
                          ("127.0.0.1", self.port))
        return code, resp

    def bye(self):
        self.s.sendto((self._head("BYE") + "Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", self.port))
        return self._final()[0]

    def wait_request(self, method, timeout=10.0):
        """The next request of this method rtprec sends us (responses and others skipped)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                msg = self.s.recv(65535).decode(errors="replace")
            except socket.timeout:
                continue
            if msg.startswith(method + " "):
                return msg
        raise AssertionError(f"no {method} within {timeout}s")

    def reply(self, req, code, sdp=None):
        """Answer a request from rtprec (headers copied, our SDP as the body)."""
        keep = [line for line in req.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
                if re.match(r"(Via|From|To|Call-ID|CSeq):", line, re.I)]
        body = sdp.replace("\r\n", "\n").replace("\n", "\r\n") if sdp else ""
        ctype = "Content-Type: application/sdp\r\n" if sdp else ""
        text = (f"SIP/2.0 {code} OK\r\n" + "\r\n".join(keep) +
                f"\r\nContact: <sip:src@127.0.0.1:{self.lport}>\r\n{ctype}"
                f"Content-Length: {len(body)}\r\n\r\n{body}")
        self.s.sendto(text.encode(), ("127.0.0.1", self.port))

    def close(self):
        self.s.close()


def answer_media(resp):
    """(c= address, first m= port) of a 200's SDP."""
    body = resp.split("\r\n\r\n", 1)[1]
    return (re.search(r"^c=IN IP4 (\S+)", body, re.M).group(1),
            int(re.search(r"^m=audio (\d+) ", body, re.M).group(1)))
