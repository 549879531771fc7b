import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { bucketName, failure, s3Client } from './clients.ts'
import { md5Hex, multipartEtag } from './reference-checksums.ts'
import { segmentNames } from './segments.ts'
import { runOk, runTool, sha256File, toolAvailable, toolEnv } from './tools.ts'

/** Debian's s3cmd (SigV4, path style through host_bucket = the endpoint) with its own config file. */

const cluster = allInOneForFile(test)
const run = toolAvailable('s3cmd', ['--version']) ? test : test.skip
const MiB = 1024 * 1024

async function s3cmd (args: string[]): Promise<string> {
  const config = join(cluster().dir, 's3cfg')
  const host = new URL(cluster().endpoint).host
  await writeFile(config, [
    '[default]',
    `access_key = ${cluster().accessKeyId}`,
    `secret_key = ${cluster().secretAccessKey}`,
    `host_base = ${host}`,
    `host_bucket = ${host}`,
    'use_https = False',
    'signature_v2 = False',
    `bucket_location = ${cluster().region}`,
    'progress_meter = False',
    ''
  ].join('\n'))
  return await runOk('s3cmd', ['--config', config, ...args], { env: toolEnv({}), cwd: cluster().dir })
}

run('s3cmd: mb, put (single and multipart with 5 MiB chunks), ls, get, del, rb', async (t) => {
  const bucket = bucketName('s3cmd')
  const dir = cluster().dir
  const small = randomBytes(4000)
  const big = randomBytes(20 * MiB + 12_345)
  await writeFile(join(dir, 'small.bin'), small)
  await writeFile(join(dir, 'big.bin'), big)

  t.regex(await s3cmd(['mb', `s3://${bucket}`]), /created/)
  t.regex(await s3cmd(['ls']), new RegExp(`s3://${bucket}\\n`))
  await s3cmd(['put', join(dir, 'small.bin'), `s3://${bucket}/files/small one.bin`])
  await s3cmd(['put', '--multipart-chunk-size-mb=5', join(dir, 'big.bin'), `s3://${bucket}/files/big.bin`])

  const s3 = s3Client(cluster())
  const bigHead = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'files/big.bin' }))
  const chunks = Array.from({ length: 5 }, (_, i) => big.subarray(i * 5 * MiB, (i + 1) * 5 * MiB))
  t.is(bigHead.ETag, `"${multipartEtag(chunks)}"`, 'uploaded in five parts')
  t.is(bigHead.ContentLength, big.length)
  t.truthy(bigHead.Metadata?.['s3cmd-attrs'], 's3cmd keeps its file attributes in x-amz-meta-s3cmd-attrs')
  t.is((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'files/small one.bin' }))).ETag, `"${md5Hex(small)}"`)

  const listed = await s3cmd(['ls', `s3://${bucket}/files/`])
  t.regex(listed, new RegExp(`${big.length}\\s+s3://${bucket}/files/big\\.bin`))
  t.regex(listed, new RegExp(`4000\\s+s3://${bucket}/files/small one\\.bin`))
  t.regex(await s3cmd(['ls', `s3://${bucket}`]), /DIR\s+s3:\/\/.*\/files\//)

  await s3cmd(['get', '--force', `s3://${bucket}/files/big.bin`, join(dir, 'big.back')])
  t.is(await sha256File(join(dir, 'big.back')), await sha256File(join(dir, 'big.bin')))
  await s3cmd(['get', '--force', `s3://${bucket}/files/small one.bin`, join(dir, 'small.back')])
  t.is(await sha256File(join(dir, 'small.back')), await sha256File(join(dir, 'small.bin')))

  const refused = await runTool('s3cmd', ['--config', join(dir, 's3cfg'), 'rb', `s3://${bucket}`], { env: toolEnv({}) })
  t.not(refused.code, 0)
  t.regex(refused.stderr, /BucketNotEmpty/)

  await s3cmd(['del', `s3://${bucket}/files/big.bin`, `s3://${bucket}/files/small one.bin`])
  t.like(await failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'files/big.bin' }))), { status: 404 })
  t.deepEqual(await segmentNames(cluster(), bucket), [], 'the multipart object\'s parts went with it')
  t.regex(await s3cmd(['rb', `s3://${bucket}`]), /removed/)
  t.false((await s3cmd(['ls'])).includes(`s3://${bucket}\n`))
})
