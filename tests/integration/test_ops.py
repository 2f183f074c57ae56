"""Operations (issue 9): Prometheus /metrics on metrics.listen, rtprecctl over
control.socket (status, sessions, session, stop, drain/resume, log-level, nat-recheck,
reload, SIGHUP), and DPDK telemetry commands answered through dpdk-telemetry's socket."""
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import BIN, free_port
from sip_uac import Uac
from test_latch import send
from test_pause import offer
from test_siprec import start_srs

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"),
                                reason="needs root and iproute2")

CTL = str(Path(BIN).parent / "rtprecctl")
SAMPLE = re.compile(r'^rtprec_[a-z0-9_]+(\{([a-z_]+="[^"]*",?)*\})? [0-9.e+-]+$')


def ops_srs(start_rtprec, tmp_path, veth_ns, sip_extra=""):
    mport, sock = free_port(), str(tmp_path / "ctl" / "rtprec.sock")
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, sip_extra=sip_extra + (
        f'metrics:\n  listen: "127.0.0.1:{mport}"\ncontrol:\n  socket: "{sock}"\n'))
    return r, port, mport, sock


def ctl(sock, *args, check=True):
    p = subprocess.run([CTL, "-s", sock, *args], capture_output=True, text=True, timeout=30)
    if check:
        assert p.returncode == 0, (args, p.returncode, p.stdout, p.stderr)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else None)


def metrics(mport):
    with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=5) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
        text = resp.read().decode()
    out, family, seen = {}, None, set()
    for line in text.splitlines():
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (rtprec_[a-z0-9_]+) ", line)
            assert m, line
            if m.group(1) == "TYPE":  # one group per family (the exposition format)
                family = m.group(2)
                assert family not in seen, line
                seen.add(family)
            continue
        assert SAMPLE.match(line), line
        assert line.split("{")[0].split(" ")[0] == family, (family, line)
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out


def test_metrics_and_ctl(start_rtprec, tmp_path, veth_ns):
    r, port, mport, sock = ops_srs(start_rtprec, tmp_path, veth_ns)
    uac = Uac(port)
    code, resp = uac.invite(offer(1, "sendonly", "sendonly"))
    assert code == 200, resp
    p1 = int(re.search(r"^m=audio (\d+) ", resp.split("\r\n\r\n", 1)[1], re.M).group(1))
    send(veth_ns, "198.18.0.10", p1, [(40000, 20)])
    time.sleep(0.3)
    m = metrics(mport)
    assert m["rtprec_sessions_active"] == 1 and m["rtprec_streams_active"] == 2, m
    assert m['rtprec_port_rx_packets_total{port="media0"}'] >= 20
    assert m['rtprec_port_rx_nombuf_total{port="media0"}'] == 0  # the pool never ran dry
    assert m['rtprec_sip_responses_total{method="INVITE",code="200"}'] == 1
    assert 'rtprec_ring_size_entries{worker="0",ring="cmd"}' in m
    assert m['rtprec_worker_busy_ratio{worker="0"}'] <= 1
    _, st = ctl(sock, "status")
    assert st["sessions_active"] == 1 and st["draining"] is False and st["workers"] == 1, st
    _, ss = ctl(sock, "sessions")
    (sess,) = ss["sessions"]
    _, one = ctl(sock, "session", sess["id"])
    assert one["session"]["session_id"] == sess["id"] and len(one["session"]["streams"]) == 2
    assert ctl(sock, "session", "nope", check=False)[0] == 1
    _, stats = ctl(sock, "stats")
    assert {x["type"] for x in stats["stats"]} >= {"sip", "port", "worker", "recorder", "sessions"}
    (sip,) = [x for x in stats["stats"] if x["type"] == "sip"]
    assert sip["requests_in"] >= 1 and sip["responses_out"] >= 1, sip
    assert ctl(sock, "nat")[1]["nat"][0]["type"] == "nat"
    assert ctl(sock, "nat-recheck")[0] == 0 and ctl(sock, "log-level", "debug")[0] == 0
    assert ctl(sock, "log-level", "loud", check=False)[0] == 1
    assert ctl(sock, "frobnicate", check=False)[0] == 1
    # drain: new calls 503; resume: accepted again
    ctl(sock, "drain")
    other = Uac(port)
    assert other.invite(offer(1, "sendonly", "sendonly"))[0] == 503
    ctl(sock, "resume")
    assert other.invite(offer(1, "sendonly", "sendonly"))[0] == 200
    # stop: rtprec sends BYE to the SRC and the session ends
    ctl(sock, "stop", sess["id"])
    bye = uac.wait_request("BYE", timeout=5)
    assert "stopped by the operator" in bye, bye
    uac.reply(bye, 200)
    time.sleep(0.3)
    assert metrics(mport)["rtprec_sessions_active"] == 1  # the other call
    assert other.bye() == 200
    r.stop()
    assert not os.path.exists(sock)  # removed at exit
    uac.close()
    other.close()


def test_reload_acl_by_ctl_and_sighup(start_rtprec, tmp_path, veth_ns):
    r, port, mport, sock = ops_srs(start_rtprec, tmp_path, veth_ns,
                                   sip_extra='  allow: ["127.0.0.0/8"]\n')
    cfg = Path(r.proc.args[r.proc.args.index("--config") + 1])
    text = cfg.read_text()
    uac = Uac(port)
    assert uac.invite(offer(1, "sendonly", "sendonly"))[0] == 200
    cfg.write_text(text.replace('"127.0.0.0/8"', '"10.0.0.0/8"'))
    assert ctl(sock, "reload")[0] == 0
    assert Uac(port).invite(offer(1, "sendonly", "sendonly"))[0] == 403
    cfg.write_text(text.replace("127.0.0.0/8", "127.0.0.0/8\", \"10.0.0.0/8"))
    r.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert Uac(port).invite(offer(1, "sendonly", "sendonly"))[0] == 200
    cfg.write_text(text.replace("allow:", "allow: [oops"))
    code, ans = ctl(sock, "reload", check=False)
    assert code == 1 and "errors" in ans["error"], ans
    assert Uac(port).invite(offer(1, "sendonly", "sendonly"))[0] == 200  # unchanged
    r.stop()
    uac.close()


def telemetry(prefix, cmd):
    paths = glob.glob(f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2")
    assert paths, f"no telemetry socket for {prefix}"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(15)
    s.connect(paths[0])
    json.loads(s.recv(16384))  # the greeting
    s.send(cmd.encode())
    out = json.loads(s.recv(65536))
    s.close()
    return out


def test_telemetry_commands(start_rtprec, tmp_path, veth_ns):
    r, port, mport, sock = ops_srs(start_rtprec, tmp_path, veth_ns)
    prefix = re.search(r"--file-prefix=(\S+?)\"", Path(r.proc.args[-1]).read_text()).group(1)
    uac = Uac(port)
    assert uac.invite(offer(1, "sendonly", "sendonly"))[0] == 200
    listed = telemetry(prefix, "/")["/"]
    assert {"/rtprec/status", "/rtprec/stats", "/rtprec/sessions", "/rtprec/session",
            "/rtprec/flows", "/rtprec/nat"} <= set(listed), listed
    st = json.loads(telemetry(prefix, "/rtprec/status")["/rtprec/status"])
    assert st["ok"] and st["sessions_active"] == 1, st
    ss = json.loads(telemetry(prefix, "/rtprec/sessions")["/rtprec/sessions"])
    sid = ss["sessions"][0]["id"]
    one = json.loads(telemetry(prefix, f"/rtprec/session,{sid}")["/rtprec/session"])
    assert one["session"]["session_id"] == sid
    stats = json.loads(telemetry(prefix, "/rtprec/stats")["/rtprec/stats"])
    assert any(x["type"] == "worker" for x in stats["stats"]), stats
    if shutil.which("dpdk-telemetry.py"):  # DPDK's own client, as an operator runs it
        p = subprocess.run(["dpdk-telemetry.py", "-f", prefix], input="/rtprec/status\n",
                           capture_output=True, text=True, timeout=30)
        assert '"/rtprec/status"' in p.stdout and "sessions_active" in p.stdout, p
    assert uac.bye() == 200
    r.stop()
    uac.close()


def test_json_logs_carry_the_session(start_rtprec, tmp_path, veth_ns):
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, sip_extra="log:\n  format: json\n")
    uac = Uac(port)
    code, resp = uac.invite(offer(1, "sendonly", "sendonly"))
    assert code == 200, resp
    assert uac.bye() == 200
    r.stop()
    lines = [json.loads(x) for x in r.stderr_path.read_text().splitlines() if x.startswith("{")]
    assert lines and all({"time", "level", "msg"} <= set(x) for x in lines), lines[:3]
    started = [x for x in lines if "call " in x["msg"] and "from" in x["msg"]]
    assert started and re.fullmatch(r"[0-9a-f]{32}", started[0]["session"]), started
    uac.close()


def test_runs_as_process_user(start_rtprec, tmp_path, veth_ns):
    """process.user: once started every thread runs as that user (nobody here), with no
    capability; calls are still answered and recorded into the directory given to it,
    and rtprecctl still reaches the (root-owned) control socket."""
    for d in (tmp_path, *tmp_path.parents[:2]):  # pytest's dirs are 0700: let nobody in
        os.chmod(d, 0o711)
    r, port, mport, sock = ops_srs(start_rtprec, tmp_path, veth_ns,
                                   sip_extra="process:\n  user: nobody\n")
    pid = r.proc.pid
    for task in os.listdir(f"/proc/{pid}/task"):
        status = open(f"/proc/{pid}/task/{task}/status").read()
        uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
        assert set(uids) == {"65534"}, (task, uids)
        assert re.search(r"^CapEff:\s+0+$", status, re.M), (task, status)
    uac = Uac(port)
    code, resp = uac.invite(offer(1, "sendonly", "sendonly"))
    assert code == 200, resp + r.diag()
    assert ctl(sock, "status")[1]["sessions_active"] == 1
    assert uac.bye() == 200
    r.stop()
    (sess,) = glob.glob(str(tmp_path / "rec" / "*" / "*" / "*" / "*" / "session.json"))
    assert os.stat(sess).st_uid == 65534
    uac.close()


def test_reload_after_process_user_with_root_only_tls_key(start_rtprec, tmp_path):
    """After the switch to process.user the TLS key (mode 0600, root's) cannot be read any
    more; a reload must still apply what it can (sip.allow here): the key, a restart-only
    key, used to fail the reload as 'cannot read' (every reload refused)."""
    from conftest import config_yaml, eal_args
    for d in (tmp_path, *tmp_path.parents[:2]):  # pytest's dirs are 0700: let nobody in
        os.chmod(d, 0o711)
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=rtprec"],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    sock = str(tmp_path / "ctl" / "rtprec.sock")
    sip = (f'sip:\n  listen: ["udp:127.0.0.1:{free_port()}", "tls:127.0.0.1:{free_port()}"]\n'
           f'  tls_cert: "{cert}"\n  tls_key: "{key}"\n  allow: ["127.0.0.0/8"]\n'
           f'control:\n  socket: "{sock}"\nprocess:\n  user: nobody\n')
    text = config_yaml(eal_args("net_null0"), [dict(name="p0", device="net_null0",
                                                    ipv4="192.0.2.10/24")], [],
                       recording_dir=str(tmp_path / "rec"), extra=sip)
    r = start_rtprec(text)
    r.wait_ready()
    assert "running as nobody" in r.stderr_text(), r.diag()
    cfg = tmp_path / "rtprec.yaml"
    cfg.write_text(text.replace('"127.0.0.0/8"', '"10.0.0.0/8"'))
    code, ans = ctl(sock, "reload", check=False)
    assert code == 0 and ans["ok"], (ans, r.diag())
    assert "cannot read" not in r.stderr_text(), r.diag()
    r.stop()
