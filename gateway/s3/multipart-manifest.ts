import type { Logger } from '../../lib/logger.ts'
import { StorageError, type Namespace, type ObjectInfo, type ObjectPath } from '../../storage/index.ts'
import { S3Error } from './errors.ts'
import type { Segment } from '../http/segmented-body.ts'

/**
 * A completed multipart upload is stored as a small manifest object at the
 * key, listing its parts, which stay where they were uploaded (objects in
 * the bucket's `+segments` container). Reads stream the parts in order;
 * deleting or overwriting the key removes them.
 */
export interface ManifestPart {
  /** Part number as uploaded. */
  n: number
  size: number
  etag: string
}

export const MANIFEST_KEY = 'multipart-upload'
export const MANIFEST_SIZE_KEY = 'multipart-size'

export function segmentsContainer (bucket: string): string {
  return `${bucket}+segments`
}

export function uploadsContainer (bucket: string): string {
  return `${bucket}+uploads`
}

export function partObjectName (uploadId: string, partNumber: number): string {
  return `${uploadId}/${String(partNumber).padStart(5, '0')}`
}

export function isManifest (info: ObjectInfo): boolean {
  return info.metadata[MANIFEST_KEY] !== undefined
}

export function manifestSize (info: ObjectInfo): number {
  return Number(info.metadata[MANIFEST_SIZE_KEY])
}

/** A multipart object's parts, in order, as its manifest lists them. */
export async function readManifest (namespace: Namespace, path: ObjectPath): Promise<{ uploadId: string, parts: ManifestPart[] }> {
  const read = await namespace.getObject(path)
  const chunks: Buffer[] = []
  for await (const chunk of read.body) chunks.push(chunk)
  const uploadId = read.info.metadata[MANIFEST_KEY]
  if (uploadId === undefined) throw new S3Error('InternalError', 'the object changed while it was read')
  return { uploadId, parts: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ManifestPart[] }
}

/** A multipart object's parts as segments, in order (Swift reads S3's multipart objects through these too). */
export async function manifestSegments (namespace: Namespace, path: ObjectPath, info: ObjectInfo): Promise<Segment[]> {
  const { uploadId, parts } = await readManifest(namespace, path)
  if (uploadId !== info.metadata[MANIFEST_KEY]) throw new S3Error('InternalError', 'the object changed while it was read')
  const container = segmentsContainer(path.container)
  return parts.map((part) => ({ path: { ...path, container, object: partObjectName(uploadId, part.n) }, offset: 0, length: part.size }))
}

/** Removes the parts a (now replaced or deleted) manifest pointed to. */
export async function removeManifestParts (namespace: Namespace, path: ObjectPath, info: ObjectInfo, logger: Logger): Promise<void> {
  const uploadId = info.metadata[MANIFEST_KEY]!
  await removeParts(namespace, { ...path, container: segmentsContainer(path.container) }, uploadId, () => true, logger)
}

/**
 * After a write at `path` acked: when it replaced a multipart object (`previous`, read before or
 * alongside the write), that object's parts are garbage now. A `previous` no older than the write
 * is the write itself or a later one, and a manifest of the same upload keeps its parts.
 */
export async function removeReplacedParts (namespace: Namespace, path: ObjectPath, previous: ObjectInfo | undefined,
  written: ObjectInfo, logger: Logger): Promise<void> {
  if (previous === undefined || !isManifest(previous) || previous.timestamp >= written.timestamp) return
  if (previous.metadata[MANIFEST_KEY] === written.metadata[MANIFEST_KEY]) return
  await removeManifestParts(namespace, path, previous, logger)
}

/** Deletes the parts of an upload that `doomed` selects (by part number). */
export async function removeParts (namespace: Namespace, segments: ObjectPath, uploadId: string, doomed: (n: number) => boolean,
  logger: Logger): Promise<void> {
  let marker: string | undefined
  for (;;) {
    const page = await namespace.listObjects(segments.account, segments.container, { prefix: `${uploadId}/`, marker, limit: 1000 })
    const names = page.entries.map((e) => e.name).filter((name) => doomed(Number(name.slice(uploadId.length + 1))))
    for (let i = 0; i < names.length; i += 16) {
      await Promise.all(names.slice(i, i + 16).map(async (object) => {
        try {
          await namespace.deleteObject({ ...segments, object })
        } catch (err) {
          // A part left behind is garbage, not damage; the upload itself is done.
          if (!(err instanceof StorageError)) throw err
          logger.warn({ object, err: err.message }, 'multipart part not removed')
        }
      }))
    }
    if (!page.truncated) break
    marker = page.nextMarker
  }
}

/**
 * The object a write at `path` is about to replace, read before the write
 * starts (read alongside it, a small write could land first and hide what
 * it replaced), so that a replaced multipart object's parts go once the
 * write is acked (removeReplacedParts). With `always` false the read is skipped
 * in buckets that never had a multipart upload (no segments container),
 * which keeps plain PUTs (S3's and Swift's) at one round of storage calls.
 */
export async function replacedObject (namespace: Namespace, path: ObjectPath, always: boolean): Promise<ObjectInfo | undefined> {
  try {
    if (!always && !await namespace.containerExists(path.account, segmentsContainer(path.container))) return undefined
    return await namespace.headObject(path)
  } catch (err) {
    // InvalidArgument: a container name so long its companion's is past the store's limit, which no upload can have made.
    if (err instanceof StorageError && (err.code === 'NotFound' || (err.code === 'InvalidArgument' && !always))) return undefined
    throw err
  }
}
