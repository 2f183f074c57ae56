# shellcheck shell=bash
# Sourced by bench scripts that write GBs into a tmpfs. In a guest whose hypervisor takes
# free memory back (virtio-balloon free page reporting: the kernel hands 2 MB blocks that
# stayed free to the host, which unmaps them), the first write to such a page is a trip to
# the host: measured on the development VM, 420 MB/s into a tmpfs instead of 2.8 GB/s once
# the pages are backed. A recorder writing 1.2 GB/s then falls to about 1.7 Mpps for a
# second or more. Bare metal has no such cost; these functions take it out of a run:
#
#   bench_vm_memory_hold [MB]     stop reporting for the run (when this guest has it and
#                                 BENCH_VM_MEMORY is not 0), then write MB (default: free
#                                 memory less 1 GB, at most 32 GB) into a tmpfs of its own
#                                 and free it, so what the run allocates comes from pages
#                                 the host backs
#   bench_vm_memory_release       put the reporting order back (call it from the EXIT trap)

bench_vm_order_file=/sys/module/page_reporting/parameters/page_reporting_order
bench_vm_order_saved=

# True when a virtio balloon here offers free page reporting (feature bit 5); the kernel's
# parameter exists on any kernel built with it, bare metal included.
bench_vm_reports() {
	local f
	for f in /sys/bus/virtio/drivers/virtio_balloon/virtio*/features; do
		[[ -r $f && $(cut -c6 "$f") == 1 ]] && return 0
	done
	return 1
}

bench_vm_memory_hold() {
	local mb=${1:-} o dir
	[[ ${BENCH_VM_MEMORY:-1} != 0 && -w $bench_vm_order_file ]] && bench_vm_reports || return 0
	bench_vm_order_saved=$(cat "$bench_vm_order_file")
	# an order above the largest free block reports nothing; kernels that cap the value
	# at their largest order still report 4 MB blocks
	for o in 11 10; do
		echo "$o" >"$bench_vm_order_file" 2>/dev/null && break
	done
	if [[ -z $mb ]]; then # free memory less 1 GB, at most 32 GB
		mb=$(($(awk '/^MemFree:/ {print $2}' /proc/meminfo) / 1024 - 1024))
		((mb <= 32768)) || mb=32768
	fi
	echo "[bench] this guest reports free memory to its hypervisor: page_reporting_order" \
		"$bench_vm_order_saved -> $(cat "$bench_vm_order_file") for the run (restored at exit;" \
		"BENCH_VM_MEMORY=0 leaves it), ${mb} MB of free pages backed first" >&2
	((mb > 0)) || return 0
	dir=$(mktemp -d /tmp/rtprec-vmwarm.XXXXXX)
	if mount -t tmpfs -o size="${mb}m" rtprec-vmwarm "$dir"; then
		dd if=/dev/zero of="$dir/f" bs=1M count="$mb" status=none 2>/dev/null || true
		umount "$dir"
	fi
	rmdir "$dir"
}

bench_vm_memory_release() {
	[[ -n $bench_vm_order_saved ]] || return 0
	echo "$bench_vm_order_saved" >"$bench_vm_order_file" 2>/dev/null || true
	bench_vm_order_saved=
}
