"""A NAT lab in network namespaces (../shared/NAT-LAB.md): rtprec's DPDK port
(net_af_packet on the root-namespace end of a veth pair, no kernel address) sits
behind a router namespace doing nftables NAT; an "outside" namespace holds two
addresses and coturn (STUN/TURN, RFC 5780 with OTHER-ADDRESS). Everything is
created by the test and removed at the end; traffic stays inside these namespaces.

kinds: "port-restricted" (masquerade), "symmetric" (masquerade fully-random),
"one-to-one" (static dnat + snat: endpoint-independent mapping and filtering)."""
import shutil
import subprocess
import time
import uuid

from conftest import sh

INSIDE_GW = "10.1.0.1"
INSIDE_DP = "10.1.0.2"
ROUTER_OUT = "203.0.113.1"
STUN_IP = "203.0.113.10"
STUN_ALT_IP = "203.0.113.11"
STUN_PORT = 3478
SRC_IP = "203.0.113.20"  # the SRC's media address in the outside namespace


class NatLab:
    def __init__(self, kind="port-restricted"):
        tag = uuid.uuid4().hex[:6]
        self.kind = kind
        self.rt, self.out = f"nrt{tag}", f"nout{tag}"
        self.host_if, self.rt_in = f"nh{tag}", f"nri{tag}"
        self.rt_out, self.out_if = f"nro{tag}", f"no{tag}"
        self.coturn = None
        self.outside = ROUTER_OUT

    def nsx(self, ns, *cmd, check=True, timeout=20):
        return sh(["ip", "netns", "exec", ns, *cmd], check=check, timeout=timeout)

    def _links(self):
        for ns in (self.rt, self.out):
            sh(["ip", "netns", "add", ns])
        sh(["ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.rt_in])
        sh(["ip", "link", "set", self.rt_in, "netns", self.rt])
        sh(["ip", "link", "add", self.rt_out, "type", "veth", "peer", "name", self.out_if])
        sh(["ip", "link", "set", self.rt_out, "netns", self.rt])
        sh(["ip", "link", "set", self.out_if, "netns", self.out])
        sh(["sysctl", "-qw", f"net.ipv6.conf.{self.host_if}.disable_ipv6=1"], check=False)
        sh(["ip", "link", "set", self.host_if, "up"])
        for ns, ifs in ((self.rt, (self.rt_in, self.rt_out)), (self.out, (self.out_if,))):
            self.nsx(ns, "ip", "link", "set", "lo", "up")
            for i in ifs:
                self.nsx(ns, "sysctl", "-qw", f"net.ipv6.conf.{i}.disable_ipv6=1", check=False)
                self.nsx(ns, "ip", "link", "set", i, "up")
                # full checksums on frames that reach af_packet or are NATed
                if shutil.which("ethtool"):
                    self.nsx(ns, "ethtool", "-K", i, "tx", "off", check=False)
        self.nsx(self.rt, "ip", "addr", "add", f"{INSIDE_GW}/24", "dev", self.rt_in)
        self.nsx(self.rt, "ip", "addr", "add", f"{ROUTER_OUT}/24", "dev", self.rt_out)
        for a in (STUN_IP, STUN_ALT_IP, SRC_IP):
            self.nsx(self.out, "ip", "addr", "add", f"{a}/24", "dev", self.out_if)
        self.nsx(self.rt, "sysctl", "-qw", "net.ipv4.ip_forward=1")

    def _nat(self):
        nft = ["nft"]
        self.nsx(self.rt, *nft, "add", "table", "ip", "nat")
        self.nsx(self.rt, *nft, "add chain ip nat post { type nat hook postrouting priority 100 ; }")
        self.nsx(self.rt, *nft, "add chain ip nat pre { type nat hook prerouting priority -100 ; }")
        if self.kind == "one-to-one":
            self.nsx(self.rt, *nft, f"add rule ip nat pre iifname {self.rt_out} ip daddr {ROUTER_OUT} "
                     f"dnat to {INSIDE_DP}")
            self.nsx(self.rt, *nft, f"add rule ip nat post oifname {self.rt_out} ip saddr {INSIDE_DP} "
                     f"snat to {ROUTER_OUT}")
        elif self.kind == "port-remapping":
            # ports moved into another range (not port-preserving)
            self.nsx(self.rt, *nft, f"add rule ip nat post oifname {self.rt_out} meta l4proto udp masquerade "
                     "to :20000-29999")
        else:
            extra = " fully-random" if self.kind == "symmetric" else ""
            self.nsx(self.rt, *nft, f"add rule ip nat post oifname {self.rt_out} masquerade{extra}")

    def start_coturn(self, timeout=10.0):
        cmd = ["ip", "netns", "exec", self.out, "turnserver", "-n", f"--listening-ip={STUN_IP}",
               f"--listening-ip={STUN_ALT_IP}", f"--relay-ip={STUN_IP}", f"--listening-port={STUN_PORT}",
               "--no-tls", "--no-dtls", "--no-cli", "--lt-cred-mech", "--user=test:test",
               "--realm=example.org", "--log-file=stdout", "--simple-log", "--no-stdout-log"]
        self.coturn = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       stdin=subprocess.DEVNULL)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            p = self.nsx(self.out, "ss", "-uln", check=False)
            if f"{STUN_ALT_IP}:{STUN_PORT + 1}" in p.stdout and f"{STUN_IP}:{STUN_PORT}" in p.stdout:
                return
            time.sleep(0.1)
        raise AssertionError("coturn did not listen in time")

    def change_outside(self, new):
        """Replace the router's outside address (the NAT's public address)."""
        self.nsx(self.rt, "ip", "addr", "del", f"{self.outside}/24", "dev", self.rt_out)
        self.nsx(self.rt, "ip", "addr", "add", f"{new}/24", "dev", self.rt_out)
        self.outside = new

    def __enter__(self):
        try:
            self._links()
            self._nat()
        except Exception:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.coturn is not None and self.coturn.poll() is None:
            self.coturn.terminate()
            try:
                self.coturn.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.coturn.kill()
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=20)
        for ns in (self.rt, self.out):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
