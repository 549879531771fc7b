/** A single byte range as the Range header asks for it, before the size is known. */
export type RequestedRange =
  | { kind: 'from', start: number, end?: number }
  | { kind: 'suffix', length: number }

/** One `a-b`, `a-` or `-n` spec; undefined when it is not one. */
function parseSpec (spec: string): RequestedRange | undefined {
  const m = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(spec)
  if (m === null) return undefined
  const [, a = '', b = ''] = m
  if (a === '' && b === '') return undefined
  if (a === '') return { kind: 'suffix', length: Number(b) }
  const start = Number(a)
  if (b === '') return { kind: 'from', start }
  const end = Number(b)
  return end < start ? undefined : { kind: 'from', start, end }
}

/**
 * Parses `bytes=a-b`, `bytes=a-` and `bytes=-n`. Anything else, several
 * ranges included (S3 serves one range only), is ignored as RFC 9110 allows:
 * the whole object is sent.
 */
export function parseRange (header: string | undefined): RequestedRange | undefined {
  const ranges = parseRanges(header)
  return ranges?.length === 1 ? ranges[0] : undefined
}

/**
 * Every range of `bytes=spec[,spec...]` (Swift serves several as
 * multipart/byteranges). A header with any malformed spec is ignored as a
 * whole (undefined), as RFC 9110 allows.
 */
export function parseRanges (header: string | undefined): RequestedRange[] | undefined {
  if (header === undefined) return undefined
  const m = /^\s*bytes\s*=(.*)$/i.exec(header)
  if (m === null) return undefined
  const ranges: RequestedRange[] = []
  for (const spec of m[1]!.split(',')) {
    const range = parseSpec(spec)
    if (range === undefined) return undefined
    ranges.push(range)
  }
  return ranges
}

/** The range as offset and length once the size is known; undefined when unsatisfiable. */
export function resolveRange (range: RequestedRange, size: number): { offset: number, length: number } | undefined {
  if (range.kind === 'suffix') {
    if (range.length === 0 || size === 0) return undefined
    const length = Math.min(range.length, size)
    return { offset: size - length, length }
  }
  if (range.start >= size) return undefined
  const end = Math.min(range.end ?? size - 1, size - 1)
  return { offset: range.start, length: end - range.start + 1 }
}

/** `bytes a-b/size` for a resolved span. */
export function contentRangeOf (span: { offset: number, length: number }, size: number): string {
  return `bytes ${span.offset}-${span.offset + span.length - 1}/${size}`
}
