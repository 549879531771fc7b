import { randomBytes } from 'node:crypto'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { bucketName, s3Client } from './clients.ts'
import { runOk, runTool, toolAvailable, toolEnv, treeDigest, writeTree } from './tools.ts'

/** Debian's rclone, configured through RCLONE_CONFIG_RS_* (provider Other), copying and syncing a tree of 200 files. */

const cluster = allInOneForFile(test)
const run = toolAvailable('rclone', ['version']) ? test : test.skip
const MiB = 1024 * 1024

function env (): NodeJS.ProcessEnv {
  return toolEnv({
    RCLONE_CONFIG: join(cluster().dir, 'rclone.conf'),
    RCLONE_CONFIG_RS_TYPE: 's3',
    RCLONE_CONFIG_RS_PROVIDER: 'Other',
    RCLONE_CONFIG_RS_ENDPOINT: cluster().endpoint,
    RCLONE_CONFIG_RS_ACCESS_KEY_ID: cluster().accessKeyId,
    RCLONE_CONFIG_RS_SECRET_ACCESS_KEY: cluster().secretAccessKey,
    RCLONE_CONFIG_RS_REGION: cluster().region
  })
}

/** Files over 5 MiB go multipart: rclone's cutoff is lowered from 200 MiB so a few of the tree's files take that path. */
async function rclone (args: string[]): Promise<string> {
  return await runOk('rclone', ['--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M', '--transfers', '8', '--checkers', '8', ...args], { env: env() })
}

/** 200 files in nested directories, names with spaces and unicode, 0 B to 6 MiB. */
function treeOf (count: number): Map<string, Buffer> {
  const dirs = ['', 'docs/', 'docs/sub dir/', 'm\u00fcsic/albums/\u00e9t\u00e9/', 'deep/a/b/c/d/', '\u4e2d\u6587/']
  const sizes = [0, 1, 100, 4096, 65_537, 300_000]
  const files = new Map<string, Buffer>()
  for (let i = 0; i < count; i++) {
    const size = i % 40 === 7 ? 6 * MiB + i : i % 25 === 3 ? 2 * MiB + i : sizes[i % sizes.length]!
    files.set(`${dirs[i % dirs.length]!}file ${i}${i % 3 === 0 ? ' caf\u00e9' : ''}.dat`, randomBytes(size))
  }
  return files
}

run('rclone: copy and sync a tree of 200 files, then check finds no differences', async (t) => {
  const bucket = bucketName('rclone')
  const local = join(cluster().dir, 'tree')
  const files = treeOf(200)
  await writeTree(local, files)
  await writeFile(join(cluster().dir, 'rclone.conf'), '')

  await rclone(['mkdir', `rs:${bucket}`])
  await rclone(['copy', local, `rs:${bucket}/tree`])
  const checked = await runTool('rclone', ['check', local, `rs:${bucket}/tree`], { env: env() })
  t.is(checked.code, 0, checked.stderr)
  t.regex(checked.stderr, /0 differences found/)
  t.regex(checked.stderr, /200 matching files/)

  const s3 = s3Client(cluster())
  let stored = 0
  let token: string | undefined
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }))
    stored += page.KeyCount ?? 0
    for (const c of page.Contents ?? []) {
      const size = files.get(c.Key!.slice('tree/'.length))?.length
      t.is(c.Size, size, c.Key)
      if (size !== undefined && size > 5 * MiB) t.regex(c.ETag!, /-2"$/, `${c.Key} went multipart`)
    }
    token = page.NextContinuationToken
  } while (token !== undefined)
  t.is(stored, 200)

  // Change some, remove some, add some; sync makes the bucket match again.
  const names = [...files.keys()]
  for (const name of names.slice(0, 10)) await writeFile(join(local, name), randomBytes(1000))
  for (const name of names.slice(10, 20)) await rm(join(local, name))
  await writeTree(local, new Map([['new dir/added \u2603.txt', Buffer.from('snowman')], ['added.bin', randomBytes(7 * MiB)]]))
  await rclone(['sync', local, `rs:${bucket}/tree`])
  const rechecked = await runTool('rclone', ['check', local, `rs:${bucket}/tree`], { env: env() })
  t.is(rechecked.code, 0, rechecked.stderr)
  t.regex(rechecked.stderr, /0 differences found/)
  t.regex(rechecked.stderr, /192 matching files/)

  const back = join(cluster().dir, 'tree-back')
  await rclone(['copy', `rs:${bucket}/tree`, back])
  t.deepEqual(await treeDigest(back), await treeDigest(local))

  await rclone(['purge', `rs:${bucket}`])
  const gone = await runTool('rclone', ['lsd', 'rs:'], { env: env() })
  t.false(gone.stdout.includes(bucket))
})
