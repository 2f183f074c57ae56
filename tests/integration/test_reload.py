"""Reload of the static flows (issue 9): rtprecctl reload and SIGHUP add, remove and
change flows while rtprec runs. What a flow recorded before the reload stays in its pcap,
a removed flow stops taking packets, a changed one records into a new file, and the
flows that did not change go on counting."""
import glob
import os
import shutil
import signal
import time

import pytest

from conftest import DP_ADDR, config_yaml, eal_args, free_port
from test_latch import send
from test_ops import ctl
from test_siprec import rtp_counts, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"),
                                reason="needs root and iproute2")


def rec(name, port):
    return dict(name=name, match=dict(dst=f"{DP_ADDR}:{port}"), actions=["record"])


def flow_packets(sock):
    return {f["flow"]: f["packets"] for f in ctl(sock, "flows")[1]["flows"]}


def test_reload_adds_removes_and_changes_flows(start_rtprec, tmp_path, veth_ns):
    v, sock, rdir = veth_ns, str(tmp_path / "rtprec.sock"), tmp_path / "rec"
    eal = eal_args(f"net_af_packet0,iface={v['host_if']}")
    extra = (f'sip:\n  listen: ["udp:127.0.0.1:{free_port()}"]\n'
             f'media:\n  port_min: 30000\n  port_max: 30999\ncontrol:\n  socket: "{sock}"\n')

    def render(flows):
        return config_yaml(eal=eal, ports=[dict(name="media0", device="net_af_packet0",
                                                 ipv4=f"{DP_ADDR}/24")],
                           recording_dir=str(rdir), flows=flows, extra=extra)

    r = start_rtprec(render([rec("keep", 5000), rec("gone", 5002), rec("chg", 5004)]))
    r.wait_ready()
    cfg = tmp_path / "rtprec.yaml"
    for port in (5000, 5002, 5004):
        send(v, DP_ADDR, port, [(4000, 5)])
    assert wait_for(lambda: flow_packets(sock) == {"keep": 5, "gone": 5, "chg": 5}), \
        flow_packets(sock)

    cfg.write_text(render([rec("keep", 5000), rec("chg", 5006), rec("new", 5008),
                           rec("clash", 30010)]))
    code, ans = ctl(sock, "reload")
    assert ans["flows"] == {"added": 1, "removed": 1, "changed": 1, "kept": 1,
                            "refused": 1, "why": ans["flows"].get("why")}, ans
    assert "clash" in ans["flows"]["why"] and "media" in ans["flows"]["why"], ans
    for port in (5000, 5002, 5004, 5006, 5008):
        send(v, DP_ADDR, port, [(4000, 7)])
    assert wait_for(lambda: flow_packets(sock) == {"keep": 12, "chg": 7, "new": 7}), \
        flow_packets(sock)

    # SIGHUP: the same file again changes nothing; without "new" it goes
    r.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert set(flow_packets(sock)) == {"keep", "chg", "new"}
    cfg.write_text(render([rec("keep", 5000), rec("chg", 5006)]))
    r.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: set(flow_packets(sock)) == {"keep", "chg"}), flow_packets(sock)

    # changed twice within a second: a third pcap, none overwritten
    cfg.write_text(render([rec("keep", 5000), rec("chg", 5010)]))
    assert ctl(sock, "reload")[1]["flows"]["changed"] == 1
    cfg.write_text(render([rec("keep", 5000), rec("chg", 5012)]))
    assert ctl(sock, "reload")[1]["flows"]["changed"] == 1

    rc, final = r.stop()
    assert rc == 0, r.diag()
    assert final.flows["keep"]["packets"] == 12 and final.flows["chg"]["packets"] == 0
    # 5002 and 5004 after the reload: no flow any more
    assert final.ports["media0"]["drops"]["no_flow"] == 14, final.ports["media0"]
    assert rtp_counts(str(rdir / "keep.pcap")) == {5000: 12}
    assert rtp_counts(str(rdir / "gone.pcap")) == {5002: 5}
    assert rtp_counts(str(rdir / "chg.pcap")) == {5004: 5}
    new_chg = glob.glob(str(rdir / "chg.2*Z*.pcap"))
    assert len(new_chg) == 3, os.listdir(rdir)
    # on failure: what every pcap holds (bytes and RTP) and the recorder's counters
    assert sorted(str(rtp_counts(f)) for f in new_chg) == ["{5006: 7}", "{}", "{}"], \
        ({os.path.basename(f): (os.path.getsize(f), rtp_counts(f))
          for f in glob.glob(str(rdir / "*.pcap"))}, final.by_type("recorder"), final.workers, r.diag())
    assert rtp_counts(str(rdir / "new.pcap")) == {5008: 7}
    assert not (rdir / "clash.pcap").exists()
