import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'

/** Running the S3 command-line clients (aws, s3cmd, rclone, python) the way a user would. */

export interface ToolResult {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * The test's environment minus anything that points a client at other
 * settings (AWS_*: the machine sets AWS_CA_BUNDLE, which rclone refuses for
 * plain HTTP; RCLONE_*), plus `extra`.
 */
export function toolEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('AWS_') && !name.startsWith('RCLONE_')) env[name] = value
  }
  return { ...env, ...extra }
}

export async function runTool (command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv, cwd?: string, input?: string }): Promise<ToolResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => err.push(d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }))
    child.stdin.end(options.input ?? '')
  })
}

/** Runs the tool and fails with its output unless it exits 0. */
export async function runOk (command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv, cwd?: string, input?: string }): Promise<string> {
  const result = await runTool(command, args, options)
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}:\n${result.stderr}\n${result.stdout}`)
  return result.stdout
}

/** Whether `command` runs at all here (`args` should make it print a version and exit 0). */
export function toolAvailable (command: string, args: readonly string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore', env: toolEnv({}) }).status === 0
}

export async function sha256File (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Every file under `root` as relative path → sha256. */
export async function treeDigest (root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    out.set(relative(root, path), await sha256File(path))
  }
  return out
}

/** Writes files (relative path → content) under `root`, making directories as needed. */
export async function writeTree (root: string, files: ReadonlyMap<string, Buffer>): Promise<void> {
  for (const [name, content] of files) {
    const path = join(root, name)
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, content)
  }
}
