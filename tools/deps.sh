# shellcheck shell=bash
# Sourced by run.sh, test.sh and bench/dataplane.sh.
#   rtprec_deps        install the Debian packages rtprec needs (only the missing ones)
#   rtprec_build DIR [meson setup args...]   meson setup (reused if present) + ninja
# Needs root for the install step (apt-get); does nothing when all are present.

RTPREC_DEBS=(
	meson ninja-build pkg-config gcc clang libclang-rt-14-dev
	dpdk dpdk-dev libdpdk-dev
	libcyaml-dev libyaml-dev libpcap-dev libcmocka-dev
	libosip2-dev libssl-dev libxml2-dev libspandsp-dev libjansson-dev libsrtp2-dev
	libcurl4-openssl-dev
	tshark python3-pytest python3-scapy sip-tester openssl sox
	iproute2 iputils-ping lua5.3 coturn nftables ethtool rtpengine-daemon
	kamailio
	groff-base man-db valgrind rt-tests
)

rtprec_log() { printf '[rtprec] %s\n' "$*" >&2; }

rtprec_deps() {
	local missing=() p st
	for p in "${RTPREC_DEBS[@]}"; do
		st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		[[ $st == ii* ]] || missing+=("$p")
	done
	if ((${#missing[@]} == 0)); then
		return 0
	fi
	rtprec_log "installing missing packages: ${missing[*]}"
	if [[ $(id -u) -ne 0 ]]; then
		rtprec_log "not root: cannot install; run as root or install them by hand"
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# tshark asks whether non-root users may capture; answer no without a prompt.
	echo "wireshark-common wireshark-common/install-setuid boolean false" |
		debconf-set-selections 2>/dev/null || true
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
	# kamailio's package enables a service with its example config, which listens on
	# every address's port 5060 (127.0.0.1:5060 is rtprec's default sip.listen);
	# test_kamailio.py runs its own. Only when just installed, and only under systemd.
	if [[ " ${missing[*]} " == *" kamailio "* && -d /run/systemd/system ]]; then
		systemctl disable --now kamailio.service || true
	fi
}

# rtprec_build DIR [extra meson setup args]; env CC honoured at setup time.
rtprec_build() {
	local dir=$1
	shift
	if [[ ! -f $dir/build.ninja ]]; then
		rm -rf "$dir"
		meson setup "$dir" "$@"
	fi
	ninja -C "$dir"
}
