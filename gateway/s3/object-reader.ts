import type { Logger } from '../../lib/logger.ts'
import { StorageError, type Namespace, type ObjectInfo, type ObjectPath, type ObjectRead } from '../../storage/index.ts'
import { S3Error } from './errors.ts'
import { describeObject, isLargeObject, objectBody } from '../swift/object-reader.ts'
import { isManifest, readManifest, removeManifestParts } from './multipart-manifest.ts'
import { resolveRange, type RequestedRange } from '../http/range.ts'

export interface OpenedObject {
  info: ObjectInfo
  /** Bytes `body` yields. */
  length: number
  /** The object's full size (a multipart object's, not its manifest's). */
  size: number
  /** Set for a satisfied Range request: `bytes a-b/size`. */
  contentRange?: string
  body: AsyncGenerator<Buffer>
  /** Stops the transfer when the body will not be read. */
  cancel: () => void
}

async function * nothing (): AsyncGenerator<Buffer> {}

/**
 * Opens an object for reading, a byte range of it, or (withBody false) just
 * its metadata. Multipart objects (and Swift's large objects) are manifests
 * whose segments are read in turn. An unsatisfiable range calls `onUnsatisfiable` with the size (for
 * Content-Range) and throws InvalidRange.
 */
export async function openObject (namespace: Namespace, path: ObjectPath, range: RequestedRange | undefined, withBody: boolean,
  onUnsatisfiable: (size: number) => void = () => {}): Promise<OpenedObject> {
  const unsatisfiable = (size: number): never => {
    onUnsatisfiable(size)
    throw new S3Error('InvalidRange', undefined, { details: { RangeRequested: describe(range), ActualObjectSize: String(size) } })
  }
  // A plain object with a from-range can be opened in one round trip; everything else needs the size first.
  if (withBody && (range === undefined || range.kind === 'from')) {
    let read: ObjectRead | undefined
    try {
      read = await namespace.getObject(path, range === undefined ? {} : { offset: range.start, length: range.end === undefined ? undefined : range.end - range.start + 1 })
    } catch (err) {
      // Past the end of a plain object; a multipart manifest is checked against its parts below.
      if (!(err instanceof StorageError && err.code === 'RangeNotSatisfiable')) throw err
    }
    if (read !== undefined && !isLargeObject(read.info)) {
      const size = read.info.size
      if (range === undefined) return { info: read.info, length: size, size, body: read.body, cancel: () => { void read.body.return(undefined) } }
      // The store serves offset 0 of an empty object; S3 calls every range of it unsatisfiable.
      const span = resolveRange(range, size)
      if (span === undefined) {
        void read.body.return(undefined)
        return unsatisfiable(size)
      }
      const { offset, length } = span
      return { info: read.info, length, size, contentRange: `bytes ${offset}-${offset + length - 1}/${size}`, body: read.body, cancel: () => { void read.body.return(undefined) } }
    }
    // A large object (S3 multipart, Swift SLO or DLO): start over on its segments.
    void read?.body.return(undefined)
  }
  const info = await namespace.headObject(path)
  const object = await describeObject(namespace, path, info)
  const size = object.size
  const span = range === undefined ? { offset: 0, length: size } : resolveRange(range, size) ?? unsatisfiable(size)
  const contentRange = range === undefined ? undefined : `bytes ${span.offset}-${span.offset + span.length - 1}/${size}`
  if (!withBody) return { info, length: span.length, size, contentRange, body: nothing(), cancel: () => {} }
  const body = await objectBody(namespace, object, span.offset, span.length)
  return { info, length: span.length, size, contentRange, body, cancel: () => { void body.return(undefined) } }
}

/**
 * `?partNumber=n` on GET/HEAD as a range: the bytes of part n of a
 * multipart object (with its part count), or, as S3 does, the whole of a
 * plain object for part 1. Other part numbers are InvalidPartNumber.
 */
export async function partRange (namespace: Namespace, path: ObjectPath, partNumber: number): Promise<{ range?: RequestedRange, partsCount?: number }> {
  const info = await namespace.headObject(path)
  if (!isManifest(info)) {
    if (partNumber !== 1) throw new S3Error('InvalidPartNumber', undefined, { details: { PartNumberRequested: String(partNumber), ActualPartCount: '1' } })
    return info.size === 0 ? {} : { range: { kind: 'from', start: 0, end: info.size - 1 } }
  }
  const { parts } = await readManifest(namespace, path)
  const part = parts[partNumber - 1]
  if (part === undefined) {
    throw new S3Error('InvalidPartNumber', undefined, { details: { PartNumberRequested: String(partNumber), ActualPartCount: String(parts.length) } })
  }
  const start = parts.slice(0, partNumber - 1).reduce((sum, p) => sum + p.size, 0)
  return { range: { kind: 'from', start, end: start + part.size - 1 }, partsCount: parts.length }
}

function describe (range: RequestedRange | undefined): string {
  if (range === undefined) return ''
  return range.kind === 'suffix' ? `bytes=-${range.length}` : `bytes=${range.start}-${range.end ?? ''}`
}

/** The object's metadata, or undefined when the key does not exist. */
export async function headIfExists (namespace: Namespace, path: ObjectPath): Promise<ObjectInfo | undefined> {
  try {
    return await namespace.headObject(path)
  } catch (err) {
    if (err instanceof StorageError && err.code === 'NotFound') return undefined
    throw err
  }
}

/** Deletes an object; a multipart object's parts go with it. Deleting a missing key succeeds, as in S3. */
export async function removeObject (namespace: Namespace, path: ObjectPath, logger: Logger): Promise<void> {
  const previous = await headIfExists(namespace, path)
  await namespace.deleteObject(path)
  if (previous !== undefined && isManifest(previous)) await removeManifestParts(namespace, path, previous, logger)
}
