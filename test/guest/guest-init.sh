#!/bin/busybox sh
# /init of the test guest: runs from the initramfs, reports on ttyS0 in lines
# the tests match with `includes` (SeaBIOS leaves escape codes on line starts).
#   GUEST-INIT, GUEST-BOOT-OK (the boot marker), GUEST-MODE,
#   GUEST-BLK name= sectors= ro= serial=      one per disk (serial = -device serial=)
#   GUEST-DATA-PREV / GUEST-DATA-OK dev= ts= sha256=   per data disk, see data_test
#   stay mode: GUEST-READY, GUEST-HOTPLUG-ADD / GUEST-HOTPLUG-REMOVE, GUEST-ACPI-POWERDOWN
#   otherwise: GUEST-POWEROFF, then power off
# The mode comes from QEMU's `-fw_cfg name=opt/guest/mode,string=stay[,ro]`.
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t devtmpfs devtmpfs /dev
# The archive has no /dev/console node; devtmpfs provides it.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo "GUEST-INIT uptime=$(cut -d' ' -f1 /proc/uptime)"
# The kernel .deb ships no modules.dep, so the order is fixed by hand.
for m in $(cat /etc/modules); do
  insmod "/lib/modules/$m.ko" || echo "GUEST-WARN insmod $m failed"
done
echo "GUEST-BOOT-OK kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"

mode=""
fw=/sys/firmware/qemu_fw_cfg/by_name/opt/guest/mode/raw
[ -r $fw ] && mode=$(cat $fw)
echo "GUEST-MODE mode=$mode"
has_mode() { case ",$mode," in *",$1,"*) return 0;; esac; return 1; }

# virtio_blk probes asynchronously: give vda a moment to appear.
i=0; while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done

blk_line() {
  echo "GUEST-BLK name=$1 sectors=$(cat /sys/block/$1/size) ro=$(cat /sys/block/$1/ro) serial=$(cat /sys/block/$1/serial 2>/dev/null)"
}

# The first MiB of a data disk gets a 512-byte header line and a fixed
# pattern, written through to the device, read back with caches dropped; the
# host compares the printed sha256 with the first MiB of the volume.
data_test() {
  dev=/dev/$1
  prev=$(dd if=$dev bs=512 count=1 2>/dev/null | head -n1 | tr -cd 'A-Za-z0-9=._: -')
  echo "GUEST-DATA-PREV dev=$1 header=$prev"
  if has_mode ro; then
    echo "GUEST-DATA-RO dev=$1 sha256=$(dd if=$dev bs=1M count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
    return
  fi
  ts=$(date +%s)
  printf 'GUEST-DATA v1 dev=%s ts=%s\n' $1 $ts > /tmp/header
  dd if=/tmp/header of=/tmp/block bs=512 count=1 conv=sync 2>/dev/null
  yes 'GUEST-PATTERN-0123456789abcdef' | head -c 1048064 >> /tmp/block
  want=$(sha256sum /tmp/block | cut -d' ' -f1)
  if ! dd if=/tmp/block of=$dev bs=1M count=1 conv=fsync 2>/dev/null; then
    echo "GUEST-DATA-FAIL dev=$1 write"; rm -f /tmp/block; return
  fi
  rm -f /tmp/block
  sync; echo 3 > /proc/sys/vm/drop_caches
  got=$(dd if=$dev bs=1M count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
  if [ "$want" = "$got" ]; then echo "GUEST-DATA-OK dev=$1 ts=$ts sha256=$got"
  else echo "GUEST-DATA-FAIL dev=$1 want=$want got=$got"; fi
}

for d in /sys/block/*; do
  n=${d##*/}
  case $n in vd*) blk_line $n;; esac
done
for d in /sys/block/vd*; do
  n=${d##*/}
  [ "$n" = vda ] || data_test $n
done

if has_mode stay; then
  # busybox acpid turns the power button (evdev) into /etc/acpi/PWRF/00000080.
  mkdir -p /etc/acpi/PWRF
  printf '#!/bin/sh\necho GUEST-ACPI-POWERDOWN > /dev/console\nsync\npoweroff -f\n' > /etc/acpi/PWRF/00000080
  chmod 755 /etc/acpi/PWRF/00000080
  acpid -l /tmp/acpid.log || echo "GUEST-WARN acpid failed"
  echo "GUEST-READY"
  known=" $(ls /sys/block | tr '\n' ' ')"
  while :; do
    sleep 0.5
    now=" $(ls /sys/block | tr '\n' ' ')"
    for n in $now; do
      case "$known" in *" $n "*) ;; *)
        case $n in vd*) echo "GUEST-HOTPLUG-ADD name=$n"; blk_line $n; data_test $n;; esac;;
      esac
    done
    for n in $known; do
      case "$now" in *" $n "*) ;; *) echo "GUEST-HOTPLUG-REMOVE name=$n";; esac
    done
    known=$now
  done
fi
echo "GUEST-POWEROFF"
sync
poweroff -f
