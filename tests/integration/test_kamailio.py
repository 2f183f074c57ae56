"""Scale-out (issue 9): Debian's Kamailio with docker/kamailio/kamailio.cfg in front of
two rtprec nodes on loopback (own DPDK file prefixes, recording dirs, control sockets
and media port ranges, one veth namespace). Calls from SIPp spread across both nodes by
round robin; with one node drained (rtprecctl drain, 503) every call still succeeds on
the other (failover in the failure_route); resumed, the node takes calls again."""
import json
import os
import re
import shutil
import signal
import subprocess

import pytest

from conftest import REPO, free_port
from test_ops import ctl, metrics, ops_srs
from test_siprec import SIPP_DIR, session_dirs, wait_for

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("sipp")
    or not shutil.which("kamailio"),
    reason="needs root, iproute2, SIPp and kamailio")

KAM_DIR = REPO / "docker" / "kamailio"
CALLS = 10
PING_S = 1  # ds_ping_interval for the test (10 in docker/kamailio)


class Kamailio:
    """kamailio -DD -E (no daemon: the process the test started is the main one, its
    children in the same session), the config from docker/kamailio/ with the
    placeholders given as -A defines and the destination list written to DIR."""

    def __init__(self, tmp_path, nodes):
        self.dir = tmp_path / "kamailio"
        self.dir.mkdir()
        self.port = free_port()
        self.ctl = f"unix:{self.dir / 'ctl'}"
        ds = self.dir / "dispatcher.list"
        ds.write_text("".join(f"1 sip:127.0.0.1:{p} 0 0 node={n}\n" for n, p in nodes.items()))
        self.log = self.dir / "kamailio.log"
        self.cmd = ["kamailio", "-DD", "-E", "-m", "64", "-M", "8", "-n", "2",
                    "-f", str(KAM_DIR / "kamailio.cfg"), "-Y", str(self.dir), "-w", str(self.dir),
                    "-P", str(self.dir / "kamailio.pid"),
                    "-A", f"LISTEN=udp:127.0.0.1:{self.port}", "-A", f'DS_LIST="{ds}"',
                    "-A", f"DS_PING_INTERVAL={PING_S}", "-A", f'CTL_SOCKET="{self.ctl}"']
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def diag(self):
        tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
        return f"kamailio: {' '.join(self.cmd)}\nreturncode: {self.proc.poll()}\n{tail}"

    def flags(self):
        """{node attribute: dispatcher flags} from `kamcmd dispatcher.list`."""
        p = subprocess.run(["kamcmd", "-s", self.ctl, "dispatcher.list"],
                           capture_output=True, text=True, timeout=10)
        return dict((b, f) for f, b in re.findall(r"FLAGS: (\S+).*?BODY: node=(\w+)", p.stdout, re.S))

    def stop(self):
        """SIGTERM to the whole session (main process and children), SIGKILL if needed."""
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


@pytest.fixture
def kamailio(tmp_path):
    started = []

    def start(nodes):
        k = Kamailio(tmp_path, nodes)
        started.append(k)
        return k

    yield start
    for k in started:
        k.stop()


def node(start_rtprec, tmp_path, veth_ns, name, port_min):
    """One rtprec of the pool under tmp_path/name (recordings, control socket); its
    media ports set through the environment (RTPREC_MEDIA_PORT_*)."""
    env = {"RTPREC_MEDIA_PORT_MIN": str(port_min), "RTPREC_MEDIA_PORT_MAX": str(port_min + 999)}
    r, port, mport, sock = ops_srs(
        lambda cfg: start_rtprec(cfg, env=env, name=f"{name}.yaml"), tmp_path / name, veth_ns)
    return dict(name=name, r=r, port=port, mport=mport, sock=sock, dir=tmp_path / name)


def calls(k, n):
    """n SIPREC calls through the proxy (10 a second, each INVITE, ACK, BYE)."""
    cmd = ["sipp", "-sf", str(SIPP_DIR / "siprec_proxy_uac.xml"), "-m", str(n), "-r", "10",
           "-l", "5", "-t", "u1", "-nostdin", "-timeout", "20s", "-timeout_error",
           "-max_recv_loops", "100", "-trace_err", "-p", str(free_port()), f"127.0.0.1:{k.port}"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=str(k.dir))
    assert p.returncode == 0, f"SIPp: {p.returncode}\n{p.stdout[-2500:]}\n{p.stderr[-1500:]}\n{k.diag()}"


def finished(nd):
    """Sessions of a node whose session.json is written, as {dir: end_reason}."""
    out = {}
    for d in session_dirs(nd["dir"]):
        try:
            out[d] = json.load(open(d + "/session.json"))["end_reason"]
        except (OSError, ValueError):
            pass
    return out


def settle(nodes, total):
    """Wait until the nodes' finished sessions add up to total; their counts."""
    assert wait_for(lambda: sum(len(finished(nd)) for nd in nodes) >= total, timeout=10), \
        [len(finished(nd)) for nd in nodes]
    return [len(finished(nd)) for nd in nodes]


def answered(nd, method, code):
    return metrics(nd["mport"]).get(
        f'rtprec_sip_responses_total{{method="{method}",code="{code}"}}', 0)


@pytest.mark.timeout_s(90)
def test_dispatcher_spreads_and_fails_over(start_rtprec, tmp_path, veth_ns, kamailio):
    a = node(start_rtprec, tmp_path, veth_ns, "a", 30000)
    b = node(start_rtprec, tmp_path, veth_ns, "b", 31000)
    k = kamailio({"a": a["port"], "b": b["port"]})
    # both nodes probed with OPTIONS (rtprec answers 200) and active in the dispatcher
    assert wait_for(lambda: all(answered(nd, "OPTIONS", 200) >= 1 for nd in (a, b)),
                    timeout=10), k.diag()
    assert wait_for(lambda: k.flags() == {"a": "AP", "b": "AP"}, timeout=5), (k.flags(), k.diag())

    # 1. spread: round robin over both
    calls(k, CALLS)
    na, nb = settle((a, b), CALLS)
    assert na >= 2 and nb >= 2, (na, nb)
    assert set(finished(a).values()) | set(finished(b).values()) == {"bye"}

    # 2. a drained: its INVITEs get 503 (kamailio marks it and sends them to b) and so do
    # its OPTIONS (the probes keep it out until it resumes)
    ctl(a["sock"], "drain")
    calls(k, CALLS)
    assert settle((a, b), 2 * CALLS) == [na, nb + CALLS]
    assert answered(a, "INVITE", 503) >= 1, "a was never tried: no failover shown"
    assert "answered 503: marked inactive" in k.log.read_text(errors="replace"), k.diag()
    assert wait_for(lambda: answered(a, "OPTIONS", 503) >= 1, timeout=3 * PING_S + 5), \
        "a drained node must answer OPTIONS probes with 503"
    assert ctl(a["sock"], "status")[1]["draining"] is True

    # 3. a resumed: the next probe (OPTIONS 200) makes it active, calls reach it again
    ctl(a["sock"], "resume")
    assert wait_for(lambda: k.flags().get("a", "").startswith("A"), timeout=3 * PING_S + 5), \
        (k.flags(), k.diag())
    calls(k, CALLS)
    na2, nb2 = settle((a, b), 3 * CALLS)
    assert na2 - na >= 2 and nb2 - (nb + CALLS) >= 2, (na, nb, na2, nb2)
    assert k.proc.poll() is None, k.diag()
    # each node offered media ports of its own range only
    for nd, lo in ((a, 30000), (b, 31000)):
        used = {st["local_port"] for d in finished(nd)
                for st in json.load(open(d + "/session.json"))["streams"]}
        assert used and all(lo <= x <= lo + 999 for x in used), (nd["name"], sorted(used))
    for nd in (a, b):
        assert nd["r"].stop()[0] == 0, nd["r"].diag()
