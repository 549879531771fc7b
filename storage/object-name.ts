import { createHash } from 'node:crypto'
import { StorageError } from './errors.ts'
import type { ObjectRef } from './types.ts'

export const MAX_OBJECT_NAME_BYTES = 1024
export const MAX_ACCOUNT_BYTES = 256
export const MAX_CONTAINER_BYTES = 256

/** A validated ref plus what the disk layout derives from it. */
export interface ObjectKey {
  ref: ObjectRef
  /** `/account/container/object`, the name hashed by the ring and stored in every file. */
  name: string
  /** md5 of `name`, 32 hex digits: the file name stem and index key suffix. */
  hash: string
}

function checkPart (value: string, what: string, maxBytes: number, slashAllowed: boolean): void {
  if (value === '') throw new StorageError('InvalidArgument', `${what} name is empty`)
  if (Buffer.byteLength(value) > maxBytes) throw new StorageError('InvalidArgument', `${what} name longer than ${maxBytes} bytes`)
  if (value.includes('\0')) throw new StorageError('InvalidArgument', `${what} name contains NUL`)
  // A slash in account or container would let two different refs join into one name.
  if (!slashAllowed && value.includes('/')) throw new StorageError('InvalidArgument', `${what} name contains "/"`)
}

export function objectKey (ref: ObjectRef | null | undefined): ObjectKey {
  if (ref == null) throw new StorageError('InvalidArgument', 'missing object ref')
  if (ref.device === '') throw new StorageError('InvalidArgument', 'device name is empty')
  checkPart(ref.account, 'account', MAX_ACCOUNT_BYTES, false)
  checkPart(ref.container, 'container', MAX_CONTAINER_BYTES, false)
  checkPart(ref.object, 'object', MAX_OBJECT_NAME_BYTES, true)
  const name = `/${ref.account}/${ref.container}/${ref.object}`
  return { ref, name, hash: createHash('md5').update(name).digest('hex') }
}
