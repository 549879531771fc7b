import type { RunningAllInOne } from '../helpers/all-in-one.ts'
import { runOk, toolEnv } from '../s3/tools.ts'

/** Running python-swiftclient's `swift` and the `openstack` CLI against an all-in-one, and plain HTTP to its Swift API. */

/** The environment minus any OS_* / ST_* settings of the machine, plus `extra`. */
export function cleanEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = toolEnv({})
  for (const name of Object.keys(env)) {
    if (name.startsWith('OS_') || name.startsWith('ST_')) delete env[name]
  }
  return { ...env, ...extra }
}

/** Swift v1 auth (`project:user` / password) through /auth/v1.0. */
export function v1Env (cluster: RunningAllInOne, user = 'admin:admin', key = cluster.adminPassword): NodeJS.ProcessEnv {
  return cleanEnv({ ST_AUTH: `${cluster.endpoint}/auth/v1.0`, ST_USER: user, ST_KEY: key })
}

/** Keystone v3 password auth, as an openrc file sets it up. */
export function keystoneEnv (cluster: RunningAllInOne, user = 'admin', password = cluster.adminPassword, project = 'admin'): NodeJS.ProcessEnv {
  return cleanEnv({
    OS_AUTH_URL: `${cluster.endpoint}/identity/v3`,
    OS_IDENTITY_API_VERSION: '3',
    OS_AUTH_VERSION: '3',
    OS_USERNAME: user,
    OS_PASSWORD: password,
    OS_PROJECT_NAME: project,
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_INTERFACE: 'public'
  })
}

export async function swift (env: NodeJS.ProcessEnv, args: string[], cwd?: string): Promise<string> {
  return await runOk('swift', args, { env, cwd })
}

export async function openstack (env: NodeJS.ProcessEnv, args: string[], cwd?: string): Promise<string> {
  return await runOk('openstack', args, { env, cwd })
}

/** An X-Auth-Token and storage URL through Swift's v1 auth. */
export async function v1Token (cluster: RunningAllInOne, user = 'admin:admin', key = cluster.adminPassword): Promise<{ token: string, storageUrl: string }> {
  const response = await fetch(`${cluster.endpoint}/auth/v1.0`, { headers: { 'x-auth-user': user, 'x-auth-key': key } })
  if (response.status !== 200) throw new Error(`v1 auth for ${user}: ${response.status}`)
  return { token: response.headers.get('x-auth-token')!, storageUrl: response.headers.get('x-storage-url')! }
}
