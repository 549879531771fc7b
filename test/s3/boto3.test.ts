import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import test from 'ava'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { bodyBytes, bucketName, s3Client } from './clients.ts'
import { md5Hex } from './reference-checksums.ts'
import { runOk, toolAvailable, toolEnv } from './tools.ts'

/**
 * boto3 presigned URLs used with plain HTTP (urllib) from the same Python
 * script: Debian's python3-boto3, and the current boto3 of the python3
 * first on PATH (pyenv) when it has one.
 */

const cluster = allInOneForFile(test)
const script = fileURLToPath(new URL('fixtures/boto3-presign.py', import.meta.url))
const PYTHONS = [{ label: 'Debian python3-boto3 (/usr/bin/python3)', command: '/usr/bin/python3' }, { label: 'current boto3 (python3 on PATH)', command: 'python3' }]

interface Report {
  boto3: string
  put: { status: number, etag: string, body: string }
  get: { status: number, etag: string, contentType: string, length: number }
  head: { length: number, contentType: string, etag: string }
}

for (const { label, command } of PYTHONS) {
  const run = toolAvailable(command, ['-c', 'import boto3']) ? test : test.skip
  run(`${label}: presigned PUT and GET through urllib carry the bytes`, async (t) => {
    const bucket = bucketName('boto3')
    const body = randomBytes(333_333)
    const upload = join(cluster().dir, `${bucket}.up`)
    const download = join(cluster().dir, `${bucket}.down`)
    await writeFile(upload, body)
    const report = JSON.parse(await runOk(command, [script, cluster().endpoint, cluster().accessKeyId, cluster().secretAccessKey, bucket, upload, download],
      { env: toolEnv({}) })) as Report
    t.log(`boto3 ${report.boto3}`)
    t.is(report.put.status, 200, report.put.body)
    t.is(report.put.etag, `"${md5Hex(body)}"`)
    t.is(report.get.status, 200)
    t.is(report.get.length, body.length)
    t.is(report.get.contentType, 'application/x-report')
    t.true((await readFile(download)).equals(body), 'GET through the presigned URL returns the bytes PUT through the other')
    t.deepEqual(report.head, { length: body.length, contentType: 'application/x-report', etag: `"${md5Hex(body)}"` })
    const got = await s3Client(cluster()).send(new GetObjectCommand({ Bucket: bucket, Key: 'presigned/\u00e9t\u00e9 + report.bin' }))
    t.true((await bodyBytes(got.Body)).equals(body))
  })
}
