import { readFile } from 'node:fs/promises'
import { ComputeError } from './errors.ts'

/** What QEMU's failures mean for the caller. */

/**
 * Why QEMU did not come up, from its own log (`qemu-system-x86_64: <option>:
 * <reason>`): a disk it could not open, or anything else.
 */
export async function startFailure (instanceId: string, qemuLog: string, err: unknown): Promise<ComputeError> {
  const lines = (await readFile(qemuLog, 'utf8').catch(() => '')).trim().split('\n')
  const line = lines.find((l) => l.includes('qemu-system')) ?? lines.at(-1) ?? ''
  const reason = line.replace(/^\S*qemu-system-\S+: /, '') || (err as Error).message
  if (line.includes('-blockdev')) {
    return new ComputeError('DiskUnavailable', `QEMU cannot open a disk of ${instanceId}: ${reason.replace(/^-blockdev \{.*?\}: /, '')}`)
  }
  return new ComputeError('HypervisorFailed', `QEMU failed to start ${instanceId}: ${reason}`)
}

/**
 * An NBD server that refuses the export (rather than the connection): for a
 * ringstack volume usually the write lease, which the previous holder (this
 * instance's last QEMU, or the instance a volume was just detached from)
 * may still be giving back, so it is worth retrying for a few seconds.
 */
export function deniedByServer (err: unknown): boolean {
  return err instanceof ComputeError && err.code === 'DiskUnavailable' && /denied by server/i.test(err.message)
}
