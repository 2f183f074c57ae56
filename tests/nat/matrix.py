"""The NAT scenario matrix (docs/nat.md): one two-stream SIPREC call per scenario.

rtprec's media port sits behind a lab of network namespaces (tests/integration/nat_lab.py,
created and removed by each test); SIP goes over loopback from SIPp
(tests/sipp/siprec_nat_uac.xml) to rtprec's listener; the SRC's RTP comes from a
namespace of the lab (rtp_src.py) to the address and ports of the answer SIPp got. The
recording is counted per stream with tshark, session.json and the nat/sessions stats
tell the path the media took, and each scenario reports one line

    Nx <name>: recorded A/B packets via <path>

on stdout and, when RTPREC_NAT_REPORT names a file, appended to it (tests/nat/run.sh
prints that file at the end)."""
import json
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

from conftest import free_port
from nat_lab import ROUTER_OUT, SRC_IP, STUN_IP, STUN_PORT, NatLab
from test_nat import STUN_NAT, lab_config, nat_event
from test_ice import wait_completed
from test_siprec import session_dirs, wait_for

PY = "/usr/bin/python3"
HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "sipp" / "siprec_nat_uac.xml"
RTP_SRC = HERE / "rtp_src.py"
SDP_PORTS = (40000, 40002)  # the m= ports of the scenario's offer
SSRCS = ("1111", "2222")  # stream 1 (label 1), stream 2 (label 2)
TURN = (f'  turn:\n    - {{ uri: "turn:{STUN_IP}:{STUN_PORT}?transport=udp", username: test, '
        'password: test }\n')

# nat: STUN through the media port with the RFC 5780 tests (50 ms RTO: a test the NAT
# blocks gives up after ~4 s), no recheck unless a scenario asks
DISCOVERY = dict(STUN_NAT)


def start(start_rtprec, tmp_path, lab, nat, turn=False):
    """rtprec behind the lab with these nat: keys; returns (rtprec, SIP port)."""
    sip_port = free_port()
    text = lab_config(tmp_path, lab, nat, sip_port) + (TURN if turn else "")
    r = start_rtprec(text)
    r.wait_ready()
    return r, sip_port


def discovery(r, start=0, timeout=30.0):
    """The {"event":"nat"} line that ends a discovery: (index, event)."""
    return nat_event(r, start=start, timeout=timeout)


class SippCall:
    """SIPp as the SRC, run in the background for one call (see siprec_nat_uac.xml)."""

    def __init__(self, sip_port, workdir, src_ip=SRC_IP, timeout=90):
        self.workdir = Path(workdir) / f"sipp-{uuid.uuid4().hex[:6]}"
        self.workdir.mkdir()
        self.answers = self.workdir / "answers.txt"
        self.port = free_port()
        self.timeout = timeout
        self.cmd = ["sipp", "-sf", str(SCENARIO), "-m", "1", "-t", "u1", "-nostdin",
                    "-timeout", f"{timeout}s", "-timeout_error", "-max_recv_loops", "100",
                    "-trace_err", "-trace_msg", "-p", str(self.port),
                    "-key", "src_ip", src_ip, "-key", "answer_file", str(self.answers),
                    f"127.0.0.1:{sip_port}"]
        self.out = open(self.workdir / "sipp.out", "w")
        self.proc = subprocess.Popen(self.cmd, cwd=str(self.workdir), stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.call_id = None

    def answer(self, kind="answer", timeout=15.0):
        """The answer SIPp got ("answer": the 200 to its INVITE, "reinvite": rtprec's
        re-INVITE): (c= address, [port of stream 1, port of stream 2])."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.answers.exists():
                for line in self.answers.read_text().splitlines():
                    f = line.split()
                    if len(f) == 5 and f[0] == kind:
                        self.call_id = f[1]
                        return f[2], [int(f[3]), int(f[4])]
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"SIPp: no {kind} within {timeout}s\n{self.diag()}")

    def go(self):
        """The go-ahead: SIPp sends BYE (an INFO with the call's Call-ID, unanswered)."""
        msg = (f"INFO sip:src@127.0.0.1:{self.port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{uuid.uuid4().hex[:12]}\r\n"
               f"From: <sip:matrix@127.0.0.1>;tag={uuid.uuid4().hex[:8]}\r\n"
               f"To: <sip:src@127.0.0.1>\r\nCall-ID: {self.call_id}\r\nCSeq: 1 INFO\r\n"
               "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(msg.encode(), ("127.0.0.1", self.port))

    def finish(self, timeout=20.0):
        """Wait for SIPp's end (BYE answered); it must have passed."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"SIPp did not end within {timeout}s\n{self.diag()}")
        assert rc == 0, f"SIPp exit {rc}\n{self.diag()}"

    def diag(self):
        self.out.flush()
        text = []
        for f in sorted(self.workdir.iterdir()):
            if f.suffix in (".log", ".out", ".txt"):
                text.append(f"--- {f.name}\n" + f.read_text(errors="replace")[-3000:])
        return f"cmd: {' '.join(self.cmd)}\n" + "\n".join(text)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.out.close()


def send_rtp(lab, ns, dst, ports, count, seq0=0, bind=SRC_IP, sports=SDP_PORTS):
    """count packets per stream from bind (in namespace ns) to dst:ports[i], from
    sports[i] (0: an ephemeral port)."""
    specs = [f"{p}:{sp}:{ssrc}" for p, sp, ssrc in zip(ports, sports, SSRCS)]
    lab.nsx(ns, PY, str(RTP_SRC), bind, dst, str(seq0), str(count), *specs, timeout=30)


def wait_stat(r, pred, timeout=5.0):
    """Poll the stats (SIGUSR1) until pred(stats) holds; the last Stats either way."""
    end = time.monotonic() + timeout
    while True:
        st = r.stats()
        if pred(st) or time.monotonic() >= end:
            return st
        time.sleep(0.1)


def sessions(st):
    return st.by_type("sessions")[0]


def wait_keepalives(r, n, timeout=5.0):
    """Until the sessions line counts n keepalives (the pinholes are open)."""
    return wait_stat(r, lambda st: sessions(st).get("keepalives", 0) >= n, timeout)


def media(r, lab, ns, dst, ports, count, settle_s=3.0, **kw):
    """send_rtp, then wait until rtprec's workers have received as many packets (no
    assertion: a NAT that drops the media shows in the counts afterwards)."""
    rx0 = r.stats().worker_sum("rx_packets")
    send_rtp(lab, ns, dst, ports, count, **kw)
    wait_stat(r, lambda st: st.worker_sum("rx_packets") >= rx0 + len(ports) * count, settle_s)


def session(r, tmp_path, timeout=10.0):
    """The call's session.json once written, and the stats then."""
    assert wait_for(lambda: any(os.path.exists(d + "/session.json") for d in session_dirs(tmp_path)),
                    timeout), r.diag()
    (d,) = session_dirs(tmp_path)
    return d, json.load(open(d + "/session.json")), r.stats()


def recorded(d, sess):
    """RTP packets per stream in the recording, by tshark: [(stream 1), (stream 2)],
    each the packets to the stream's local port with its SSRC."""
    ports = [s["local_port"] for s in sess["streams"]]
    cmd = ["tshark", "-n", "-r", d + "/media.pcap", "-Y", "rtp", "-T", "fields",
           "-e", "udp.dstport", "-e", "rtp.ssrc"]
    for p in ports:
        cmd[4:4] = ["-d", f"udp.port=={p},rtp"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = [line.split("\t") for line in out.stdout.splitlines() if line]
    return [sum(1 for dport, ssrc in rows if int(dport) == p and int(ssrc, 16) == int(x, 16))
            for p, x in zip(ports, SSRCS)]


def cone(ev):
    """RFC 4787 names for what RFC 5780 found."""
    m, f = ev.get("mapping"), ev.get("filtering")
    if m in ("address-dependent", "address-and-port-dependent"):
        return "symmetric"
    if m == "endpoint-independent":
        return {"endpoint-independent": "1:1", "address-dependent": "address-restricted cone",
                "address-and-port-dependent": "port-restricted cone"}.get(f)
    return None


def nat_path(r, st, sess):
    """The media path as rtprec reports it: the external address and its source with the
    NAT's behaviour (nat events), a TURN relay (session.json "relay"), a re-INVITE
    (sessions "reoffers"), keepalives (sessions "keepalives"), latching (session.json
    "latched" not the SDP's "negotiated")."""
    parts = []
    evs = [e for e in r.events if e.get("event") == "nat" and e.get("complete")]
    if evs and evs[-1].get("source") not in (None, "none"):
        addrs = list(dict.fromkeys(e["external_ip"] for e in evs))
        kind = cone(evs[0])
        parts.append(f"{evs[-1]['source']} {' -> '.join(addrs)}" + (f" ({kind})" if kind else ""))
    relays = sorted({s["relay"]["ip"] for s in sess["streams"] if s.get("relay")})
    if relays:
        parts.append("turn relay " + ", ".join(relays))
    if sessions(st).get("reoffers"):
        parts.append("re-INVITE")
    if sessions(st).get("keepalives") and not relays:
        parts.append("keepalive hole punch")
    moved = [s for s in sess["streams"] if s.get("latched") and s["latched"] != s["negotiated"]]
    if moved:
        ips = sorted({s["latched"]["ip"] for s in moved})
        same = all(s["latched"]["ip"] == s["negotiated"]["ip"] for s in moved)
        parts.append("latching to " + ("other ports" if same else ", ".join(ips)))
    if any(s.get("relatches") for s in sess["streams"]):
        parts.append("relatching")
    return " + ".join(parts) or "direct"


def report(scenario, name, got, sent, path):
    line = f"{scenario} {name}: recorded {got}/{sent} packets via {path}"
    print(line)
    out = os.environ.get("RTPREC_NAT_REPORT")
    if out:
        with open(out, "a") as f:
            f.write(line + "\n")
    return line


def ice_media_bye(r, lab, uac, peer, dst, media, per_stream):
    """ICE calls (N8, N9): once both streams completed, the peer's sockets are closed (the
    SRC's RTP then leaves from its nominated ports, as in the other scenarios), per_stream
    packets go to each stream's port at dst, and the call ends with a BYE."""
    wait_completed(r, n=2)
    peer.close()
    send_rtp(lab, lab.out, dst, [m.port for m in media], per_stream)
    time.sleep(0.5)
    assert uac.bye() == 200


def check_counts(r, tmp_path, per_stream):
    """After the call: session.json, tshark's counts per stream and session.json's
    packets (each must be per_stream); returns (session dir, session.json, stats, counts)."""
    d, sess, st = session(r, tmp_path)
    counts = recorded(d, sess)
    packets = [s["packets"] for s in sess["streams"]]
    assert counts == [per_stream] * 2 and packets == [per_stream] * 2, \
        f"tshark {counts}, session.json {packets}, sent {per_stream} per stream\n{sess}\n{r.diag()}"
    return d, sess, st, counts


def check_recording(r, tmp_path, per_stream):
    """check_counts() of a SIPREC call from SIPp: ended by BYE, metadata, labels, no loss."""
    d, sess, st, counts = check_counts(r, tmp_path, per_stream)
    assert sess["end_reason"] == "bye" and sess["siprec"] is True and sess["metadata"], sess
    assert [s["label"] for s in sess["streams"]] == ["1", "2"], sess
    assert all(s["lost"] == 0 for s in sess["streams"]), sess
    return d, sess, st, counts


def run_call(r, tmp_path, lab, sip_port, per_stream, ns=None, src_ip=SRC_IP, bind=SRC_IP,
             sports=SDP_PORTS, keepalives=0):
    """One call: SIPp offers (SDP address src_ip), the SRC sends per_stream packets on each
    stream from namespace ns (the lab's outside by default) to the answer, SIPp ends it.
    keepalives: wait until rtprec has sent that many before the media (hole punching),
    and check it did.
    Returns a Result: r, ip and ports (the answer), dir, sess (session.json), st (stats
    after the call), counts (tshark, per stream), sent."""
    call = SippCall(sip_port, tmp_path, src_ip=src_ip)
    try:
        ip, ports = call.answer()
        if keepalives:
            wait_keepalives(r, keepalives)
        media(r, lab, ns or lab.out, ip, ports, per_stream, bind=bind, sports=sports)
        call.go()
        call.finish()
    finally:
        call.kill()
    d, sess, st, counts = check_recording(r, tmp_path, per_stream)
    assert sessions(st).get("keepalives", 0) >= keepalives, sessions(st)
    return Result(r=r, ip=ip, ports=ports, dir=d, sess=sess, st=st, counts=counts,
                  sent=2 * per_stream)


class Result(SimpleNamespace):
    def report(self, scenario, name):
        return report(scenario, name, sum(self.counts), self.sent,
                      nat_path(self.r, self.st, self.sess))

    def keepalives(self):
        return sessions(self.st).get("keepalives", 0)

    def check_streams(self, latched, relays=(None, None)):
        """Per stream: "relay" as given, "latched" as given (an address alone: the
        address only)."""
        for s, want, relay in zip(self.sess["streams"], latched, relays):
            assert s["relay"] == relay, s
            got = s["latched"]["ip"] if isinstance(want, str) else s["latched"]
            assert got == want, s


def sdp_addresses(ip=SRC_IP):
    """Each stream's address and port in SIPp's offer."""
    return [{"ip": ip, "port": p} for p in SDP_PORTS]


def behind_nat(start_rtprec, tmp_path, kind, behaviour, nat=(), turn=False, per_stream=50,
               answer=ROUTER_OUT, **call):
    """rtprec behind a NatLab of this kind, coturn outside; the discovery (DISCOVERY and
    nat) must find the router's public address with behaviour = (mapping, filtering);
    then one call (run_call with **call) whose answer must carry the address answer.
    The lab is gone when this returns a Result."""
    with NatLab(kind) as lab:
        lab.start_coturn()
        r, sip_port = start(start_rtprec, tmp_path, lab, dict(DISCOVERY, **dict(nat)), turn=turn)
        _, ev = discovery(r)
        assert (ev["source"], ev["external_ip"]) == ("stun", ROUTER_OUT), ev
        assert (ev["mapping"], ev["filtering"]) == behaviour, ev
        res = run_call(r, tmp_path, lab, sip_port, per_stream, **call)
    assert res.ip == answer, res.ip
    return res
