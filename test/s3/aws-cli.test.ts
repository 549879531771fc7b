import { randomBytes } from 'node:crypto'
import { open, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { byteOrder } from '../listings/reference.ts'
import { bucketName, s3Client } from './clients.ts'
import { runOk, runTool, sha256File, toolAvailable, toolEnv, treeDigest, writeTree } from './tools.ts'

/**
 * Both aws CLIs: the current one first on PATH (awscli 1.45 / botocore
 * 1.43 in pyenv, newest default checksum behaviour) and Debian's aws-cli
 * 2.9 at /usr/bin/aws. Their own config files are empty temp files so the
 * machine's settings do not leak in.
 */

const cluster = allInOneForFile(test)
const CLIS = [{ label: 'aws (awscli 1.x, PATH)', command: 'aws' }, { label: 'aws-cli 2.9 (/usr/bin/aws)', command: '/usr/bin/aws' }]
const BIG_BYTES = 100 * 1024 * 1024

let bigFile = ''

test.serial.before(async () => {
  await writeFile(join(cluster().dir, 'aws-config'), '')
  await writeFile(join(cluster().dir, 'aws-credentials'), '')
  // Random content in 1 MiB pieces, so no 100 MiB buffer is held.
  bigFile = join(cluster().dir, 'big.bin')
  const handle = await open(bigFile, 'w')
  for (let written = 0; written < BIG_BYTES; written += 1024 * 1024) await handle.write(randomBytes(1024 * 1024))
  await handle.close()
})

function env (): NodeJS.ProcessEnv {
  return toolEnv({
    AWS_ACCESS_KEY_ID: cluster().accessKeyId,
    AWS_SECRET_ACCESS_KEY: cluster().secretAccessKey,
    AWS_DEFAULT_REGION: cluster().region,
    AWS_CONFIG_FILE: join(cluster().dir, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(cluster().dir, 'aws-credentials'),
    AWS_PAGER: ''
  })
}

async function aws (command: string, args: string[]): Promise<string> {
  return await runOk(command, ['--endpoint-url', cluster().endpoint, ...args], { env: env(), cwd: cluster().dir })
}

for (const { label, command } of CLIS) {
  const run = toolAvailable(command, ['--version']) ? test : test.skip

  run(`${label}: s3 mb, cp, ls, sync (both ways, --delete), rm, rb`, async (t) => {
    const bucket = bucketName('cli')
    const work = join(cluster().dir, bucket)
    const tree = new Map<string, Buffer>([
      ['a.txt', Buffer.from('alpha')],
      ['empty', Buffer.alloc(0)],
      ['dir with space/b \u00e9.bin', randomBytes(300_000)],
      ['dir with space/nested/c+plus.dat', randomBytes(5000)],
      ['unicod\u00e9/\u4e2d\u6587.txt', Buffer.from('\u4e2d\u6587')]
    ])
    await writeTree(join(work, 'up'), tree)
    t.regex(await aws(command, ['s3', 'mb', `s3://${bucket}`]), new RegExp(`make_bucket: ${bucket}`))
    t.regex(await aws(command, ['s3', 'ls']), new RegExp(` ${bucket}\\n`))

    await aws(command, ['s3', 'cp', join(work, 'up', 'a.txt'), `s3://${bucket}/single/a.txt`])
    t.regex(await aws(command, ['s3', 'ls', `s3://${bucket}/single/`]), /\s5 a\.txt\n/)
    t.is(await aws(command, ['s3', 'cp', `s3://${bucket}/single/a.txt`, '-']), 'alpha')

    await aws(command, ['s3', 'sync', join(work, 'up'), `s3://${bucket}/tree`])
    const listed = await aws(command, ['s3', 'ls', '--recursive', `s3://${bucket}/tree/`])
    for (const name of tree.keys()) t.true(listed.includes(`tree/${name}\n`), name)
    t.is(await aws(command, ['s3', 'sync', join(work, 'up'), `s3://${bucket}/tree`]), '', 'a second sync has nothing to do')

    await writeFile(join(work, 'up', 'a.txt'), 'alpha, changed')
    await rm(join(work, 'up', 'empty'))
    const again = await aws(command, ['s3', 'sync', '--delete', join(work, 'up'), `s3://${bucket}/tree`])
    t.regex(again, /upload: .*a\.txt/)
    t.regex(again, /delete: s3:\/\/.*\/tree\/empty/)

    await aws(command, ['s3', 'sync', `s3://${bucket}/tree`, join(work, 'down')])
    t.deepEqual(await treeDigest(join(work, 'down')), await treeDigest(join(work, 'up')))

    await aws(command, ['s3', 'rm', `s3://${bucket}/single/a.txt`])
    t.is((await runTool(command, ['--endpoint-url', cluster().endpoint, 's3', 'ls', `s3://${bucket}/single/`], { env: env() })).stdout, '')
    await aws(command, ['s3', 'rm', '--recursive', `s3://${bucket}/tree`])
    t.regex(await aws(command, ['s3', 'rb', `s3://${bucket}`]), new RegExp(`remove_bucket: ${bucket}`))
    t.false((await aws(command, ['s3', 'ls'])).includes(` ${bucket}\n`))
    await rm(work, { recursive: true, force: true })
  })

  run(`${label}: s3 cp of a 100 MiB file goes multipart, and comes back identical`, async (t) => {
    const bucket = bucketName('cli-big')
    await aws(command, ['s3', 'mb', `s3://${bucket}`])
    await aws(command, ['s3', 'cp', '--only-show-errors', bigFile, `s3://${bucket}/big.bin`])
    const head = JSON.parse(await aws(command, ['s3api', 'head-object', '--bucket', bucket, '--key', 'big.bin'])) as { ContentLength: number, ETag: string }
    t.is(head.ContentLength, BIG_BYTES)
    t.regex(head.ETag, /^"[0-9a-f]{32}-\d+"$/, 'a multipart ETag')
    const back = join(cluster().dir, `${bucket}.bin`)
    await aws(command, ['s3', 'cp', '--only-show-errors', `s3://${bucket}/big.bin`, back])
    t.is(await sha256File(back), await sha256File(bigFile))
    await rm(back)
    await aws(command, ['s3', 'rb', '--force', `s3://${bucket}`])
  })

  run(`${label}: s3api list-objects-v2 with --page-size and --max-items walks 250 keys once each`, async (t) => {
    const bucket = bucketName('cli-list')
    const s3 = s3Client(cluster())
    await s3.send(new CreateBucketCommand({ Bucket: bucket }))
    const keys = Array.from({ length: 250 }, (_, i) => `${['a', 'b/', 'b/c/', 'd e/'][i % 4]}key-${i}${i % 7 === 0 ? '\u00e9' : ''}`)
    for (let i = 0; i < keys.length; i += 25) {
      await Promise.all(keys.slice(i, i + 25).map(async (Key) => await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }))))
    }
    const seen: string[] = []
    let token: string | undefined
    let calls = 0
    do {
      const page = JSON.parse(await aws(command, ['s3api', 'list-objects-v2', '--bucket', bucket, '--page-size', '40', '--max-items', '70',
        ...(token === undefined ? [] : ['--starting-token', token])])) as { Contents?: Array<{ Key: string }>, NextToken?: string }
      seen.push(...(page.Contents ?? []).map((c) => c.Key))
      token = page.NextToken
      calls++
    } while (token !== undefined && calls < 20)
    t.is(calls, 4, '70 + 70 + 70 + 40')
    t.deepEqual(seen, [...keys].sort(byteOrder))
    const whole = JSON.parse(await aws(command, ['s3api', 'list-objects-v2', '--bucket', bucket, '--page-size', '33'])) as { Contents: Array<{ Key: string }> }
    t.deepEqual(whole.Contents.map((c) => c.Key), [...keys].sort(byteOrder), 'the CLI follows 8 continuation tokens by itself')
    const rolled = JSON.parse(await aws(command, ['s3api', 'list-objects-v2', '--bucket', bucket, '--delimiter', '/', '--page-size', '10'])) as { Contents: Array<{ Key: string }>, CommonPrefixes: Array<{ Prefix: string }> }
    t.deepEqual(rolled.CommonPrefixes.map((p) => p.Prefix), ['b/', 'd e/'])
    t.is(rolled.Contents.length, 63)
  })
}

const current = toolAvailable('aws', ['--version']) ? test : test.skip

// aws-cli 2.9 predates conditional writes (2024): it has no --if-none-match on put-object.
current('aws (awscli 1.x): s3api put-object --if-none-match * writes once, then 412 PreconditionFailed', async (t) => {
  const bucket = bucketName('cli-cond')
  await aws('aws', ['s3', 'mb', `s3://${bucket}`])
  const first = join(cluster().dir, `${bucket}-first`)
  await writeFile(first, 'first')
  const put = JSON.parse(await aws('aws', ['s3api', 'put-object', '--bucket', bucket, '--key', 'once', '--body', first, '--if-none-match', '*'])) as { ETag: string }
  t.regex(put.ETag, /^"[0-9a-f]{32}"$/)
  const second = await runTool('aws', ['--endpoint-url', cluster().endpoint, 's3api', 'put-object', '--bucket', bucket, '--key', 'once', '--body', first, '--if-none-match', '*'], { env: env() })
  t.not(second.code, 0)
  t.regex(second.stderr, /PreconditionFailed/)
  t.regex(second.stderr, /412|At least one of the pre-conditions/)
  t.is(await aws('aws', ['s3', 'cp', `s3://${bucket}/once`, '-']), 'first')
})
