import { execFileSync, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import test from 'ava'
import { authenticate, createPayloadStream } from '../../../gateway/s3/auth/index.ts'
import { credentials, drain, KEY, reads, requestFromUrl } from './helpers.ts'

/**
 * botocore is the signer of the aws CLI, s3transfer and boto3: a second
 * official SigV4 implementation whose encoding choices differ from the JS
 * SDK's. Skipped where no python3 with botocore is installed.
 */

const script = fileURLToPath(new URL('fixtures/botocore-capture.py', import.meta.url))
const hasBotocore = spawnSync('python3', ['-c', 'import boto3, botocore'], { stdio: 'ignore' }).status === 0

interface Capture { method: string, url?: string, presigned?: string, headers?: Record<string, string>, body?: string }

const run = hasBotocore ? test : test.skip

run('requests signed by botocore verify, their bodies decode', async (t) => {
  const captured = JSON.parse(execFileSync('python3', [script, KEY.accessKeyId, KEY.secretAccessKey], { encoding: 'utf8' })) as Capture[]
  t.true(captured.length >= 12)
  const modes = new Set<string>()
  for (const item of captured) {
    if (item.presigned !== undefined) {
      const auth = await authenticate(requestFromUrl(item.method, item.presigned), { credentials: credentials() })
      t.true(auth?.presigned, item.presigned)
      continue
    }
    const url = new URL(item.url!)
    const request = { method: item.method, rawUrl: url.pathname + url.search, headers: { ...item.headers, host: url.host } }
    const auth = await authenticate(request, { credentials: credentials(), region: 'us-east-1' })
    t.is(auth?.principal, KEY.principal, item.url)
    modes.add(auth!.payload)
    const body = Buffer.from(item.body!, 'base64')
    const { result } = await drain(createPayloadStream(reads([body]), auth, request.headers))
    if (item.method === 'PUT') t.true(result.verified.checksum, `${item.url} checksum`)
  }
  // Plain HTTP gets signed sha256 bodies; HTTPS gets aws-chunked with a checksum trailer.
  t.deepEqual([...modes].sort(), ['sha256', 'streaming-unsigned-trailer'])
})
