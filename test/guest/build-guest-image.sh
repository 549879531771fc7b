#!/usr/bin/env bash
# Builds the test guest: a small bootable raw disk (MBR, one FAT partition at
# 1 MiB holding syslinux, the Debian cloud kernel and a busybox initramfs
# whose /init is guest-init.sh). Only Debian packages and no mount, no loop
# device, no root (except for `apt-get update` when apt has no lists yet).
#
# usage: build-guest-image.sh OUT_IMAGE DEB_DIR
#   OUT_IMAGE  where the image goes (written in place; callers rename it)
#   DEB_DIR    where kernel .debs are kept between builds
# env: KERNEL_PKG (default linux-image-cloud-amd64, a metapackage is followed)
set -euo pipefail

out=${1:?usage: build-guest-image.sh OUT_IMAGE DEB_DIR}
deb_dir=${2:?usage: build-guest-image.sh OUT_IMAGE DEB_DIR}
here=$(cd "$(dirname "$0")" && pwd)
kernel_pkg=${KERNEL_PKG:-linux-image-cloud-amd64}
# Fixed timestamps and ids make the image byte for byte reproducible.
export SOURCE_DATE_EPOCH=1700000000 MTOOLS_SKIP_CHECK=1 LC_ALL=C TZ=UTC
modules="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk qemu_fw_cfg button evdev fat vfat nls_cp437 nls_ascii"
part_start=2048   # sectors: the partition starts at 1 MiB
mbr=/usr/lib/syslinux/mbr/mbr.bin

fail() { echo "build-guest-image: $*" >&2; exit 1; }

missing=()
for tool in dpkg-deb apt-get cpio gzip mkfs.vfat mcopy syslinux sfdisk busybox; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[ -f "$mbr" ] || missing+=("$mbr")
[ ${#missing[@]} -eq 0 ] || fail "missing ${missing[*]} (bin/setup installs them)"
busybox=$(command -v busybox)
# A dynamically linked busybox cannot run in an initramfs without libc.
if ldd "$busybox" >/dev/null 2>&1; then fail "$busybox is dynamically linked: install busybox-static"; fi

mkdir -p "$deb_dir"
work=$(mktemp -d "${TMPDIR:-/tmp}/ringstack-guest-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
# apt-get download runs as _apt where it can, which must be able to write here.
chmod 755 "$work"

# The real package behind the metapackage, and the version apt would fetch.
resolve_kernel() {
  local pkg=$kernel_pkg dep
  dep=$(apt-cache depends "$pkg" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
  [ -n "$dep" ] && pkg=$dep
  local version
  version=$(apt-cache policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
  [ -n "$version" ] && [ "$version" != "(none)" ] && echo "$pkg $version"
}

kernel_deb() {
  local found
  found=$(resolve_kernel || true)
  if [ -z "$found" ] && [ "$(id -u)" = 0 ]; then
    # A fresh machine has no apt lists yet.
    apt-get update -qq >&2 || true
    found=$(resolve_kernel || true)
  fi
  if [ -z "$found" ]; then
    # No apt metadata: any kernel fetched before will do.
    found=$(ls -t "$deb_dir"/linux-image-*.deb 2>/dev/null | head -n1 || true)
    [ -n "$found" ] || fail "apt knows no $kernel_pkg and $deb_dir has no kernel .deb (run apt-get update)"
    echo "$found"
    return
  fi
  local pkg=${found% *} version=${found#* }
  local cached
  cached=$(ls "$deb_dir/${pkg}_${version//:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$cached" ]; then
    # Downloaded in the work dir, then renamed: concurrent builds never see half a file.
    (cd "$work" && apt-get download -q "$pkg=$version" >&2) || fail "apt-get download $pkg=$version failed"
    local deb
    deb=$(ls "$work"/*.deb | head -n1)
    cached=$deb_dir/${deb##*/}
    mv -f "$deb" "$cached"
  fi
  echo "$cached"
}

deb=$(kernel_deb)
echo "build-guest-image: kernel from $deb" >&2

# Only vmlinuz and the modules the guest loads: far less to write than dpkg-deb -x.
patterns=("./boot/vmlinuz-*")
for m in $modules; do patterns+=("*/$m.ko" "*/$m.ko.xz"); done
mkdir -p "$work/kernel"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/kernel" --wildcards "${patterns[@]}" 2>/dev/null || true
vmlinuz=$(ls "$work"/kernel/boot/vmlinuz-* 2>/dev/null | head -n1)
[ -n "$vmlinuz" ] || fail "no vmlinuz in $deb"

root=$work/initramfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,mnt,etc,var/log,var/run,lib/modules}
cp "$busybox" "$root/bin/busybox"
for m in $modules; do
  ko=$(find "$work/kernel" \( -name "$m.ko" -o -name "$m.ko.xz" \) | head -n1)
  [ -n "$ko" ] || fail "module $m not in $deb"
  case $ko in
    *.xz) xz -dc "$ko" > "$root/lib/modules/$m.ko" ;;
    *) cp "$ko" "$root/lib/modules/$m.ko" ;;
  esac
done
echo "$modules" > "$root/etc/modules"
install -m 755 "$here/guest-init.sh" "$root/init"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$root" && find . | sort | cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -9 -n > "$work/initrd.gz"

cat > "$work/syslinux.cfg" <<CFG
SERIAL 0 115200
DEFAULT guest
PROMPT 0
TIMEOUT 0
LABEL guest
  LINUX /vmlinuz
  INITRD /initrd.gz
  APPEND console=ttyS0,115200 panic=-1 quiet
CFG
cp "$vmlinuz" "$work/vmlinuz"
touch -d "@$SOURCE_DATE_EPOCH" "$work/vmlinuz" "$work/initrd.gz" "$work/syslinux.cfg"

# FAT sized to the payload plus room for ldlinux and the FAT itself.
payload_mib=$(( ($(stat -c %s "$work/vmlinuz") + $(stat -c %s "$work/initrd.gz")) / 1048576 ))
fat_mib=$(( payload_mib + 3 ))
image=$work/guest.img
truncate -s "$(( fat_mib + 1 ))M" "$image"
printf 'label: dos\nlabel-id: 0x72696e67\nstart=%s, type=e, bootable\n' "$part_start" \
  | sfdisk --no-reread --no-tell-kernel -q "$image" >&2
mkfs.vfat --invariant --offset="$part_start" -h "$part_start" -n GUESTBOOT -i 72696e67 "$image" $(( fat_mib * 1024 )) >/dev/null
fat="$image@@$(( part_start * 512 ))"
for f in syslinux.cfg vmlinuz initrd.gz; do mcopy -o -m -i "$fat" "$work/$f" "::/$f"; done
syslinux --offset $(( part_start * 512 )) --install "$image"
dd if="$mbr" of="$image" bs=440 count=1 conv=notrunc status=none
mv -f "$image" "$out"
