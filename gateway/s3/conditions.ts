import type { IncomingHttpHeaders } from 'node:http'
import { evaluateReadConditions, evaluateWriteConditions, type ConditionSubject } from '../http/conditions.ts'
import { S3Error } from './errors.ts'

export { hasWriteConditions, type ConditionSubject } from '../http/conditions.ts'

/**
 * Read preconditions (gateway/http/conditions.ts) as S3 errors. A failed
 * copy-source condition (`prefix` x-amz-copy-source-) is always 412: there
 * is nothing to "not modify".
 */
export function checkReadConditions (headers: IncomingHttpHeaders, subject: ConditionSubject, prefix = ''): void {
  const result = evaluateReadConditions(headers, subject, prefix)
  if (result === undefined) return
  if (result.outcome === 'not-modified') throw new S3Error(prefix === '' ? 'NotModified' : 'PreconditionFailed')
  throw new S3Error('PreconditionFailed', undefined, { details: { Condition: result.condition } })
}

/** Conditional PUT (`If-None-Match: *`, `If-Match`) as S3 errors. */
export function checkWriteConditions (headers: IncomingHttpHeaders, current: ConditionSubject | undefined): void {
  const result = evaluateWriteConditions(headers, current)
  if (result === undefined) return
  if (result.outcome === 'unsupported') throw new S3Error('NotImplemented', 'If-None-Match on PUT supports only *')
  if (result.outcome === 'missing') throw new S3Error('NoSuchKey')
  throw new S3Error('PreconditionFailed', undefined, { details: { Condition: result.condition } })
}
