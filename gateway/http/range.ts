/** A single byte range as the Range header asks for it, before the size is known. */
export type RequestedRange =
  | { kind: 'from', start: number, end?: number }
  | { kind: 'suffix', length: number }

/**
 * Parses `bytes=a-b`, `bytes=a-` and `bytes=-n`. Anything else, several
 * ranges included (S3 serves one range only), is ignored as RFC 9110 allows:
 * the whole object is sent.
 */
export function parseRange (header: string | undefined): RequestedRange | undefined {
  if (header === undefined) return undefined
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (m === null) return undefined
  const [, a = '', b = ''] = m
  if (a === '' && b === '') return undefined
  if (a === '') return { kind: 'suffix', length: Number(b) }
  const start = Number(a)
  if (b === '') return { kind: 'from', start }
  const end = Number(b)
  return end < start ? undefined : { kind: 'from', start, end }
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
