"""A NAT lab in network namespaces (../shared/NAT-LAB.md): rtprec's DPDK port
(net_af_packet on the root-namespace end of a veth pair, no kernel address) sits
behind a router namespace doing nftables NAT; an "outside" namespace holds two
addresses and coturn (STUN/TURN, RFC 5780 with OTHER-ADDRESS). Everything is
created by the test and removed at the end; traffic stays inside these namespaces.

kinds: "port-restricted" (masquerade), "symmetric" (masquerade fully-random),
"one-to-one" (static dnat + snat: endpoint-independent mapping and filtering),
"port-remapping" (masquerade into 20000-29999), "address-restricted" (masquerade,
and new inbound UDP let in only from addresses the inside host has sent to: an nft
set filled on the way out), "double" (two port-restricted routers in a chain, the
inner one's outside on 100.64.0.0/24), "routed" (no NAT: the outside routes to
10.1.0.0/24 through the router).

src_nat=True also puts an SRC behind a NAT of its own: a namespace with SRC_PRIV
behind a masquerading router whose outside (SRC_NAT_OUT) is linked to the outside
namespace, which then forwards between its links."""
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
MID_INNER = "100.64.0.2"  # "double": the inner router's outside address
MID_OUTER = "100.64.0.1"  # "double": the outer router's inside address
SRC_PRIV = "10.2.0.2"  # src_nat: the SRC's private address
SRC_NAT_GW = "10.2.0.1"
SRC_NAT_OUT = "198.51.100.1"  # src_nat: the SRC's NAT's public address
SRC_NAT_PEER = "198.51.100.254"  # the outside namespace's end of that link
KINDS = ("port-restricted", "symmetric", "one-to-one", "port-remapping", "address-restricted",
         "double", "routed")


class NatLab:
    def __init__(self, kind="port-restricted", src_nat=False):
        assert kind in KINDS, kind
        tag = uuid.uuid4().hex[:6]
        self.kind = kind
        self.rt, self.out = f"nrt{tag}", f"nout{tag}"
        self.host_if, self.rt_in = f"nh{tag}", f"nri{tag}"
        self.rt_out, self.out_if = f"nro{tag}", f"no{tag}"
        # the router holding the public address (the outer one of "double") and its
        # outside link; rt_out is then the inner router's link to the middle network
        self.edge, self.edge_in, self.edge_out = self.rt, None, self.rt_out
        if kind == "double":
            self.edge, self.edge_in, self.edge_out = f"nrx{tag}", f"nxi{tag}", f"nxo{tag}"
        # src_nat: the SRC's namespace and its router
        self.src = self.srt = None
        if src_nat:
            self.src, self.srt = f"nsc{tag}", f"nsr{tag}"
            self.src_if, self.srt_in = f"nsi{tag}", f"nti{tag}"
            self.srt_out, self.out_src_if = f"nto{tag}", f"nos{tag}"
        self.namespaces = [ns for ns in (self.rt, self.edge, self.out, self.src, self.srt) if ns]
        self.namespaces = list(dict.fromkeys(self.namespaces))
        self.coturn = None
        self.outside = ROUTER_OUT

    def nsx(self, ns, *cmd, check=True, timeout=20):
        return sh(["ip", "netns", "exec", ns, *cmd], check=check, timeout=timeout)

    def _veth(self, a_ns, a_if, b_ns, b_if):
        """A veth pair a_if (moved into a_ns, None: stays here) <-> b_if (into b_ns)."""
        sh(["ip", "link", "add", a_if, "type", "veth", "peer", "name", b_if])
        if a_ns:
            sh(["ip", "link", "set", a_if, "netns", a_ns])
        sh(["ip", "link", "set", b_if, "netns", b_ns])

    def _up(self, ns, *ifs):
        self.nsx(ns, "ip", "link", "set", "lo", "up")
        for i in ifs:
            self.nsx(ns, "sysctl", "-qw", f"net.ipv6.conf.{i}.disable_ipv6=1", check=False)
            self.nsx(ns, "ip", "link", "set", i, "up")
            # full checksums on frames that reach af_packet or are NATed
            if shutil.which("ethtool"):
                self.nsx(ns, "ethtool", "-K", i, "tx", "off", check=False)

    def _links(self):
        for ns in self.namespaces:
            sh(["ip", "netns", "add", ns])
        self._veth(None, self.host_if, self.rt, self.rt_in)
        if self.kind == "double":
            self._veth(self.rt, self.rt_out, self.edge, self.edge_in)
        self._veth(self.edge, self.edge_out, self.out, self.out_if)
        sh(["sysctl", "-qw", f"net.ipv6.conf.{self.host_if}.disable_ipv6=1"], check=False)
        sh(["ip", "link", "set", self.host_if, "up"])
        self._up(self.rt, self.rt_in, self.rt_out)
        if self.edge != self.rt:
            self._up(self.edge, self.edge_in, self.edge_out)
        self._up(self.out, self.out_if)
        self.nsx(self.rt, "ip", "addr", "add", f"{INSIDE_GW}/24", "dev", self.rt_in)
        if self.kind == "double":
            self.nsx(self.rt, "ip", "addr", "add", f"{MID_INNER}/24", "dev", self.rt_out)
            self.nsx(self.rt, "ip", "route", "add", "default", "via", MID_OUTER)
            self.nsx(self.edge, "ip", "addr", "add", f"{MID_OUTER}/24", "dev", self.edge_in)
            self.nsx(self.edge, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.nsx(self.edge, "ip", "addr", "add", f"{ROUTER_OUT}/24", "dev", self.edge_out)
        for a in (STUN_IP, STUN_ALT_IP, SRC_IP):
            self.nsx(self.out, "ip", "addr", "add", f"{a}/24", "dev", self.out_if)
        self.nsx(self.rt, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        if self.kind == "routed":
            self.nsx(self.out, "ip", "route", "add", "10.1.0.0/24", "via", ROUTER_OUT)
        if self.src:
            self._src_links()

    def _src_links(self):
        """The SRC behind its own NAT: src (SRC_PRIV) -- srt (masquerade) -- out."""
        self._veth(self.src, self.src_if, self.srt, self.srt_in)
        self._veth(self.srt, self.srt_out, self.out, self.out_src_if)
        self._up(self.src, self.src_if)
        self._up(self.srt, self.srt_in, self.srt_out)
        self._up(self.out, self.out_src_if)
        self.nsx(self.src, "ip", "addr", "add", f"{SRC_PRIV}/24", "dev", self.src_if)
        self.nsx(self.src, "ip", "route", "add", "default", "via", SRC_NAT_GW)
        self.nsx(self.srt, "ip", "addr", "add", f"{SRC_NAT_GW}/24", "dev", self.srt_in)
        self.nsx(self.srt, "ip", "addr", "add", f"{SRC_NAT_OUT}/24", "dev", self.srt_out)
        self.nsx(self.srt, "ip", "route", "add", "default", "via", SRC_NAT_PEER)
        self.nsx(self.srt, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.nsx(self.out, "ip", "addr", "add", f"{SRC_NAT_PEER}/24", "dev", self.out_src_if)
        self.nsx(self.out, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        # the way back to the SRC's NAT from the router in front of rtprec
        self.nsx(self.edge, "ip", "route", "add", "198.51.100.0/24", "via", STUN_IP)
        self.nsx(self.srt, "nft", "add", "table", "ip", "nat")
        self.nsx(self.srt, "nft", "add chain ip nat post { type nat hook postrouting priority 100 ; }")
        self.nsx(self.srt, "nft", f"add rule ip nat post oifname {self.srt_out} masquerade")

    def _nat(self):
        if self.kind == "routed":
            return
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
        elif self.kind == "address-restricted":
            # endpoint-independent mapping (masquerade keeps the port), address-dependent
            # filtering: every address the inside host sends to goes into @peers (the
            # forward hook sees every packet, nat hooks only a connection's first); a new
            # inbound UDP connection reaches the inside host (same port) only from one
            # of them, anything else ends at the router (port unreachable)
            self.nsx(self.rt, *nft, "add set ip nat peers { type ipv4_addr ; flags dynamic,timeout ; "
                     "timeout 10m ; }")
            self.nsx(self.rt, *nft, "add chain ip nat track { type filter hook forward priority 0 ; }")
            self.nsx(self.rt, *nft, f"add rule ip nat track oifname {self.rt_out} ip saddr {INSIDE_DP} "
                     "update @peers { ip daddr }")
            self.nsx(self.rt, *nft, f"add rule ip nat post oifname {self.rt_out} masquerade")
            self.nsx(self.rt, *nft, f"add rule ip nat pre iifname {self.rt_out} meta l4proto udp "
                     f"ip saddr @peers dnat to {INSIDE_DP}")
        else:
            extra = " fully-random" if self.kind == "symmetric" else ""
            self.nsx(self.rt, *nft, f"add rule ip nat post oifname {self.rt_out} masquerade{extra}")
        if self.kind == "double":  # the outer router: port-restricted too
            self.nsx(self.edge, *nft, "add", "table", "ip", "nat")
            self.nsx(self.edge, *nft, "add chain ip nat post { type nat hook postrouting priority 100 ; }")
            self.nsx(self.edge, *nft, f"add rule ip nat post oifname {self.edge_out} masquerade")

    def start_coturn(self, timeout=10.0, user="test:test"):
        cmd = ["ip", "netns", "exec", self.out, "turnserver", "-n", f"--listening-ip={STUN_IP}",
               f"--listening-ip={STUN_ALT_IP}", f"--relay-ip={STUN_IP}", f"--listening-port={STUN_PORT}",
               "--no-tls", "--no-dtls", "--no-cli", "--lt-cred-mech", f"--user={user}",
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
        self.nsx(self.edge, "ip", "addr", "del", f"{self.outside}/24", "dev", self.edge_out)
        self.nsx(self.edge, "ip", "addr", "add", f"{new}/24", "dev", self.edge_out)
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
        for ns in self.namespaces:  # their veths go with them
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
