import { createHash } from 'node:crypto'
import type { Namespace } from '../../storage/index.ts'
import type { Segment } from '../http/segmented-body.ts'
import { SwiftError } from './errors.ts'
import { DLO_LIMITS } from './limits.ts'
import { decodeManifestHeader } from './metadata.ts'
import { checkContainerName } from './target.ts'

/**
 * A Dynamic Large Object (X-Object-Manifest: `<container>/<prefix>`) is
 * the concatenation, in name order, of the objects listed under the prefix
 * at the time of the read; its ETag is the quoted MD5 of their ETags
 * concatenated, as Swift computes it.
 */
export async function dloSegments (namespace: Namespace, account: string, manifest: string): Promise<{ segments: Segment[], size: number, etag: string }> {
  const decoded = decodeManifestHeader(manifest)
  const slash = decoded.indexOf('/')
  const container = checkContainerName(decoded.slice(0, slash))
  const prefix = decoded.slice(slash + 1)
  const segments: Segment[] = []
  const md5 = createHash('md5')
  let marker: string | undefined
  let size = 0
  for (;;) {
    const page = await namespace.listObjects(account, container, { prefix: prefix === '' ? undefined : prefix, marker, limit: 1000 }).catch((err: unknown) => {
      // A manifest whose segment container is gone is an empty object, as in Swift.
      if (err instanceof Error && 'code' in err && err.code === 'NoSuchContainer') return undefined
      throw err
    })
    if (page === undefined) break
    for (const e of page.entries) {
      segments.push({ path: { account, container, object: e.name }, offset: 0, length: e.size })
      md5.update(e.etag)
      size += e.size
    }
    if (segments.length > DLO_LIMITS.max_segments) throw new SwiftError('Conflict', `Too many segments (over ${DLO_LIMITS.max_segments})`)
    if (!page.truncated || page.nextMarker === undefined) break
    marker = page.nextMarker
  }
  return { segments, size, etag: `"${md5.digest('hex')}"` }
}
