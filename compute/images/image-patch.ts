import { ImageError } from './errors.ts'
import { CORE_FIELDS, WRITABLE_FIELDS, type ImageRecord } from './records.ts'
import { checkField } from './image-fields.ts'

/**
 * Applies a Glance image patch (media type
 * `application/openstack-images-v2.1-json-patch`: a JSON array of
 * `{ op: add|replace|remove, path: "/<attribute>", value }`) to a record.
 * Core attributes are replaced (never removed), custom properties added,
 * replaced or removed; format changes only while the image has no data.
 */
export function applyPatch (image: ImageRecord, patch: unknown): ImageRecord {
  if (!Array.isArray(patch)) throw new ImageError('InvalidArgument', 'a patch is a JSON array of operations')
  let next: ImageRecord = { ...image, properties: { ...image.properties } }
  for (const raw of patch as unknown[]) {
    const { op, field, value } = parseOperation(raw)
    if (CORE_FIELDS.has(field)) {
      if (!WRITABLE_FIELDS.has(field)) throw new ImageError('Forbidden', `Attribute '${field}' is read-only.`)
      if (op === 'remove') throw new ImageError('Forbidden', `Attribute '${field}' cannot be removed.`)
      if ((field === 'disk_format' || field === 'container_format') && image.status !== 'queued') {
        throw new ImageError('Forbidden', `Attribute '${field}' can be only replaced for a queued image.`)
      }
      next = { ...next, [field]: checkField(field, value) }
    } else if (op === 'remove') {
      if (!(field in next.properties)) throw new ImageError('Conflict', `Property ${field} does not exist.`)
      const { [field]: _removed, ...kept } = next.properties
      next.properties = kept
    } else {
      if (op === 'replace' && !(field in next.properties)) throw new ImageError('Conflict', `Property ${field} does not exist.`)
      next.properties[field] = checkField(field, value) as string
    }
  }
  return next
}

function parseOperation (raw: unknown): { op: 'add' | 'replace' | 'remove', field: string, value: unknown } {
  const operation = raw as { op?: unknown, path?: unknown, value?: unknown } | null
  const op = operation?.op
  const path = operation?.path
  if (op !== 'add' && op !== 'replace' && op !== 'remove') throw new ImageError('InvalidArgument', 'each operation needs "op": add, replace or remove')
  if (typeof path !== 'string' || !/^\/[^/]+$/.test(path)) throw new ImageError('InvalidArgument', `"path" must be "/<attribute>", not ${JSON.stringify(path)}`)
  if (op !== 'remove' && !('value' in (operation ?? {}))) throw new ImageError('InvalidArgument', `"${op}" needs a "value"`)
  // JSON pointer escapes (RFC 6901).
  return { op, field: path.slice(1).replaceAll('~1', '/').replaceAll('~0', '~'), value: operation?.value }
}
