import { SwiftError } from './errors.ts'

/** Swift's name limits (also the store's), sent in /info. */
export const MAX_CONTAINER_NAME_BYTES = 256
export const MAX_OBJECT_NAME_BYTES = 1024
const ACCOUNT_PREFIX = 'AUTH_'

/** What a /v1 request addresses. */
export interface SwiftTarget {
  /** `AUTH_<project id>`: the storage account, the same one S3 uses for the project's buckets. */
  account: string
  projectId: string
  container?: string
  object?: string
  query: URLSearchParams
}

/** The storage account of a project, for Swift and S3 alike. */
export function accountOf (projectId: string): string {
  return `${ACCOUNT_PREFIX}${projectId}`
}

function decode (part: string, what: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    throw new SwiftError('BadRequest', `Invalid UTF8 or contains NULL in the ${what} name`)
  }
}

/**
 * Parses `/v1/AUTH_<project>[/container[/object]]` from the raw URL (object
 * names are arbitrary bytes and may hold slashes, so fastify's decoded
 * params will not do) and checks the names against Swift's limits.
 */
export function parseTarget (rawUrl: string): SwiftTarget {
  const q = rawUrl.indexOf('?')
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q)
  const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1))
  const rest = path.slice('/v1/'.length)
  const slash1 = rest.indexOf('/')
  const account = decode(slash1 < 0 ? rest : rest.slice(0, slash1), 'account')
  if (!account.startsWith(ACCOUNT_PREFIX) || account.length === ACCOUNT_PREFIX.length) throw new SwiftError('NotFound')
  const target: SwiftTarget = { account, projectId: account.slice(ACCOUNT_PREFIX.length), query }
  if (slash1 < 0 || slash1 === rest.length - 1) return target
  const afterAccount = rest.slice(slash1 + 1)
  const slash2 = afterAccount.indexOf('/')
  target.container = checkContainerName(decode(slash2 < 0 ? afterAccount : afterAccount.slice(0, slash2), 'container'))
  if (slash2 < 0 || slash2 === afterAccount.length - 1) return target
  target.object = checkObjectName(decode(afterAccount.slice(slash2 + 1), 'object'))
  return target
}

/**
 * A container name within Swift's limits. `+` is refused: S3 keeps its
 * multipart companions in `<bucket>+uploads` / `<bucket>+segments`, which
 * no Swift container may shadow or reach.
 */
export function checkContainerName (name: string): string {
  const bytes = Buffer.byteLength(name)
  if (bytes > MAX_CONTAINER_NAME_BYTES) throw new SwiftError('BadRequest', `Container name length of ${bytes} longer than ${MAX_CONTAINER_NAME_BYTES}`)
  if (name === '' || name.includes('/')) throw new SwiftError('BadRequest', 'Invalid container name')
  if (name.includes('+')) throw new SwiftError('BadRequest', 'Container names may not contain "+" (reserved for S3 multipart uploads)')
  if (name.includes('\0')) throw new SwiftError('BadRequest', 'Invalid UTF8 or contains NULL in the container name')
  return name
}

export function checkObjectName (name: string): string {
  const bytes = Buffer.byteLength(name)
  if (bytes > MAX_OBJECT_NAME_BYTES) throw new SwiftError('BadRequest', `Object name length of ${bytes} longer than ${MAX_OBJECT_NAME_BYTES}`)
  if (name.includes('\0')) throw new SwiftError('BadRequest', 'Invalid UTF8 or contains NULL in the object name')
  return name
}

/**
 * `container/object` as X-Copy-From, Destination and X-Object-Manifest
 * name them (URL-encoded, an optional leading slash).
 */
export function parseContainerObject (value: string, header: string): { container: string, object: string } {
  return splitContainerObject(decode(value, header), header)
}

/** `[/]container/object`, not encoded (as SLO manifests name segments). */
export function splitContainerObject (text: string, what: string): { container: string, object: string } {
  const trimmed = text.startsWith('/') ? text.slice(1) : text
  const slash = trimmed.indexOf('/')
  if (slash <= 0 || slash === trimmed.length - 1) {
    throw new SwiftError('PreconditionFailed', `${what} must be of the form <container name>/<object name>`)
  }
  return { container: checkContainerName(trimmed.slice(0, slash)), object: checkObjectName(trimmed.slice(slash + 1)) }
}
