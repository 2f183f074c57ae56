"""Fixtures and helpers for the rtprec integration tests.

Run with Debian's interpreter (scapy, pytest):
    RTPREC_BIN=build/app/rtprec /usr/bin/python3 -m pytest -p no:cacheprovider tests/integration

Env:
  RTPREC_BIN            binary under test (default: <repo>/build/app/rtprec)
  RTPREC_EAL_MEM_ARGS   EAL memory args (default: --in-memory when 2 MB hugepages are
                        free, else "--no-huge -m 1024")
  RTPREC_TEST_TIMEOUT   per-test limit in seconds (default 120)
"""
import json
import os
import re
import shlex
import signal
import struct
import subprocess
import threading
import shutil
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("RTPREC_BIN", str(REPO / "build" / "app" / "rtprec"))


def _asan_build():
    """True when BIN is linked with ASan (the second integration pass of test.sh)."""
    try:
        out = subprocess.run(["ldd", BIN], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "libasan" in out


ASAN_BUILD = _asan_build()
if not os.path.isabs(BIN):
    BIN = str((REPO / BIN).resolve())
TEST_TIMEOUT = int(os.environ.get("RTPREC_TEST_TIMEOUT", "120"))
READY_TIMEOUT = 20.0

def _drop_reasons():
    """Drop reason names from the X-macro in dataplane/dp_drop.h (the one contract)."""
    try:
        text = (REPO / "dataplane" / "dp_drop.h").read_text()
        names = re.findall(r'X\(\s*[A-Z0-9_]+\s*,\s*"([a-z0-9_]+)"\s*\)', text)
        if names:
            return tuple(names)
    except OSError:
        pass
    return tuple((
        "eth_truncated vlan_truncated not_ipv4 ip_truncated ip_bad_version ip_bad_ihl "
        "ip_options ip_bad_length ip_fragment not_udp udp_truncated udp_bad_length "
        "arp_malformed arp_not_for_us icmp_malformed icmp_not_for_us icmp_unhandled "
        "no_flow flow_drop neigh_hold_full neigh_timeout tx_full record_ring_full "
        "record_no_mbuf event_ring_full").split())


DROP_REASONS = _drop_reasons()


# ---------------------------------------------------------------- per-test timeout
class TestTimeout(Exception):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """A per-test wall-clock limit (SIGALRM in the main thread; no plugin needed)."""
    limit = TEST_TIMEOUT
    m = item.get_closest_marker("timeout_s")
    if m:
        limit = int(m.args[0])

    def on_alarm(signum, frame):
        raise TestTimeout(f"test exceeded {limit}s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def pytest_configure(config):
    config.addinivalue_line("markers", "timeout_s(n): per-test time limit in seconds")
    config.addinivalue_line("markers", "root: needs root (netns, veth)")


# ---------------------------------------------------------------- EAL helpers
def _hugepages_free():
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("HugePages_Free:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _hugetlbfs_mounted():
    try:
        return any(" hugetlbfs " in l for l in open("/proc/mounts"))
    except OSError:
        return False


def eal_mem_args():
    env = os.environ.get("RTPREC_EAL_MEM_ARGS")
    if env:
        return shlex.split(env)
    if _hugetlbfs_mounted() and _hugepages_free() >= 256:
        return ["--in-memory"]
    return ["--no-huge", "-m", "1024"]


def eal_args(*vdevs, prefix=None):
    prefix = prefix or "rtpt" + uuid.uuid4().hex[:10]
    return ["--no-pci", f"--file-prefix={prefix}"] + eal_mem_args() + [f"--vdev={v}" for v in vdevs]


def run_bin(args, timeout=30, **kw):
    """Run rtprec to completion (for --check, --help ...)."""
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=timeout, **kw)


# ---------------------------------------------------------------- YAML config
def _yq(v):
    """A YAML scalar, always quoted (addresses, MACs, paths)."""
    return json.dumps(str(v))


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (SIP listeners of one test)."""
    import socket
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def config_yaml(eal, ports, flows, workers=1, recording_dir=None, dataplane=None, extra=None):
    """Render a config. ports: list of dicts (name, device, ipv4, gateway, gateway_mac, vlan);
    flows: list of dicts (name, match{dst,src}, actions[], forward{to,from,port}, count).
    extra: raw YAML appended (e.g. sip: and media:); without a sip: section the SIP
    listener goes to a free UDP port on 127.0.0.1, never the shared 5060."""
    extra = extra or ""
    if not extra.startswith("sip:") and "\nsip:" not in extra:
        extra = f'sip:\n  listen: ["udp:127.0.0.1:{free_port()}"]\n' + extra
    out = ["dpdk:", "  eal_args:"]
    out += [f"    - {_yq(a)}" for a in eal]
    out.append("ports:")
    for p in ports:
        out.append(f"  - name: {_yq(p['name'])}")
        for k in ("device", "ipv4", "gateway", "gateway_mac", "vlan"):
            if p.get(k) is not None:
                out.append(f"    {k}: {_yq(p[k])}")
    out.append(f"workers: {workers}")
    if recording_dir is not None:
        out += ["recording:", f"  dir: {_yq(recording_dir)}"]
    if dataplane:
        out.append("dataplane:")
        out += [f"  {k}: {v}" for k, v in dataplane.items()]
    out.append("flows:" if flows else "flows: []")
    for f in flows:
        out.append(f"  - name: {_yq(f['name'])}")
        m = f["match"]
        out.append("    match:")
        for k in ("dst", "src"):
            if m.get(k) is not None:
                out.append(f"      {k}: {_yq(m[k])}")
        out.append("    actions: [" + ", ".join(f["actions"]) + "]")
        if f.get("forward"):
            out.append("    forward:")
            for k in ("to", "from", "port"):
                if f["forward"].get(k) is not None:
                    out.append(f"      {k}: {_yq(f['forward'][k])}")
        if f.get("count") is not None:
            out.append(f"    count: {int(f['count'])}")
    return "\n".join(out) + "\n" + extra


# ---------------------------------------------------------------- pcap files
PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D


def read_pcap(path):
    """Return (magic, linktype, [(ts_sec, ts_frac, orig_len, bytes)]) of a libpcap file."""
    data = Path(path).read_bytes()
    assert len(data) >= 24, f"{path}: {len(data)} bytes, no pcap header"
    magic_le = struct.unpack("<I", data[:4])[0]
    if magic_le in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
        e = "<"
    else:
        e = ">"
    magic, _vmaj, _vmin, _tz, _sig, _snap, link = struct.unpack(e + "IHHiIII", data[:24])
    assert magic in (PCAP_MAGIC_US, PCAP_MAGIC_NS), f"{path}: bad magic {magic:#x}"
    recs, off = [], 24
    while off < len(data):
        assert off + 16 <= len(data), f"{path}: truncated record header at {off}"
        sec, frac, incl, orig = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        assert off + incl <= len(data), f"{path}: truncated record at {off}"
        recs.append((sec, frac, orig, data[off:off + incl]))
        off += incl
    return magic, link, recs


def pcap_frames(path):
    return [r[3] for r in read_pcap(path)[2]]


def write_empty_pcap(path):
    Path(path).write_bytes(struct.pack("<IHHiIII", PCAP_MAGIC_US, 2, 4, 0, 0, 65535, 1))


def write_pcap(path, frames, t0=1_700_000_000, step_us=20_000):
    """Write raw Ethernet frames, exactly as given (scapy would re-serialise malformed ones)."""
    out = [struct.pack("<IHHiIII", PCAP_MAGIC_US, 2, 4, 0, 0, 65535, 1)]
    for i, f in enumerate(frames):
        us = i * step_us
        out.append(struct.pack("<IIII", t0 + us // 10**6, us % 10**6, len(f), len(f)))
        out.append(bytes(f))
    Path(path).write_bytes(b"".join(out))


# ---------------------------------------------------------------- running rtprec
class Rtprec:
    """One running rtprec: stdout JSON lines collected by a thread, stderr to a file."""

    def __init__(self, config_path, workdir, extra_args=(), env=None):
        self.workdir = Path(workdir)
        self.stderr_path = self.workdir / f"rtprec-{uuid.uuid4().hex[:6]}.stderr"
        self._stderr = open(self.stderr_path, "w")
        self.events = []
        self.bad_lines = []
        self._cond = threading.Condition()
        e = dict(os.environ)
        if env:
            e.update(env)
        self.cmd = [BIN, "--config", str(config_path)] + list(extra_args)
        self.proc = subprocess.Popen(self.cmd, cwd=str(self.workdir), stdout=subprocess.PIPE,
                                     stderr=self._stderr, stdin=subprocess.DEVNULL,
                                     text=True, env=e)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.returncode = None

    def _read(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                ev = None
            with self._cond:
                if isinstance(ev, dict):
                    self.events.append(ev)
                else:
                    self.bad_lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def stderr_text(self):
        if not self._stderr.closed:
            self._stderr.flush()
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def diag(self):
        tail = "\n".join(self.stderr_text().splitlines()[-40:])
        return (f"cmd: {' '.join(self.cmd)}\nreturncode: {self.proc.poll()}\n"
                f"non-JSON stdout: {self.bad_lines[:5]}\nstderr tail:\n{tail}")

    def wait_event(self, pred, start=0, timeout=10.0):
        """First event at index >= start matching pred; (index, event)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(start, len(self.events)):
                    if pred(self.events[i]):
                        return i, self.events[i]
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no matching event within {timeout}s\n{self.diag()}")
                self._cond.wait(min(left, 0.2))

    def wait_ready(self, timeout=READY_TIMEOUT):
        return self.wait_event(lambda e: e.get("event") == "ready", timeout=timeout)[1]

    def stats(self, timeout=10.0):
        """SIGUSR1, then the stats lines up to the next stats_end, as a Stats."""
        with self._cond:
            start = len(self.events)
        self.proc.send_signal(signal.SIGUSR1)
        end, ev = self.wait_event(lambda e: e.get("event") == "stats_end", start, timeout)
        with self._cond:
            lines = self.events[start:end]
        return Stats(lines, ev)

    def wait_rx(self, n, timeout=15.0):
        """Poll stats until the workers' rx_packets sum reaches n; returns the last Stats."""
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.stats()
            if st.worker_sum("rx_packets") >= n:
                return st
            time.sleep(0.1)
        got = st.worker_sum("rx_packets") if st else None
        raise AssertionError(f"workers rx_packets {got} < {n} after {timeout}s\n{self.diag()}")

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Signal, wait (bounded, then SIGKILL); returns (returncode, final Stats or None)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"rtprec did not stop within {timeout}s of {sig!r}\n{self.diag()}")
        self._reader.join(timeout=5)
        final = None
        with self._cond:
            ends = [i for i, e in enumerate(self.events)
                    if e.get("event") == "stats_end" and e.get("reason") == "exit"]
            if ends:
                prev = [i for i, e in enumerate(self.events[:ends[-1]]) if e.get("event") == "stats_end"]
                start = prev[-1] + 1 if prev else 0
                final = Stats(self.events[start:ends[-1]], self.events[ends[-1]])
        return self.returncode, final

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._stderr.close()


class Stats:
    def __init__(self, lines, end):
        self.end = end
        self.lines = [l for l in lines if l.get("event") == "stats"]
        self.ports = {l["port"]: l for l in self.lines if l.get("type") == "port"}
        self.workers = {l["worker"]: l for l in self.lines if l.get("type") == "worker"}
        self.flows = {l["flow"]: l for l in self.lines if l.get("type") == "flow"}

    def by_type(self, t):
        return [l for l in self.lines if l.get("type") == t]

    def worker_sum(self, key):
        return sum(int(w.get(key, 0)) for w in self.workers.values())

    def worker_drops(self):
        out = {}
        for w in self.workers.values():
            for k, v in w.get("drops", {}).items():
                out[k] = out.get(k, 0) + int(v)
        return out

    def __repr__(self):
        return json.dumps(self.lines, indent=1)


def run_until_rx(cfg, tmp, n, timeout=20):
    """Start rtprec on config text cfg (written to tmp/rtprec.yaml), wait until its workers
    have read n frames, stop it. Returns (Rtprec, ready event, live Stats, exit code, final
    Stats)."""
    (tmp / "rtprec.yaml").write_text(cfg)
    r = Rtprec(tmp / "rtprec.yaml", tmp)
    try:
        ready = r.wait_ready()
        live = r.wait_rx(n, timeout=timeout)
        rc, final = r.stop()
    finally:
        r.kill()
    return r, ready, live, rc, final

def port_mac(ready, name, default=None):
    """The port MAC from the ready event if it carries one (ports: list or dict)."""
    ports = ready.get("ports")
    if isinstance(ports, dict):
        p = ports.get(name)
        if isinstance(p, dict):
            return p.get("mac", default)
        if isinstance(p, str):
            return p
    if isinstance(ports, list):
        for p in ports:
            if isinstance(p, dict) and p.get("name", p.get("port")) == name:
                return p.get("mac", default)
    return default


@pytest.fixture
def rtprec_bin():
    if not os.access(BIN, os.X_OK):
        pytest.fail(f"rtprec binary not found at {BIN} (build it or set RTPREC_BIN)")
    return BIN


@pytest.fixture
def start_rtprec(rtprec_bin, tmp_path):
    """start_rtprec(config_text_or_path, extra_args=()) -> Rtprec; killed at teardown."""
    procs = []

    def start(config, extra_args=(), env=None, name="rtprec.yaml"):
        if isinstance(config, Path):
            path = config
        else:
            path = tmp_path / name
            path.write_text(config)
        r = Rtprec(path, tmp_path, extra_args, env)
        procs.append(r)
        return r

    start.started = procs  # every Rtprec started, in order
    yield start
    for r in procs:
        r.kill()


def sh(cmd, timeout=20, check=True):
    """Run a command (list) with a timeout; returns CompletedProcess (text)."""
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


# The media namespace: a veth pair whose DPDK side rtprec drives with
# net_af_packet and whose kernel side (NS_ADDR) lives in a namespace the test
# makes and removes.
NS_ADDR = "198.18.0.1"
DP_ADDR = "198.18.0.10"


@pytest.fixture
def veth_ns():
    tag = uuid.uuid4().hex[:6]
    ns, host_if, ns_if = f"rtpns{tag}", f"rtpv{tag}a", f"rtpv{tag}b"
    try:
        sh(["ip", "netns", "add", ns])
        sh(["ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if])
        sh(["ip", "link", "set", ns_if, "netns", ns])
        # no IPv6 chatter (router solicitations) on either side
        for cmd in (["sysctl", "-qw", f"net.ipv6.conf.{host_if}.disable_ipv6=1"],
                    ["ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{ns_if}.disable_ipv6=1"]):
            sh(cmd, check=False)
        sh(["ip", "link", "set", host_if, "up"])
        sh(["ip", "netns", "exec", ns, "ip", "addr", "add", f"{NS_ADDR}/24", "dev", ns_if])
        sh(["ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "up"])
        sh(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"])
        # full checksums from the netns (no CHECKSUM_PARTIAL seen by af_packet)
        if shutil.which("ethtool"):
            sh(["ip", "netns", "exec", ns, "ethtool", "-K", ns_if, "tx", "off"], check=False)
        mac = open(f"/sys/class/net/{host_if}/address").read().strip()
        yield dict(ns=ns, host_if=host_if, ns_if=ns_if, host_mac=mac)
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, timeout=20)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
