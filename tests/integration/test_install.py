"""Packaging: what `meson install` puts where, and that it is usable.

The build directory is the one RTPREC_BIN was built in (build/ by default). `meson install
--no-rebuild --destdir TMP` into a temporary directory, then: binaries, example configs,
systemd unit, hugepage helper and man pages are there; the man pages render without a
groff warning; rtprec.yaml(5) names every key of the config schema and rtprec(8) every
option of --help; the unit passes `systemd-analyze verify` without a message; the
installed binary checks the installed example configs; docker/check-libs.py fails on a
Dockerfile whose runtime stage lacks a library.
"""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ASAN_BUILD, BIN, REPO

BUILD = Path(BIN).resolve().parents[1]
# what is installed does not depend on the sanitizers: checked once, on the normal build
pytestmark = pytest.mark.skipif(ASAN_BUILD, reason="packaging is checked on the normal build")
MAN_PAGES = ("man1/rtprec-export.1", "man5/rtprec.yaml.5", "man8/rtprec.8", "man8/rtprecctl.8")


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run([str(c) for c in cmd], **kw)


_OPTIONS = {}


def option(name):
    if not _OPTIONS:
        out = run(["meson", "introspect", BUILD, "--buildoptions"], check=True).stdout
        _OPTIONS.update((o["name"], o["value"]) for o in json.loads(out))
    return _OPTIONS[name]


@pytest.fixture(scope="module")
def inst(tmp_path_factory):
    """(destdir, {'prefix','bindir','sysconfdir','libexecdir','mandir','unit'}) after install."""
    if not (BUILD / "meson-info").is_dir():
        pytest.fail(f"{BUILD} is not a meson build directory (RTPREC_BIN={BIN})")
    dest = tmp_path_factory.mktemp("destdir")
    r = run(["meson", "install", "--no-rebuild", "--destdir", dest, "-C", BUILD])
    assert r.returncode == 0, r.stdout + r.stderr
    prefix = option("prefix")
    paths = {k: os.path.join(prefix, option(k)) for k in ("bindir", "sysconfdir", "libexecdir",
                                                         "mandir")}
    paths["prefix"] = prefix
    units = sorted(dest.rglob("rtprec.service"))
    assert len(units) == 1, f"one rtprec.service expected, found {units}"
    paths["unit"] = "/" + str(units[0].relative_to(dest))
    return dest, paths


def under(dest, path):
    return dest / path.lstrip("/")


def test_files_installed(inst):
    dest, p = inst
    for exe in ("rtprec", "rtprec-export", "rtprecctl"):
        f = under(dest, p["bindir"]) / exe
        assert f.is_file() and os.access(f, os.X_OK), f
    for cfg in ("rtprec.example.yaml", "rtprec.demo.yaml"):
        assert (under(dest, p["sysconfdir"]) / "rtprec" / cfg).is_file(), cfg
    assert not (under(dest, p["sysconfdir"]) / "rtprec" / "rtprec.yaml").exists(), \
        "rtprec.yaml is the operator's: never installed"
    helper = under(dest, p["libexecdir"]) / "rtprec" / "rtprec-hugepages"
    assert helper.is_file() and os.access(helper, os.X_OK)
    assert p["unit"].endswith("/lib/systemd/system/rtprec.service"), p["unit"]
    for m in MAN_PAGES:
        assert (under(dest, p["mandir"]) / m).is_file(), m


@pytest.mark.parametrize("page", MAN_PAGES)
def test_man_page_renders_without_warnings(inst, page):
    dest, p = inst
    f = under(dest, p["mandir"]) / page
    r = run(["groff", "-man", "-Tutf8", "-z", "-ww", f])
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = run(["man", "--warnings", "-l", f], env={**os.environ, "MANWIDTH": "80",
                                                  "MAN_KEEP_FORMATTING": "0"})
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
    plain = re.sub(r".\x08", "", r.stdout)  # no overstrike bold when not on a terminal
    assert "NAME" in plain and "SEE ALSO" in plain


def man_text(name):
    """The troff source with hyphen escapes undone, for word searches."""
    return (REPO / "docs" / "man" / name).read_text().replace("\\-", "-")


def test_yaml_man_page_names_every_config_key():
    schema = (REPO / "config" / "cfg_schema.c").read_text()
    keys = set(re.findall(r'CYAML_FIELD_\w+\(\s*"([a-z0-9_]+)"', schema))
    assert len(keys) > 50, "cannot read the keys of config/cfg_schema.c"
    page = man_text("rtprec.yaml.5")
    missing = sorted(k for k in keys if not re.search(rf"(?<![a-z0-9_]){k}(?![a-z0-9_])", page))
    assert not missing, f"keys not described in docs/man/rtprec.yaml.5: {missing}"


@pytest.mark.parametrize("exe,page", [("app/rtprec", "rtprec.8"),
                                      ("export/rtprec-export", "rtprec-export.1")])
def test_man_page_has_every_help_option(exe, page):
    """Every --option of the binary's --help is in its man page."""
    r = run([BUILD / exe, "--help"])
    assert r.returncode == 0
    opts = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", r.stdout))
    assert "--help" in opts
    text = man_text(page)
    missing = sorted(o for o in opts if o not in text)
    assert not missing, f"--help options missing from docs/man/{page}: {missing}"


def test_rtprecctl_page_has_every_command():
    r = run([BUILD / "app" / "rtprecctl", "--help"])
    assert r.returncode == 0
    cmds = set(re.findall(r"^  ([a-z][a-z-]+)", r.stdout, re.M))
    cmds |= set(re.findall(r"\| ([a-z][a-z-]+)", r.stdout))
    assert {"status", "reload", "drain", "resume", "nat-recheck"} <= cmds, cmds
    text = man_text("rtprecctl.8").replace("\\-", "-")
    missing = sorted(c for c in cmds if c not in text)
    assert not missing, f"rtprecctl commands missing from docs/man/rtprecctl.8: {missing}"


def test_unit_verifies(inst, tmp_path):
    """systemd-analyze verify checks syntax and that every Exec* program exists: the unit's
    paths are pointed into the destdir, its man pages found through MANPATH."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    dest, p = inst
    text = under(dest, p["unit"]).read_text()
    for key, val in (("ExecStart", f"{p['bindir']}/rtprec --config "
                      f"{p['sysconfdir']}/rtprec/rtprec.yaml"),
                     ("ExecStartPre", f"+{p['libexecdir']}/rtprec/rtprec-hugepages"),
                     ("LimitMEMLOCK", "infinity"), ("Restart", "on-failure"),
                     ("WorkingDirectory", "/var/lib/rtprec")):
        assert f"\n{key}={val}\n" in text, f"{key}={val}"
    local = text.replace(p["prefix"].rstrip("/") + "/", str(dest / p["prefix"].lstrip("/")) + "/")
    if p["prefix"] == "/usr":  # sysconfdir /etc is outside the prefix
        local = local.replace("/etc/rtprec/", str(dest / "etc/rtprec") + "/")
    unit = tmp_path / "rtprec.service"
    unit.write_text(local)
    r = run(["systemd-analyze", "verify", unit],
            env={**os.environ, "MANPATH": str(under(dest, p["mandir"]))})
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
    caps = set()
    for line in text.splitlines():
        if line.startswith(("CapabilityBoundingSet=", "AmbientCapabilities=")):
            caps.update(line.split("=", 1)[1].split())
    assert "CAP_IPC_LOCK" in caps and "CAP_NET_ADMIN" in caps
    if shutil.which("capsh"):
        unknown = [c for c in sorted(caps) if run(["capsh", f"--supports={c.lower()}"]).returncode]
        assert not unknown, f"unknown capabilities: {unknown}"


def test_hugepage_helper_refuses_bad_input(inst):
    dest, p = inst
    helper = under(dest, p["libexecdir"]) / "rtprec" / "rtprec-hugepages"
    assert run(["bash", "-n", helper]).returncode == 0
    r = run([helper], env={**os.environ, "RTPREC_HUGEPAGES_2M": "many"})
    assert r.returncode == 2 and "RTPREC_HUGEPAGES_2M" in r.stderr


def test_installed_binary_checks_installed_configs(inst):
    dest, p = inst
    exe = under(dest, p["bindir"]) / "rtprec"
    assert run([exe, "--version"]).stdout.startswith("rtprec ")
    for cfg in ("rtprec.example.yaml", "rtprec.demo.yaml"):
        r = run([exe, "--check", "--config", under(dest, p["sysconfdir"]) / "rtprec" / cfg])
        assert r.returncode == 0, r.stderr


def test_check_libs_finds_a_missing_library(tmp_path):
    """docker/check-libs.py (run on build/ by ./test.sh, suite docker-libs) must fail when
    the runtime stage lacks a package that ldd + dpkg -S say a binary needs."""
    text = (REPO / "docker" / "Dockerfile").read_text()
    runtime = text.index("AS runtime")
    assert " libpcap0.8 " in text[runtime:]
    broken = tmp_path / "Dockerfile"
    broken.write_text(text[:runtime] + text[runtime:].replace(" libpcap0.8 ", " "))
    r = run(["/usr/bin/python3", REPO / "docker" / "check-libs.py", BUILD, broken])
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r"does not install:.*\blibpcap0\.8\b", r.stdout), r.stdout


def unit_settings(key):
    """The values of KEY= in tools/systemd/rtprec.service.in (words of every such line)."""
    vals = []
    for line in (REPO / "tools" / "systemd" / "rtprec.service.in").read_text().splitlines():
        if line.startswith(key + "="):
            vals += line.split("=", 1)[1].split()
    return vals


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv")
def test_unit_privileges_allow_process_user(tmp_path):
    """rtprec as the unit starts it (root limited to CapabilityBoundingSet, working in a
    state directory of StateDirectoryMode, recording.dir ./recordings) with process.user:
    the switch to the user needs CAP_SETUID/CAP_SETGID (and CAP_CHOWN to hand it
    recording.dir), and the user must be able to enter the state directory to record a
    call there."""
    import json
    import signal
    import time
    from conftest import config_yaml, eal_args, free_port
    from sip_uac import Uac
    from test_pause import offer
    caps = unit_settings("CapabilityBoundingSet")
    (mode,) = unit_settings("StateDirectoryMode")
    for d in (tmp_path, *tmp_path.parents[:2]):  # pytest's dirs are 0700
        os.chmod(d, 0o711)
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, int(mode, 8))
    port = free_port()
    cfg = tmp_path / "rtprec.yaml"
    cfg.write_text(config_yaml(eal_args("net_null0"), [dict(name="p0", device="net_null0",
                                                           ipv4="192.0.2.10/24")], [],
                               recording_dir="./recordings",
                               extra=f'sip:\n  listen: ["udp:127.0.0.1:{port}"]\n'
                                     "process:\n  user: nobody\n"))
    bounding = "-all," + ",".join("+" + c[4:].lower() for c in caps)
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with open(out, "w") as o, open(err, "w") as e:
        p = subprocess.Popen(["setpriv", f"--bounding-set={bounding}", BIN, "--config", cfg],
                             cwd=state, stdout=o, stderr=e, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while '"ready"' not in out.read_text() and p.poll() is None:
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.1)
        assert p.poll() is None, err.read_text()
        assert "running as nobody" in err.read_text(), err.read_text()
        uac = Uac(port)
        code, resp = uac.invite(offer(1, "sendonly", "sendonly"))
        assert code == 200, resp + err.read_text()
        assert uac.bye() == 200
        uac.close()
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=20) == 0, err.read_text()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
    sessions = list((state / "recordings").rglob("session.json"))
    assert len(sessions) == 1, err.read_text()
    assert json.loads(sessions[0].read_text())["recording"]["write_errors"] == 0
    assert sessions[0].stat().st_uid == 65534


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="needs root and unshare")
def test_hugepages_sh_counts_every_page_size(tmp_path):
    """tools/hugepages.sh (run.sh, test.sh, bench) on a host booted as docs/bare-metal.md
    says (default_hugepagesz=1G, 4 x 1 GB pages) where the 2 MB pages it reserves are free
    too: /proc/meminfo's HugePages_Free counts only 1 GB pages (4 < 64), which made it fall
    back to --no-huge. A private mount namespace shows the script such a host."""
    sysfs = tmp_path / "hugepages"
    for kb, n in (("2048", 1024), ("1048576", 4)):
        d = sysfs / f"hugepages-{kb}kB"
        d.mkdir(parents=True)
        for f in ("nr_hugepages", "free_hugepages"):
            (d / f).write_text(f"{n}\n")
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("".join(l for l in open("/proc/meminfo") if not l.startswith("Huge"))
                       + "HugePages_Total:       4\nHugePages_Free:        4\n"
                       "HugePages_Rsvd:        0\nHugePages_Surp:        0\n"
                       "Hugepagesize:    1048576 kB\n")
    script = (f"mount --bind {sysfs} /sys/kernel/mm/hugepages && "
              f"mount --bind {meminfo} /proc/meminfo && "
              f"source {REPO}/tools/hugepages.sh && rtprec_hugepages 1024 && "
              'echo "huge=$RTPREC_HUGE args=$RTPREC_EAL_MEM_ARGS free=$RTPREC_HUGEPAGES_FREE"')
    if "hugetlbfs" not in open("/proc/mounts").read():
        pytest.skip("no hugetlbfs mounted here")
    r = run(["unshare", "-m", "--propagation", "private", "bash", "-c", script])
    assert r.returncode == 0, r.stderr
    assert "huge=1 args=--in-memory free=3072" in r.stdout, r.stdout + r.stderr
