import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const BUILDER = join(HERE, 'build-guest-image.sh')
const INIT = join(HERE, 'guest-init.sh')

/** Outside the repo so checkouts and `git clean` do not throw the build away. */
function cacheRoot (): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ringstack', 'guest')
}

/** Changing the builder or the guest's init makes a new image; kernel updates do not (the .deb is cached). */
async function inputsHash (): Promise<string> {
  const hash = createHash('sha256')
  for (const file of [BUILDER, INIT]) hash.update(await readFile(file)).update('\0')
  return hash.digest('hex').slice(0, 16)
}

let building: Promise<string> | undefined

/**
 * The path of the test guest's raw image, built on first use and cached
 * between runs. Concurrent test processes each build to their own temporary
 * name and rename into place, so none ever sees half an image.
 */
export async function guestImage (): Promise<string> {
  building ??= build().catch((err: unknown) => {
    building = undefined
    throw err
  })
  return await building
}

async function build (): Promise<string> {
  const dir = join(cacheRoot(), await inputsHash())
  const image = join(dir, 'guest.img')
  if (await access(image).then(() => true, () => false)) return image
  await mkdir(dir, { recursive: true })
  const partial = join(dir, `.guest.img.${process.pid}.${randomBytes(4).toString('hex')}`)
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(BUILDER, [partial, join(cacheRoot(), 'debs')], { timeout: 300_000 }, (err, _stdout, stderr) => {
        if (err === null) resolve()
        else reject(new Error(`building the test guest failed: ${stderr.trim() || err.message}`))
      })
    })
    await rename(partial, image)
  } finally {
    await rm(partial, { force: true })
  }
  return image
}
