#!/usr/bin/python3
"""docker/check-libs.py [BUILD_DIR] [DOCKERFILE] — does the image's runtime stage carry
every shared library the binaries need?

For every ELF file `meson install` installs from BUILD_DIR (default build/: rtprec,
rtprec-export, ...), `ldd` lists the shared libraries; `dpkg -S` maps each to the Debian
package that ships it on this (Debian 12) machine; each such package must be named in an
`apt-get install` of the Dockerfile's last stage (default docker/Dockerfile). DPDK loads its
drivers with dlopen, which ldd does not see: the packages in PLUGINS must be listed too.
Every package the runtime stage names must exist for apt (a typo fails here, not in a
`docker build` on another machine).

Prints the library -> package table and ends with "ok: N packages" or the missing ones.
Exit status: 0 complete, 1 something missing, 2 usage or tool error.
"""
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Loaded by EAL from /usr/lib/<triplet>/dpdk/pmds-23.0 at start, invisible to ldd.
PLUGINS = {
    "librte-mempool-ring23": "the ring mempool driver every mbuf pool uses",
    "librte-bus-vdev23": "virtual devices (--vdev=net_tap0, net_af_packet, ...)",
    "librte-bus-pci23": "PCI NICs (-a 0000:01:00.0)",
    "librte-net-tap23": "net_tap (docker/compose.demo.yml)",
}


def die(msg, code=2):
    print(f"check-libs: {msg}", file=sys.stderr)
    sys.exit(code)


def installed_elves(build):
    try:
        out = subprocess.run(["meson", "introspect", str(build), "--installed"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        die(f"meson introspect {build}: {e}")
    elves = []
    for src in sorted(json.loads(out)):
        try:
            with open(src, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    elves.append(src)
        except OSError:
            die(f"{src} is not built (ninja -C {build})")
    if not elves:
        die(f"{build} installs no binaries")
    return elves


def shared_libs(binary):
    """Paths of the libraries ldd resolves for binary; dies on 'not found'."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if out.returncode != 0:
        die(f"ldd {binary}: {out.stderr.strip()}")
    libs = []
    for line in out.stdout.splitlines():
        line = line.strip()
        if "not found" in line:
            die(f"{binary}: {line}", 1)
        m = re.match(r"\S+\s+=>\s+(/\S+)", line) or re.match(r"(/\S+)\s+\(", line)
        if m:
            libs.append(m.group(1))
    return libs


def path_variants(path):
    """dpkg knows a file by the path its package ships: with merged /usr, /lib/x
    and /usr/lib/x are the same file but only one is registered."""
    seen = []
    for p in (path, os.path.realpath(path)):
        for q in (p, p[4:] if p.startswith("/usr/") else "/usr" + p):
            if q not in seen:
                seen.append(q)
    return seen


def owners(paths):
    """{path: package or None}, from one `dpkg -S` over every path variant (each call
    reads dpkg's whole database: one per library took most of this script's time)."""
    variants = {p: path_variants(p) for p in paths}
    every = sorted({v for vs in variants.values() for v in vs})
    # exit 1 when some variant is unknown, which is the rule with merged /usr
    r = subprocess.run(["dpkg", "-S", *every], capture_output=True, text=True)
    found = {}
    for line in r.stdout.splitlines():
        # "libfoo1:amd64: /usr/lib/x86_64-linux-gnu/libfoo.so.1" (no diversions here)
        m = re.match(r"([^:,\s]+)[^ ]*: (/.*)$", line)
        if m:
            found.setdefault(m.group(2), m.group(1))
    return {p: next((found[v] for v in vs if v in found), None)
            for p, vs in variants.items()}


def logical_lines(text):
    """Dockerfile lines with backslash continuations joined and comments dropped."""
    lines, cur = [], ""
    for raw in text.splitlines():
        s = raw.strip()
        if s.startswith("#"):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        if cur.strip():
            lines.append(cur.strip())
        cur = ""
    if cur.strip():
        lines.append(cur.strip())
    return lines


def runtime_packages(dockerfile):
    """Packages named by apt-get install in the Dockerfile's last stage."""
    stages = []
    for line in logical_lines(dockerfile.read_text()):
        word = line.split(None, 1)[0].upper()
        if word == "FROM":
            stages.append([])
        elif stages and word == "RUN":
            stages[-1].append(line[3:].strip())
    if len(stages) < 2:
        die(f"{dockerfile}: expected a multi-stage build (a build stage, then the runtime)")
    pkgs = set()
    for cmd in stages[-1]:
        try:
            words = shlex.split(cmd, comments=True)
        except ValueError as e:
            die(f"{dockerfile}: cannot split '{cmd[:60]}...': {e}")
        i = 0
        while i < len(words):
            if words[i] in ("apt-get", "apt") and "install" in words[i + 1:i + 6]:
                i = words.index("install", i) + 1
                while i < len(words) and words[i] not in ("&&", ";", "||", "|"):
                    w = words[i]
                    if not w.startswith("-"):
                        pkgs.add(re.split(r"[=:]", w.rstrip(";"), 1)[0])
                    if w.endswith(";"):
                        break
                    i += 1
            i += 1
    return pkgs


def apt_unknown(pkgs):
    """The packages of pkgs that are neither installed here nor known to apt."""
    r = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Status}\\n", *sorted(pkgs)],
                       capture_output=True, text=True)
    installed = {line.split()[0] for line in r.stdout.splitlines()
                 if line.endswith(" installed")}
    unknown = []
    for pkg in sorted(set(pkgs) - installed):
        r = subprocess.run(["apt-cache", "show", "--no-all-versions", pkg],
                           capture_output=True, text=True)
        if r.returncode != 0 or "Package:" not in r.stdout:
            unknown.append(pkg)
    return unknown


def main(argv):
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip())
        return 0
    build = Path(argv[0]) if argv else REPO / "build"
    dockerfile = Path(argv[1]) if len(argv) > 1 else REPO / "docker" / "Dockerfile"
    if not dockerfile.is_file():
        die(f"{dockerfile}: no such file")
    listed = runtime_packages(dockerfile)
    need = {}  # package -> (library, binary) that needs it
    failures = []
    libs = [(lib, binary) for binary in installed_elves(build) for lib in shared_libs(binary)]
    owner = owners({lib for lib, _ in libs})
    for lib, binary in libs:
        pkg = owner[lib]
        if pkg is None:
            failures.append(f"{lib} (needed by {os.path.basename(binary)}): no Debian "
                            "package ships it (built locally? then the image cannot "
                            "have it)")
            continue
        need.setdefault(pkg, (lib, os.path.basename(binary)))
    for pkg, why in PLUGINS.items():
        need.setdefault(pkg, (f"[dlopen: {why}]", "EAL"))

    print(f"{'package':28} {'library (first user)'}")
    for pkg in sorted(need):
        lib, user = need[pkg]
        mark = "" if pkg in listed else "   <-- not in the runtime stage"
        print(f"{pkg:28} {lib} ({user}){mark}")
    missing = sorted(p for p in need if p not in listed)
    if missing:
        failures.append(f"{dockerfile.name}: the runtime stage does not install: "
                        + " ".join(missing))
    unknown = apt_unknown(listed)
    if unknown:
        failures.append(f"{dockerfile.name}: apt knows no package named: " + " ".join(unknown))
    for f in failures:
        print(f"FAIL: {f}")
    if failures:
        return 1
    print(f"ok: {len(need)} packages needed, all {len(listed)} listed packages known to apt")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
