import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * A path inside the ringstack package (its protos, its bin/), the same
 * whether this runs from the TypeScript sources or their compiled copy
 * under dist/ (bin/ringstack.js picks one): the root is the nearest
 * directory up with a package.json.
 */
export function packagePath (...parts: string[]): string {
  return join(ROOT, ...parts)
}

const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)))

function findRoot (from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}
