"""SRC interop corpus (issue 10): INVITE, re-INVITE and UPDATE bodies written in the
style of each vendor (tests/data/srcs/<vendor>/), each played by SIPp as the SRC with
RTP from the media namespace, then checked: every answer's status, ports, labels and
directions; the packets in media.pcap per stream and payload type (the ones sent while
the stream was not paused); session.json's labels, packets, pauses, participants,
recording session id and metadata_extensions; one <received> in metadata.xml per
metadata body. The manifests' format is in tests/data/srcs/README.md."""
import calendar
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from conftest import DP_ADDR, free_port
from test_siprec import session_dirs, start_srs, wait_for

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("sipp")
    or not shutil.which("tshark"), reason="needs root, iproute2, SIPp and tshark")

HERE = Path(__file__).resolve().parent
SRCS = HERE.parent / "data" / "srcs"
PY = "/usr/bin/python3"
PAYLOAD = {0: 160, 8: 160, 9: 160, 18: 20, 101: 4}   # bytes per 20 ms packet
FENCE_PORT = 9   # no call's port: the sender's last datagram, counted as no_flow


def manifests():
    out = []
    for path in sorted(SRCS.glob("*/*.json")):
        m = json.loads(path.read_text())
        marks = [pytest.mark.xfail(strict=True, reason=m["xfail"])] if m.get("xfail") else []
        out.append(pytest.param(path, id=f"{path.parent.name}-{path.stem}", marks=marks))
    return out


def body_of(req, folder):
    """The request's body as sent: the file's text with CRLF line ends (LF with
    "eol": "lf"), without its last line end, which SIPp adds after [bodyN]."""
    if not req.get("body"):
        return None
    text = (folder / req["body"]).read_text()
    if req.get("eol", "crlf") == "crlf":
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text


def offered_media(body):
    """[(media, port)] of the m= lines in a body (SDP alone or inside a multipart)."""
    return [(m, int(p)) for m, p in re.findall(r"^m=(\w+) (\d+) ", body, re.M)]


class Plan:
    """What a manifest makes: the SIPp scenario and its -key values, and what the
    recording must then hold."""

    def __init__(self, m, folder, ns, relay_path):
        self.m, self.folder, self.ns, self.relay_path = m, folder, ns, relay_path
        self.keys = {}
        reqs = m["requests"]
        self.media = offered_media(body_of(reqs[0], folder))
        n = len(self.media)
        self.sent = [dict() for _ in range(n)]       # stream -> {pt: packets sent}
        self.recorded = [dict() for _ in range(n)]   # stream -> {pt: packets unpaused}
        self.pauses = [[] for _ in range(n)]         # stream -> [(request that paused it,
        self.md_bodies = 0                            #   request that resumed it or None)]
        paused, seq = [False] * n, [0] * n
        xml = []
        for i, req in enumerate(reqs):
            xml.append(self._request(i, req))
            exp = req.get("answer")
            if exp and exp.get("dirs"):
                for s, d in enumerate(exp["dirs"]):
                    now = d == "inactive"
                    if now and not paused[s]:
                        self.pauses[s].append((i, None))
                    elif paused[s] and not now:
                        self.pauses[s][-1] = (self.pauses[s][-1][0], i)
                    paused[s] = now
            body = body_of(req, folder) or ""
            if "rs-metadata" in body or "rs-metadata" in " ".join(req.get("headers", [])):
                self.md_bodies += 1
            if req.get("rtp"):
                xml.append(self._rtp(req["rtp"], paused, seq))
        xml.append(self._request(len(reqs), {"method": "BYE", "status": 200}))
        self.xml = ('<?xml version="1.0" encoding="ISO-8859-1" ?>\n'
                    f'<scenario name="interop {folder.name}">\n' + "".join(xml) + "</scenario>\n")

    def _subst(self, text):
        return (text.replace("{local}", "[local_ip]:[local_port]")
                .replace("{remote}", "[remote_ip]:[remote_port]"))

    def _request(self, i, req):
        method, m = req["method"], self.m
        first = i == 0
        cseq = i + 1
        head = [f"{method} {self._subst(m.get('ruri', 'sip:srs@{remote}'))} SIP/2.0",
                "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport",
                f"From: {self._subst(m.get('from', '<sip:src@{local}>'))};tag=[pid]SIPpTag00[call_number]",
                f"To: {self._subst(m.get('to', '<sip:srs@{remote}>'))}" + ("" if first else "[peer_tag_param]"),
                "Call-ID: [call_id]", f"CSeq: {cseq} {method}", "Max-Forwards: 70"]
        # headers naming our address go in the scenario; the others in a -key, as
        # they are (SIPp trims the blanks around each line of a scenario's text)
        hdrs = req.get("headers", [])
        head += [self._subst(h) for h in hdrs if "{" in h]
        raw = [h for h in hdrs if "{" not in h]
        if raw:
            self.keys[f"hdr{i}"] = "\r\n".join(raw)
            head.append(f"[hdr{i}]")
        body = body_of(req, self.folder)
        if body is not None:
            self.keys[f"body{i}"] = body
        text = "\n".join(head + ["Content-Length: [len]", ""] + ([f"[body{i}]"] if body else []))
        out = [f'  <send retrans="500">\n    <![CDATA[\n{text}\n\n    ]]>\n  </send>\n',
               '  <recv response="100" optional="true"/>\n']
        status = req.get("status", 200)
        if first:
            rx = ".*".join(["m=[a-z]+ ([0-9]+) "] * len(self.media))
            names = ",".join(["m"] + [f"p{k}" for k in range(len(self.media))])
            out.append(f'  <recv response="{status}" rtd="true">\n    <action>\n'
                       f'      <ereg regexp="{rx}" search_in="body" check_it="true" assign_to="{names}"/>\n'
                       "    </action>\n  </recv>\n")
        else:
            out.append(f'  <recv response="{status}"/>\n')
        if method == "INVITE" and status < 300:
            ack = [f"ACK {self._subst(m.get('ruri', 'sip:srs@{remote}'))} SIP/2.0", head[1], head[2],
                   head[3] + ("[peer_tag_param]" if first else ""), "Call-ID: [call_id]",
                   f"CSeq: {cseq} ACK", "Max-Forwards: 70"]
            if req.get("ack_body"):
                self.keys[f"ack{i}"] = body_of({"body": req["ack_body"]}, self.folder)
                ack += ["Content-Type: application/sdp", "Content-Length: [len]", "", f"[ack{i}]"]
            else:
                ack += ["Content-Length: 0", ""]
            out.append("  <send>\n    <![CDATA[\n" + "\n".join(ack) + "\n\n    ]]>\n  </send>\n")
        if i == len(self.m["requests"]):
            names = ",".join(["m"] + [f"p{k}" for k in range(len(self.media))])
            out.append(f'  <Reference variables="{names}"/>\n')
        return "".join(out)

    def _rtp(self, plan, paused, seq):
        """One phase: the packets of plan ([stream, pt, count] ...) sent from the
        namespace; the scenario waits for the sender's INFO."""
        specs = []
        for s, pt, count in plan:
            ev = pt in (101, self.m.get("event_pt"))
            specs.append(f"[$p{s}]:{self.media[s][1]}:{pt}:{4 if ev else PAYLOAD[pt]}:{count}:"
                         f"{0x5100 + s:#x}:{seq[s]}" + (":ev" if ev else ""))
            seq[s] += count
            self.sent[s][pt] = self.sent[s].get(pt, 0) + count
            if not paused[s]:
                self.recorded[s][pt] = self.recorded[s].get(pt, 0) + count
        cmd = (f"ip netns exec {self.ns} {PY} {HERE / 'rtp_play.py'} --dst {DP_ADDR} "
               f"--fence {FENCE_PORT} --notify {self.relay_path} --call-id [call_id] "
               + " ".join(specs))
        return (f"  <nop>\n    <action>\n      <exec command={quoteattr(cmd)}/>\n    </action>\n  </nop>\n"
                '  <recv request="INFO" timeout="15000"/>\n')


class Relay(threading.Thread):
    """Passes each INFO of rtp_play.py on to SIPp once rtprec has counted that phase's
    fence (no_flow): every RTP packet sent before it has then met its flow, so the next
    request cannot overtake media still queued toward the worker."""

    def __init__(self, r, sipp_port, path):
        super().__init__(daemon=True)
        self.r, self.sipp_port, self.path, self.phases, self.errors = r, sipp_port, path, 0, []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)   # reached from the netns
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                continue
            self.phases += 1
            end = time.monotonic() + 10
            while self.r.stats().worker_drops().get("no_flow", 0) < self.phases:
                if time.monotonic() > end:
                    self.errors.append(f"fence {self.phases} not counted in 10 s")
                    break
                time.sleep(0.02)
            else:
                self.out.sendto(data, ("127.0.0.1", self.sipp_port))

    def stop(self):
        self.done.set()
        self.join(timeout=5)
        self.sock.close()
        self.out.close()


def sipp_messages(path):
    """[(time, direction, text)] from a SIPp -trace_msg file, in order (time in
    seconds since the epoch: SIPp writes its local time)."""
    data = Path(path).read_bytes() if Path(path).exists() else b""
    out = []
    for mo in re.finditer(rb"^-+ (\S+ \S+)\n\w+ message (sent|received) "
                          rb"(?:\((\d+) bytes\):|\[(\d+)\] bytes :)\n\n", data, re.M):
        day, frac = mo.group(1).decode().split(".")
        t = time.mktime(time.strptime(day, "%Y-%m-%d %H:%M:%S")) + float("0." + frac)
        n = int(mo.group(3) or mo.group(4))
        out.append((t, mo.group(2).decode(), data[mo.end():mo.end() + n].decode(errors="replace")))
    return out


def exchanges(msgs):
    """[(status, method, response text, request sent at, response received at)] per
    request, in order (the first final response; retransmissions skipped)."""
    sent, out, seen = {}, [], set()
    for t, d, text in msgs:
        cseq = re.search(r"^CSeq:\s*(\d+)\s+(\w+)", text, re.M | re.I)
        if cseq is None:
            continue
        key = (cseq.group(1), cseq.group(2))
        if d == "sent" and not text.startswith("SIP/2.0 "):
            sent.setdefault(key, t)
        elif d == "received" and text.startswith("SIP/2.0 "):
            code = int(text.split(" ", 2)[1])
            if code >= 200 and key in sent and key not in seen:
                seen.add(key)
                out.append((code, key[1], text, sent[key], t))
    return out


def answer_sdp(resp):
    """[(port, label, direction)] per m= line of a response's SDP ([] without one)."""
    body = resp.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in resp else ""
    out = []
    for sec in re.split(r"\r\n(?=m=)", body)[1:]:
        port = int(re.match(r"m=\w+ (\d+)", sec).group(1))
        label = re.search(r"^a=label:(\S+)", sec, re.M)
        d = re.search(r"^a=(sendrecv|sendonly|recvonly|inactive)\s*$", sec, re.M)
        out.append((port, label and label.group(1), d and d.group(1)))
    return out


def rtp_by_pt(pcap, ports, event_pts):
    """{(udp dst port, payload type): packets} tshark decodes as RTP on those ports;
    each packet must be as sent (UDP length: header + the payload size of its type)."""
    args = ["tshark", "-r", pcap, "-T", "fields", "-e", "udp.dstport", "-e", "rtp.p_type",
            "-e", "udp.length"]
    for p in ports:
        args[3:3] = ["-d", f"udp.port=={p},rtp"]
    out = subprocess.run(args + ["-Y", "rtp"], capture_output=True, text=True, timeout=60)
    counts = {}
    for line in out.stdout.splitlines():
        port, pt, length = (int(x) for x in line.split("\t"))
        assert length == 8 + 12 + (4 if pt in event_pts else PAYLOAD[pt]), line
        counts[(port, pt)] = counts.get((port, pt), 0) + 1
    return counts


def iso_s(text):
    """session.json's "2026-11-30T10:02:17.123Z" in seconds since the epoch."""
    day, ms = text.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(day, "%Y-%m-%dT%H:%M:%S")) + int(ms) / 1000


def play(r, tmp_path, veth_ns, path, m):
    """Run the manifest's call with SIPp; (Plan, exchanges)."""
    sipp_port = free_port()
    relay = Relay(r, sipp_port, tmp_path / "relay.sock")
    plan = Plan(m, path.parent, veth_ns["ns"], relay.path)
    scen, log = tmp_path / "scenario.xml", tmp_path / "messages.log"
    scen.write_text(plan.xml)
    cmd = ["sipp", "-sf", str(scen), "-m", "1", "-t", "u1", "-nostdin", "-timeout", "40s",
           "-timeout_error", "-max_recv_loops", "100", "-trace_msg", "-message_file", str(log),
           "-trace_err", "-error_file", str(tmp_path / "errors.log"), "-p", str(sipp_port)]
    for k, v in plan.keys.items():
        cmd += ["-key", k, v]
    relay.start()
    try:
        p = subprocess.run(cmd + [f"127.0.0.1:{r.sip_port}"], capture_output=True, text=True,
                           timeout=50, cwd=str(tmp_path))
    finally:
        relay.stop()
    ex = exchanges(sipp_messages(log))
    seen = [(c, mth, re.findall(r"^Warning:[^\r\n]*", t, re.M)) for c, mth, t, _, _ in ex]
    assert p.returncode == 0, (f"SIPp failed (scenario {scen}, messages {log}): answers {seen}\n"
                               f"{p.stdout[-1500:]}\n{relay.errors}\n{r.diag()}")
    assert not relay.errors, relay.errors
    return plan, ex


def check_answers(m, ex):
    """Each request's final status, then per m= line: port zero or not, label,
    direction; headers the manifest asks for. Returns the ports of the first answer."""
    reqs = m["requests"] + [{"method": "BYE", "status": 200}]
    assert [(c, mth) for c, mth, _, _, _ in ex] == [(q.get("status", 200), q["method"]) for q in reqs]
    for q, (_, _, resp, _, _) in zip(reqs, ex):
        exp, got = q.get("answer"), answer_sdp(resp)
        for h in q.get("response_headers", []):
            assert re.search(h, resp, re.M | re.I), f"{h!r} not in\n{resp}"
        if exp is None:
            continue
        if exp.get("sdp") is False:
            assert got == [], f"{q['method']} answered with SDP:\n{resp}"
            continue
        assert [bool(g[0]) for g in got] == exp["ports"], resp
        assert [g[1] for g in got] == exp["labels"], resp
        on = exp["ports"]
        assert [g[2] for g, o in zip(got, on) if o] == [d for d, o in zip(exp["dirs"], on) if o], resp
    return [g[0] for g in answer_sdp(ex[0][2])]


def check_pauses(sess, plan, ex):
    """Each stream's pauses: as many as the answers said inactive, each starting while
    rtprec handled the request that paused it and ending while it handled the one that
    resumed it (or with the call)."""
    # session.json has milliseconds, and SIPp stamps its trace from a clock it reads once
    # per loop pass (seen 2.1 ms late under ASan): 10 ms, still far below the gaps
    # between a scenario's requests
    tol = 0.010
    for s, (st, want) in enumerate(zip(sess["streams"], plan.pauses)):
        assert len(st["pauses"]) == len(want), (s, st["pauses"], want)
        for iv, (i, j) in zip(st["pauses"], want):
            t0, t1 = iso_s(iv["start"]), iso_s(iv["end"])
            assert ex[i][3] - tol <= t0 <= ex[i][4] + tol, (s, iv, ex[i][3:])
            if j is None:
                assert iv["end"] == sess["end"], (s, iv, sess["end"])
            else:
                assert ex[j][3] - tol <= t1 <= ex[j][4] + tol, (s, iv, ex[j][3:])


@pytest.mark.timeout_s(60)
@pytest.mark.parametrize("path", manifests())
def test_interop(start_rtprec, tmp_path, veth_ns, path):
    m = json.loads(path.read_text())
    r, r.sip_port = start_srs(start_rtprec, tmp_path, veth_ns, sip_extra=m.get("sip_extra", ""),
                              media_extra=m.get("media_extra", ""))
    plan, ex = play(r, tmp_path, veth_ns, path, m)
    ports = check_answers(m, ex)
    assert wait_for(lambda: session_dirs(tmp_path) and
                    os.path.exists(session_dirs(tmp_path)[0] + "/session.json")), r.diag()
    r.stop()
    (d,) = session_dirs(tmp_path)
    sess = json.load(open(d + "/session.json"))
    # media.pcap: per stream and payload type, what was sent while it was not paused
    want = {(ports[s], pt): n for s, by in enumerate(plan.recorded) for pt, n in by.items()}
    got = rtp_by_pt(d + "/media.pcap", [p for p in ports if p], (101, m.get("event_pt")))
    assert got == want, sess["streams"]
    # session.json
    first, streams, e = m["requests"][0]["answer"], sess["streams"], m["expect"]
    assert [s["label"] for s in streams] == first["labels"], streams
    assert [s["recorded"] for s in streams] == first["ports"], streams
    assert [s["packets"] for s in streams] == [sum(by.values()) for by in plan.sent], streams
    check_pauses(sess, plan, ex)
    assert sess["end_reason"] == "bye", sess
    assert sess["siprec"] is e.get("siprec", True), sess
    assert sess["metadata"] is (plan.md_bodies > 0), sess
    assert sess["recording_session_id"] == e.get("recording_session_id", ""), sess
    assert sorted((x["name"], x["aor"]) for x in sess["participants"]) == \
        sorted(tuple(x) for x in e.get("participants", [])), sess["participants"]
    ext = sess["metadata_extensions"]
    assert len(ext) == e.get("metadata_extensions", 0), ext
    for k, text in enumerate(e.get("extension_contains", [])):
        assert text in ext[k], (k, ext)
    md = Path(d, "metadata.xml")
    assert (md.read_text().count("<received seq=") if md.exists() else 0) == plan.md_bodies


def test_interop_doc_lists_every_scenario():
    """docs/interop.md has a row for each manifest."""
    doc = (HERE.parents[1] / "docs" / "interop.md").read_text()
    ids = [f"`{p.parent.name}-{p.stem}`" for p in SRCS.glob("*/*.json")]
    assert ids and not [i for i in ids if f": {i} |" not in doc], ids
