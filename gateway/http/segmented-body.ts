import type { Namespace, ObjectPath } from '../../storage/index.ts'

/** One piece of a large object: `length` bytes of the object at `path`, from `offset` in it. */
export interface Segment {
  path: ObjectPath
  offset: number
  length: number
}

/**
 * Streams [offset, offset + length) of an object made of segments in order
 * (an S3 multipart object's parts, a Swift SLO's or DLO's segments),
 * opening only the segments that span overlaps, one at a time.
 */
export async function * segmentedBody (namespace: Namespace, segments: Segment[], offset: number, length: number): AsyncGenerator<Buffer> {
  let segmentStart = 0
  const end = offset + length
  for (const segment of segments) {
    const segmentEnd = segmentStart + segment.length
    if (segmentEnd > offset && segmentStart < end) {
      const from = Math.max(offset, segmentStart) - segmentStart
      const to = Math.min(end, segmentEnd) - segmentStart
      const read = await namespace.getObject(segment.path, { offset: segment.offset + from, length: to - from })
      yield * read.body
    }
    segmentStart = segmentEnd
    if (segmentStart >= end) break
  }
}
