import { randomBytes } from 'node:crypto'
import { CreateBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import type { RunningAllInOne } from '../helpers/all-in-one.ts'

/**
 * The current @aws-sdk/client-s3 pointed at an all-in-one, path style,
 * default checksum behaviour left on. One attempt per call, so a retry
 * never hides a failed first answer.
 */
export function s3Client (cluster: RunningAllInOne, config: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    region: cluster.region,
    endpoint: cluster.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: cluster.accessKeyId, secretAccessKey: cluster.secretAccessKey },
    maxAttempts: 1,
    ...config
  })
}

let buckets = 0

/** A bucket name no other test of the file uses. */
export function bucketName (label: string): string {
  return `${label}-${++buckets}-${randomBytes(3).toString('hex')}`
}

/** What the SDK says about a failed call: its code (error name), HTTP status and request id. */
export interface SdkFailure {
  name: string
  status: number | undefined
  requestId: string | undefined
  /** The raw response, when the SDK kept it. */
  headers: Record<string, string>
}

function failureOf (err: unknown): SdkFailure {
  const e = err as { name: string, $metadata?: { httpStatusCode?: number, requestId?: string }, $response?: { headers?: Record<string, string> } }
  return { name: e.name, status: e.$metadata?.httpStatusCode, requestId: e.$metadata?.requestId, headers: e.$response?.headers ?? {} }
}

/** Runs `call`, which must fail; returns how. */
export async function failure (call: Promise<unknown>): Promise<SdkFailure> {
  try {
    await call
  } catch (err) {
    return failureOf(err)
  }
  throw new Error('expected the call to fail')
}

export async function bodyBytes (body: { transformToByteArray: () => Promise<Uint8Array> } | undefined): Promise<Buffer> {
  if (body === undefined) throw new Error('no body')
  return Buffer.from(await body.transformToByteArray())
}

/** A client and a fresh bucket of its own, so tests in one file can run side by side. */
export async function newBucket (cluster: RunningAllInOne, label: string): Promise<{ s3: S3Client, bucket: string }> {
  const s3 = s3Client(cluster)
  const bucket = bucketName(label)
  await s3.send(new CreateBucketCommand({ Bucket: bucket }))
  return { s3, bucket }
}
