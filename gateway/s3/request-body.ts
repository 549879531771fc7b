import { createPayloadStream } from './auth/index.ts'
import { S3Error } from './errors.ts'
import type { S3Context } from './s3-api.ts'

/** XML request documents (delete lists, part lists) are small; S3 caps them too. */
const MAX_DOCUMENT_BYTES = 2 * 1024 * 1024

/**
 * Reads a small request body through the same signature and checksum checks
 * as object bodies. `headerChecksums: 'object'` when x-amz-checksum-* headers
 * describe the object being assembled rather than this body.
 */
export async function readDocument (ctx: S3Context, options: { required?: boolean, headerChecksums?: 'body' | 'object' } = {}): Promise<string> {
  const payload = createPayloadStream(ctx.request.raw, ctx.auth, ctx.headers, {
    maxBytes: MAX_DOCUMENT_BYTES, headerChecksums: options.headerChecksums
  })
  const parts: Buffer[] = []
  for await (const part of payload.body) parts.push(part)
  const text = Buffer.concat(parts).toString('utf8')
  if (options.required === true && text.trim() === '') throw new S3Error('MissingRequestBodyError')
  return text
}
