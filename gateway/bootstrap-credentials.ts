import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { RingstackError } from '../lib/errors.ts'

/** The one S3 key pair a new cluster starts with, like MinIO's root user. */
export interface BootstrapCredentials {
  accessKeyId: string
  secretAccessKey: string
  /** The project the key acts for; its buckets live in account AUTH_<project>. */
  project: string
}

/** The bootstrap admin's login (user `admin` in project `admin`), for the OpenStack APIs and the CLI. */
export interface AdminCredentials {
  user: string
  project: string
  password: string
}

/**
 * Reads a secret JSON file, or creates it (mode 0600, never overwriting)
 * from `create()` on first start. `created` tells the caller to print it once.
 */
async function ensureSecretFile<T> (path: string, parse: (text: string, path: string) => T, create: () => T):
Promise<{ credentials: T, created: boolean }> {
  try {
    return { credentials: parse(await readFile(path, 'utf8'), path), created: false }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const credentials = create()
  await writeFile(path, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
  return { credentials, created: true }
}

/** The S3 key pair from RINGSTACK_S3_ACCESS_KEY / RINGSTACK_S3_SECRET_KEY, or fresh random values. */
export async function ensureBootstrapCredentials (path: string, env: NodeJS.ProcessEnv = process.env):
Promise<{ credentials: BootstrapCredentials, created: boolean }> {
  return await ensureSecretFile(path, parseS3, () => ({
    accessKeyId: env.RINGSTACK_S3_ACCESS_KEY ?? `RS${randomBytes(9).toString('hex').toUpperCase()}`,
    secretAccessKey: env.RINGSTACK_S3_SECRET_KEY ?? randomBytes(30).toString('base64url'),
    project: 'admin'
  }))
}

export async function readBootstrapCredentials (path: string): Promise<BootstrapCredentials> {
  return parseS3(await readFile(path, 'utf8'), path)
}

/** The admin login from RINGSTACK_ADMIN_PASSWORD, or a fresh random password. */
export async function ensureAdminCredentials (path: string, env: NodeJS.ProcessEnv = process.env):
Promise<{ credentials: AdminCredentials, created: boolean }> {
  return await ensureSecretFile(path, parseAdmin, () => ({
    user: 'admin', project: 'admin', password: env.RINGSTACK_ADMIN_PASSWORD ?? randomBytes(18).toString('base64url')
  }))
}

export async function readAdminCredentials (path: string): Promise<AdminCredentials> {
  return parseAdmin(await readFile(path, 'utf8'), path)
}

function parseS3 (text: string, path: string): BootstrapCredentials {
  const raw = JSON.parse(text) as Partial<BootstrapCredentials>
  if (typeof raw.accessKeyId !== 'string' || typeof raw.secretAccessKey !== 'string' || typeof raw.project !== 'string') {
    throw new RingstackError('InvalidConfig', `${path}: needs accessKeyId, secretAccessKey and project`)
  }
  return { accessKeyId: raw.accessKeyId, secretAccessKey: raw.secretAccessKey, project: raw.project }
}

function parseAdmin (text: string, path: string): AdminCredentials {
  const raw = JSON.parse(text) as Partial<AdminCredentials>
  if (raw.user !== 'admin' || raw.project !== 'admin' || typeof raw.password !== 'string' || raw.password === '') {
    throw new RingstackError('InvalidConfig', `${path}: needs user "admin", project "admin" and a password`)
  }
  return { user: raw.user, project: raw.project, password: raw.password }
}
