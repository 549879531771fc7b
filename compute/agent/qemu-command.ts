import type { Accelerator, DiskSpec, InstanceSpec } from './types.ts'

/** Files of one instance's run: in its directory, sockets apart in a short path (sun_path holds 107 bytes). */
export interface InstancePaths {
  dir: string
  socketDir: string
  record: string
  /** Also puts the data dir on QEMU's command line, where operators (and tests) find which agent a QEMU belongs to. */
  pidFile: string
  qmpSocket: string
  consoleSocket: string
  consoleLog: string
  /** QEMU's own stdout/stderr (its startup errors). */
  qemuLog: string
}

/** A disk QEMU opens, with the block node name it gets. */
export interface PlacedDisk {
  disk: DiskSpec
  node: string
}

export interface QemuCommandOptions {
  spec: InstanceSpec
  /** Spec disks first, then volumes attached live earlier (cold-plugged on this start). */
  disks: PlacedDisk[]
  paths: InstancePaths
  accelerator: Accelerator
  sshForward: { host: string, port: number }
}

/** QMP blockdev-add arguments (and the -blockdev JSON) for an NBD disk. */
export function nbdBlockdev (placed: PlacedDisk): Record<string, unknown> {
  const { disk, node } = placed
  return {
    driver: 'nbd',
    'node-name': node,
    // QEMU wants the port as a string here.
    server: { type: 'inet', host: disk.host, port: String(disk.port) },
    export: disk.export,
    cache: { direct: true }
  }
}

/** QMP device_add arguments (and the -device JSON) for the virtio disk on top of a block node. */
export function virtioBlkDevice (placed: PlacedDisk): Record<string, unknown> {
  return {
    driver: 'virtio-blk-pci',
    id: deviceId(placed.node),
    drive: placed.node,
    serial: placed.disk.serial,
    // Without it SeaBIOS may try a data disk first and hang on "No bootable device".
    ...(placed.disk.boot ? { bootindex: 0 } : {})
  }
}

export function deviceId (node: string): string {
  return `${node}-dev`
}

/**
 * QEMU's argv for one instance. It starts paused (-S) so the agent can
 * connect the console before the firmware prints anything, and keeps the
 * process after a guest poweroff (-no-shutdown) so a guest that shuts itself
 * down while the agent is away is told apart from a crash on adoption.
 * Disks and devices go as JSON: export names and serials need no escaping.
 */
export function qemuArgs (options: QemuCommandOptions): string[] {
  const { spec, paths, accelerator, sshForward } = options
  const args = [
    '-name', `guest=${spec.id},debug-threads=off`,
    '-machine', 'pc',
    '-accel', accelerator,
    ...(accelerator === 'kvm' ? ['-cpu', 'host'] : []),
    '-smp', String(spec.vcpus),
    '-m', String(spec.ramMiB),
    '-nodefaults', '-no-user-config', '-display', 'none', '-S', '-no-shutdown',
    '-pidfile', paths.pidFile,
    '-chardev', `socket,id=qmp,path=${paths.qmpSocket},server=on,wait=off`,
    '-mon', 'chardev=qmp,mode=control',
    '-chardev', `socket,id=console,path=${paths.consoleSocket},server=on,wait=off`,
    '-serial', 'chardev:console',
    '-netdev', `user,id=net0,hostfwd=tcp:${sshForward.host}:${sshForward.port}-:22`,
    // No option ROM: the guest never network-boots, and iPXE's init costs boot time.
    '-device', JSON.stringify({ driver: 'virtio-net-pci', netdev: 'net0', romfile: '' })
  ]
  for (const placed of options.disks) {
    args.push('-blockdev', JSON.stringify(nbdBlockdev(placed)), '-device', JSON.stringify(virtioBlkDevice(placed)))
  }
  for (const [name, value] of Object.entries(spec.fwCfg)) {
    args.push('-fw_cfg', `name=${name},string=${value.replaceAll(',', ',,')}`)
  }
  return args
}
