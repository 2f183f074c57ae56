"""SIPREC calls through the real binary: SIPp as the SRC on loopback, the media
from a network namespace over a veth pair into net_af_packet. Checks what
SIPp saw, what tshark decodes in the recording, and session.json."""
import glob
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import ASAN_BUILD, DP_ADDR, config_yaml, eal_args, free_port, sh

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("sipp"),
    reason="needs root, iproute2 and SIPp (sip-tester)")

HERE = Path(__file__).resolve().parent
SIPP_DIR = HERE.parent / "sipp"
PY = "/usr/bin/python3"


def start_srs(start_rtprec, tmp_path, v, sip_extra="", media_extra="", dataplane=None,
              ports=(30000, 39999)):
    port = free_port()
    extra = (f'sip:\n  listen: ["udp:127.0.0.1:{port}", "tcp:127.0.0.1:{port}"]\n{sip_extra}'
             f"media:\n  port_min: {ports[0]}\n  port_max: {ports[1]}\n{media_extra}")
    cfg = config_yaml(
        eal=eal_args(f"net_af_packet0,iface={v['host_if']}"),
        ports=[dict(name="media0", device="net_af_packet0", ipv4=f"{DP_ADDR}/24")],
        recording_dir=str(tmp_path / "rec"), flows=[], extra=extra, dataplane=dataplane)
    r = start_rtprec(cfg)
    r.wait_ready()
    return r, port


def run_sipp(scenario, port, transport="u1", keys=None, timeout=60, extra=()):
    cmd = ["sipp", "-sf", str(SIPP_DIR / scenario), "-m", "1", "-t", transport,
           "-nostdin", "-timeout", f"{timeout - 10}s", "-timeout_error", "-max_recv_loops", "100",
           "-trace_err", "-p", str(free_port()), f"127.0.0.1:{port}"]
    for k, val in (keys or {}).items():
        cmd += ["-key", k, str(val)]
    cmd += list(extra)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/tmp")


def session_dirs(tmp_path):
    return sorted(glob.glob(str(tmp_path / "rec" / "*" / "*" / "*" / "*")))


def first_session(tmp_path, timeout=10.0):
    """The first call's session.json, waited for (an assertion fails without it)."""
    assert wait_for(lambda: session_dirs(tmp_path) and
                    os.path.exists(session_dirs(tmp_path)[0] + "/session.json"), timeout), \
        f"no session.json under {tmp_path} within {timeout}s"
    with open(session_dirs(tmp_path)[0] + "/session.json") as f:
        return json.load(f)


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def rtp_counts(pcap):
    """Packets per UDP destination port that tshark decodes as RTP."""
    p = subprocess.run(["tshark", "-r", pcap, "-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp",
                        "-T", "fields", "-e", "udp.dstport"],
                       capture_output=True, text=True, timeout=60)
    counts = {}
    for line in p.stdout.split():
        counts[int(line)] = counts.get(int(line), 0) + 1
    return counts


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_siprec_call_pause_resume(start_rtprec, tmp_path, veth_ns, transport):
    v = veth_ns
    r, port = start_srs(start_rtprec, tmp_path, v)
    rtpcmd = f"ip netns exec {v['ns']} {PY} {HERE / 'rtp_send.py'} {DP_ADDR}"
    p = run_sipp("siprec_uac.xml", port, transport,
                 keys={"rtpcmd": rtpcmd})
    assert p.returncode == 0, f"SIPp failed:\n{p.stdout[-3000:]}\n{p.stderr[-2000:]}\n{r.diag()}"
    assert wait_for(lambda: any(os.path.exists(d + "/session.json") for d in session_dirs(tmp_path))), r.diag()
    (d,) = session_dirs(tmp_path)
    sess = json.load(open(d + "/session.json"))
    assert sess["end_reason"] == "bye"
    assert sess["siprec"] is True and sess["metadata"] is True
    assert sess["recording_session_id"] == "sess-42"
    assert {(x["name"], x["aor"]) for x in sess["participants"]} == {
        ("Alice", "sip:alice@example.com"), ("Bob", "sip:bob@example.com")}
    s1, s2 = sess["streams"]
    assert (s1["label"], s2["label"]) == ("1", "2")
    assert s1["negotiated"] == {"ip": "198.18.0.1", "port": 40000}
    assert s1["latched"]["ip"] == "198.18.0.1" and s2["latched"]["ip"] == "198.18.0.1"
    assert "rtpmap:101 telephone-event/8000" in s1["codecs"] and "rtpmap:8 PCMA/8000" in s2["codecs"]
    # every packet sent reached the flows (75 per stream), none lost
    assert (s1["packets"], s2["packets"]) == (75, 75)
    assert s1["lost"] == 0 and s2["lost"] == 0
    # the recording: stream 2 has nothing from its paused interval
    counts = rtp_counts(d + "/media.pcap")
    assert counts == {s1["local_port"]: 75, s2["local_port"]: 55}, counts
    md = open(d + "/metadata.xml").read()
    assert md.count("<received seq=") == 3 and "sess-42" in md
    r.stop()


def sip_request(port, text, timeout=5.0):
    """Send one SIP request over UDP, return the final status code (ignores 1xx)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    lport = s.getsockname()[1]
    s.settimeout(timeout)
    s.sendto(text.replace("LPORT", str(lport)).replace("\n", "\r\n").encode(), ("127.0.0.1", port))
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        data = s.recv(65535).decode(errors="replace")
        code = int(data.split(" ", 2)[1])
        if code >= 200:
            return code, data
    raise AssertionError("no final response")


def invite(body, ctype="application/sdp", extra=""):
    cid = uuid.uuid4().hex
    return (f"INVITE sip:srs@127.0.0.1 SIP/2.0\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:LPORT;branch=z9hG4bK{cid[:10]};rport\n"
            f"From: <sip:src@127.0.0.1>;tag={cid[:8]}\nTo: <sip:srs@127.0.0.1>\n"
            f"Call-ID: {cid}\nCSeq: 1 INVITE\nContact: <sip:src@127.0.0.1:LPORT>;+sip.src\n"
            f"Max-Forwards: 70\n{extra}Content-Type: {ctype}\nContent-Length: {len(body.replace(chr(10), chr(13) + chr(10)))}\n\n{body}")


SDP = ("v=0\no=SRC 1 1 IN IP4 198.18.0.1\ns=-\nc=IN IP4 198.18.0.1\nt=0 0\n"
       "m=audio 40000 RTP/AVP 0\na=label:1\na=sendonly\n")


@pytest.mark.parametrize("case,extra,body,ctype,code", [
    ("no usable media", "", SDP.replace("40000", "0"), "application/sdp", 488),
    ("no boundary", "", "--x\n\n" + SDP, "multipart/mixed", 400),
    ("bad sdp", "", "this is not sdp\n", "application/sdp", 400),
    ("unsupported body", "", "hello\n", "text/plain", 415),
    ("unknown require", "Require: siprec, 100rel-extra\n", SDP, "application/sdp", 420),
    ("accept excludes sdp", "Accept: application/rs-metadata+xml, text/plain\n", SDP,
     "application/sdp", 406),
])
def test_refusals(start_rtprec, tmp_path, veth_ns, case, extra, body, ctype, code):
    r, port = start_srs(start_rtprec, tmp_path, veth_ns)
    got, data = sip_request(port, invite(body, ctype, extra))
    assert got == code, f"{case}: {data}"
    if code == 420:
        assert "Unsupported: 100rel-extra" in data
    elif code != 415:
        assert "Warning: 399" in data
    r.stop()


def test_cancel_before_answer(start_rtprec, tmp_path, veth_ns):
    """INVITE and CANCEL sent back to back: rtprec reads both before the
    workers confirm the new flows, so the CANCEL meets a pending INVITE:
    200 to the CANCEL, 487 to the INVITE (absorbed by our ACK), and the
    session ends with reason "cancel". Racing the answer, a try can lose
    (the 200 came first): then the call is ended with BYE and retried."""
    r, port = start_srs(start_rtprec, tmp_path, veth_ns)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(1.0)
    lport = s.getsockname()[1]
    won = 0
    for attempt in range(5):
        inv = invite(SDP).replace("LPORT", str(lport))
        head = {l.split(":", 1)[0]: l.split(":", 1)[1].strip() for l in inv.split("\n")[1:8] if ":" in l}
        common = (f"Via: {head['Via']}\nFrom: {head['From']}\nTo: {head['To']}\n"
                  f"Call-ID: {head['Call-ID']}\n")
        cancel = (f"CANCEL sip:srs@127.0.0.1 SIP/2.0\n{common}CSeq: 1 CANCEL\n"
                  "Max-Forwards: 70\nContent-Length: 0\n\n")
        s.sendto(inv.replace("\n", "\r\n").encode(), ("127.0.0.1", port))
        s.sendto(cancel.replace("\n", "\r\n").encode(), ("127.0.0.1", port))
        finals = {}
        end = time.monotonic() + 5
        while len(finals) < 2 and time.monotonic() < end:
            try:
                data = s.recv(65535).decode(errors="replace")
            except socket.timeout:
                continue
            if f"Call-ID: {head['Call-ID']}" not in data:
                continue  # a late answer for an earlier try (its BYE's 200)
            code = int(data.split(" ", 2)[1])
            method = [l for l in data.split("\r\n") if l.startswith("CSeq:")][0].split()[-1]
            if code >= 200:
                finals[method] = (code, data)
        assert "INVITE" in finals, finals
        code, data = finals["INVITE"]
        # won: 200 to the CANCEL; lost (the 2xx went first and ended the INVITE
        # transaction): 200 or 481 (RFC 3261 9.2, no matching transaction)
        assert finals.get("CANCEL", (0,))[0] in ((200,) if code == 487 else (200, 481)), finals
        to = [l for l in data.split("\r\n") if l.startswith("To:")][0][3:].strip()
        if code == 487:
            ack = (f"ACK sip:srs@127.0.0.1 SIP/2.0\n{common.replace(head['To'], to)}"
                   "CSeq: 1 ACK\nMax-Forwards: 70\nContent-Length: 0\n\n")
            s.sendto(ack.replace("\n", "\r\n").encode(), ("127.0.0.1", port))
            won += 1
            break
        assert code == 200, data   # lost the race: answered before the CANCEL
        bye = (f"BYE sip:srs@127.0.0.1 SIP/2.0\n"
               f"{common.replace(head['To'], to).replace('branch=z9hG4bK', 'branch=z9hG4bKbye')}"
               "CSeq: 2 BYE\nMax-Forwards: 70\nContent-Length: 0\n\n")
        s.sendto(bye.replace("\n", "\r\n").encode(), ("127.0.0.1", port))
    assert won == 1, "every INVITE was answered before its CANCEL"
    # no 487 retransmission after the ACK (the INVITE transaction took it)
    time.sleep(0.2)
    s.settimeout(0.05)
    try:
        while True:
            s.recv(65535)
    except socket.timeout:
        pass
    s.settimeout(1.5)
    with pytest.raises(socket.timeout):
        s.recv(65535)
    assert wait_for(lambda: all(os.path.exists(d + "/session.json") for d in session_dirs(tmp_path)))
    reasons = [json.load(open(d + "/session.json"))["end_reason"] for d in session_dirs(tmp_path)]
    assert reasons.count("cancel") == 1 and len(reasons) == attempt + 1, reasons
    (sessions,) = [l for l in r.stats().lines if l.get("type") == "sessions"]
    assert sessions["active"] == 0
    r.stop()


def test_media_addresses(start_rtprec, tmp_path, veth_ns):
    """media.addresses: a second call (the first one still up) is answered on
    the address with the most free ports; the dataplane answers ARP and
    ping for it, and RTP sent there is recorded for that call."""
    v = veth_ns
    extra_ip = DP_ADDR.rsplit(".", 1)[0] + ".11"
    r, port = start_srs(start_rtprec, tmp_path, v,
                        media_extra=f"  addresses: [{DP_ADDR}, {extra_ip}]\n")
    answers = []
    for _ in range(2):
        code, data = sip_request(port, invite(SDP))
        assert code == 200, data
        c_line = [l for l in data.split("\r\n") if l.startswith("c=IN IP4 ")][0]
        m_line = [l for l in data.split("\r\n") if l.startswith("m=audio ")][0]
        answers.append((c_line.split()[-1], int(m_line.split()[1])))
    assert [a[0] for a in answers] == [DP_ADDR, extra_ip], answers
    ping = sh(["ip", "netns", "exec", v["ns"], "ping", "-c", "2", "-W", "2", extra_ip], check=False)
    assert ping.returncode == 0, ping.stdout
    ip, rtp_port = answers[1]
    sh(["ip", "netns", "exec", v["ns"], PY, str(HERE / "rtp_send.py"), ip, str(rtp_port),
        str(rtp_port), "20", "1", "first"])
    r.stop()
    dirs = session_dirs(tmp_path)
    by_ip = {}
    for d in dirs:
        sess = json.load(open(d + "/session.json"))
        (st,) = sess["streams"]
        by_ip[st["local"]["ip"]] = (st, d)
    st, d = by_ip[extra_ip]
    assert st["local"]["port"] == rtp_port and st["packets"] == 20
    assert rtp_counts(d + "/media.pcap") == {rtp_port: 20}
    assert by_ip[DP_ADDR][0]["packets"] == 0


def thread_cpu_s(pid, name):
    """CPU seconds used so far by the threads of pid called name."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for t in glob.glob(f"/proc/{pid}/task/*"):
        try:
            if open(t + "/comm").read().strip() != name:
                continue
            f = open(t + "/stat").read().rsplit(")", 1)[1].split()
            total += (int(f[11]) + int(f[12])) / tick
        except OSError:
            pass
    return total


def test_idle_sleep(start_rtprec, tmp_path, veth_ns):
    """dataplane.idle_sleep_us: with nothing to receive the worker sleeps
    (well under a core), and a call after the quiet spell is recorded whole."""
    v = veth_ns
    r, port = start_srs(start_rtprec, tmp_path, v, dataplane={"idle_sleep_us": 500})
    time.sleep(0.5)
    c0 = thread_cpu_s(r.proc.pid, "rte-worker-1")
    time.sleep(2.0)
    used = thread_cpu_s(r.proc.pid, "rte-worker-1") - c0
    assert used < 0.6, f"idle worker used {used:.2f} s of CPU in 2 s"
    code, data = sip_request(port, invite(SDP))
    assert code == 200, data
    rtp_port = int([l for l in data.split("\r\n") if l.startswith("m=audio ")][0].split()[1])
    sh(["ip", "netns", "exec", v["ns"], PY, str(HERE / "rtp_send.py"), DP_ADDR, str(rtp_port),
        str(rtp_port), "30", "1", "first"])
    r.stop()
    (d,) = session_dirs(tmp_path)
    assert rtp_counts(d + "/media.pcap") == {rtp_port: 30}


def test_source_not_allowed(start_rtprec, tmp_path, veth_ns):
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, sip_extra='  allow: ["10.0.0.0/8"]\n')
    got, _ = sip_request(port, invite(SDP))
    assert got == 403
    r.stop()


def test_session_limit(start_rtprec, tmp_path, veth_ns):
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, sip_extra="  max_sessions: 1\n")
    assert sip_request(port, invite(SDP))[0] == 200   # holds the only slot
    got, data = sip_request(port, invite(SDP))
    assert got == 503 and "Retry-After:" in data
    (sessions,) = [l for l in r.stats().lines if l.get("type") == "sessions"]
    assert (sessions["active"], sessions["total"], sessions["refused"]) == (1, 1, {"503": 1})
    r.stop()


def test_media_timeout_bye(start_rtprec, tmp_path, veth_ns):
    v = veth_ns
    r, port = start_srs(start_rtprec, tmp_path, v, media_extra="  timeout_s: 2\n")
    rtpcmd = f"ip netns exec {v['ns']} {PY} {HERE / 'rtp_send.py'} {DP_ADDR}"
    t0 = time.monotonic()
    p = run_sipp("siprec_timeout_uac.xml", port, keys={"rtpcmd": rtpcmd})
    assert p.returncode == 0, f"SIPp got no BYE:\n{p.stdout[-2000:]}\n{r.diag()}"
    assert time.monotonic() - t0 >= 2.0
    assert wait_for(lambda: any(os.path.exists(d + "/session.json") for d in session_dirs(tmp_path)))
    (d,) = session_dirs(tmp_path)
    sess = json.load(open(d + "/session.json"))
    assert sess["end_reason"] == "media timeout"
    assert [s["packets"] for s in sess["streams"]] == [10, 10]
    r.stop()


def test_tls_invite(start_rtprec, tmp_path, veth_ns):
    import ssl
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-days", "1", "-keyout", str(key), "-out", str(cert)], timeout=60)
    port = free_port()
    extra = (f'sip:\n  listen: ["tls:127.0.0.1:{port}"]\n  tls_cert: "{cert}"\n  tls_key: "{key}"\n'
             "media:\n  port_min: 31000\n  port_max: 31999\n")
    cfg = config_yaml(eal=eal_args(f"net_af_packet0,iface={veth_ns['host_if']}"),
                      ports=[dict(name="media0", device="net_af_packet0", ipv4=f"{DP_ADDR}/24")],
                      recording_dir=str(tmp_path / "rec"), flows=[], extra=extra)
    r = start_rtprec(cfg, name="tls.yaml")
    r.wait_ready()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as s:
        msg = invite(SDP).replace("SIP/2.0/UDP", "SIP/2.0/TLS").replace("LPORT", "5099")
        s.sendall(msg.replace("\n", "\r\n").encode())
        data, code = b"", 0
        end = time.monotonic() + 5
        while code < 200 and time.monotonic() < end:
            data += s.recv(65535)
            codes = [int(l.split()[1]) for l in data.decode(errors="replace").split("\r\n")
                     if l.startswith("SIP/2.0 ")]
            code = max(codes or [0])
    text = data.decode(errors="replace")
    assert code == 200, text
    assert "+sip.srs" in text and "transport=tls" in text.lower()
    r.stop()


def test_load_200_cps(start_rtprec, tmp_path, veth_ns):
    """200 calls/s for 30 s (10 s on the ASan build: memory errors, not capacity, are
    what that pass is for): no failed call, every session finalised; the worker line
    reports each ring's size and high-water mark (commands: at least the flows of one
    call, never above the size)."""
    calls = int(os.environ.get("RTPREC_LOAD_CALLS", "2000" if ASAN_BUILD else "6000"))
    r, port = start_srs(start_rtprec, tmp_path, veth_ns)
    cmd = ["sipp", "-sf", str(SIPP_DIR / "siprec_load_uac.xml"), "-m", str(calls), "-r", "200",
           "-l", "1000", "-t", "u1", "-nostdin", "-timeout", "90s", "-timeout_error",
           "-max_recv_loops", "1000", "-trace_err", "-trace_stat", "-p", str(free_port()),
           f"127.0.0.1:{port}"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd="/tmp")
    assert p.returncode == 0, f"{p.stdout[-3000:]}\n{r.diag()}"
    done = lambda: len(glob.glob(str(tmp_path / "rec" / "*" / "*" / "*" / "*" / "session.json")))
    assert wait_for(lambda: done() == calls, timeout=30), (done(), r.diag())
    rings = r.stop()[1].workers[0]["rings"]
    assert set(rings) == {"cmd", "event", "punt", "txreq", "record"}, rings
    assert all(0 <= x["high"] <= x["size"] and x["size"] > 0 for x in rings.values()), rings
    assert rings["cmd"]["high"] >= 1 and rings["event"]["high"] >= 1, rings
