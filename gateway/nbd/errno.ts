import { BlockError, ExportError, type BlockErrorCode, type ExportErrorCode } from '../../storage/volume/block-device.ts'
import { Cmd, Errno, Rep, type Command } from './protocol.ts'

interface ErrnoByCommand {
  /** NBD_CMD_WRITE and NBD_CMD_WRITE_ZEROES. */
  writes: number
  others: number
}

function same (errno: number): ErrnoByCommand {
  return { writes: errno, others: errno }
}

/**
 * The one BlockError-to-errno table. The spec ("Error values") wants a write
 * or write-zeroes past the end to be ENOSPC but a read, trim or block status
 * past the end EINVAL, hence the split for OutOfRange.
 */
const BLOCK_ERRNO: Record<BlockErrorCode, ErrnoByCommand> = {
  OutOfRange: { writes: Errno.ENOSPC, others: Errno.EINVAL },
  InvalidArgument: same(Errno.EINVAL),
  ReadOnly: same(Errno.EPERM),
  // Only FAST_ZERO may fail with ENOTSUP (the spec asks for nothing else).
  NotSupported: same(Errno.ENOTSUP),
  Io: same(Errno.EIO),
  // A fenced handle lost its lease: nothing it does will succeed again, which
  // is a failed device, not a read-only export (EPERM is what the spec keeps
  // for those, and the export never said READ_ONLY). qemu's werror=stop
  // pauses the guest on EIO, the right reaction to losing the writer role.
  Fenced: same(Errno.EIO),
  ShuttingDown: same(Errno.ESHUTDOWN)
}

export function blockErrno (code: BlockErrorCode, command: Command): number {
  const entry = BLOCK_ERRNO[code]
  return command === Cmd.WRITE || command === Cmd.WRITE_ZEROES ? entry.writes : entry.others
}

/** The errno for a failed device call; `undefined` marks an unexpected error the caller logs. */
export function errnoOf (err: unknown, command: Command): number | undefined {
  return err instanceof BlockError && err.code in BLOCK_ERRNO ? blockErrno(err.code, command) : undefined
}

/**
 * The one ExportError-to-option-reply table. The spec has no "busy" reply:
 * a volume whose lease another writer holds is refused by policy (one writer
 * per volume), which NBD_REP_ERR_POLICY describes ("known and valid, but
 * server-side policy forbids"); NBD_REP_ERR_UNKNOWN would tell the user the
 * volume does not exist.
 */
const EXPORT_REPLY: Record<ExportErrorCode, number> = {
  UnknownExport: Rep.ERR_UNKNOWN,
  InUse: Rep.ERR_POLICY,
  NotAllowed: Rep.ERR_POLICY,
  // No "try later" reply exists; the message says why.
  Unavailable: Rep.ERR_UNKNOWN
}

/** The option reply for a failed describe/open; `undefined` marks an unexpected error the caller logs. */
export function exportReplyOf (err: unknown): number | undefined {
  return err instanceof ExportError && err.code in EXPORT_REPLY ? EXPORT_REPLY[err.code] : undefined
}
