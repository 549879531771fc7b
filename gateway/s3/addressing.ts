import { S3Error } from './errors.ts'

/** What an S3 request addresses: a bucket, an object in it, or the service. */
export interface S3Target {
  bucket?: string
  key?: string
  query: URLSearchParams
  /** Path as sent, for error Resource elements. */
  resource: string
}

/**
 * Splits a request into bucket and key. Virtual-host style
 * (`bucket.s3.example.com`) when the Host header ends in the base domain,
 * path style (`/bucket/key`) otherwise. Keys keep every byte the client
 * sent: `//`, trailing slashes and percent-escapes decode exactly once.
 */
export function parseTarget (rawUrl: string, host: string | undefined, baseDomain: string | undefined): S3Target {
  const q = rawUrl.indexOf('?')
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q)
  const query = new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1))
  const path = decodePath(rawPath)
  const hostname = (host ?? '').replace(/:\d+$/, '').toLowerCase()
  if (baseDomain !== undefined && hostname.endsWith(`.${baseDomain}`)) {
    const bucket = hostname.slice(0, -(baseDomain.length + 1))
    const key = path.slice(1)
    return { bucket, key: key === '' ? undefined : key, query, resource: `/${bucket}${path}` }
  }
  const slash = path.indexOf('/', 1)
  if (path === '/' || path === '') return { query, resource: '/' }
  const bucket = slash === -1 ? path.slice(1) : path.slice(1, slash)
  const key = slash === -1 ? '' : path.slice(slash + 1)
  return { bucket, key: key === '' ? undefined : key, query, resource: path }
}

function decodePath (rawPath: string): string {
  try {
    return decodeURIComponent(rawPath)
  } catch {
    throw new S3Error('InvalidURI', 'Couldn\'t parse the specified URI.')
  }
}
