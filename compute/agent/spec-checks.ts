import { ComputeError } from './errors.ts'
import { MAX_SOCKET_PATH_BYTES } from './instance-store.ts'
import type { DiskSpec, InstanceSpec } from './types.ts'

/** Instance ids name a directory and go into QEMU's -name: no separators, no commas. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
/** fw_cfg names outside opt/ belong to QEMU and the firmware. */
const FW_CFG_NAME = /^opt\/[A-Za-z0-9._/-]{1,50}$/

function invalid (message: string): ComputeError {
  return new ComputeError('InvalidArgument', message)
}

export function checkInstanceId (id: string): void {
  if (!ID.test(id)) throw invalid(`instance id must match ${ID.source}`)
}

export function checkFwCfgName (name: string): void {
  if (!FW_CFG_NAME.test(name)) throw invalid(`fw_cfg name ${JSON.stringify(name)} must match ${FW_CFG_NAME.source}`)
}

export function checkDisk (disk: DiskSpec, where: string): void {
  if (disk.host === '') throw invalid(`${where}: host is required`)
  if (!Number.isInteger(disk.port) || disk.port < 1 || disk.port > 65535) throw invalid(`${where}: port must be 1..65535`)
  if (disk.export === '') throw invalid(`${where}: export is required`)
  if (disk.serial === '' || disk.serial.length > 64 || /[^\x21-\x7e]/.test(disk.serial)) {
    throw invalid(`${where}: serial must be 1..64 printable ASCII characters`)
  }
}

/** `socketPath` is the longest socket path the instance would get. */
export function checkSpec (spec: InstanceSpec, socketPath: string): void {
  checkInstanceId(spec.id)
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw invalid(`instance id ${spec.id} is too long for this agent's data dir (QEMU's socket path ${socketPath} would exceed ${MAX_SOCKET_PATH_BYTES} bytes)`)
  }
  if (!Number.isInteger(spec.vcpus) || spec.vcpus < 1 || spec.vcpus > 64) throw invalid('vcpus must be 1..64')
  if (!Number.isInteger(spec.ramMiB) || spec.ramMiB < 64) throw invalid('ram must be at least 64 MiB')
  spec.disks.forEach((disk, i) => checkDisk(disk, `disks[${i}]`))
  if (spec.disks.filter((d) => d.boot).length !== 1) throw invalid('exactly one disk must be the boot disk')
  const serials = new Set(spec.disks.map((d) => d.serial))
  if (serials.size !== spec.disks.length) throw invalid('disk serials must be distinct')
  for (const name of Object.keys(spec.fwCfg)) checkFwCfgName(name)
}
