import { accountGet, accountHead, accountPost } from './account-ops.ts'
import { containerDelete, containerGet, containerHead, containerPost, containerPut } from './container-ops.ts'
import { SwiftError } from './errors.ts'
import { objectCopy, objectCopyFrom } from './object-copy.ts'
import { objectDelete, objectGet, objectHead, objectPost, objectPut } from './object-ops.ts'
import type { SwiftOperation } from './swift-api.ts'
import type { SwiftTarget } from './target.ts'

const ACCOUNT: Record<string, SwiftOperation> = { HEAD: accountHead, GET: accountGet, POST: accountPost }
const CONTAINER: Record<string, SwiftOperation> = { PUT: containerPut, HEAD: containerHead, GET: containerGet, POST: containerPost, DELETE: containerDelete }
const OBJECT: Record<string, SwiftOperation> = { PUT: objectPut, HEAD: objectHead, GET: objectGet, POST: objectPost, DELETE: objectDelete, COPY: objectCopy }

/** Picks the operation from the method and what the path names (account, container or object). */
export function operationFor (method: string, target: SwiftTarget, copyFrom: boolean): SwiftOperation {
  const table = target.object !== undefined ? OBJECT : target.container !== undefined ? CONTAINER : ACCOUNT
  if (table === OBJECT && method === 'PUT' && copyFrom) return objectCopyFrom
  const operation = table[method]
  if (operation === undefined) throw new SwiftError('MethodNotAllowed')
  return operation
}
